//! Reads the IMAP mailboxes of e-mail channels into the inbox: one task per mailbox, which
//! logs in, stores every mail after the last UID stored (each committed before the UID is
//! recorded, so a crash re-reads at most one mail, and its Message-ID keeps it one message),
//! then waits with `IDLE` where the server offers it, or polls. A mailbox connected for the
//! first time brings in the mail of the last three days, not its whole past. A supervisor
//! starts, restarts and stops the tasks as channels are configured.

use std::collections::HashMap;
use std::time::Duration;

use madoguchi_store::workspaces::Channel;

use crate::app::AppState;
use crate::automation::mail_intake::receive_in;
use crate::channels::email::imap::{ImapMailbox, Session};

/// How often a server without `IDLE` is asked for new mail; how long one `IDLE` lasts.
const POLL: Duration = Duration::from_secs(60);
const IDLE: Duration = Duration::from_secs(25 * 60);
/// How often the supervisor looks for changed channels.
const RESCAN: Duration = Duration::from_secs(30);
/// How far back a newly connected mailbox is read.
const FIRST_READ_DAYS: i64 = 3;

/// The channel's mailbox settings.
pub fn mailbox_of(channel: &Channel) -> Result<Option<ImapMailbox>, String> {
    channel
        .imap
        .as_deref()
        .map(serde_json::from_str)
        .transpose()
        .map_err(|err| {
            format!(
                "channel {}: stored IMAP settings do not parse: {err}",
                channel.id
            )
        })
}

/// Stores the mail that arrived since the last read; how many mails were read.
pub async fn read_new(
    state: &AppState,
    channel: &Channel,
    mailbox: &ImapMailbox,
    session: &mut Session,
) -> Result<usize, String> {
    let io = |err: std::io::Error| format!("imap {}: {err}", mailbox.host);
    let store = |err: madoguchi_store::StoreError| err.to_string();
    let (validity, next) = session.select(&mailbox.folder).await.map_err(io)?;
    let stored = state.store.imap_state(&channel.id).await.map_err(store)?;
    let since = chrono::DateTime::from_timestamp_millis(
        state.clock.now_ms() - FIRST_READ_DAYS * 24 * 3_600_000,
    )
    .map(|at| at.format("%d-%b-%Y").to_string());
    let uids = match stored {
        Some((known, last)) if known == validity => session.uids(last, None).await,
        // A new UIDVALIDITY numbers the folder anew: read it again (Message-IDs keep mails once).
        Some(_) => session.uids(0, None).await,
        None => session.uids(0, since.as_deref()).await,
    }
    .map_err(io)?;
    let mut last = stored
        .filter(|(known, _)| *known == validity)
        .map_or(0, |(_, last)| last);
    for uid in &uids {
        if let Some(raw) = session.fetch(*uid).await.map_err(io)? {
            receive_in(state, channel, &raw)
                .await
                .map_err(|err| err.to_string())?;
        }
        last = *uid;
        state
            .store
            .set_imap_state(&channel.id, validity, last)
            .await
            .map_err(store)?;
    }
    if stored.is_none() {
        // From now on, only what arrives after this first read.
        let seen = last.max(next - 1);
        state
            .store
            .set_imap_state(&channel.id, validity, seen)
            .await
            .map_err(store)?;
    }
    Ok(uids.len())
}

/// Follows one mailbox until an error or the shutdown.
async fn follow(state: &AppState, channel: &Channel, mailbox: &ImapMailbox) -> Result<(), String> {
    let mut session = Session::open(mailbox)
        .await
        .map_err(|err| format!("imap {}: {err}", mailbox.host))?;
    let mut shutdown = state.shutdown.clone();
    loop {
        read_new(state, channel, mailbox, &mut session).await?;
        let wait = async {
            if session.has("IDLE") {
                session.idle(IDLE).await.map(|_| ())
            } else {
                tokio::time::sleep(POLL).await;
                Ok(())
            }
        };
        tokio::select! {
            waited = wait => waited.map_err(|err| format!("imap {}: {err}", mailbox.host))?,
            _ = shutdown.changed() => return Ok(()),
        }
    }
}

async fn follow_forever(state: AppState, channel: Channel, mailbox: ImapMailbox) {
    let mut backoff = Duration::from_secs(5);
    loop {
        match follow(&state, &channel, &mailbox).await {
            Ok(()) => return,
            Err(error) => {
                tracing::warn!(channel = %channel.id, %error, "reading the mailbox failed; will retry");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(600));
            }
        }
    }
}

/// The supervisor: a reader per configured mailbox, replaced when its settings change, until
/// the shutdown signal.
pub fn spawn_readers(state: AppState) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut running: HashMap<String, (String, tokio::task::JoinHandle<()>)> = HashMap::new();
        let mut shutdown = state.shutdown.clone();
        loop {
            match state.store.imap_channels().await {
                Ok(channels) => {
                    running.retain(|id, (settings, task)| {
                        let same = channels
                            .iter()
                            .any(|c| &c.id == id && c.imap.as_deref() == Some(settings.as_str()));
                        if !same {
                            task.abort();
                        }
                        same
                    });
                    for channel in channels {
                        if running.contains_key(&channel.id) {
                            continue;
                        }
                        match mailbox_of(&channel) {
                            Ok(Some(mailbox)) => {
                                let settings = channel.imap.clone().unwrap_or_default();
                                let task = tokio::spawn(follow_forever(
                                    state.clone(),
                                    channel.clone(),
                                    mailbox,
                                ));
                                running.insert(channel.id.clone(), (settings, task));
                            }
                            Ok(None) => {}
                            Err(error) => tracing::error!(%error, "a mailbox is not read"),
                        }
                    }
                }
                Err(error) => tracing::error!(%error, "listing the mailboxes to read failed"),
            }
            tokio::select! {
                _ = tokio::time::sleep(RESCAN) => {}
                _ = shutdown.changed() => break,
            }
        }
        for (_, (_, task)) in running {
            task.abort();
        }
    })
}
