//! Agent login and logout. Login answers with a session cookie and, in the body, the same token
//! for `Authorization: Bearer` use plus the CSRF token that cookie-authenticated writes send in
//! `X-CSRF-Token`.

use std::sync::atomic::Ordering;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use madoguchi_core::agent::{check_password, Email};
use madoguchi_store::agents::{Agent, TokenKind};
use madoguchi_store::audit::AuditEntry;
use madoguchi_store::StoreError;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::admin::AgentView;
use crate::api::audit;
use crate::app::auth::{
    end_sessions, hash_password, hash_token, new_secret, verify_password, AgentAuth, ClientIp,
    SESSION_COOKIE,
};
use crate::app::settings::Cookie;
use crate::app::AppState;
use crate::http::error::{ApiResult, AppError, ErrorBody, ErrorCode, Json};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(login))
        .routes(routes!(logout))
        .routes(routes!(logout_everywhere))
        .routes(routes!(me, update_me))
        .routes(routes!(change_password))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    email: String,
    password: String,
    /// With two-factor sign-in on: a code from the authenticator app, or a recovery code.
    totp: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LoginResponse {
    /// Bearer token (also set as the `mdg_session` cookie).
    token: String,
    /// Send as `X-CSRF-Token` on cookie-authenticated writes.
    csrf_token: String,
    agent: AgentView,
}

/// A failed sign-in of a known agent: counted, audited, answered without saying why.
async fn login_failed(state: &AppState, agent: &Agent, detail: &serde_json::Value) -> AppError {
    state.metrics.login_failures.fetch_add(1, Ordering::Relaxed);
    let audited = state
        .store
        .record_audit(&AuditEntry {
            workspace_id: &agent.workspace_id,
            actor: "anonymous",
            action: "auth.login_failed",
            target: &format!("agent:{}", agent.id),
            detail,
        })
        .await;
    match audited {
        Ok(()) => invalid_credentials(),
        Err(err) => err.into(),
    }
}

fn invalid_credentials() -> AppError {
    AppError::new(
        ErrorCode::InvalidCredentials,
        "wrong e-mail address or password",
    )
}

/// Log in with e-mail and password (rate limited per client IP).
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "agent", request_body = LoginRequest,
    responses((status = 200, body = LoginResponse), (status = 401, body = ErrorBody), (status = 429, body = ErrorBody)))]
async fn login(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    Json(request): Json<LoginRequest>,
) -> ApiResult<Response> {
    state.limits.login.check(&ip.to_string())?;
    let email = Email::parse(&request.email).map_err(|_| invalid_credentials())?;
    // Per account too: guessing one agent's password from many addresses is limited as well.
    state
        .limits
        .login
        .check(&format!("account:{}", email.as_str()))?;
    let agent = match state.store.agent_by_email(&email).await {
        Err(StoreError::NotFound) => None,
        other => Some(other?),
    };
    // A password hash is checked either way (a stand-in for an unknown e-mail), so the answer
    // takes as long for an address nobody uses as for a wrong password.
    let hash = match &agent {
        Some(agent) => agent.password_hash.clone(),
        None => stand_in_hash().await?,
    };
    state
        .metrics
        .password_checks
        .fetch_add(1, Ordering::Relaxed);
    let matches = verify_password(request.password, hash).await;
    let Some(agent) = agent else {
        state.metrics.login_failures.fetch_add(1, Ordering::Relaxed);
        return Err(invalid_credentials());
    };
    let peer_detail = serde_json::json!({ "ip": ip.to_string() });
    if !matches {
        return Err(login_failed(&state, &agent, &peer_detail).await);
    }
    if agent.disabled_at.is_some() {
        // Neutral: a disabled account is told nothing an attacker could use.
        state.metrics.login_failures.fetch_add(1, Ordering::Relaxed);
        return Err(invalid_credentials());
    }
    if !crate::api::two_factor::check_login(&state, &agent, request.totp.as_deref()).await? {
        let detail = serde_json::json!({ "ip": ip.to_string(), "second_factor": true });
        return Err(login_failed(&state, &agent, &detail).await);
    }
    let session_seconds = i64::from(state.settings.sessions.lifetime_hours) * 3600;
    let token = new_secret();
    let csrf_token = new_secret();
    let now = state.clock.now_ms();
    let expires_at = now + session_seconds * 1000;
    state
        .store
        .create_token(
            &agent.id,
            &hash_token(&token),
            TokenKind::Session,
            Some(&hash_token(&csrf_token)),
            Some(expires_at),
            now,
        )
        .await?;
    state
        .store
        .record_audit(&AuditEntry {
            workspace_id: &agent.workspace_id,
            actor: &format!("agent:{}", agent.id),
            action: "auth.login",
            target: &format!("agent:{}", agent.id),
            detail: &peer_detail,
        })
        .await?;
    let cookie = state
        .settings
        .cookie(session_cookie(&token, session_seconds));
    let body = LoginResponse {
        token,
        csrf_token,
        agent: (&agent).into(),
    };
    Ok(([(header::SET_COOKIE, cookie)], Json(body)).into_response())
}

