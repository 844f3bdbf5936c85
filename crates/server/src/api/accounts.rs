//! Accounts by e-mail link instead of shared passwords: an admin invites someone (name, role,
//! address) and they choose their own password from the mailed link; anyone who forgot theirs
//! asks for a reset link. Links are single use and expire (invitations after 72 hours, resets
//! after one hour); the mail carries the link id with an HMAC of it, so neither the database
//! nor the job queue holds a usable secret (see `automation::account_mail`, which sends it).
//! The request for a reset says the same whether the address is known or not.

use axum::extract::State;
use axum::http::StatusCode;
use madoguchi_core::agent::{check_password, Email, Role};
use madoguchi_store::account_links::{AccountLink, NewLink, INVITE, RESET};
use madoguchi_store::StoreError;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::admin::{may_give, parse_name, AgentView};
use crate::api::audit;
use crate::app::auth::{end_sessions, hash_password, AgentAuth, ClientIp};
use crate::app::AppState;
use crate::automation::account_mail::{self, INVITE_HOURS, RESET_MINUTES};
use crate::http::error::{check_id, ApiResult, AppError, ErrorBody, ErrorCode, Json};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(invite, list_invitations))
        .routes(routes!(request_reset))
        .routes(routes!(accept))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct InvitationView {
    id: String,
    email: String,
    name: Option<String>,
    role: Option<String>,
    created_at: i64,
    expires_at: i64,
}

