//! Workspace administration: agents and channels. Listing is open to every agent; creating
//! needs the admin role.

use axum::extract::State;
use axum::http::StatusCode;
use madoguchi_core::agent::{check_password, Email, Role};
use madoguchi_core::InvalidValue;
use madoguchi_store::agents::NewAgent;
use madoguchi_store::audit::AuditEntry;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::AppState;
use crate::auth::{hash_password, AdminAuth, AgentAuth};
use crate::error::{ApiResult, ErrorBody, Json};
use crate::views::{views, AgentView, ChannelView};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_agents, create_agent))
        .routes(routes!(list_channels, create_channel))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AgentList {
    agents: Vec<AgentView>,
}

/// The workspace's agents.
#[utoipa::path(get, path = "/api/v1/agents", tag = "admin", responses((status = 200, body = AgentList), (status = 401, body = ErrorBody)))]
async fn list_agents(State(state): State<AppState>, auth: AgentAuth) -> ApiResult<Json<AgentList>> {
    let agents = state.store.agents(&auth.agent.workspace_id).await?;
    Ok(Json(AgentList {
        agents: views(&agents),
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAgentRequest {
    email: String,
    password: String,
    name: String,
    /// admin or agent
    role: String,
}

/// Parses a display name: 1-100 characters after trimming.
pub fn parse_name(raw: &str) -> Result<String, InvalidValue> {
    let name = raw.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(InvalidValue::new("name", "must be 1-100 characters"));
    }
    Ok(name.to_owned())
}

/// Add an agent to the workspace (no per-seat limit).
#[utoipa::path(post, path = "/api/v1/agents", tag = "admin", request_body = NewAgentRequest,
    responses((status = 201, body = AgentView), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_agent(
    State(state): State<AppState>,
    AdminAuth(admin): AdminAuth,
    Json(request): Json<NewAgentRequest>,
) -> ApiResult<(StatusCode, Json<AgentView>)> {
    let email = Email::parse(&request.email)?;
    let role = Role::parse(&request.role)?;
    let name = parse_name(&request.name)?;
    check_password(&request.password)?;
    let password_hash = hash_password(request.password).await?;
    let agent = state
        .store
        .create_agent(NewAgent {
            workspace_id: &admin.workspace_id,
            email: &email,
            name: &name,
            role,
            password_hash: &password_hash,
        })
        .await?;
    state
        .store
        .record_audit(&AuditEntry {
            workspace_id: &admin.workspace_id,
            actor: &format!("agent:{}", admin.id),
            action: "agent.created",
            target: &format!("agent:{}", agent.id),
            detail: &serde_json::json!({ "role": role }),
        })
        .await?;
    Ok((StatusCode::CREATED, Json((&agent).into())))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ChannelList {
    channels: Vec<ChannelView>,
}

/// The workspace's channels.
#[utoipa::path(get, path = "/api/v1/channels", tag = "admin", responses((status = 200, body = ChannelList), (status = 401, body = ErrorBody)))]
async fn list_channels(
    State(state): State<AppState>,
    auth: AgentAuth,
) -> ApiResult<Json<ChannelList>> {
    let channels = state.store.channels(&auth.agent.workspace_id).await?;
    Ok(Json(ChannelList {
        channels: views(&channels),
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewChannelRequest {
    name: String,
}

/// Add a web widget channel.
#[utoipa::path(post, path = "/api/v1/channels", tag = "admin", request_body = NewChannelRequest,
    responses((status = 201, body = ChannelView), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_channel(
    State(state): State<AppState>,
    AdminAuth(admin): AdminAuth,
    Json(request): Json<NewChannelRequest>,
) -> ApiResult<(StatusCode, Json<ChannelView>)> {
    let name = parse_name(&request.name)?;
    let channel = state
        .store
        .create_channel(&admin.workspace_id, "widget", &name)
        .await?;
    Ok((StatusCode::CREATED, Json((&channel).into())))
}
