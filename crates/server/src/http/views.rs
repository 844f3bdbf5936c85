//! What the API shows of stored things: one view per audience (agents see everything of their
//! workspace; visitors see their own conversations without notes or internal fields).

use madoguchi_core::message::SenderKind;
use madoguchi_store::agents::Agent;
use madoguchi_store::contacts::{Contact, Identity};
use madoguchi_store::conversations::Conversation;
use madoguchi_store::knowledge::{Article, BotTurn};
use madoguchi_store::messages::Message;
use madoguchi_store::templates::{Tag, Template};
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ConversationView {
    pub id: String,
    pub channel_id: String,
    pub contact_id: String,
    /// open, pending, snoozed or resolved
    pub status: String,
    pub assignee_id: Option<String>,
    pub team_id: Option<String>,
    /// low, normal, high or urgent
    pub priority: String,
    pub tags: Vec<String>,
    pub last_seq: i64,
    pub created_at: i64,
    pub first_agent_response_at: Option<i64>,
    pub last_activity_at: i64,
    pub resolved_at: Option<i64>,
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
            priority: c.priority.as_str().to_owned(),
            tags: c.tags.clone(),
            last_seq: c.last_seq,
            created_at: c.created_at,
            first_agent_response_at: c.first_agent_response_at,
            last_activity_at: c.last_activity_at,
            resolved_at: c.resolved_at,
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
    pub created_at: i64,
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
            body: m.body.clone(),
            private: m.private,
            client_id: m.client_id.clone(),
            meta: meta_of(m),
            created_at: m.created_at,
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
}

impl From<&Conversation> for VisitorConversationView {
    fn from(c: &Conversation) -> Self {
        Self {
            id: c.id.clone(),
            status: c.status.as_str().to_owned(),
            last_seq: c.last_seq,
            created_at: c.created_at,
            last_activity_at: c.last_activity_at,
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
            created_at: m.created_at,
        }
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AgentView {
    pub id: String,
    pub workspace_id: String,
    pub email: String,
    pub name: String,
    /// admin or agent
    pub role: String,
    pub locale: String,
}

impl From<&Agent> for AgentView {
    fn from(a: &Agent) -> Self {
        Self {
            id: a.id.clone(),
            workspace_id: a.workspace_id.clone(),
            email: a.email.clone(),
            name: a.name.clone(),
            role: a.role.as_str().to_owned(),
            locale: a.locale.clone(),
        }
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ContactView {
    pub id: String,
    pub name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

impl From<&Contact> for ContactView {
    fn from(c: &Contact) -> Self {
        Self {
            id: c.id.clone(),
            name: c.name.clone(),
            email: c.email.clone(),
            phone: c.phone.clone(),
            created_at: c.created_at,
            updated_at: c.updated_at,
        }
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct IdentityView {
    /// visitor, email, phone or external
    pub kind: String,
    /// Empty for visitor identities (their token is a secret).
    pub value: String,
    pub created_at: i64,
}

impl From<&Identity> for IdentityView {
    fn from(i: &Identity) -> Self {
        Self {
            kind: i.kind.clone(),
            value: i.value.clone(),
            created_at: i.created_at,
        }
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TemplateView {
    pub id: String,
    pub name: String,
    pub body: String,
}

impl From<&Template> for TemplateView {
    fn from(t: &Template) -> Self {
        Self {
            id: t.id.clone(),
            name: t.name.clone(),
            body: t.body.clone(),
        }
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TagView {
    pub id: String,
    pub name: String,
    pub conversations: i64,
}

impl From<&Tag> for TagView {
    fn from(t: &Tag) -> Self {
        Self {
            id: t.id.clone(),
            name: t.name.clone(),
            conversations: t.conversations,
        }
    }
}

/// Maps a slice of stored things to their views.
pub fn views<'a, S: 'a, V: From<&'a S>>(items: &'a [S]) -> Vec<V> {
    items.iter().map(V::from).collect()
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ArticleView {
    pub id: String,
    pub category: String,
    pub locale: String,
    pub status: String,
    pub title: String,
    pub body: String,
    pub alternatives: Vec<String>,
    pub updated_at: i64,
}

impl From<&Article> for ArticleView {
    fn from(a: &Article) -> Self {
        Self {
            id: a.id.clone(),
            category: a.category.clone(),
            locale: a.locale.clone(),
            status: a.status.clone(),
            title: a.title.clone(),
            body: a.body.clone(),
            alternatives: a.alternatives.clone(),
            updated_at: a.updated_at,
        }
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BotTurnView {
    pub id: String,
    pub conversation_id: String,
    pub query: String,
    /// `[{"article_id", "title", "score"}]`
    #[schema(value_type = Object)]
    pub shown: serde_json::Value,
    pub confidence: f64,
    pub outcome: String,
    pub review: Option<String>,
    pub created_at: i64,
}

impl From<&BotTurn> for BotTurnView {
    fn from(t: &BotTurn) -> Self {
        Self {
            id: t.id.clone(),
            conversation_id: t.conversation_id.clone(),
            query: t.query.clone(),
            shown: serde_json::from_str(&t.shown).unwrap_or_default(),
            confidence: t.confidence as f64 / 1000.0,
            outcome: t.outcome.clone(),
            review: t.review.clone(),
            created_at: t.created_at,
        }
    }
}
