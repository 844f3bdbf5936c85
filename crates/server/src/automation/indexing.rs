//! Keeps this node's search index fed with messages, subjects and contacts. At start it opens the index under `data_dir/search`
//! and catches up from the store: everything when the index is new (or of an older schema),
//! otherwise what came after its last commit's watermark (less a minute of slack; adding a
//! message twice replaces it). Then it follows every event that reaches this node — its own and,
//! over NATS, the other nodes' — so each node answers searches from its own index: no shared
//! engine to run, and a node that was down catches up from the store, the source of truth.
//! New messages are searchable within about a tenth of a second; a follower that falls behind
//! catches up from the store again. A contact is read again when their first conversation
//! starts and whenever any node announces a change of them. An erased contact's documents are removed, and the index
//! files rewritten without them, as soon as any node announces the erasure (and at start, for
//! erasures made while this node was down).

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use madoguchi_text::search::{Owner, SearchIndex};
use madoguchi_text::Analyzer;
use tokio::sync::broadcast::error::RecvError;

use crate::app::AppState;
use crate::knowledge::search::{Indexed, IndexedContact};
use crate::realtime::hub::Event;

/// Re-read this much history before the watermark after a restart.
const SLACK_MS: i64 = 60_000;
/// Messages read from the store at a time while catching up.
const PAGE: i64 = 2_000;
/// How long new events gather before they are indexed and committed together.
pub const GATHER: Duration = Duration::from_millis(100);

/// Starts the indexer; it ends at shutdown after committing what it has.
pub fn spawn_indexer(state: AppState) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        if let Err(err) = run(&state).await {
            tracing::error!(%err, "the search indexer stopped");
        }
        state.search.close();
    })
}

async fn run(state: &AppState) -> anyhow::Result<()> {
    let dir = state.settings.search_path();
    let search = state.search.clone();
    let opened = tokio::task::spawn_blocking(move || search.open(&dir)).await?;
    let watermark = match opened {
        Ok(watermark) => watermark,
        Err(err) => {
            tracing::warn!(%err, "the search index cannot be kept on disk; it is kept in memory");
            state.search.open_in_memory()?;
            None
        }
    };
    let Some(index) = state.search.index() else {
        return Ok(());
    };
    if watermark.is_none() {
        tracing::info!("building the search index from the store");
    }
    // Following before catching up: nothing falls between the two.
    let mut events = state.hub.subscribe_all();
    let mut erasures = state.hub.subscribe_erasures();
    let mut changed_contacts = state.hub.subscribe_contact_ids();
    let started_at = state.clock.now_ms();
    let analyzer = state.kb.analyzer().await?;
    let from = watermark.map_or(i64::MIN, |w| w - SLACK_MS);
    let mut mark = catch_up(state, &index, &analyzer, from).await?;
    // Contacts erased here: events about them still on their way are not indexed.
    let mut erased = HashSet::new();
    if watermark.is_some() {
        for (owner, id) in erased_contacts(state, from).await? {
            mark = erase(&index, owner, &id, mark).await?;
            erased.insert(id);
        }
    }
    state.search.set_ready();
    tracing::info!(
        documents = index.documents(),
        "the search index is up to date"
    );
    let mut shutdown = state.shutdown.clone();
    loop {
        let first = tokio::select! {
            event = events.recv() => event,
            contact = erasures.recv() => {
                let gone = match contact {
                    Ok(text) => match text.split_once(':') {
                        Some(("conversation", id)) => vec![(Owner::Conversation, id.to_owned())],
                        Some((_, id)) => vec![(Owner::Contact, id.to_owned())],
                        None => Vec::new(),
                    },
                    Err(RecvError::Lagged(_)) => erased_contacts(state, started_at).await?,
                    Err(RecvError::Closed) => break,
                };
                for (owner, id) in gone {
                    mark = erase(&index, owner, &id, mark).await?;
                    if owner == Owner::Contact {
                        erased.insert(id);
                    }
                }
                continue;
            }
            contact = changed_contacts.recv() => {
                match contact {
                    Ok(id) => {
                        let mut ids = vec![id.to_string()];
                        while let Ok(more) = changed_contacts.try_recv() {
                            ids.push(more.to_string());
                        }
                        mark = add_contacts(state, &index, &analyzer, &ids, mark).await?;
                    }
                    Err(RecvError::Lagged(_)) => {
                        mark = catch_up(state, &index, &analyzer, mark - SLACK_MS).await?;
                    }
                    Err(RecvError::Closed) => break,
                }
                continue;
            }
            _ = shutdown.changed() => break,
        };
        let mut batch: Vec<Arc<Event>> = Vec::new();
        match first {
            Ok(event) => batch.push(event),
            Err(RecvError::Lagged(_)) => {
                mark = catch_up(state, &index, &analyzer, mark - SLACK_MS).await?;
                continue;
            }
            Err(RecvError::Closed) => break,
        }
        tokio::time::sleep(GATHER).await;
        let mut lagged = false;
        loop {
            match events.try_recv() {
                Ok(event) => batch.push(event),
                Err(tokio::sync::broadcast::error::TryRecvError::Lagged(_)) => lagged = true,
                Err(_) => break,
            }
        }
        let mut indexed = Vec::new();
        for event in batch
            .iter()
            .filter(|e| e.is_message && !erased.contains(&e.contact_id))
        {
            if let Some(message) = of_event(state, event).await {
                indexed.push(message);
            }
        }
        mark = add(&index, &analyzer, indexed, mark).await?;
        // A first message: a new contact, or one new to this channel.
        let new_contacts: Vec<String> = batch
            .iter()
            .filter(|e| e.is_message && e.seq == 1 && !erased.contains(&e.contact_id))
            .map(|e| e.contact_id.clone())
            .collect();
        mark = add_contacts(state, &index, &analyzer, &new_contacts, mark).await?;
        if lagged {
            mark = catch_up(state, &index, &analyzer, mark - SLACK_MS).await?;
        }
    }
    Ok(())
}

