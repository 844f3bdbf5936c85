//! Customer data handled with care over HTTP: which sensitive data (card numbers, My Number,
//! passwords) is masked in customers' messages before they are stored (reading is for every
//! agent; changing is for admins, and audited), and a contact's rights over their data:
//! everything held about them as JSON or a readable page, and its erasure (admins, audited).

use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use madoguchi_core::retention::Retention;
use madoguchi_core::sensitive::Rules;
use madoguchi_core::InvalidValue;
use madoguchi_store::classification::PrivacySetting;
use madoguchi_store::erasure::{ContactExport, Feedback};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::api::audit;
use crate::api::contacts::{ContactView, IdentityView};
use crate::app::auth::AgentAuth;
use crate::app::AppState;
use crate::http::error::{
    check_id, ApiResult, AppError, ErrorBody, ErrorCode, Json, OrNotFound, Path,
};
use crate::http::views::{views, ConversationView, MessageView};
use crate::inbox::settings::{retention_policy, sensitive_rules, workspace_time_zone};
use crate::web::pages::rendered;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_masking, put_masking))
        .routes(routes!(get_retention, put_retention))
        .routes(routes!(export_contact))
}

/// Which sensitive data is masked in customers' messages (`card`, `my_number`, `password`).
#[utoipa::path(get, path = "/api/v1/privacy/masking", tag = "agent",
    responses((status = 200, body = Object)))]
async fn get_masking(State(state): State<AppState>, auth: AgentAuth) -> ApiResult<Json<Rules>> {
    let workspace = state.store.workspace(&auth.agent.workspace_id).await?;
    Ok(Json(sensitive_rules(&workspace)?))
}

#[utoipa::path(put, path = "/api/v1/privacy/masking", tag = "admin", request_body = Object,
    responses((status = 200, body = Object), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn put_masking(
    State(state): State<AppState>,
    AgentAuth { agent: admin, .. }: AgentAuth,
    Json(rules): Json<Rules>,
) -> ApiResult<Json<Rules>> {
    let json = serde_json::to_string(&rules)
        .map_err(|err| AppError::new(ErrorCode::Internal, err.to_string()))?;
    state
        .store
        .set_privacy_setting(&admin.workspace_id, PrivacySetting::Masking, &json)
        .await?;
    let target = format!("workspace:{}", admin.workspace_id);
    audit(
        &state,
        &admin,
        "privacy.masking_changed",
        &target,
        serde_json::to_value(rules).unwrap_or_default(),
    )
    .await?;
    Ok(Json(rules))
}

/// How long the workspace keeps resolved conversations' messages and files
/// (`resolved_conversations_days`, `removal`: delete or redact, `attachments_days`; null: for
/// ever).
#[utoipa::path(get, path = "/api/v1/privacy/retention", tag = "agent",
    responses((status = 200, body = Object)))]
async fn get_retention(
    State(state): State<AppState>,
    auth: AgentAuth,
) -> ApiResult<Json<Retention>> {
    let workspace = state.store.workspace(&auth.agent.workspace_id).await?;
    Ok(Json(retention_policy(&workspace)?))
}

