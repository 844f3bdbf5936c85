//! Two-factor sign-in for agents (TOTP, RFC 6238): an agent switches it on for their own
//! account by confirming a code from their authenticator app and gets ten single-use recovery
//! codes (kept hashed); from then on signing in needs a code (each works once) or a recovery
//! code. Switching it off needs one too. Every change is audited.

use axum::extract::State;
use madoguchi_core::totp::{base32, from_base32, matching_step, otpauth_uri};
use madoguchi_core::InvalidValue;
use madoguchi_store::agents::{Agent, Totp, TotpChange};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::api::audit;
use crate::app::auth::{hash_token, new_secret, AgentAuth};
use crate::app::AppState;
use crate::http::error::{ApiResult, AppError, ErrorBody, ErrorCode, Json};

/// Recovery codes handed out when two-factor sign-in is switched on.
const RECOVERY_CODES: usize = 10;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(begin))
        .routes(routes!(enable))
        .routes(routes!(disable))
}

/// Whether `typed` is a current code (unused) or an unused recovery code of the agent; either
/// is used up.
pub async fn second_factor(
    state: &AppState,
    agent_id: &str,
    totp: &Totp,
    typed: &str,
) -> ApiResult<bool> {
    let Some(secret) = totp.secret.as_deref().and_then(from_base32) else {
        return Ok(false);
    };
    let now = state.clock.now_ms() / 1000;
    if let Some(step) = matching_step(&secret, typed, now) {
        return Ok(state.store.spend_totp_step(agent_id, step).await?);
    }
    let code = typed.trim().to_lowercase();
    Ok(state
        .store
        .spend_recovery_code(agent_id, &hash_token(&code))
        .await?)
}

/// Whether an agent who gave the right password may sign in: always without two-factor
/// sign-in; with it, only with a good `typed` code (a missing one is `totp_required`).
pub async fn check_login(state: &AppState, agent: &Agent, typed: Option<&str>) -> ApiResult<bool> {
    let totp = state.store.totp(&agent.id).await?;
    if totp.enabled_at.is_none() {
        return Ok(true);
    }
    match typed.map(str::trim).filter(|t| !t.is_empty()) {
        None => Err(AppError::new(
            ErrorCode::TotpRequired,
            "enter the code from your authenticator app (or a recovery code)",
        )),
        Some(typed) => second_factor(state, &agent.id, &totp, typed).await,
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TotpSetup {
    /// Base32, to type into an authenticator app.
    secret: String,
    /// The same as an `otpauth://` URI.
    otpauth_uri: String,
}

/// Start switching two-factor sign-in on: a new secret for the agent's authenticator app. It
/// is on once a code from it is confirmed (`…/enable`).
#[utoipa::path(post, path = "/api/v1/me/totp", tag = "agent",
    responses((status = 200, body = TotpSetup), (status = 409, body = ErrorBody)))]
async fn begin(State(state): State<AppState>, auth: AgentAuth) -> ApiResult<Json<TotpSetup>> {
    let bytes = hex::decode(&new_secret()[..40])
        .map_err(|err| AppError::new(ErrorCode::Internal, err.to_string()))?;
    let secret = base32(&bytes);
    state
        .store
        .set_totp(&auth.agent.id, TotpChange::Begin { secret: &secret })
        .await?;
    Ok(Json(TotpSetup {
        otpauth_uri: otpauth_uri("Madoguchi", &auth.agent.email, &bytes),
        secret,
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CodeRequest {
    /// A code from the authenticator app (or, to switch off, a recovery code).
    code: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RecoveryCodes {
    /// Each works once instead of a code; shown only now.
    recovery_codes: Vec<String>,
}

/// Confirm a code from the new secret: two-factor sign-in is on; the recovery codes are shown
/// once.
#[utoipa::path(post, path = "/api/v1/me/totp/enable", tag = "agent", request_body = CodeRequest,
    responses((status = 200, body = RecoveryCodes), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn enable(
    State(state): State<AppState>,
    auth: AgentAuth,
    Json(request): Json<CodeRequest>,
) -> ApiResult<Json<RecoveryCodes>> {
    let totp = state.store.totp(&auth.agent.id).await?;
    let secret = match (&totp.secret, totp.enabled_at) {
        (Some(secret), None) => from_base32(secret).unwrap_or_default(),
        _ => {
            return Err(AppError::new(
                ErrorCode::Conflict,
                "start with POST /api/v1/me/totp (two-factor sign-in is on, or not begun)",
            ))
        }
    };
    let now = state.clock.now_ms();
    let Some(step) = matching_step(&secret, &request.code, now / 1000) else {
        return Err(InvalidValue::new(
            "code",
            "does not match: check the app's clock and try the next code",
        )
        .into());
    };
    let codes: Vec<String> = (0..RECOVERY_CODES)
        .map(|_| {
            let raw = new_secret();
            format!("{}-{}", &raw[..5], &raw[5..10])
        })
        .collect();
    let hashes: Vec<String> = codes.iter().map(|c| hash_token(c)).collect();
    state
        .store
        .set_totp(
            &auth.agent.id,
            TotpChange::Enable {
                recovery: &hashes,
                step,
                at: now,
            },
        )
        .await?;
    audit(
        &state,
        &auth.agent,
        "auth.totp_enabled",
        &format!("agent:{}", auth.agent.id),
        serde_json::json!({}),
    )
    .await?;
    Ok(Json(RecoveryCodes {
        recovery_codes: codes,
    }))
}

/// Switch two-factor sign-in off, with a current code or a recovery code.
#[utoipa::path(post, path = "/api/v1/me/totp/disable", tag = "agent", request_body = CodeRequest,
    responses((status = 204, description = "Off"), (status = 403, body = ErrorBody)))]
async fn disable(
    State(state): State<AppState>,
    auth: AgentAuth,
    Json(request): Json<CodeRequest>,
) -> ApiResult<axum::http::StatusCode> {
    let totp = state.store.totp(&auth.agent.id).await?;
    if totp.enabled_at.is_none()
        || !second_factor(&state, &auth.agent.id, &totp, &request.code).await?
    {
        return Err(AppError::new(
            ErrorCode::Forbidden,
            "a current code or a recovery code is needed",
        ));
    }
    state
        .store
        .set_totp(&auth.agent.id, TotpChange::Disable)
        .await?;
    audit(
        &state,
        &auth.agent,
        "auth.totp_disabled",
        &format!("agent:{}", auth.agent.id),
        serde_json::json!({}),
    )
    .await?;
    Ok(axum::http::StatusCode::NO_CONTENT)
}
