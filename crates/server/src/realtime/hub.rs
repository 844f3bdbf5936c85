//! The real-time hub: events are published after their transaction commits and fanned out to
//! every WebSocket that may see them. Frames are serialised once per audience. With several
//! nodes, events travel over NATS and a node asks the others whether a visitor or an agent is
//! online.
//!
//! Wire frames (server → client), the same for live events and replays:
//! `{"type": "message.created", "conversation_id", "seq", "message": {…}}` and
//! `{"type": "conversation.updated", "conversation_id", "seq", "conversation": {…}}`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::ws::Utf8Bytes;
use futures_util::StreamExt;
use madoguchi_store::conversations::Conversation;
use madoguchi_store::messages::Message;
use serde::Serialize;
use tokio::sync::{broadcast, mpsc};

use crate::http::views::{
    ConversationView, MessageView, VisitorConversationView, VisitorMessageView,
};

/// Who is typing (see [`Hub::typing`]).
#[derive(Debug, Clone, Copy)]
pub enum Typist<'a> {
    Agent { id: &'a str, name: &'a str },
    Contact,
}

/// One thing that happened to a conversation.
#[derive(Debug, Serialize, serde::Deserialize)]
pub struct Event {
    pub workspace_id: String,
    pub contact_id: String,
    pub conversation_id: String,
    /// The conversation's team (agents who see only their teams' get its events or not).
    #[serde(default)]
    pub team_id: Option<String>,
    /// The conversation's brand (agents limited to some brands get its events or not).
    #[serde(default)]
    pub brand_id: Option<String>,
    pub seq: i64,
    /// A new message (as opposed to a change of the conversation itself).
    pub is_message: bool,
    /// Frames are shared text: every socket sends the same bytes without copying them.
    #[serde(with = "shared_text")]
    pub agent_frame: Utf8Bytes,
    /// `None` when the visitor must not see it (a private note).
    #[serde(with = "shared_text::optional")]
    pub visitor_frame: Option<Utf8Bytes>,
}

impl Event {
    /// An event about `conversation` (who may see it follows from it); frames and `seq` to fill.
    fn about(conversation: &Conversation) -> Self {
        Self {
            workspace_id: conversation.workspace_id.clone(),
            contact_id: conversation.contact_id.clone(),
            conversation_id: conversation.id.clone(),
            team_id: conversation.team_id.clone(),
            brand_id: conversation.brand_id.clone(),
            seq: conversation.last_seq,
            is_message: false,
            agent_frame: Utf8Bytes::from_static(""),
            visitor_frame: None,
        }
    }
}

/// A contact's profile after a change.
#[derive(Debug)]
pub struct ContactChange {
    pub workspace_id: String,
    pub contact: serde_json::Value,
}

