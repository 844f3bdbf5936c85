//! Harassment (カスハラ) cases over HTTP. Agents reveal a masked message on purpose (logged),
//! report a message by hand, read the workspace's guideline and see who is blocked; admins
//! (the supervisors) set the policy, decide on flagged and reported messages, block and
//! unblock senders, read the counts per category, and export a case's evidence (JSON or HTML)
//! with the audit chain's verification.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use madoguchi_core::agent::Email;
use madoguchi_core::conversation::ConversationStatus;
use madoguchi_core::harassment::{BlockKind, Decision, Flag, FlagSource, Policy};
use madoguchi_core::message::SenderKind;
use madoguchi_core::InvalidValue;
use madoguchi_store::audit::AuditEvent;
use madoguchi_store::conversations::ConversationPatch;
use madoguchi_store::harassment::{Block, NewBlock};
use madoguchi_store::jobs::NO_JOBS;
use madoguchi_store::messages::Message;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::conversations::{conversation_in, workspace_conversation};
use crate::api::audit;
use crate::app::auth::AgentAuth;
use crate::app::AppState;
use crate::http::client_ip::ProxyRange;
use crate::http::error::{check_id, ApiResult, AppError, ErrorBody, Json, OrNotFound, Path, Query};
use crate::http::views::{ConversationView, MessageView};
use crate::inbox::conversations::{self, Change};
use crate::inbox::settings::{harassment_policy, workspace_time_zone};
use crate::web::pages::rendered;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_policy, put_policy))
        .routes(routes!(reveal))
        .routes(routes!(report))
        .routes(routes!(reviews))
        .routes(routes!(decide))
        .routes(routes!(list_blocks, create_block))
        .routes(routes!(lift_block))
        .routes(routes!(stats))
        .routes(routes!(evidence))
}

/// The workspace's harassment policy and guideline (every agent may read it).
#[utoipa::path(get, path = "/api/v1/harassment/policy", tag = "agent",
    responses((status = 200, body = Object), (status = 401, body = ErrorBody)))]
async fn get_policy(State(state): State<AppState>, auth: AgentAuth) -> ApiResult<Json<Policy>> {
    let workspace = state.store.workspace(&auth.agent.workspace_id).await?;
    Ok(Json(harassment_policy(&workspace)?))
}

/// Replace the harassment policy: masking, the guideline reply, when a conversation ends,
/// how long its sender is blocked, the workspace's own terms and its guideline text.
#[utoipa::path(put, path = "/api/v1/harassment/policy", tag = "admin", request_body = Object,
    responses((status = 200, body = Object), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn put_policy(
    State(state): State<AppState>,
    AgentAuth { agent: admin, .. }: AgentAuth,
    Json(policy): Json<Policy>,
) -> ApiResult<Json<Policy>> {
    policy.validate()?;
    let json = serde_json::to_string(&policy).unwrap_or_default();
    state
        .store
        .set_harassment_policy(&admin.workspace_id, &json, &format!("agent:{}", admin.id))
        .await?;
    Ok(Json(policy))
}

/// A message of a conversation the agent may see; others are not found.
async fn visible_message(state: &AppState, auth: &AgentAuth, id: &str) -> ApiResult<Message> {
    let message = workspace_message(state, &auth.agent.workspace_id, id).await?;
    workspace_conversation(state, auth, &message.conversation_id)
        .await
        .map_err(|_| AppError::not_found("message"))?;
    Ok(message)
}

/// A message of the workspace; others are not found.
async fn workspace_message(state: &AppState, workspace_id: &str, id: &str) -> ApiResult<Message> {
    check_id(id, "message")?;
    state
        .store
        .workspace_message(workspace_id, id)
        .await
        .or_not_found("message")
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Revealed {
    pub body: String,
    #[schema(value_type = Option<Object>)]
    pub meta: Option<serde_json::Value>,
}

/// Show a masked message's text. Revealing is on purpose and is logged (who, when).
#[utoipa::path(post, path = "/api/v1/messages/{id}/reveal", tag = "agent", params(("id" = String, Path)),
    responses((status = 200, body = Revealed), (status = 404, body = ErrorBody)))]
