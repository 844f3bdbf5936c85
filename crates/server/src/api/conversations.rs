//! The agent API for conversations: the filtered list with counts, one conversation, changing
//! it, its messages and notes, and the workspace WebSocket.

use axum::extract::{State, WebSocketUpgrade};
use axum::http::StatusCode;
use axum::response::Response;
use madoguchi_core::agent::Email;
use madoguchi_core::conversation::{ConversationStatus, Priority};
use madoguchi_core::message::{ClientId, MessageBody, SenderKind};
use madoguchi_core::permissions::{allows, Permission};
use madoguchi_core::text::check_visible;
use madoguchi_core::InvalidValue;
use madoguchi_store::contacts::{ContactPatch, IDENTITY_EMAIL};
use madoguchi_store::conversations::{
    AssigneeFilter, ConversationFilter, ConversationPatch, Opener, Reader,
};
use madoguchi_store::jobs::NO_JOBS;
use madoguchi_store::messages::NewMessage;
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{AfterSeq, DEFAULT_LIMIT};
use crate::api::admin::parse_name;
use crate::api::sockets::{self, SocketParams, Viewer};
use crate::app::auth::{sight, AgentAuth, ClientIp};
use crate::app::AppState;
use crate::automation::{intake, sla};
use crate::http::error::{check_id, ApiResult, AppError, ErrorBody, Json, OrNotFound, Path, Query};
use crate::http::views::{views, ConversationView, MessageView};
use crate::inbox::conversations::{self, Change};
use crate::inbox::messaging_outbox::instagram_window_open;
use crate::knowledge::classifier::categories;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_conversations, start_mail))
        .routes(routes!(get_conversation, update_conversation))
        .routes(routes!(list_messages, send_message))
        .routes(routes!(mark_read))
        .routes(routes!(socket))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// open, pending, snoozed or resolved
    status: Option<String>,
    /// `me`, `none`, or an agent id
    assignee: Option<String>,
    /// A tag name.
    tag: Option<String>,
    /// A channel id.
    channel: Option<String>,
    /// Words that a message of the conversation contains.
    q: Option<String>,
    /// A team id.
    team: Option<String>,
    /// A brand id (`none`: conversations of no brand).
    brand: Option<String>,
    /// `sla`: nearest SLA deadline first (default: most recently active first).
    sort: Option<String>,
    limit: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StatusCounts {
    open: i64,
    pending: i64,
    snoozed: i64,
    resolved: i64,
    spam: i64,
    blocked: i64,
}

/// A conversation as a list shows it: with its customer and its newest visible message.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConversationListItem {
    #[serde(flatten)]
    conversation: ConversationView,
    contact_name: Option<String>,
    contact_email: Option<String>,
    /// The start of the newest message the customer can see (notes left out).
    /// `None` when that message is masked (flagged as harassment).
    preview: Option<String>,
    /// The newest message is masked: agents see it only by revealing it.
    masked: bool,
    /// When the customer's message still waiting for a human reply was written (Unix ms).
    waiting_since_at: Option<i64>,
    /// Customer messages newer than what staff have read.
    unread: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ConversationList {
    conversations: Vec<ConversationListItem>,
    /// Conversations per status in the whole workspace (unfiltered).
    counts: StatusCounts,
}