/// Rebuilds the index from the store (`madoguchi search reindex`, the server stopped): the
/// folder is emptied first. The number of documents it then holds.
pub async fn rebuild(state: &AppState) -> anyhow::Result<u64> {
    let dir = state.settings.search_path();
    if dir.exists() {
        std::fs::remove_dir_all(&dir)?;
    }
    state.search.open(&dir)?;
    let index = state
        .search
        .index()
        .ok_or_else(|| anyhow::anyhow!("the index did not open"))?;
    let analyzer = state.kb.analyzer().await?;
    catch_up(state, &index, &analyzer, i64::MIN).await?;
    let documents = index.documents();
    state.search.close();
    Ok(documents)
}

/// A message event as the index keeps it (the agents' frame holds the message).
async fn of_event(state: &AppState, event: &Event) -> Option<Indexed> {
    #[derive(serde::Deserialize)]
    struct Frame {
        message: Shown,
    }
    #[derive(serde::Deserialize)]
    struct Shown {
        id: String,
        seq: i64,
        sender_kind: String,
        body: String,
        private: bool,
        created_at: i64,
    }
    let frame: Frame = serde_json::from_str(event.agent_frame.as_str()).ok()?;
    let m = frame.message;
    let subject = match m.seq {
        1 => state
            .store
            .conversation(&event.workspace_id, &event.conversation_id)
            .await
            .ok()
            .and_then(|c| c.subject),
        _ => None,
    };
    Some(Indexed {
        workspace_id: event.workspace_id.clone(),
        contact_id: event.contact_id.clone(),
        conversation_id: event.conversation_id.clone(),
        message_id: m.id,
        seq: m.seq,
        sender_kind: m.sender_kind,
        private: m.private,
        created_at: m.created_at,
        body: m.body,
        subject,
    })
}

/// Indexes and commits; the new watermark.
async fn add(
    index: &Arc<SearchIndex>,
    analyzer: &Arc<Analyzer>,
    messages: Vec<Indexed>,
    mark: i64,
) -> anyhow::Result<i64> {
    if messages.is_empty() {
        return Ok(mark);
    }
    let (index, analyzer) = (index.clone(), analyzer.clone());
    tokio::task::spawn_blocking(move || {
        let documents: Vec<_> = messages.iter().flat_map(Indexed::documents).collect();
        index.upsert(&analyzer, &documents)?;
        let newest = messages.iter().map(|m| m.created_at).max().unwrap_or(mark);
        let mark = mark.max(newest);
        index.commit(mark)?;
        Ok(mark)
    })
    .await?
}