async fn reveal(
    State(state): State<AppState>,
    auth: AgentAuth,
    Path(id): Path<String>,
) -> ApiResult<Json<Revealed>> {
    let message = visible_message(&state, &auth, &id).await?;
    if message.masked() {
        audit(
            &state,
            &auth.agent,
            "message.revealed",
            &message.id,
            serde_json::json!({"conversation_id": message.conversation_id}),
        )
        .await?;
    }
    Ok(Json(Revealed {
        body: message.body.clone(),
        meta: message
            .meta
            .as_deref()
            .and_then(|m| serde_json::from_str(m).ok()),
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReportRequest {
    /// Why the agent reports it (at most 500 characters).
    reason: String,
}

/// Report a customer's message as harassment by hand: it is masked, its text sealed into the
/// audit log, and it waits in the supervisors' review queue.
#[utoipa::path(post, path = "/api/v1/messages/{id}/report", tag = "agent", params(("id" = String, Path)),
    request_body = ReportRequest,
    responses((status = 200, body = MessageView), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn report(
    State(state): State<AppState>,
    auth: AgentAuth,
    Path(id): Path<String>,
    Json(request): Json<ReportRequest>,
) -> ApiResult<Json<MessageView>> {
    let reason = request.reason.trim();
    if reason.is_empty() || reason.chars().count() > 500 {
        return Err(InvalidValue::new("reason", "must be 1-500 characters").into());
    }
    let workspace_id = &auth.agent.workspace_id;
    let message = visible_message(&state, &auth, &id).await?;
    if message.sender_kind != SenderKind::Contact {
        return Err(InvalidValue::new("message", "only customers' messages are reported").into());
    }
    let flag = Flag {
        source: FlagSource::Report,
        severity: 2,
        categories: vec!["reported".into()],
        reasons: vec![reason.to_owned()],
        reported_by: Some(auth.agent.id.clone()),
    };
    state
        .store
        .report_message(
            workspace_id,
            &message,
            &serde_json::to_string(&flag).unwrap_or_default(),
            &format!("agent:{}", auth.agent.id),
        )
        .await?;
    let message = state.store.workspace_message(workspace_id, &id).await?;
    Ok(Json((&message).into()))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ReviewQuery {
    /// Also the decided ones (default: only those waiting for a decision).
    all: Option<bool>,
    /// At most this many (default 100, at most 500).
    limit: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReviewItem {
    message: MessageView,
    contact_id: String,
    contact_name: Option<String>,
    decided_by: Option<String>,
    decided_at: Option<i64>,
}

/// The review queue: flagged and reported customer messages, newest first, masked (a
/// supervisor reveals one like any agent).
#[utoipa::path(get, path = "/api/v1/harassment/reviews", tag = "admin", params(ReviewQuery),
    responses((status = 200, body = [ReviewItem]), (status = 403, body = ErrorBody)))]
async fn reviews(
    State(state): State<AppState>,
    AgentAuth { agent: admin, .. }: AgentAuth,
    Query(query): Query<ReviewQuery>,
) -> ApiResult<Json<Vec<ReviewItem>>> {
    let flagged = state
        .store
        .flagged_messages(
            &admin.workspace_id,
            !query.all.unwrap_or(false),
            0,
            query.limit.unwrap_or(100).clamp(1, 500),
        )
        .await?;
    let mut items = Vec::new();
    for f in flagged {
        let contact = state
            .store
            .contact(&admin.workspace_id, &f.contact_id)
            .await?;
        items.push(ReviewItem {
            message: (&f.message).into(),
            contact_id: f.contact_id,
            contact_name: contact.name.or(contact.email),
            decided_by: f.flag_decided_by,
            decided_at: f.flag_decided_at,
        });
    }
    Ok(Json(items))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecisionRequest {
    /// `confirmed` (it is harassment) or `dismissed` (it is not: the message is unmasked).
    decision: String,
}

/// A supervisor's decision on a flagged or reported message (audited).
#[utoipa::path(post, path = "/api/v1/harassment/reviews/{id}", tag = "admin", params(("id" = String, Path)),
    request_body = DecisionRequest,
    responses((status = 200, body = MessageView), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn decide(
    State(state): State<AppState>,
    AgentAuth { agent: admin, .. }: AgentAuth,
    Path(id): Path<String>,
    Json(request): Json<DecisionRequest>,
) -> ApiResult<Json<MessageView>> {
    let decision = Decision::parse(&request.decision)?;
    let message = workspace_message(&state, &admin.workspace_id, &id).await?;
    if message.flag.is_none() {
        return Err(InvalidValue::new("message", "is not flagged").into());
    }
    state
        .store
        .decide_flag(&admin.workspace_id, &message, decision.as_str(), &admin.id)
        .await?;
    let message = state
        .store
        .workspace_message(&admin.workspace_id, &id)
        .await?;
    Ok(Json((&message).into()))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BlockView {
    #[serde(flatten)]
    #[schema(value_type = Object)]
    block: Block,
    /// The blocked contact's name or address (contact blocks).
    contact_name: Option<String>,
}

/// Who is blocked now, why and until when (every agent may read it).
#[utoipa::path(get, path = "/api/v1/harassment/blocks", tag = "agent",
    responses((status = 200, body = [BlockView]), (status = 401, body = ErrorBody)))]
async fn list_blocks(
    State(state): State<AppState>,
    auth: AgentAuth,
) -> ApiResult<Json<Vec<BlockView>>> {
    let workspace_id = &auth.agent.workspace_id;
    let blocks = state
        .store
        .active_blocks(workspace_id, state.clock.now_ms())
        .await?;
    let mut views = Vec::new();
    for block in blocks {
        let contact_name = match block.kind.as_str() {
            "contact" => state
                .store
                .contact(workspace_id, &block.value)
                .await
                .ok()
                .and_then(|c| c.name.or(c.email)),
            _ => None,
        };
        views.push(BlockView {
            block,
            contact_name,
        });
    }
    Ok(Json(views))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BlockRequest {
    /// `contact`, `visitor`, `ip` or `email`.
    kind: String,
    /// The contact id, visitor token hash, CIDR range or address; for `contact` and `email`
    /// it may be left out when `conversation_id` names the sender.
    value: Option<String>,
    reason: String,
    /// The conversation the block comes from: it moves to `blocked`.
    conversation_id: Option<String>,
    /// Days the block lasts (default: until lifted).
    days: Option<u32>,
}

/// Block a sender: their messages are kept as evidence but never reach the queue.
#[utoipa::path(post, path = "/api/v1/harassment/blocks", tag = "admin", request_body = BlockRequest,
    responses((status = 201, body = BlockView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_block(
    State(state): State<AppState>,
    AgentAuth { agent: admin, .. }: AgentAuth,
    Json(request): Json<BlockRequest>,
) -> ApiResult<(StatusCode, Json<BlockView>)> {
    let kind = BlockKind::parse(&request.kind)?;
    let reason = request.reason.trim();
    if reason.is_empty() || reason.chars().count() > 500 {
        return Err(InvalidValue::new("reason", "must be 1-500 characters").into());
    }
    if request.days.is_some_and(|d| d == 0 || d > 3650) {
        return Err(InvalidValue::new("days", "must be 1-3650").into());
    }
    let conversation = match &request.conversation_id {
        Some(id) => Some(conversation_in(&state, &admin.workspace_id, id).await?),
        None => None,
    };
    let contact = match &conversation {
        Some(c) => Some(
            state
                .store
                .contact(&admin.workspace_id, &c.contact_id)
                .await?,
        ),
        None => None,
    };
    let given = request.value.as_deref().map(str::trim);
    let value = match (kind, given) {
        (BlockKind::Contact, None) => contact.as_ref().map(|c| c.id.clone()),
        (BlockKind::Email, None) => contact.as_ref().and_then(|c| c.email.clone()),
        (BlockKind::Email, Some(v)) => Some(Email::parse(v)?.as_str().to_owned()),
        (BlockKind::Ip, Some(v)) => Some(
            ProxyRange::parse(v)
                .map_err(|err| InvalidValue::new("value", err))?
                .to_string(),
        ),
        (BlockKind::Contact, Some(v)) => {
            check_id(v, "contact")?;
            state
                .store
                .contact(&admin.workspace_id, v)
                .await
                .or_not_found("contact")?;
            Some(v.to_owned())
        }
        (BlockKind::Visitor, Some(v)) if !v.is_empty() && v.len() <= 128 => Some(v.to_owned()),
        _ => None,
    }
    .ok_or_else(|| InvalidValue::new("value", "names no sender to block"))?;
    let now = state.clock.now_ms();
    let actor = format!("agent:{}", admin.id);
    let block = state
        .store
        .create_block(&NewBlock {
            workspace_id: &admin.workspace_id,
            kind: kind.as_str(),
            value: &value,
            reason,
            conversation_id: conversation.as_ref().map(|c| c.id.as_str()),
            until_at: request.days.map(|d| now + i64::from(d) * 86_400_000),
            created_by: &actor,
            at: now,
        })
        .await?;
    if let Some(conversation) = &conversation {
        set_status(&state, conversation, ConversationStatus::Blocked, &actor).await?;
    }
    Ok((
        StatusCode::CREATED,
        Json(BlockView {
            contact_name: contact.and_then(|c| c.name.or(c.email)),
            block,
        }),
    ))
}

/// Moves a conversation to `status` as `actor`, unless it is there already.
async fn set_status(
    state: &AppState,
    conversation: &madoguchi_store::conversations::Conversation,
    status: ConversationStatus,
    actor: &str,
) -> ApiResult<()> {
    if conversation.status == status {
        return Ok(());
    }
    let patch = ConversationPatch {
        status: Some(status),
        ..Default::default()
    };
    conversations::update(
        state,
        &conversation.workspace_id,
        &conversation.id,
        Change {
            patch: &patch,
            actor,
            jobs: &NO_JOBS,
        },
    )
    .await?;
    Ok(())
}

/// Lift a block; the conversation it came from, if still blocked, opens again for agents.
#[utoipa::path(delete, path = "/api/v1/harassment/blocks/{id}", tag = "admin", params(("id" = String, Path)),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn lift_block(
    State(state): State<AppState>,
    AgentAuth { agent: admin, .. }: AgentAuth,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    check_id(&id, "block")?;
    let actor = format!("agent:{}", admin.id);
    let block = state
        .store
        .lift_block(&admin.workspace_id, &id, &actor)
        .await
        .or_not_found("block")?;
    if let Some(conversation_id) = &block.conversation_id {
        let conversation = state
            .store
            .conversation(&admin.workspace_id, conversation_id)
            .await?;
        if conversation.status == ConversationStatus::Blocked {
            set_status(&state, &conversation, ConversationStatus::Open, &actor).await?;
        }
    }
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct StatsQuery {
    /// Days back from today (default 30, at most 366).
    days: Option<u32>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct HarassmentStats {
    /// Flagged messages per local day (workspace time zone) and category.
    #[schema(value_type = Object)]
    days: BTreeMap<String, BTreeMap<String, i64>>,
    /// The same over the whole span.
    #[schema(value_type = Object)]
    totals: BTreeMap<String, i64>,
    /// Still waiting for a supervisor's decision.
    pending: i64,
}

/// Flagged messages per category over time (a message with two categories counts in both).
#[utoipa::path(get, path = "/api/v1/harassment/stats", tag = "admin", params(StatsQuery),
    responses((status = 200, body = HarassmentStats), (status = 403, body = ErrorBody)))]
async fn stats(
    State(state): State<AppState>,
    AgentAuth { agent: admin, .. }: AgentAuth,
    Query(query): Query<StatsQuery>,
) -> ApiResult<Json<HarassmentStats>> {
    let days = query.days.unwrap_or(30).clamp(1, 366);
    let since = state.clock.now_ms() - i64::from(days) * 86_400_000;
    let tz = workspace_time_zone(&state.store.workspace(&admin.workspace_id).await?);
    let flagged = state
        .store
        .flagged_messages(&admin.workspace_id, false, since, 100_000)
        .await?;
    let mut out = HarassmentStats {
        days: BTreeMap::new(),
        totals: BTreeMap::new(),
        pending: 0,
    };
    for f in &flagged {
        if f.message.flag_decision.as_deref() == Some(Decision::Dismissed.as_str()) {
            continue;
        }
        if f.message.flag_decision.is_none() {
            out.pending += 1;
        }
        let day = chrono::DateTime::from_timestamp_millis(f.message.created_at)
            .unwrap_or_default()
            .with_timezone(&tz)
            .format("%Y-%m-%d")
            .to_string();
        let categories = f
            .message
            .flag
            .as_deref()
            .and_then(|flag| serde_json::from_str::<Flag>(flag).ok())
            .map(|flag| flag.categories)
            .unwrap_or_default();
        for category in categories {
            *out.days
                .entry(day.clone())
                .or_default()
                .entry(category.clone())
                .or_default() += 1;
            *out.totals.entry(category).or_default() += 1;
        }
    }
    Ok(Json(out))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct EvidenceQuery {
    /// `json` (default) or `html` (to read and print).
    format: Option<String>,
}

/// One message as evidence: its original text and whether it still matches what was sealed.
#[derive(Debug, Serialize)]
struct EvidenceMessage {
    id: String,
    seq: i64,
    sender_kind: String,
    sender_name: Option<String>,
    created_at: i64,
    time: String,
    private: bool,
    body: String,
    flag: Option<serde_json::Value>,
    flag_decision: Option<String>,
    /// For a flagged message: its text equals the text sealed into the audit log.
    matches_seal: Option<bool>,
}

/// An audit event with its local time.
#[derive(Debug, Serialize)]
struct EvidenceEvent {
    #[serde(flatten)]
    event: AuditEvent,
    time: String,
}

#[derive(Debug, Serialize)]
struct Evidence {
    workspace_id: String,
    conversation: ConversationView,
    contact: serde_json::Value,
    messages: Vec<EvidenceMessage>,
    /// Every audit event about the conversation or its messages: flags with their original
    /// text, reveals (who saw it when), reports, decisions, blocks, escalations, exports.
    audit_events: Vec<EvidenceEvent>,
    chain: serde_json::Value,
    /// The chain is unbroken and every flagged message matches its seal.
    verified: bool,
    exported_at: String,
    exported_by: String,
    time_zone: String,
    verify_command: String,
}

#[derive(askama::Template)]
#[template(path = "evidence.html")]
struct EvidencePage<'a> {
    evidence: &'a Evidence,
}

/// A case's evidence: the conversation with every message's original text, the audit events
/// about it, and the check of the workspace's audit chain. The export itself is audited.
#[utoipa::path(get, path = "/api/v1/conversations/{id}/evidence", tag = "admin", params(("id" = String, Path), EvidenceQuery),
    responses((status = 200, description = "The evidence (JSON or HTML)"), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn evidence(
    State(state): State<AppState>,
    AgentAuth { agent: admin, .. }: AgentAuth,
    Path(id): Path<String>,
    Query(query): Query<EvidenceQuery>,
) -> ApiResult<Response> {
    let html = match query.format.as_deref() {
        None | Some("json") => false,
        Some("html") => true,
        Some(other) => {
            return Err(InvalidValue::new("format", format!("{other:?}: use json or html")).into())
        }
    };
    let conversation = conversation_in(&state, &admin.workspace_id, &id).await?;
    let workspace_id = &admin.workspace_id;
    audit(
        &state,
        &admin,
        "harassment.evidence_exported",
        &conversation.id,
        serde_json::json!({"format": if html { "html" } else { "json" }}),
    )
    .await?;
    let contact = state
        .store
        .contact(workspace_id, &conversation.contact_id)
        .await?;
    let messages = state.store.all_messages(&conversation.id).await?;
    let mut targets: Vec<String> = messages.iter().map(|m| m.id.clone()).collect();
    targets.push(conversation.id.clone());
    let events = state
        .store
        .audit_events_about(workspace_id, &targets)
        .await?;
    let check = state.store.verify_audit_chain(workspace_id).await?;
    let tz = workspace_time_zone(&state.store.workspace(workspace_id).await?);
    let time = |ms: i64| {
        chrono::DateTime::from_timestamp_millis(ms)
            .unwrap_or_default()
            .with_timezone(&tz)
            .format("%Y-%m-%d %H:%M:%S")
            .to_string()
    };
    let sealed = |m: &Message| {
        events
            .iter()
            .filter(|e| {
                e.target == m.id
                    && matches!(e.action.as_str(), "message.flagged" | "message.reported")
            })
            .filter_map(|e| serde_json::from_str::<serde_json::Value>(&e.detail).ok())
            .map(|d| d["body"].as_str() == Some(m.body.as_str()))
            .reduce(|a, b| a && b)
    };
    let messages: Vec<EvidenceMessage> = messages
        .iter()
        .map(|m| EvidenceMessage {
            id: m.id.clone(),
            seq: m.seq,
            sender_kind: m.sender_kind.as_str().to_owned(),
            sender_name: m.sender_name.clone(),
            created_at: m.created_at,
            time: time(m.created_at),
            private: m.private,
            body: m.body.clone(),
            flag: m.flag.as_deref().and_then(|f| serde_json::from_str(f).ok()),
            flag_decision: m.flag_decision.clone(),
            matches_seal: m.flag.as_ref().map(|_| sealed(m).unwrap_or(false)),
        })
        .collect();
    let verified =
        check.first_broken_seq.is_none() && messages.iter().all(|m| m.matches_seal != Some(false));
    let evidence = Evidence {
        workspace_id: workspace_id.clone(),
        conversation: (&conversation).into(),
        contact: serde_json::json!({"id": contact.id, "name": contact.name, "email": contact.email, "phone": contact.phone}),
        messages,
        audit_events: events
            .into_iter()
            .map(|event| EvidenceEvent {
                time: time(event.created_at),
                event,
            })
            .collect(),
        chain: serde_json::json!({
            "events": check.events,
            "first_broken_seq": check.first_broken_seq,
            "unkeyed": check.unkeyed,
            "foreign_key": check.foreign_key,
        }),
        verified,
        exported_at: time(state.clock.now_ms()),
        exported_by: format!("{} <{}>", admin.name, admin.email),
        time_zone: tz.name().to_owned(),
        verify_command: format!("madoguchi audit verify --workspace {workspace_id}"),
    };
    if html {
        return rendered(&EvidencePage {
            evidence: &evidence,
        });
    }
    let name = format!("attachment; filename=\"evidence-{}.json\"", conversation.id);
    Ok((
        [
            (header::CONTENT_TYPE, "application/json".to_owned()),
            (header::CONTENT_DISPOSITION, name),
        ],
        serde_json::to_string_pretty(&evidence).unwrap_or_default(),
    )
        .into_response())
}
