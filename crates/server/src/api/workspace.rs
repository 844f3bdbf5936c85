//! The workspace itself: the shop's name (help center, e-mails, admin) and logo. Every agent
//! reads it; changing it needs the admin role and is audited.

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use madoguchi_core::attachment::{shown_inline, sniff};
use madoguchi_store::workspaces::Workspace;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::admin::parse_name;
use crate::api::audit;
use crate::app::auth::AgentAuth;
use crate::app::AppState;
use crate::http::error::{ApiResult, AppError, ErrorBody, ErrorCode, Json, OrNotFound};

/// Largest logo accepted: 512 KiB.
pub const MAX_LOGO_BYTES: usize = 512 * 1024;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_workspace, update_workspace))
        .routes(routes!(put_logo))
        .layer(DefaultBodyLimit::max(MAX_LOGO_BYTES + 1))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WorkspaceView {
    id: String,
    name: String,
    time_zone: String,
    /// Whether a logo was uploaded (shown at `/help/{channel_key}/logo`).
    has_logo: bool,
}

async fn view(state: &AppState, workspace: &Workspace) -> ApiResult<WorkspaceView> {
    let has_logo = state.store.has_workspace_logo(&workspace.id).await?;
    Ok(WorkspaceView {
        id: workspace.id.clone(),
        name: workspace.name.clone(),
        time_zone: workspace.time_zone.clone(),
        has_logo,
    })
}

/// The agent's workspace.
#[utoipa::path(get, path = "/api/v1/workspace", tag = "agent", responses((status = 200, body = WorkspaceView), (status = 401, body = ErrorBody)))]
async fn get_workspace(
    State(state): State<AppState>,
    auth: AgentAuth,
) -> ApiResult<Json<WorkspaceView>> {
    let workspace = state.store.workspace(&auth.agent.workspace_id).await?;
    Ok(Json(view(&state, &workspace).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WorkspaceUpdate {
    /// The shop's name, 1-100 characters.
    name: String,
}

/// Rename the workspace.
#[utoipa::path(patch, path = "/api/v1/workspace", tag = "admin", request_body = WorkspaceUpdate,
    responses((status = 200, body = WorkspaceView), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update_workspace(
    State(state): State<AppState>,
    AgentAuth { agent: admin, .. }: AgentAuth,
    Json(update): Json<WorkspaceUpdate>,
) -> ApiResult<Json<WorkspaceView>> {
    let name = parse_name(&update.name)?;
    let workspace = state
        .store
        .rename_workspace(&admin.workspace_id, &name)
        .await?;
    let target = format!("workspace:{}", workspace.id);
    audit(
        &state,
        &admin,
        "workspace.renamed",
        &target,
        serde_json::json!({ "name": name }),
    )
    .await?;
    Ok(Json(view(&state, &workspace).await?))
}

/// The content type of an uploaded logo; anything but an image shown inline is refused.
pub fn logo_type(bytes: &[u8]) -> ApiResult<&'static str> {
    sniff(bytes)
        .ok()
        .filter(|t| shown_inline(t))
        .ok_or_else(|| {
            AppError::new(
                ErrorCode::UnsupportedMediaType,
                "a logo must be a PNG, JPEG, GIF or WebP image",
            )
        })
}

/// Replace the shop's logo (the image itself as the body: PNG, JPEG, GIF or WebP, 512 KiB).
#[utoipa::path(put, path = "/api/v1/workspace/logo", tag = "admin",
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 204, description = "Stored"), (status = 403, body = ErrorBody), (status = 413, body = ErrorBody), (status = 415, body = ErrorBody)))]
async fn put_logo(
    State(state): State<AppState>,
    AgentAuth { agent: admin, .. }: AgentAuth,
    bytes: Bytes,
) -> ApiResult<StatusCode> {
    let content_type = logo_type(&bytes)?;
    state
        .store
        .set_workspace_logo(&admin.workspace_id, content_type, &bytes)
        .await
        .or_not_found("workspace")?;
    let target = format!("workspace:{}", admin.workspace_id);
    audit(
        &state,
        &admin,
        "workspace.logo",
        &target,
        serde_json::json!({}),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}