/// Reads these contacts from the store and indexes them as they are now.
async fn add_contacts(
    state: &AppState,
    index: &Arc<SearchIndex>,
    analyzer: &Arc<Analyzer>,
    ids: &[String],
    mark: i64,
) -> anyhow::Result<i64> {
    if ids.is_empty() {
        return Ok(mark);
    }
    let contacts: Vec<IndexedContact> = state
        .store
        .contacts_by_ids(None, ids)
        .await?
        .iter()
        .map(|(contact, identities)| IndexedContact::of(contact, identities))
        .collect();
    index_contacts(index, analyzer, contacts, mark).await
}

/// Indexes contacts and commits; the watermark stays (it follows messages, which are many).
async fn index_contacts(
    index: &Arc<SearchIndex>,
    analyzer: &Arc<Analyzer>,
    contacts: Vec<IndexedContact>,
    mark: i64,
) -> anyhow::Result<i64> {
    if contacts.is_empty() {
        return Ok(mark);
    }
    let (index, analyzer) = (index.clone(), analyzer.clone());
    tokio::task::spawn_blocking(move || {
        let documents: Vec<_> = contacts
            .iter()
            .filter(|c| !c.text.is_empty())
            .map(IndexedContact::document)
            .collect();
        for emptied in contacts.iter().filter(|c| c.text.is_empty()) {
            index.delete(&emptied.id);
        }
        index.upsert(&analyzer, &documents)?;
        index.commit(mark)?;
        Ok(mark)
    })
    .await?
}

/// Contacts erased since `at`, to forget. (Conversations emptied by retention while this
/// node was down stay in its index until it is rebuilt, but a hit is shown only with the text
/// the store still has: never.)
async fn erased_contacts(state: &AppState, at: i64) -> anyhow::Result<Vec<(Owner, String)>> {
    let ids = state.store.contacts_erased_since(at).await?;
    Ok(ids.into_iter().map(|id| (Owner::Contact, id)).collect())
}

/// Removes a contact's or a conversation's documents from the index and its files; the
/// watermark stays.
async fn erase(index: &Arc<SearchIndex>, owner: Owner, id: &str, mark: i64) -> anyhow::Result<i64> {
    let (index, id) = (index.clone(), id.to_owned());
    tokio::task::spawn_blocking(move || index.erase(owner, &id, mark)).await??;
    Ok(mark)
}

/// Indexes everything the store has after `from` (Unix ms); the new watermark.
async fn catch_up(
    state: &AppState,
    index: &Arc<SearchIndex>,
    analyzer: &Arc<Analyzer>,
    from: i64,
) -> anyhow::Result<i64> {
    let (mut at, mut id) = (from, String::new());
    let mut mark = from.max(0);
    loop {
        let rows = state.store.messages_to_index(at, &id, PAGE).await?;
        let Some(last) = rows.last() else {
            break;
        };
        (at, id) = (last.message.created_at, last.message.id.clone());
        let messages: Vec<Indexed> = rows.iter().map(Indexed::of_row).collect();
        mark = add(index, analyzer, messages, mark).await?;
    }
    let (mut at, mut id) = (from, String::new());
    loop {
        let rows = state.store.contacts_to_index(at, &id, PAGE).await?;
        let Some((last, _)) = rows.last() else {
            break;
        };
        (at, id) = (last.updated_at, last.id.clone());
        let contacts = rows
            .iter()
            .map(|(contact, identities)| IndexedContact::of(contact, identities))
            .collect();
        index_contacts(index, analyzer, contacts, mark).await?;
    }
    if mark == from.max(0) {
        // Nothing new: still a commit, so a new index records that it is complete.
        let index = index.clone();
        tokio::task::spawn_blocking(move || index.commit(mark)).await??;
    }
    Ok(mark)
}
