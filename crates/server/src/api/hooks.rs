//! Providers' webhooks into messaging channels. `POST /hooks/line/{channel_key}`: LINE's
//! events for a LINE channel; `GET|POST /hooks/instagram/{channel_key}`: Meta's subscription
//! handshake and Instagram's messaging events (signed with `X-Hub-Signature-256`). The signature is checked on the raw body before anything is
//! parsed (a bad or missing one is `401` and nothing is stored); each event is then committed
//! as a job (keyed by its `webhookEventId`) and LINE gets its `200` at once — the events become
//! messages after that commit (`automation::line_intake`), so a slow profile lookup never makes
//! LINE wait or redeliver.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::AppState;
use crate::automation::instagram_intake::{InstagramEventJob, INSTAGRAM_EVENT_JOB};
use crate::automation::line_intake::{LineEventJob, LINE_EVENT_JOB};
use crate::channels::instagram::{self, InstagramConnection};
use crate::channels::line::{verify_signature, Event, LineConnection, Webhook};
use crate::http::error::{ApiResult, AppError, ErrorBody, ErrorCode, OrNotFound, Path, Query};
use madoguchi_store::workspaces::Channel;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(line_hook))
        .routes(routes!(instagram_handshake, instagram_hook))
}

/// LINE's webhook for a LINE channel (the URL its console asks for).
#[utoipa::path(post, path = "/hooks/line/{channel_key}", tag = "channel", params(("channel_key" = String, Path)),
    request_body(content = String, content_type = "application/json"),
    responses((status = 200, description = "Received"), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn line_hook(
    State(state): State<AppState>,
    Path(key): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<StatusCode> {
    let channel = state
        .store
        .channel_by_key(&key)
        .await
        .ok()
        .filter(|c| c.kind == "line")
        .ok_or_else(|| AppError::not_found("LINE channel"))?;
    let connection = LineConnection::of(&channel)
        .map_err(|err| AppError::new(ErrorCode::CorruptSettings, err))?;
    let signed = headers
        .get("x-line-signature")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|signature| verify_signature(&connection.channel_secret, &body, signature));
    if !signed {
        return Err(AppError::new(
            ErrorCode::Unauthenticated,
            "the x-line-signature header does not sign this body with the channel secret",
        ));
    }
    let webhook: Webhook = serde_json::from_slice(&body).map_err(|err| {
        AppError::new(
            ErrorCode::MalformedJson,
            format!("not a LINE webhook: {err}"),
        )
    })?;
    let now = state.clock.now_ms();
    for raw in webhook.events {
        let Ok(event) = serde_json::from_value::<Event>(raw) else {
            tracing::info!(channel = %channel.id, "a LINE event of a shape Madoguchi does not read was skipped");
            continue;
        };
        let key = format!("line-event:{}", event.webhook_event_id);
        let job = LineEventJob {
            workspace_id: channel.workspace_id.clone(),
            channel_id: channel.id.clone(),
            event,
        };
        let payload = serde_json::to_string(&job)
            .map_err(|err| AppError::new(ErrorCode::Internal, err.to_string()))?;
        state
            .store
            .enqueue_job(LINE_EVENT_JOB, &payload, now, Some(&key), now)
            .await
            .or_not_found("channel")?;
    }
    Ok(StatusCode::OK)
}

/// The channel of this kind at `key`.
async fn channel_of(state: &AppState, key: &str, kind: &str) -> ApiResult<Channel> {
    state
        .store
        .channel_by_key(key)
        .await
        .ok()
        .filter(|c| c.kind == kind)
        .ok_or_else(|| AppError::not_found("channel"))
}

#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
pub struct Handshake {
    #[serde(rename = "hub.mode")]
    #[param(rename = "hub.mode")]
    mode: Option<String>,
    #[serde(rename = "hub.verify_token")]
    #[param(rename = "hub.verify_token")]
    verify_token: Option<String>,
    #[serde(rename = "hub.challenge")]
    #[param(rename = "hub.challenge")]
    challenge: Option<String>,
}

/// Meta's subscription handshake: the challenge back when the verify token is the channel's.
#[utoipa::path(get, path = "/hooks/instagram/{channel_key}", tag = "channel", params(("channel_key" = String, Path), Handshake),
    responses((status = 200, description = "The challenge", body = String), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn instagram_handshake(
    State(state): State<AppState>,
    Path(key): Path<String>,
    Query(hub): Query<Handshake>,
) -> ApiResult<String> {
    let channel = channel_of(&state, &key, "instagram").await?;
    let connection = InstagramConnection::of(&channel)
        .map_err(|err| AppError::new(ErrorCode::CorruptSettings, err))?;
    let token_ok = hub
        .verify_token
        .as_deref()
        .is_some_and(|given| crate::app::signing::same_secret(given, &connection.verify_token));
    match (hub.mode.as_deref(), token_ok, hub.challenge) {
        (Some("subscribe"), true, Some(challenge)) if challenge.len() <= 200 => Ok(challenge),
        _ => Err(AppError::new(
            ErrorCode::Forbidden,
            "hub.mode must be subscribe and hub.verify_token the channel's verify token",
        )),
    }
}

/// Instagram's messaging events for an Instagram channel.
#[utoipa::path(post, path = "/hooks/instagram/{channel_key}", tag = "channel", params(("channel_key" = String, Path)),
    request_body(content = String, content_type = "application/json"),
    responses((status = 200, description = "Received"), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn instagram_hook(
    State(state): State<AppState>,
    Path(key): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<StatusCode> {
    let channel = channel_of(&state, &key, "instagram").await?;
    let connection = InstagramConnection::of(&channel)
        .map_err(|err| AppError::new(ErrorCode::CorruptSettings, err))?;
    let signed = headers
        .get("x-hub-signature-256")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|signature| {
            instagram::verify_signature(&connection.app_secret, &body, signature)
        });
    if !signed {
        return Err(AppError::new(
            ErrorCode::Unauthenticated,
            "the X-Hub-Signature-256 header does not sign this body with the app secret",
        ));
    }
    let webhook: instagram::Webhook = serde_json::from_slice(&body).map_err(|err| {
        AppError::new(
            ErrorCode::MalformedJson,
            format!("not an Instagram webhook: {err}"),
        )
    })?;
    let now = state.clock.now_ms();
    for raw in webhook.entry.into_iter().flat_map(|e| e.messaging) {
        let Ok(event) = serde_json::from_value::<instagram::Event>(raw) else {
            continue;
        };
        let Some(mid) = event.message.as_ref().map(|m| m.mid.clone()) else {
            continue;
        };
        let job = InstagramEventJob {
            workspace_id: channel.workspace_id.clone(),
            channel_id: channel.id.clone(),
            event,
        };
        let payload = serde_json::to_string(&job)
            .map_err(|err| AppError::new(ErrorCode::Internal, err.to_string()))?;
        let key = format!("ig-event:{mid}");
        state
            .store
            .enqueue_job(INSTAGRAM_EVENT_JOB, &payload, now, Some(&key), now)
            .await
            .or_not_found("channel")?;
    }
    Ok(StatusCode::OK)
}