impl From<&AccountLink> for InvitationView {
    fn from(l: &AccountLink) -> Self {
        Self {
            id: l.id.clone(),
            email: l.email.clone(),
            name: l.name.clone(),
            role: l.role.clone(),
            created_at: l.created_at,
            expires_at: l.expires_at,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InviteRequest {
    email: String,
    name: String,
    /// owner (owners only), admin, supervisor, agent or analyst
    role: String,
}

/// Invite someone to the workspace: they get a link to choose their password (72 hours, once).
#[utoipa::path(post, path = "/api/v1/agents/invitations", tag = "admin", request_body = InviteRequest,
    responses((status = 201, body = InvitationView), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn invite(
    State(state): State<AppState>,
    AgentAuth { agent: admin, .. }: AgentAuth,
    Json(request): Json<InviteRequest>,
) -> ApiResult<(StatusCode, Json<InvitationView>)> {
    let email = Email::parse(&request.email)?;
    let name = parse_name(&request.name)?;
    let role = Role::parse(&request.role)?;
    may_give(&admin, role)?;
    if !state.notifier.can_email() {
        return Err(AppError::new(
            ErrorCode::Conflict,
            "outgoing e-mail (smtp.url) is not set up: add the agent with a password instead",
        ));
    }
    if state.store.agent_by_email(&email).await.is_ok() {
        return Err(AppError::new(
            ErrorCode::Conflict,
            "this e-mail address cannot be used for a new agent",
        ));
    }
    let now = state.clock.now_ms();
    let link = state
        .store
        .create_account_link(&NewLink {
            workspace_id: &admin.workspace_id,
            kind: INVITE,
            email: &email,
            name: Some(&name),
            role: Some(role),
            agent_id: None,
            created_by: &format!("agent:{}", admin.id),
            now,
            expires_at: now + INVITE_HOURS * 3_600_000,
        })
        .await?;
    account_mail::queue(&state, &link).await?;
    audit(
        &state,
        &admin,
        "agent.invited",
        &format!("invitation:{}", link.id),
        serde_json::json!({"role": role}),
    )
    .await?;
    Ok((StatusCode::CREATED, Json((&link).into())))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct InvitationList {
    invitations: Vec<InvitationView>,
}

/// Invitations not accepted yet (expired ones included, to invite again).
#[utoipa::path(get, path = "/api/v1/agents/invitations", tag = "admin",
    responses((status = 200, body = InvitationList), (status = 403, body = ErrorBody)))]
async fn list_invitations(
    State(state): State<AppState>,
    AgentAuth { agent: admin, .. }: AgentAuth,
) -> ApiResult<Json<InvitationList>> {
    let links = state.store.open_invitations(&admin.workspace_id).await?;
    Ok(Json(InvitationList {
        invitations: links.iter().map(InvitationView::from).collect(),
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResetRequest {
    email: String,
}

/// Ask for a password reset link (an hour, once). The answer is the same whether the address
/// belongs to an agent or not; rate limited per client and per address.
#[utoipa::path(post, path = "/api/v1/auth/password-reset", tag = "agent", request_body = ResetRequest,
    responses((status = 202, description = "A link is mailed if the address is an agent's"), (status = 429, body = ErrorBody)))]
async fn request_reset(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    Json(request): Json<ResetRequest>,
) -> ApiResult<StatusCode> {
    state.limits.login.check(&ip.to_string())?;
    let Ok(email) = Email::parse(&request.email) else {
        return Ok(StatusCode::ACCEPTED);
    };
    state
        .limits
        .login
        .check(&format!("reset:{}", email.as_str()))?;
    let agent = match state.store.agent_by_email(&email).await {
        Ok(agent) if agent.disabled_at.is_none() => agent,
        Ok(_) | Err(StoreError::NotFound) => return Ok(StatusCode::ACCEPTED),
        Err(err) => return Err(err.into()),
    };
    let now = state.clock.now_ms();
    let link = state
        .store
        .create_account_link(&NewLink {
            workspace_id: &agent.workspace_id,
            kind: RESET,
            email: &email,
            name: None,
            role: None,
            agent_id: Some(&agent.id),
            created_by: "anonymous",
            now,
            expires_at: now + RESET_MINUTES * 60_000,
        })
        .await?;
    account_mail::queue(&state, &link).await?;
    Ok(StatusCode::ACCEPTED)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AcceptRequest {
    /// The link's `id` and `sig`.
    id: String,
    sig: String,
    password: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Accepted {
    /// invite or reset
    kind: String,
    agent: AgentView,
}

/// Use a mailed link: an invitation creates the agent with this password; a reset replaces
/// the password and ends every session of the agent. Each link works once, before it expires.
#[utoipa::path(post, path = "/api/v1/auth/accept", tag = "agent", request_body = AcceptRequest,
    responses((status = 201, body = Accepted), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody), (status = 429, body = ErrorBody)))]
async fn accept(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    Json(request): Json<AcceptRequest>,
) -> ApiResult<(StatusCode, Json<Accepted>)> {
    state.limits.login.check(&ip.to_string())?;
    check_id(&request.id, "link")?;
    if !account_mail::genuine(&state, &request.id, &request.sig).await? {
        return Err(AppError::not_found("link"));
    }
    check_password(&request.password)?;
    let link = state
        .store
        .account_link(&request.id)
        .await
        .map_err(|_| AppError::not_found("link"))?;
    let password_hash = hash_password(request.password).await?;
    let now = state.clock.now_ms();
    let agent = match link.kind.as_str() {
        INVITE => {
            let agent = state
                .store
                .accept_invitation(&link.id, &password_hash, now)
                .await?;
            state
                .store
                .record_audit(&madoguchi_store::audit::AuditEntry {
                    workspace_id: &agent.workspace_id,
                    actor: &format!("agent:{}", agent.id),
                    action: "agent.created",
                    target: &format!("agent:{}", agent.id),
                    detail: &serde_json::json!({"role": agent.role, "via": "invitation", "invited_by": link.created_by}),
                })
                .await?;
            agent
        }
        _ => {
            let agent_id = state
                .store
                .reset_password(&link.id, &password_hash, now)
                .await?;
            let ended = end_sessions(&state, &agent_id, None).await?;
            let agent = state.store.agent(&link.workspace_id, &agent_id).await?;
            audit(
                &state,
                &agent,
                "auth.password_reset",
                &format!("agent:{agent_id}"),
                serde_json::json!({"sessions_ended": ended}),
            )
            .await?;
            agent
        }
    };
    Ok((
        StatusCode::CREATED,
        Json(Accepted {
            kind: link.kind,
            agent: (&agent).into(),
        }),
    ))
}
