//! Writing messages: commit in the store, then count and publish on the hub. Every route that
//! writes a message goes through here, so nothing is published before it is committed.

use std::sync::atomic::Ordering;

use madoguchi_store::conversations::{NewConversation, Started};
use madoguchi_store::messages::{Appended, NewMessage};

use crate::app::AppState;
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
    }
    Ok(started)
}

pub async fn append_message(state: &AppState, new: &NewMessage<'_>) -> ApiResult<Appended> {
    let appended = state.store.append_message(new).await?;
    if appended.created {
        state
            .metrics
            .messages_created
            .fetch_add(1, Ordering::Relaxed);
        state
            .hub
            .message_created(&appended.conversation, &appended.message);
        if appended.status_changed {
            state.hub.conversation_updated(&appended.conversation);
        }
    }
    Ok(appended)
}
