//! Writing messages: commit in the store, then count, publish on the hub, and run automation
//! (auto-replies, notifications). Every route that writes a message goes through here, so
//! nothing is published before it is committed.

use std::collections::HashSet;
use std::sync::atomic::Ordering;
use std::sync::Mutex;

use madoguchi_store::conversations::{Conversation, NewConversation, Started};
use madoguchi_store::messages::{Appended, NewMessage};

use madoguchi_core::message::{ClientId, MessageBody, SenderKind};

use crate::app::AppState;
use crate::autoreply;
use crate::error::ApiResult;

pub async fn start_conversation(state: &AppState, new: NewConversation<'_>) -> ApiResult<Started> {
    let started = state.store.start_conversation(new).await?;
    if started.created {
        state
            .metrics
            .conversations_created
            .fetch_add(1, Ordering::Relaxed);
        state
            .metrics
            .messages_created
            .fetch_add(1, Ordering::Relaxed);
        state.hub.conversation_updated(&started.conversation);
        state
            .hub
            .message_created(&started.conversation, &started.message);
        automate(
            autoreply::after_customer_message(state, &started.conversation, &started.message, true)
                .await,
        );
    }
    Ok(started)
}

/// Automation runs after the message is committed and acknowledged either way: its failure is
/// logged, never turned into a failed send.
fn automate(result: ApiResult<()>) {
    if let Err(err) = result {
        tracing::error!(error = %err.message, "automation after a message failed");
    }
}

/// Appends a message, publishes it, and runs the automation a customer message or a human
/// reply calls for.
pub async fn append_message(state: &AppState, new: &NewMessage<'_>) -> ApiResult<Appended> {
    let appended = append_automatic(state, new).await?;
    if appended.created {
        let conversation = &appended.conversation;
        match (new.sender_kind, new.private) {
            (SenderKind::Contact, _) => automate(
                autoreply::after_customer_message(state, conversation, &appended.message, false)
                    .await,
            ),
            (SenderKind::Agent, false) => {
                automate(autoreply::after_human_reply(state, conversation).await)
            }
            _ => {}
        }
    }
    Ok(appended)
}

/// Appends and publishes a message without running automation: for automatic messages.
pub async fn append_automatic(state: &AppState, new: &NewMessage<'_>) -> ApiResult<Appended> {
    let mut appended = state.store.append_message(new).await?;
    if appended.created {
        state
            .metrics
            .messages_created
            .fetch_add(1, Ordering::Relaxed);
        state
            .hub
            .message_created(&appended.conversation, &appended.message);
        if appended.status_changed {
            let conversation = std::slice::from_mut(&mut appended.conversation);
            state.store.load_tags(conversation).await?;
            state.hub.conversation_updated(&appended.conversation);
        }
    }
    Ok(appended)
}

/// Posts an automatic message (sender `system` or `bot`, speaking for the conversation) once
/// per `client_id`: retries and duplicate jobs cannot send it twice.
pub async fn post_automatic(
    state: &AppState,
    conversation: &Conversation,
    sender_kind: SenderKind,
    client_id: &str,
    text: String,
    meta: Option<&serde_json::Value>,
) -> ApiResult<()> {
    let body = MessageBody::parse(&text)?;
    let client_id = ClientId::parse(client_id)?;
    // Most repeats (an away message for every line of a waiting customer) stop here: known on
    // this node, or found by one read.
    let key = format!(
        "{}/{}/{}",
        sender_kind.as_str(),
        conversation.id,
        client_id.as_str()
    );
    if state.posted.contains(&key) {
        return Ok(());
    }
    let sent = state
        .store
        .message_by_client_id(sender_kind, &conversation.id, &client_id)
        .await?;
    if sent.is_some() {
        state.posted.insert(key);
        return Ok(());
    }
    let meta = meta.map(|m| m.to_string());
    append_automatic(
        state,
        &NewMessage {
            workspace_id: &conversation.workspace_id,
            conversation_id: &conversation.id,
            sender_kind,
            sender_id: &conversation.id,
            body: &body,
            private: false,
            client_id: Some(&client_id),
            meta: meta.as_deref(),
        },
    )
    .await?;
    state.posted.insert(key);
    Ok(())
}

/// Automatic messages (sender kind / conversation id / client id) this node knows are posted: a posted
/// message never goes away, so a hit needs no read. Bounded: past [`PostedOnce::MAX`] keys it
/// starts again empty (a miss only costs the read).
#[derive(Default)]
pub struct PostedOnce {
    keys: Mutex<HashSet<String>>,
}

impl PostedOnce {
    const MAX: usize = 100_000;

    fn keys(&self) -> std::sync::MutexGuard<'_, HashSet<String>> {
        self.keys.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn contains(&self, key: &str) -> bool {
        self.keys().contains(key)
    }

    fn insert(&self, key: String) {
        let mut keys = self.keys();
        if keys.len() >= Self::MAX {
            keys.clear();
        }
        keys.insert(key);
    }
}

#[cfg(test)]
mod tests {
    use super::PostedOnce;

    #[test]
    fn posted_keys_are_remembered_and_bounded() {
        let posted = PostedOnce::default();
        posted.insert("system/c1/away-1".into());
        assert!(posted.contains("system/c1/away-1"));
        assert!(!posted.contains("system/c1/away-2"));
        for n in 0..PostedOnce::MAX {
            posted.insert(format!("system/c{n}/greeting"));
        }
        assert!(posted.keys().len() <= PostedOnce::MAX);
        assert!(!posted.contains("system/c1/away-1"), "started again empty");
    }
}
