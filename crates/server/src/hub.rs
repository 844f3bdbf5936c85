//! The real-time hub: events are published after their transaction commits and fanned out to
//! every WebSocket that may see them. Frames are serialised once per audience.
//!
//! Wire frames (server → client), the same for live events and replays:
//! `{"type": "message.created", "conversation_id", "seq", "message": {…}}` and
//! `{"type": "conversation.updated", "conversation_id", "seq", "conversation": {…}}`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use madoguchi_store::conversations::Conversation;
use madoguchi_store::messages::Message;
use serde::Serialize;
use tokio::sync::broadcast;

use crate::views::{ConversationView, MessageView, VisitorConversationView, VisitorMessageView};

/// One thing that happened to a conversation.
#[derive(Debug)]
pub struct Event {
    pub workspace_id: String,
    pub contact_id: String,
    pub conversation_id: String,
    pub seq: i64,
    /// A new message (as opposed to a change of the conversation itself).
    pub is_message: bool,
    pub agent_frame: String,
    /// `None` when the visitor must not see it (a private note).
    pub visitor_frame: Option<String>,
}

/// Events queued per subscriber before it counts as lagging (and is told to resume).
pub const HUB_CAPACITY: usize = 4096;

#[derive(Clone)]
pub struct Hub {
    sender: broadcast::Sender<Arc<Event>>,
    /// Open visitor sockets per contact on this node (who would see a reply live).
    online: Arc<Mutex<HashMap<String, usize>>>,
}

impl Default for Hub {
    fn default() -> Self {
        Self {
            sender: broadcast::channel(HUB_CAPACITY).0,
            online: Arc::default(),
        }
    }
}

/// Counts a visitor as online while it lives.
pub struct Presence {
    online: Arc<Mutex<HashMap<String, usize>>>,
    contact_id: String,
}

impl Drop for Presence {
    fn drop(&mut self) {
        let mut online = self
            .online
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(count) = online.get_mut(&self.contact_id) {
            *count -= 1;
            if *count == 0 {
                online.remove(&self.contact_id);
            }
        }
    }
}

impl Hub {
    /// Marks a visitor online until the returned guard is dropped.
    pub fn visitor_online(&self, contact_id: &str) -> Presence {
        let mut online = self
            .online
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        *online.entry(contact_id.to_owned()).or_default() += 1;
        Presence {
            online: self.online.clone(),
            contact_id: contact_id.to_owned(),
        }
    }

    pub fn is_visitor_online(&self, contact_id: &str) -> bool {
        let online = self
            .online
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        online.contains_key(contact_id)
    }

    pub fn publish(&self, event: Event) {
        // No subscriber is not an error: nobody is watching.
        let _ = self.sender.send(Arc::new(event));
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Event>> {
        self.sender.subscribe()
    }

    pub fn message_created(&self, conversation: &Conversation, message: &Message) {
        self.publish(Event {
            workspace_id: conversation.workspace_id.clone(),
            contact_id: conversation.contact_id.clone(),
            conversation_id: conversation.id.clone(),
            seq: message.seq,
            is_message: true,
            agent_frame: agent_message_frame(message),
            visitor_frame: (!message.private).then(|| visitor_message_frame(message)),
        });
    }

    pub fn conversation_updated(&self, conversation: &Conversation) {
        self.publish(Event {
            workspace_id: conversation.workspace_id.clone(),
            contact_id: conversation.contact_id.clone(),
            conversation_id: conversation.id.clone(),
            seq: conversation.last_seq,
            is_message: false,
            agent_frame: frame(
                "conversation.updated",
                conversation,
                "conversation",
                &ConversationView::from(conversation),
            ),
            visitor_frame: Some(frame(
                "conversation.updated",
                conversation,
                "conversation",
                &VisitorConversationView::from(conversation),
            )),
        });
    }
}

#[derive(Serialize)]
struct Frame<'a, T: Serialize> {
    #[serde(rename = "type")]
    kind: &'a str,
    conversation_id: &'a str,
    seq: i64,
    #[serde(flatten)]
    payload: std::collections::BTreeMap<&'a str, &'a T>,
}

fn frame_for<T: Serialize>(
    kind: &str,
    conversation_id: &str,
    seq: i64,
    key: &str,
    payload: &T,
) -> String {
    let frame = Frame {
        kind,
        conversation_id,
        seq,
        payload: [(key, payload)].into_iter().collect(),
    };
    serde_json::to_string(&frame).unwrap_or_default()
}

fn frame<T: Serialize>(kind: &str, conversation: &Conversation, key: &str, payload: &T) -> String {
    frame_for(kind, &conversation.id, conversation.last_seq, key, payload)
}

pub fn agent_message_frame(message: &Message) -> String {
    frame_for(
        "message.created",
        &message.conversation_id,
        message.seq,
        "message",
        &MessageView::from(message),
    )
}

pub fn visitor_message_frame(message: &Message) -> String {
    frame_for(
        "message.created",
        &message.conversation_id,
        message.seq,
        "message",
        &VisitorMessageView::from(message),
    )
}

/// An error frame: `{"type": "error", "error": {"code", "message"}}`.
pub fn error_frame(code: &str, message: &str) -> String {
    serde_json::json!({"type": "error", "error": {"code": code, "message": message}}).to_string()
}
