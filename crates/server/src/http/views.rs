//! The wire shapes of conversations and messages, one per audience (agents see everything of
//! their workspace; visitors see their own conversations without notes or internal fields):
//! shared by the API's responses and the events the hub sends. Other resources keep their
//! shapes beside their handlers in `api`.

use madoguchi_core::message::SenderKind;
use madoguchi_store::conversations::Conversation;
use madoguchi_store::messages::Message;
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ConversationView {
    pub id: String,
    pub channel_id: String,
    pub contact_id: String,
    /// open, pending, snoozed, resolved or spam
    pub status: String,
    pub assignee_id: Option<String>,
    pub team_id: Option<String>,
    /// The brand of its channel (`null`: none).
    pub brand_id: Option<String>,
    /// low, normal, high or urgent
    pub priority: String,
    pub tags: Vec<String>,
    pub last_seq: i64,
    pub created_at: i64,
    pub first_agent_response_at: Option<i64>,
    pub last_activity_at: i64,
    pub resolved_at: Option<i64>,
    /// How far staff / the customer have read (a `seq`).
    pub agent_read_seq: i64,
    pub contact_read_seq: i64,
    /// A snoozed conversation reopens at this time (Unix ms).
    pub snoozed_until: Option<i64>,
    /// An e-mail conversation's subject.
    pub subject: Option<String>,
    /// SLA deadlines (Unix ms) under `sla_policy_id`, when a policy applies.
    pub sla_policy_id: Option<String>,
    pub sla_first_due_at: Option<i64>,
    pub sla_resolution_due_at: Option<i64>,
    /// The next-response deadline, while the customer waits again after an agent's answer.
    pub sla_next_due_at: Option<i64>,
    /// The category it was classified into, how sure the classifier was (0–1), and who decided
    /// (`model`, `keywords` or `agent`).
    pub category: Option<String>,
    pub category_confidence: Option<f64>,
    pub category_source: Option<String>,
}

impl From<&Conversation> for ConversationView {
    fn from(c: &Conversation) -> Self {
        Self {
            id: c.id.clone(),
            channel_id: c.channel_id.clone(),
            contact_id: c.contact_id.clone(),
            status: c.status.as_str().to_owned(),
            assignee_id: c.assignee_id.clone(),
            team_id: c.team_id.clone(),
            brand_id: c.brand_id.clone(),
            priority: c.priority.as_str().to_owned(),
            tags: c.tags.clone(),
            last_seq: c.last_seq,
            created_at: c.created_at,
            first_agent_response_at: c.first_agent_response_at,
            last_activity_at: c.last_activity_at,
            resolved_at: c.resolved_at,
            agent_read_seq: c.agent_read_seq,
            contact_read_seq: c.contact_read_seq,
            snoozed_until: c.snoozed_until,
            subject: c.subject.clone(),
            sla_policy_id: c.sla_policy_id.clone(),
            sla_first_due_at: c.sla_first_due_at,
            sla_resolution_due_at: c.sla_resolution_due_at,
            sla_next_due_at: c.waiting_since.and(c.sla_next_due_at),
            category: c.category.clone(),
            category_confidence: c.category_confidence,
            category_source: c.category_source.clone(),
        }
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MessageView {
    pub id: String,
    pub conversation_id: String,
    pub seq: i64,
    /// contact, agent, bot or system
    pub sender_kind: String,
    pub sender_id: String,
    pub body: String,
    pub private: bool,
    pub client_id: Option<String>,
    /// Structured content (bot buttons, article links).
    #[schema(value_type = Option<Object>)]
    pub meta: Option<serde_json::Value>,
    /// The agent's name as it was when they wrote.
    pub sender_name: Option<String>,
    pub created_at: i64,
    /// Why it was flagged as harassment (`source`, `severity`, `categories`, `reasons`).
    #[schema(value_type = Option<Object>)]
    pub flag: Option<serde_json::Value>,
    /// A supervisor's decision on the flag: `confirmed` or `dismissed`.
    pub flag_decision: Option<String>,
    /// Flagged and not dismissed: `body` is empty (and `meta` left out) until an agent reveals
    /// it on purpose (`POST /api/v1/messages/{id}/reveal`, logged).
    pub masked: bool,
    /// On a messaging channel (LINE): `sent`, `retrying` or `failed`, with the reason.
    pub delivery: Option<String>,
    pub delivery_detail: Option<String>,
}

/// A message's structured content as JSON.
fn meta_of(m: &Message) -> Option<serde_json::Value> {
    m.meta
        .as_deref()
        .and_then(|meta| serde_json::from_str(meta).ok())
}

impl From<&Message> for MessageView {
    fn from(m: &Message) -> Self {
        Self {
            id: m.id.clone(),
            conversation_id: m.conversation_id.clone(),
            seq: m.seq,
            sender_kind: m.sender_kind.as_str().to_owned(),
            sender_id: m.sender_id.clone(),
            body: match m.masked() {
                true => String::new(),
                false => m.body.clone(),
            },
            private: m.private,
            client_id: m.client_id.clone(),
            meta: meta_of(m).filter(|_| !m.masked()),
            sender_name: m.sender_name.clone(),
            created_at: m.created_at,
            flag: m
                .flag
                .as_deref()
                .and_then(|flag| serde_json::from_str(flag).ok()),
            flag_decision: m.flag_decision.clone(),
            masked: m.masked(),
            delivery: m.delivery.clone(),
            delivery_detail: m.delivery_detail.clone(),
        }
    }
}

/// A conversation as its visitor sees it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct VisitorConversationView {
    pub id: String,
    pub status: String,
    pub last_seq: i64,
    pub created_at: i64,
    pub last_activity_at: i64,
    /// Staff have read the conversation up to this `seq` (read receipts).
    pub agent_read_seq: i64,
}

impl From<&Conversation> for VisitorConversationView {
    fn from(c: &Conversation) -> Self {
        Self {
            id: c.id.clone(),
            status: c.status.as_str().to_owned(),
            last_seq: c.last_seq,
            created_at: c.created_at,
            last_activity_at: c.last_activity_at,
            agent_read_seq: c.agent_read_seq,
        }
    }
}

/// A message as the visitor sees it: no agent ids, and `client_id` only on their own messages.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct VisitorMessageView {
    pub id: String,
    pub conversation_id: String,
    pub seq: i64,
    /// contact, agent, bot or system
    pub sender_kind: String,
    pub body: String,
    pub client_id: Option<String>,
    /// Bot buttons and article links.
    #[schema(value_type = Option<Object>)]
    pub meta: Option<serde_json::Value>,
    /// Who of the staff wrote it (agent messages).
    pub sender_name: Option<String>,
    pub created_at: i64,
}

impl From<&Message> for VisitorMessageView {
    fn from(m: &Message) -> Self {
        Self {
            id: m.id.clone(),
            conversation_id: m.conversation_id.clone(),
            seq: m.seq,
            sender_kind: m.sender_kind.as_str().to_owned(),
            body: m.body.clone(),
            client_id: m
                .client_id
                .clone()
                .filter(|_| m.sender_kind == SenderKind::Contact),
            meta: meta_of(m),
            sender_name: m.sender_name.clone(),
            created_at: m.created_at,
        }
    }
}

/// Maps a slice of stored things to their views.
pub fn views<'a, S: 'a, V: From<&'a S>>(items: &'a [S]) -> Vec<V> {
    items.iter().map(V::from).collect()
}
