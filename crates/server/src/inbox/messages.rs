//! The door for messages. Every message — a customer's from any channel, an agent's reply or
//! note, the bot's and the system's — is written by [`post`] (or [`start`] for a
//! conversation's first one; a customer's comes through the `_screened` forms with the
//! harassment check's result): the message, the conversation change it makes and the jobs it
//! triggers commit in one transaction; then it is counted and published. A retried
//! `client_id` returns the first message and triggers nothing again.

use std::sync::atomic::Ordering;

use madoguchi_core::message::{ClientId, MessageBody, SenderKind};
use madoguchi_store::conversations::{Conversation, NewConversation, Started};
use madoguchi_store::jobs::{JobChanges, NO_JOBS};
use madoguchi_store::messages::{Appended, NewMessage, Screen};

use crate::app::error::DomainResult;
use crate::app::AppState;

/// Starts a conversation with its first message (and that message's jobs), then publishes.
pub async fn start(state: &AppState, new: NewConversation<'_>) -> DomainResult<Started> {
    start_screened(state, new, &Screen::default()).await
}

/// [`start`] with what the harassment check found on a customer's first message.
pub async fn start_screened(
    state: &AppState,
    new: NewConversation<'_>,
    screen: &Screen<'_>,
) -> DomainResult<Started> {
    let started = state.store.start_screened(new, screen).await?;
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
    }
    Ok(started)
}

/// Appends a message with its jobs, then publishes it (and the conversation, when the message
/// changed its status).
pub async fn post(state: &AppState, new: &NewMessage<'_>) -> DomainResult<Appended> {
    post_screened(state, new, &Screen::default()).await
}

/// [`post`] with what the harassment check found on a customer's message.
pub async fn post_screened(
    state: &AppState,
    new: &NewMessage<'_>,
    screen: &Screen<'_>,
) -> DomainResult<Appended> {
    let mut appended = state.store.append_screened(new, screen).await?;
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

/// A message the system or the bot writes for a conversation.
pub struct Automatic<'a> {
    pub sender_kind: SenderKind,
    /// Names the occasion (`greeting`, `away-12`, `bot-7`…): one message per occasion.
    pub client_id: &'a str,
    pub text: String,
    pub meta: Option<&'a serde_json::Value>,
    pub jobs: &'a JobChanges,
}

/// Posts an automatic message (speaking for the conversation) once per `client_id`: retries
/// and duplicate jobs cannot send it twice.
pub async fn post_automatic(
    state: &AppState,
    conversation: &Conversation,
    automatic: Automatic<'_>,
) -> DomainResult<()> {
    let body = MessageBody::parse(&automatic.text)?;
    let client_id = ClientId::parse(automatic.client_id)?;
    let kind = automatic.sender_kind;
    // Most repeats (an away message for every line of a waiting customer) stop here: known on
    // this node, or found by one read.
    let key = format!(
        "{}/{}/{}",
        kind.as_str(),
        conversation.id,
        client_id.as_str()
    );
    if state.posted.contains(&key) {
        return Ok(());
    }
    let sent = state
        .store
        .message_by_client_id(kind, &conversation.id, &client_id)
        .await?;
    if sent.is_some() {
        state.posted.insert(key);
        return Ok(());
    }
    let meta = automatic.meta.map(|m| m.to_string());
    let mut jobs = automatic.jobs.clone();
    jobs.enqueue
        .extend(super::outbox::plan(state, conversation).await?);
    post(
        state,
        &NewMessage {
            workspace_id: &conversation.workspace_id,
            conversation_id: &conversation.id,
            sender_kind: kind,
            sender_id: &conversation.id,
            body: &body,
            private: false,
            client_id: Some(&client_id),
            meta: meta.as_deref(),
            sender_name: None,
            jobs: &jobs,
            at: state.clock.now_ms(),
        },
    )
    .await?;
    state.posted.insert(key);
    Ok(())
}

/// A private note from the system on a conversation's timeline, for its agents (a rule that
/// fired, an SLA warning, a notification that could not go out): once per `client_id`.
pub async fn post_note(
    state: &AppState,
    conversation: &Conversation,
    client_id: &str,
    text: &str,
    meta: Option<&serde_json::Value>,
) -> DomainResult<()> {
    let client_id = ClientId::parse(client_id)?;
    let meta = meta.map(|m| m.to_string());
    post(
        state,
        &NewMessage {
            workspace_id: &conversation.workspace_id,
            conversation_id: &conversation.id,
            sender_kind: SenderKind::System,
            sender_id: &conversation.id,
            body: &MessageBody::parse(text)?,
            private: true,
            client_id: Some(&client_id),
            meta: meta.as_deref(),
            sender_name: None,
            jobs: &NO_JOBS,
            at: state.clock.now_ms(),
        },
    )
    .await?;
    Ok(())
}