/// Conversations of the agent's workspace, most recently active first.
#[utoipa::path(get, path = "/api/v1/conversations", tag = "agent", params(ListQuery),
    responses((status = 200, body = ConversationList), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
async fn list_conversations(
    State(state): State<AppState>,
    auth: AgentAuth,
    Query(query): Query<ListQuery>,
) -> ApiResult<Json<ConversationList>> {
    let agent = &auth.agent;
    let assignee = match query.assignee.as_deref() {
        None | Some("") | Some("all") => AssigneeFilter::Anyone,
        Some("me") => AssigneeFilter::Agent(agent.id.clone()),
        Some("none") => AssigneeFilter::Unassigned,
        Some(id) => AssigneeFilter::Agent(id.to_owned()),
    };
    let sight = sight(&state, agent).await?;
    let filter = ConversationFilter {
        status: query
            .status
            .as_deref()
            .filter(|s| !s.is_empty())
            .map(ConversationStatus::parse)
            .transpose()?,
        assignee,
        tag: query.tag.filter(|t| !t.is_empty()),
        channel_id: query.channel.filter(|c| !c.is_empty()),
        contact_id: None,
        q: query.q,
        team_id: query.team.filter(|t| !t.is_empty()),
        brand_id: match query.brand.as_deref() {
            None | Some("") => None,
            Some("none") => Some(None),
            Some(id) => Some(Some(id.to_owned())),
        },
        sight: sight.clone(),
        by_deadline: match query.sort.as_deref() {
            None | Some("") | Some("activity") => false,
            Some("sla") => true,
            Some(other) => {
                return Err(
                    InvalidValue::new("sort", format!("{other:?}: use activity or sla")).into(),
                )
            }
        },
        limit: query.limit.unwrap_or(DEFAULT_LIMIT),
    };
    let conversations = state
        .store
        .conversations(&agent.workspace_id, &filter)
        .await?;
    let mut counts = StatusCounts {
        open: 0,
        pending: 0,
        snoozed: 0,
        resolved: 0,
        spam: 0,
        blocked: 0,
    };
    for (status, n) in state
        .store
        .visible_conversation_counts(&agent.workspace_id, &sight)
        .await?
    {
        let slot = match status {
            ConversationStatus::Open => &mut counts.open,
            ConversationStatus::Pending => &mut counts.pending,
            ConversationStatus::Snoozed => &mut counts.snoozed,
            ConversationStatus::Resolved => &mut counts.resolved,
            ConversationStatus::Spam => &mut counts.spam,
            ConversationStatus::Blocked => &mut counts.blocked,
        };
        *slot = n;
    }
    let mut summaries = state.store.summaries(&conversations).await?;
    let conversations = conversations
        .iter()
        .map(|conversation| {
            let summary = summaries.remove(&conversation.id).unwrap_or_default();
            ConversationListItem {
                conversation: conversation.into(),
                contact_name: summary.contact_name,
                contact_email: summary.contact_email,
                preview: summary.preview,
                masked: summary.masked,
                waiting_since_at: summary.waiting_since_at,
                unread: summary.unread,
            }
        })
        .collect();
    Ok(Json(ConversationList {
        conversations,
        counts,
    }))
}

/// A conversation of the agent's workspace; others are simply not found.
pub(super) async fn workspace_conversation(
    state: &AppState,
    auth: &AgentAuth,
    id: &str,
) -> ApiResult<madoguchi_store::conversations::Conversation> {
    let conversation = conversation_in(state, &auth.agent.workspace_id, id).await?;
    if !sight(state, &auth.agent).await?.sees(
        conversation.team_id.as_deref(),
        conversation.brand_id.as_deref(),
    ) {
        return Err(AppError::not_found("conversation"));
    }
    Ok(conversation)
}

/// A conversation of `workspace_id`; others are simply not found.
pub(super) async fn conversation_in(
    state: &AppState,
    workspace_id: &str,
    id: &str,
) -> ApiResult<madoguchi_store::conversations::Conversation> {
    check_id(id, "conversation")?;
    state
        .store
        .conversation(workspace_id, id)
        .await
        .or_not_found("conversation")
}

/// One conversation.
#[utoipa::path(get, path = "/api/v1/conversations/{id}", tag = "agent", params(("id" = String, Path)),
    responses((status = 200, body = ConversationView), (status = 404, body = ErrorBody)))]
async fn get_conversation(
    State(state): State<AppState>,
    auth: AgentAuth,
    Path(id): Path<String>,
) -> ApiResult<Json<ConversationView>> {
    let conversation = workspace_conversation(&state, &auth, &id).await?;
    Ok(Json((&conversation).into()))
}

/// Distinguishes an absent field (leave as is) from `null` (clear).
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConversationUpdate {
    /// open, pending, snoozed or resolved
    status: Option<String>,
    /// An agent of the workspace, or `null` to unassign.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    assignee_id: Option<Option<String>>,
    /// A team of the workspace, or `null` to take it out of its team.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    team_id: Option<Option<String>>,
    /// low, normal, high or urgent
    priority: Option<String>,
    /// The conversation's complete set of tags (1-50 characters each, at most 20).
    tags: Option<Vec<String>>,
    /// With `status: snoozed`: when it reopens by itself (Unix ms, in the next 366 days).
    snoozed_until: Option<i64>,
    /// One of the workspace's categories: the agent's choice, which the classifier learns from.
    category: Option<String>,
}

/// The longest a conversation may be snoozed.
const MAX_SNOOZE_MS: i64 = 366 * 24 * 3600 * 1000;

impl ConversationUpdate {
    fn parse(self, now: i64) -> Result<ConversationPatch, InvalidValue> {
        if let Some(until) = self.snoozed_until {
            if self.status.as_deref() != Some("snoozed") {
                return Err(InvalidValue::new(
                    "snoozed_until",
                    "goes with status snoozed",
                ));
            }
            if until <= now || until > now + MAX_SNOOZE_MS {
                return Err(InvalidValue::new(
                    "snoozed_until",
                    "must be a time in the next 366 days",
                ));
            }
        }
        if let Some(tags) = &self.tags {
            let bad = |t: &String| t.trim().is_empty() || t.chars().count() > 50;
            if tags.len() > 20 || tags.iter().any(bad) {
                return Err(InvalidValue::new(
                    "tags",
                    "at most 20 tags of 1-50 characters",
                ));
            }
        }
        Ok(ConversationPatch {
            status: self
                .status
                .as_deref()
                .map(ConversationStatus::parse)
                .transpose()?,
            assignee_id: self.assignee_id,
            team_id: self.team_id,
            priority: self.priority.as_deref().map(Priority::parse).transpose()?,
            tags: self
                .tags
                .map(|tags| tags.into_iter().map(|t| t.trim().to_owned()).collect()),
            hand_over: false,
            snoozed_until: self.snoozed_until,
            sla: None,
            category: self.category,
            sla_next_due_at: None,
        })
    }
}