/// Frames on the NATS wire are plain JSON strings.
mod shared_text {
    use axum::extract::ws::Utf8Bytes;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(text: &Utf8Bytes, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(text.as_str())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Utf8Bytes, D::Error> {
        String::deserialize(d).map(Utf8Bytes::from)
    }

    pub mod optional {
        use super::*;

        pub fn serialize<S: Serializer>(text: &Option<Utf8Bytes>, s: S) -> Result<S::Ok, S::Error> {
            match text {
                Some(text) => s.serialize_some(text.as_str()),
                None => s.serialize_none(),
            }
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Utf8Bytes>, D::Error> {
            Option::<String>::deserialize(d).map(|text| text.map(Utf8Bytes::from))
        }
    }
}

/// Events queued per subscriber before it counts as lagging (and is told to resume): a
/// workspace's agents see every event of the workspace; a visitor only their own.
pub const HUB_CAPACITY: usize = 4096;
const CONTACT_CAPACITY: usize = 64;

/// Topics: one per workspace (its agents) and one per contact (their visitor sockets), so an
/// event wakes only the connections that may see it.
#[derive(Clone)]
pub struct Hub {
    topics: Arc<Mutex<HashMap<String, broadcast::Sender<Arc<Event>>>>>,
    /// Hashes of credentials just revoked: the sockets opened with them close.
    revoked: broadcast::Sender<Arc<str>>,
    /// Contacts erased and conversations emptied just now, from any node (`contact:ID`,
    /// `conversation:ID`): the search index forgets them.
    erased: broadcast::Sender<Arc<str>>,
    /// Ids of contacts just changed, from any node: the search index reads them again.
    changed: broadcast::Sender<Arc<str>>,
    /// Every event that reaches this node, its own and the other nodes' (the search index).
    all: broadcast::Sender<Arc<Event>>,
    /// The events made on this node only (outgoing webhooks: each is sent once, by its node).
    local: broadcast::Sender<Arc<Event>>,
    /// Contacts changed on this node (outgoing webhooks).
    contacts: broadcast::Sender<Arc<ContactChange>>,
    /// With several nodes: events to send to the others over NATS.
    bridge: Option<mpsc::Sender<Arc<Event>>>,
    /// With several nodes: the NATS connection, to ask the others who is online.
    nats: Option<async_nats::Client>,
    /// Open agent sockets on this node, by agent id (routing assigns only to agents online).
    agents_online: Arc<Mutex<HashMap<String, usize>>>,
}

/// An agent's open socket, counted while it lives (see [`Hub::agent_present`]).
pub struct AgentPresence {
    agents: Arc<Mutex<HashMap<String, usize>>>,
    agent_id: String,
}

impl Drop for AgentPresence {
    fn drop(&mut self) {
        let mut agents = self.agents.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = agents.get_mut(&self.agent_id) {
            *n -= 1;
            if *n == 0 {
                agents.remove(&self.agent_id);
            }
        }
    }
}

/// Revocations in flight before a socket that has not looked counts as lagging (it then
/// closes too, to be safe).
const REVOKED_CAPACITY: usize = 1024;
/// Contact changes queued for their follower before it lags.
const CONTACT_CHANGES: usize = 4096;
/// Events queued for a follower of every event before it lags (and catches up from the store).
const ALL_CAPACITY: usize = 65_536;

impl Default for Hub {
    fn default() -> Self {
        Self {
            topics: Arc::default(),
            revoked: broadcast::channel(REVOKED_CAPACITY).0,
            erased: broadcast::channel(REVOKED_CAPACITY).0,
            changed: broadcast::channel(CONTACT_CHANGES).0,
            all: broadcast::channel(ALL_CAPACITY).0,
            local: broadcast::channel(ALL_CAPACITY).0,
            contacts: broadcast::channel(CONTACT_CHANGES).0,
            bridge: None,
            nats: None,
            agents_online: Arc::default(),
        }
    }
}

/// The NATS subject of revoked credentials (token hashes).
const REVOKED_SUBJECT: &str = "madoguchi.revoked";
/// The NATS subject of erased contacts and emptied conversations.
const ERASED_SUBJECT: &str = "madoguchi.erased";
/// The NATS subject of changed contacts (their ids).
const CHANGED_SUBJECT: &str = "madoguchi.contacts";
/// The NATS subject every node publishes its events on.
const SUBJECT: &str = "madoguchi.events";
/// The NATS subject of "is this contact (`contact:ID`) or agent (`agent:ID`) online on your
/// node?" requests.
const PRESENCE_SUBJECT: &str = "madoguchi.presence";
/// How long a presence question waits for a node that has the contact online.
pub const PRESENCE_WAIT: Duration = Duration::from_millis(300);
/// Events waiting for NATS before new ones are dropped (clients then fill gaps from the store).
const BRIDGE_QUEUE: usize = 65_536;

/// An event on the wire between nodes.
#[derive(Serialize, serde::Deserialize)]
struct Wire {
    node: String,
    event: Event,
}

/// Passes what arrives on a NATS subject to this node's followers of `local`.
async fn relay(
    client: &async_nats::Client,
    subject: &'static str,
    local: broadcast::Sender<Arc<str>>,
) -> Result<(), async_nats::ConnectError> {
    let mut incoming = client.subscribe(subject).await.map_err(nats_error)?;
    tokio::spawn(async move {
        while let Some(message) = incoming.next().await {
            local
                .send(String::from_utf8_lossy(&message.payload).into())
                .ok();
        }
    });
    Ok(())
}

/// A NATS failure while setting a node up, as the connection error it amounts to.
fn nats_error(err: impl std::error::Error + Send + Sync + 'static) -> async_nats::ConnectError {
    async_nats::ConnectError::with_source(async_nats::ConnectErrorKind::Io, err)
}

fn workspace_topic(workspace_id: &str) -> String {
    format!("workspace:{workspace_id}")
}

fn contact_topic(contact_id: &str) -> String {
    format!("contact:{contact_id}")
}

impl Hub {
    fn topics(&self) -> std::sync::MutexGuard<'_, HashMap<String, broadcast::Sender<Arc<Event>>>> {
        self.topics
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn subscribe(&self, topic: String, capacity: usize) -> broadcast::Receiver<Arc<Event>> {
        self.topics()
            .entry(topic)
            .or_insert_with(|| broadcast::channel(capacity).0)
            .subscribe()
    }

    /// Every event of a workspace (agents).
    pub fn subscribe_workspace(&self, workspace_id: &str) -> broadcast::Receiver<Arc<Event>> {
        self.subscribe(workspace_topic(workspace_id), HUB_CAPACITY)
    }

    /// The events of one contact's conversations (their visitor sockets).
    pub fn subscribe_contact(&self, contact_id: &str) -> broadcast::Receiver<Arc<Event>> {
        self.subscribe(contact_topic(contact_id), CONTACT_CAPACITY)
    }

    /// Counts an agent online while the returned guard lives (their socket's lifetime).
    pub fn agent_present(&self, agent_id: &str) -> AgentPresence {
        let mut agents = self.agents_online.lock().unwrap_or_else(|e| e.into_inner());
        *agents.entry(agent_id.to_owned()).or_default() += 1;
        AgentPresence {
            agents: self.agents_online.clone(),
            agent_id: agent_id.to_owned(),
        }
    }

    fn is_agent_online_here(&self, agent_id: &str) -> bool {
        self.agents_online
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains_key(agent_id)
    }

    /// Whether the agent has the inbox open on any node (see [`Hub::is_visitor_online`]).
    pub async fn is_agent_online(&self, agent_id: &str) -> bool {
        self.is_agent_online_here(agent_id)
            || self.online_elsewhere(format!("agent:{agent_id}")).await
    }

    /// Whether a question `contact:ID` / `agent:ID` holds on this node.
    fn is_online_here(&self, question: &str) -> bool {
        match question.split_once(':') {
            Some(("contact", id)) => self.is_visitor_online_here(id),
            Some(("agent", id)) => self.is_agent_online_here(id),
            _ => false,
        }
    }

    /// Asks the other nodes; only one where it holds answers, so silence for
    /// [`PRESENCE_WAIT`] means no.
    async fn online_elsewhere(&self, question: String) -> bool {
        let Some(client) = &self.nats else {
            return false;
        };
        let request = async_nats::Request::new()
            .payload(question.into())
            .timeout(Some(PRESENCE_WAIT));
        client.send_request(PRESENCE_SUBJECT, request).await.is_ok()
    }

    /// Whether the contact has a widget open on this node.
    fn is_visitor_online_here(&self, contact_id: &str) -> bool {
        self.topics()
            .get(&contact_topic(contact_id))
            .is_some_and(|t| t.receiver_count() > 0)
    }

    /// Whether the contact has a widget open on any node (and would see a reply live). With
    /// several nodes the others are asked over NATS; only a node that has the contact online
    /// answers, so silence for [`PRESENCE_WAIT`] means offline.
    pub async fn is_visitor_online(&self, contact_id: &str) -> bool {
        self.is_visitor_online_here(contact_id)
            || self.online_elsewhere(format!("contact:{contact_id}")).await
    }

    /// A hub shared with the other nodes through NATS: what is published here reaches their
    /// sockets, and theirs reach ours. Events are at most once over NATS; a client that misses
    /// one sees the gap in `seq` and fills it from the store.
    pub async fn with_nats(url: &str) -> Result<Self, async_nats::ConnectError> {
        let client = async_nats::connect(url).await?;
        let node = uuid::Uuid::new_v4().to_string();
        let (bridge, mut outgoing) = mpsc::channel::<Arc<Event>>(BRIDGE_QUEUE);
        let hub = Hub {
            bridge: Some(bridge),
            nats: Some(client.clone()),
            ..Hub::default()
        };
        let publisher = client.clone();
        let me = node.clone();
        tokio::spawn(async move {
            while let Some(event) = outgoing.recv().await {
                let wire = serde_json::json!({"node": me, "event": &*event}).to_string();
                if let Err(err) = publisher.publish(SUBJECT, wire.into()).await {
                    tracing::warn!(%err, "publishing an event to NATS failed");
                }
            }
        });
        let mut incoming = client.subscribe(SUBJECT).await.map_err(nats_error)?;
        let local = hub.clone();
        tokio::spawn(async move {
            while let Some(message) = incoming.next().await {
                match serde_json::from_slice::<Wire>(&message.payload) {
                    Ok(wire) if wire.node != node => local.fan_out(Arc::new(wire.event)),
                    Ok(_) => {}
                    Err(err) => tracing::warn!(%err, "unreadable event from NATS"),
                }
            }
        });
        let mut questions = client
            .subscribe(PRESENCE_SUBJECT)
            .await
            .map_err(nats_error)?;
        let (local, answerer) = (hub.clone(), client.clone());
        tokio::spawn(async move {
            while let Some(question) = questions.next().await {
                let asked = String::from_utf8_lossy(&question.payload);
                if let Some(reply) = question.reply {
                    if local.is_online_here(&asked) {
                        answerer.publish(reply, "online".into()).await.ok();
                    }
                }
            }
        });
        relay(&client, REVOKED_SUBJECT, hub.revoked.clone()).await?;
        relay(&client, ERASED_SUBJECT, hub.erased.clone()).await?;
        relay(&client, CHANGED_SUBJECT, hub.changed.clone()).await?;
        // The subscriptions are in place at the server before this node serves anyone.
        client.flush().await.map_err(nats_error)?;
        Ok(hub)
    }

    /// Sockets opened with credentials whose hash is sent here close (on every node).
    pub fn subscribe_revocations(&self) -> broadcast::Receiver<Arc<str>> {
        self.revoked.subscribe()
    }

    /// A credential (by its hash) no longer holds: its open sockets close, here and on the
    /// other nodes.
    pub async fn revoke(&self, token_hash: &str) {
        self.announce(REVOKED_SUBJECT, &self.revoked, token_hash)
            .await;
    }

    /// Contacts erased and conversations emptied on any node from now on (`contact:ID`,
    /// `conversation:ID`).
    pub fn subscribe_erasures(&self) -> broadcast::Receiver<Arc<str>> {
        self.erased.subscribe()
    }

    /// A contact was erased: every node's search index forgets them.
    pub async fn contact_erased(&self, contact_id: &str) {
        self.announce(
            ERASED_SUBJECT,
            &self.erased,
            &format!("contact:{contact_id}"),
        )
        .await;
    }

    /// A conversation's content went (retention): every node's search index forgets it.
    pub async fn conversation_emptied(&self, conversation_id: &str) {
        let text = format!("conversation:{conversation_id}");
        self.announce(ERASED_SUBJECT, &self.erased, &text).await;
    }

    /// Contacts changed on any node from now on (their ids).
    pub fn subscribe_contact_ids(&self) -> broadcast::Receiver<Arc<str>> {
        self.changed.subscribe()
    }

    /// A contact's profile or identities changed: every node's search index reads it again.
    pub async fn contact_changed(&self, contact_id: &str) {
        self.announce(CHANGED_SUBJECT, &self.changed, contact_id)
            .await;
    }

    /// Sends `text` to this node's followers of `local` and, with NATS, to every node's (our
    /// own subscription brings it back here then).
    async fn announce(
        &self,
        subject: &'static str,
        local: &broadcast::Sender<Arc<str>>,
        text: &str,
    ) {
        let Some(client) = &self.nats else {
            local.send(text.into()).ok();
            return;
        };
        // Flushed: it has reached the NATS server when this returns.
        let sent = match client.publish(subject, text.to_owned().into()).await {
            Ok(()) => client.flush().await.map_err(|e| e.to_string()),
            Err(err) => Err(err.to_string()),
        };
        if let Err(err) = sent {
            tracing::warn!(%err, subject, "publishing to NATS failed");
            local.send(text.into()).ok();
        }
    }

    pub fn publish(&self, event: Event) {
        let event = Arc::new(event);
        let _ = self.local.send(event.clone());
        if let Some(bridge) = &self.bridge {
            if bridge.try_send(event.clone()).is_err() {
                tracing::warn!(
                    "NATS queue full: an event reaches other nodes' clients only on resume"
                );
            }
        }
        self.fan_out(event);
    }

    /// A contact changed on this node (its profile as agents see it, JSON).
    pub fn contact_updated(&self, workspace_id: &str, contact: serde_json::Value) {
        let _ = self.contacts.send(Arc::new(ContactChange {
            workspace_id: workspace_id.to_owned(),
            contact,
        }));
    }

    /// The contact changes made on this node from now on.
    pub fn subscribe_contacts(&self) -> broadcast::Receiver<Arc<ContactChange>> {
        self.contacts.subscribe()
    }

    /// The events made on this node from now on.
    pub fn subscribe_local(&self) -> broadcast::Receiver<Arc<Event>> {
        self.local.subscribe()
    }

    /// Every event that reaches this node from now on, from any node.
    pub fn subscribe_all(&self) -> broadcast::Receiver<Arc<Event>> {
        self.all.subscribe()
    }

    /// Sends an event to this node's sockets that may see it.
    fn fan_out(&self, event: Arc<Event>) {
        // Nobody following every event is fine.
        let _ = self.all.send(event.clone());
        let mut topics = self.topics();
        let mut keys = vec![workspace_topic(&event.workspace_id)];
        if event.visitor_frame.is_some() {
            keys.push(contact_topic(&event.contact_id));
        }
        for key in keys {
            if let Some(topic) = topics.get(&key) {
                // No receiver left: forget the topic (nobody is watching).
                if topic.send(event.clone()).is_err() {
                    topics.remove(&key);
                }
            }
        }
    }

    pub fn message_created(&self, conversation: &Conversation, message: &Message) {
        self.publish(Event {
            seq: message.seq,
            is_message: true,
            agent_frame: agent_message_frame(message).into(),
            visitor_frame: (!message.private).then(|| visitor_message_frame(message).into()),
            ..Event::about(conversation)
        });
    }

    /// What became of a message at a messaging provider changed: agents see its new state (the
    /// customer has it, or will not).
    pub fn message_updated(&self, conversation: &Conversation, message: &Message) {
        self.publish(Event {
            agent_frame: frame_for(
                "message.updated",
                &message.conversation_id,
                message.seq,
                "message",
                &MessageView::from(message),
            )
            .into(),
            ..Event::about(conversation)
        });
    }

    /// Someone is writing in a conversation: agents see who (their own echo they ignore by
    /// id); the customer sees an agent typing, never their own.
    pub fn typing(&self, conversation: &Conversation, typist: Typist<'_>) {
        let (kind, id, name) = match typist {
            Typist::Agent { id, name } => ("agent", Some(id), Some(name)),
            Typist::Contact => ("contact", None, None),
        };
        let agent_frame = serde_json::json!({
            "type": "typing", "conversation_id": conversation.id,
            "sender_kind": kind, "sender_id": id, "name": name,
        });
        let visitor_frame = (kind == "agent").then(|| {
            serde_json::json!({"type": "typing", "conversation_id": conversation.id, "sender_kind": kind, "name": name})
                .to_string()
                .into()
        });
        self.publish(Event {
            agent_frame: agent_frame.to_string().into(),
            visitor_frame,
            ..Event::about(conversation)
        });
    }

    pub fn conversation_updated(&self, conversation: &Conversation) {
        self.publish(Event {
            agent_frame: frame(
                "conversation.updated",
                conversation,
                "conversation",
                &ConversationView::from(conversation),
            )
            .into(),
            visitor_frame: Some(
                frame(
                    "conversation.updated",
                    conversation,
                    "conversation",
                    &VisitorConversationView::from(conversation),
                )
                .into(),
            ),
            ..Event::about(conversation)
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