/// End the current session (the token stops working at once).
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "agent",
    responses((status = 204, description = "Logged out"), (status = 401, body = ErrorBody)))]
async fn logout(State(state): State<AppState>, auth: AgentAuth) -> ApiResult<Response> {
    state.store.delete_token(&auth.token_hash).await?;
    audit(
        &state,
        &auth.agent,
        "auth.logout",
        &format!("agent:{}", auth.agent.id),
        serde_json::json!({}),
    )
    .await?;
    // Its open WebSockets close too, on every node.
    state.hub.revoke(&auth.token_hash).await;
    let expired = state.settings.cookie(session_cookie("", 0));
    Ok((StatusCode::NO_CONTENT, [(header::SET_COOKIE, expired)]).into_response())
}

/// End every session and API token of the agent, this one included (a lost laptop).
#[utoipa::path(post, path = "/api/v1/auth/logout-everywhere", tag = "agent",
    responses((status = 204, description = "Logged out everywhere"), (status = 401, body = ErrorBody)))]
async fn logout_everywhere(State(state): State<AppState>, auth: AgentAuth) -> ApiResult<Response> {
    let ended = end_sessions(&state, &auth.agent.id, None).await?;
    audit(
        &state,
        &auth.agent,
        "auth.logout_everywhere",
        &format!("agent:{}", auth.agent.id),
        serde_json::json!({ "sessions": ended }),
    )
    .await?;
    let expired = state.settings.cookie(session_cookie("", 0));
    Ok((StatusCode::NO_CONTENT, [(header::SET_COOKIE, expired)]).into_response())
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordChange {
    current_password: String,
    new_password: String,
}

/// Change one's own password: every other session and token ends (this one stays).
#[utoipa::path(post, path = "/api/v1/me/password", tag = "agent", request_body = PasswordChange,
    responses((status = 204, description = "Changed"), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn change_password(
    State(state): State<AppState>,
    auth: AgentAuth,
    Json(change): Json<PasswordChange>,
) -> ApiResult<StatusCode> {
    state
        .limits
        .login
        .check(&format!("account:{}", auth.agent.email))?;
    if !verify_password(change.current_password, auth.agent.password_hash.clone()).await {
        return Err(invalid_credentials());
    }
    check_password(&change.new_password)?;
    let hash = hash_password(change.new_password).await?;
    state.store.set_password_hash(&auth.agent.id, &hash).await?;
    let ended = end_sessions(&state, &auth.agent.id, Some(&auth.token_hash)).await?;
    audit(
        &state,
        &auth.agent,
        "auth.password_changed",
        &format!("agent:{}", auth.agent.id),
        serde_json::json!({ "other_sessions_ended": ended }),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The agent behind the current credentials.
#[utoipa::path(get, path = "/api/v1/me", tag = "agent", responses((status = 200, body = AgentView), (status = 401, body = ErrorBody)))]
async fn me(auth: AgentAuth) -> Json<AgentView> {
    Json((&auth.agent).into())
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MeUpdate {
    /// UI language: `ja` or `en`.
    locale: String,
}

/// Change the agent's own UI language.
#[utoipa::path(patch, path = "/api/v1/me", tag = "agent", request_body = MeUpdate,
    responses((status = 200, body = AgentView), (status = 422, body = ErrorBody)))]
async fn update_me(
    State(state): State<AppState>,
    auth: AgentAuth,
    Json(update): Json<MeUpdate>,
) -> ApiResult<Json<AgentView>> {
    if !matches!(update.locale.as_str(), "ja" | "en") {
        return Err(AppError::new(
            ErrorCode::InvalidBody,
            "locale: must be ja or en",
        ));
    }
    state
        .store
        .set_agent_locale(&auth.agent.id, &update.locale)
        .await?;
    let mut agent = auth.agent;
    agent.locale = update.locale;
    Ok(Json((&agent).into()))
}

fn session_cookie(token: &str, max_age: i64) -> Cookie<'_> {
    Cookie {
        name: SESSION_COOKIE,
        value: token,
        path: "/",
        max_age,
        http_only: true,
        same_site: "Strict",
    }
}

/// The hash of a random password nobody knows, made once: what an unknown e-mail is checked
/// against.
async fn stand_in_hash() -> ApiResult<String> {
    static HASH: tokio::sync::OnceCell<String> = tokio::sync::OnceCell::const_new();
    HASH.get_or_try_init(|| hash_password(new_secret()))
        .await
        .cloned()
}