/// Change status, assignee, priority or tags.
#[utoipa::path(patch, path = "/api/v1/conversations/{id}", tag = "agent", params(("id" = String, Path)),
    request_body = ConversationUpdate,
    responses((status = 200, body = ConversationView), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update_conversation(
    State(state): State<AppState>,
    auth: AgentAuth,
    Path(id): Path<String>,
    Json(update): Json<ConversationUpdate>,
) -> ApiResult<Json<ConversationView>> {
    let before = workspace_conversation(&state, &auth, &id).await?;
    let mut patch = update.parse(state.clock.now_ms())?;
    if let Some(category) = &patch.category {
        let workspace = state.store.workspace(&auth.agent.workspace_id).await?;
        if !categories(&workspace).iter().any(|c| &c.name == category) {
            return Err(
                InvalidValue::new("category", "not one of the workspace's categories").into(),
            );
        }
    }
    let jobs = sla::follow_priority(&state, &before, &mut patch).await?;
    let actor = format!("agent:{}", auth.agent.id);
    let change = Change {
        patch: &patch,
        actor: &actor,
        jobs: &jobs,
    };
    let conversation = conversations::update(&state, &auth.agent.workspace_id, &id, change)
        .await
        .or_not_found("conversation")?;
    Ok(Json((&conversation).into()))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MessageList {
    messages: Vec<MessageView>,
}

/// Messages and private notes of a conversation, in `seq` order.
#[utoipa::path(get, path = "/api/v1/conversations/{id}/messages", tag = "agent", params(("id" = String, Path), AfterSeq),
    responses((status = 200, body = MessageList), (status = 404, body = ErrorBody)))]