/// Sets the retention policy (audited) and applies it at once; then every day.
#[utoipa::path(put, path = "/api/v1/privacy/retention", tag = "admin", request_body = Object,
    responses((status = 200, body = Object), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn put_retention(
    State(state): State<AppState>,
    AgentAuth { agent: admin, .. }: AgentAuth,
    Json(policy): Json<Retention>,
) -> ApiResult<Json<Retention>> {
    policy.validate()?;
    let json = serde_json::to_string(&policy)
        .map_err(|err| AppError::new(ErrorCode::Internal, err.to_string()))?;
    state
        .store
        .set_privacy_setting(&admin.workspace_id, PrivacySetting::Retention, &json)
        .await?;
    let target = format!("workspace:{}", admin.workspace_id);
    audit(
        &state,
        &admin,
        "privacy.retention_changed",
        &target,
        serde_json::to_value(policy).unwrap_or_default(),
    )
    .await?;
    if policy.is_set() {
        crate::automation::retention::schedule(&state, &admin.workspace_id, state.clock.now_ms())
            .await?;
    }
    Ok(Json(policy))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExportQuery {
    /// `json` (the default) or `html`: a page to read or print.
    format: Option<String>,
}

/// A file as it is in an export: its bytes in Base64.
#[derive(Debug, Serialize, ToSchema)]
pub struct ExportedAttachment {
    id: String,
    name: String,
    content_type: String,
    size: i64,
    private: bool,
    created_at: i64,
    data_base64: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ExportedConversationView {
    #[serde(flatten)]
    conversation: ConversationView,
    messages: Vec<MessageView>,
    attachments: Vec<ExportedAttachment>,
    #[schema(value_type = Option<Object>)]
    rating: Option<Feedback>,
    #[schema(value_type = Option<Object>)]
    nps: Option<Feedback>,
}

/// Everything held about a contact.
#[derive(Debug, Serialize, ToSchema)]
pub struct ContactExportView {
    workspace_id: String,
    exported_at: i64,
    contact: ContactView,
    identities: Vec<IdentityView>,
    conversations: Vec<ExportedConversationView>,
}

impl ContactExportView {
    fn new(workspace_id: &str, at: i64, export: ContactExport) -> Self {
        Self {
            workspace_id: workspace_id.to_owned(),
            exported_at: at,
            contact: (&export.contact).into(),
            identities: views(&export.identities),
            conversations: export
                .conversations
                .into_iter()
                .map(|c| ExportedConversationView {
                    conversation: (&c.conversation).into(),
                    messages: views(&c.messages),
                    attachments: c
                        .attachments
                        .into_iter()
                        .map(|(a, data)| ExportedAttachment {
                            data_base64: base64::engine::general_purpose::STANDARD.encode(data),
                            id: a.id,
                            name: a.name,
                            content_type: a.content_type,
                            size: a.size,
                            private: a.private,
                            created_at: a.created_at,
                        })
                        .collect(),
                    rating: c.rating,
                    nps: c.nps,
                })
                .collect(),
        }
    }
}

#[derive(askama::Template)]
#[template(path = "contact_export.html")]
struct ExportPage<'a> {
    export: &'a ContactExportView,
    tz: chrono_tz::Tz,
}

impl ExportPage<'_> {
    /// A Unix-ms time as the workspace's local time.
    fn at(&self, ms: &i64) -> String {
        chrono::DateTime::from_timestamp_millis(*ms)
            .unwrap_or_default()
            .with_timezone(&self.tz)
            .format("%Y-%m-%d %H:%M")
            .to_string()
    }
}

/// Everything held about a contact — profile, identities, every conversation with its
/// messages (notes included), files, ratings — to hand to the customer who asked for it.
/// The export is audited.
#[utoipa::path(get, path = "/api/v1/contacts/{id}/export", tag = "admin", params(("id" = String, Path), ExportQuery),
    responses((status = 200, body = ContactExportView, description = "JSON, or with format=html a page"),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn export_contact(
    State(state): State<AppState>,
    AgentAuth { agent: admin, .. }: AgentAuth,
    Path(id): Path<String>,
    Query(query): Query<ExportQuery>,
) -> ApiResult<Response> {
    check_id(&id, "contact")?;
    let html = match query.format.as_deref() {
        None | Some("json") => false,
        Some("html") => true,
        Some(other) => {
            return Err(InvalidValue::new("format", format!("{other:?}: use json or html")).into())
        }
    };
    let workspace_id = &admin.workspace_id;
    let export = state
        .store
        .contact_export(workspace_id, &id)
        .await
        .or_not_found("contact")?;
    audit(
        &state,
        &admin,
        "contact.exported",
        &format!("contact:{id}"),
        serde_json::json!({"format": if html { "html" } else { "json" }}),
    )
    .await?;
    let view = ContactExportView::new(workspace_id, state.clock.now_ms(), export);
    if html {
        let tz = workspace_time_zone(&state.store.workspace(workspace_id).await?);
        return rendered(&ExportPage { export: &view, tz });
    }
    let name = format!("attachment; filename=\"contact-{id}.json\"");
    Ok((
        [
            (header::CONTENT_TYPE, "application/json".to_owned()),
            (header::CONTENT_DISPOSITION, name),
        ],
        serde_json::to_string_pretty(&view).unwrap_or_default(),
    )
        .into_response())
}

/// What an erasure removed.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErasedView {
    contact_id: String,
    conversations: usize,
    messages: u64,
    attachments: u64,
    /// Audit events whose detail was emptied (the chain still verifies).
    redacted_audit_events: usize,
}

/// Erases a contact: messages, files, identities and profile are removed from the database,
/// the search index and the caches on every node; the conversations stay as empty shells for
/// the reports, and a tombstone without personal data is audited. Erasing again changes
/// nothing.
#[utoipa::path(delete, path = "/api/v1/contacts/{id}", tag = "admin", params(("id" = String, Path)),
    responses((status = 200, body = ErasedView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(super) async fn erase_contact(
    State(state): State<AppState>,
    AgentAuth { agent: admin, .. }: AgentAuth,
    Path(id): Path<String>,
) -> ApiResult<Json<ErasedView>> {
    check_id(&id, "contact")?;
    let actor = format!("agent:{}", admin.id);
    let erased = crate::inbox::contacts::erase(&state, &admin.workspace_id, &id, &actor)
        .await
        .or_not_found("contact")?;
    Ok(Json(ErasedView {
        contact_id: id,
        conversations: erased.conversation_ids.len(),
        messages: erased.messages,
        attachments: erased.attachments,
        redacted_audit_events: erased.redacted_events,
    }))
}