async fn list_messages(
    State(state): State<AppState>,
    auth: AgentAuth,
    Path(id): Path<String>,
    Query(query): Query<AfterSeq>,
) -> ApiResult<Json<MessageList>> {
    workspace_conversation(&state, &auth, &id).await?;
    let messages = query.page(&state, &id, true).await?;
    Ok(Json(MessageList {
        messages: views(&messages),
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AgentMessageRequest {
    body: String,
    /// A private note: seen by agents only.
    #[serde(default)]
    private: bool,
    client_id: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AgentSent {
    message: MessageView,
    conversation: ConversationView,
}

/// Reply to the contact, or add a private note (idempotent on `client_id`).
#[utoipa::path(post, path = "/api/v1/conversations/{id}/messages", tag = "agent", params(("id" = String, Path)),
    request_body = AgentMessageRequest,
    responses((status = 201, body = AgentSent), (status = 200, description = "Replay of an earlier client_id", body = AgentSent),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn send_message(
    State(state): State<AppState>,
    auth: AgentAuth,
    Path(id): Path<String>,
    Json(request): Json<AgentMessageRequest>,
) -> ApiResult<(StatusCode, Json<AgentSent>)> {
    let conversation = workspace_conversation(&state, &auth, &id).await?;
    let body = MessageBody::parse(&request.body)?;
    if !request.private {
        let channel = state
            .store
            .channel(&conversation.workspace_id, &conversation.channel_id)
            .await?;
        if channel.kind == "instagram" && !instagram_window_open(&state, &conversation).await? {
            return Err(InvalidValue::new(
                "body",
                "Instagramでは、お客様の最後のメッセージから24時間を過ぎると返信できません（お客様から新しいメッセージが届くと再び返信できます）。 Instagram lets you answer only within 24 hours of the customer's last message.",
            )
            .into());
        }
    }
    let client_id = request
        .client_id
        .as_deref()
        .map(ClientId::parse)
        .transpose()?;
    let appended = intake::agent_message(
        &state,
        NewMessage {
            workspace_id: &auth.agent.workspace_id,
            conversation_id: &id,
            sender_kind: SenderKind::Agent,
            sender_id: &auth.agent.id,
            body: &body,
            private: request.private,
            client_id: client_id.as_ref(),
            meta: None,
            sender_name: Some(&auth.agent.name),
            jobs: &NO_JOBS,
            at: state.clock.now_ms(),
        },
    )
    .await
    .or_not_found("conversation")?;
    let status = if appended.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    let mut conversation = appended.conversation;
    state
        .store
        .load_tags(std::slice::from_mut(&mut conversation))
        .await?;
    let sent = AgentSent {
        message: (&appended.message).into(),
        conversation: (&conversation).into(),
    };
    Ok((status, Json(sent)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewMailRequest {
    /// An e-mail channel of the workspace: the mail goes out from its address.
    channel_id: String,
    /// The customer's address; their contact is found (or made) by it.
    to: String,
    /// The customer's name, for a contact that has none yet.
    name: Option<String>,
    subject: String,
    body: String,
    client_id: Option<String>,
}

/// Write to a customer by e-mail: a new conversation (open, waiting on nobody); their reply
/// threads into it.
#[utoipa::path(post, path = "/api/v1/conversations", tag = "agent", request_body = NewMailRequest,
    responses((status = 201, body = AgentSent), (status = 200, description = "Replay of an earlier client_id", body = AgentSent),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn start_mail(
    State(state): State<AppState>,
    auth: AgentAuth,
    Json(request): Json<NewMailRequest>,
) -> ApiResult<(StatusCode, Json<AgentSent>)> {
    check_id(&request.channel_id, "channel")?;
    let workspace_id = &auth.agent.workspace_id;
    let channel = state
        .store
        .channel(workspace_id, &request.channel_id)
        .await
        .or_not_found("channel")?;
    if channel.kind != "email" {
        return Err(InvalidValue::new("channel_id", "is not an e-mail channel").into());
    }
    let to = Email::parse(&request.to)?.as_str().to_lowercase();
    let subject = request.subject.trim();
    if subject.is_empty() || subject.chars().count() > 200 {
        return Err(InvalidValue::new("subject", "must be 1-200 characters").into());
    }
    check_visible("subject", subject, false)?;
    let name = request.name.as_deref().map(parse_name).transpose()?;
    let body = MessageBody::parse(&request.body)?;
    let client_id = request
        .client_id
        .as_deref()
        .map(ClientId::parse)
        .transpose()?;
    let mut contact = state
        .store
        .identified_contact(workspace_id, IDENTITY_EMAIL, &to)
        .await?;
    if contact.email.is_none() || (contact.name.is_none() && name.is_some()) {
        let patch = ContactPatch {
            name: contact.name.is_none().then_some(name).flatten(),
            email: contact.email.is_none().then(|| to.clone()),
            phone: None,
        };
        contact = crate::inbox::contacts::update(&state, workspace_id, &contact.id, &patch).await?;
    }
    let started = intake::agent_opens_mail(
        &state,
        intake::OutgoingMail {
            channel: &channel,
            contact_id: &contact.id,
            agent: Opener {
                agent_id: &auth.agent.id,
                agent_name: &auth.agent.name,
            },
            subject,
            body: &body,
            client_id: client_id.as_ref(),
        },
    )
    .await?;
    let status = if started.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((
        status,
        Json(AgentSent {
            message: (&started.message).into(),
            conversation: (&started.conversation).into(),
        }),
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReadRequest {
    /// The newest `seq` the reader has seen.
    pub seq: i64,
}

/// Staff have read the conversation up to `seq` (the customer sees 既読; the list's unread
/// count drops). Reading backwards changes nothing.
#[utoipa::path(post, path = "/api/v1/conversations/{id}/read", tag = "agent", params(("id" = String, Path)), request_body = ReadRequest,
    responses((status = 204, description = "Recorded"), (status = 404, body = ErrorBody)))]
async fn mark_read(
    State(state): State<AppState>,
    auth: AgentAuth,
    Path(id): Path<String>,
    Json(request): Json<ReadRequest>,
) -> ApiResult<StatusCode> {
    let conversation = workspace_conversation(&state, &auth, &id).await?;
    conversations::read(&state, &conversation, Reader::Agent, request.seq).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The workspace's WebSocket: every message (notes included) and conversation change.
#[utoipa::path(get, path = "/api/v1/ws", tag = "agent", params(SocketParams),
    responses((status = 101, description = "Switching to the WebSocket protocol"), (status = 401, body = ErrorBody)))]
async fn socket(
    State(state): State<AppState>,
    auth: AgentAuth,
    Query(params): Query<SocketParams>,
    ClientIp(ip): ClientIp,
    upgrade: WebSocketUpgrade,
) -> ApiResult<Response> {
    if let Some(id) = &params.conversation_id {
        workspace_conversation(&state, &auth, id).await?;
    }
    let viewer = Viewer::Agent {
        workspace_id: auth.agent.workspace_id.clone(),
        token_hash: auth.token_hash.clone(),
        agent_id: auth.agent.id.clone(),
        name: auth.agent.name.clone(),
        sight: sight(&state, &auth.agent).await?,
        answers: allows(auth.agent.role, Permission::Answer),
    };
    sockets::upgrade(upgrade, state, viewer, params, ip)
}
