//! Outgoing webhooks over HTTP (admins): subscriptions to `conversation.created`,
//! `conversation.updated`, `message.created` (private notes only when asked for) and
//! `contact.updated`, each with
//! its `whsec_` secret, shown once when created; the log of delivery attempts; a webhook that
//! failed too often is shown disabled with the reason, and switched on again by an update.

use axum::extract::State;
use axum::http::StatusCode;
use madoguchi_core::InvalidValue;
use madoguchi_store::webhooks::{Attempt, Webhook, WebhookSettings};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::api::audit;
use crate::app::auth::AgentAuth;
use crate::app::AppState;
use crate::automation::webhooks::EVENT_TYPES;
use crate::channels::webhooks::{is_public, new_secret};
use crate::http::error::{check_id, ApiResult, ErrorBody, Json, OrNotFound, Path};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_webhooks, create_webhook))
        .routes(routes!(update_webhook, delete_webhook))
        .routes(routes!(list_attempts))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookRequest {
    /// `https://…` (or `http://…`), at most 2,000 characters.
    url: String,
    /// Some of `conversation.created`, `conversation.updated`, `message.created`,
    /// `contact.updated`.
    events: Vec<String>,
    /// Send private notes too (with `message.created`).
    #[serde(default)]
    include_private: bool,
    #[serde(default = "on")]
    enabled: bool,
}

fn on() -> bool {
    true
}

impl WebhookRequest {
    /// The settings asked for; a URL naming a private address (or `localhost`) is refused
    /// unless `allow_private` (names are checked again at each delivery).
    fn settings(&self, allow_private: bool) -> Result<WebhookSettings<'_>, InvalidValue> {
        let url = self.url.trim();
        let scheme_ok = url.starts_with("https://") || url.starts_with("http://");
        let Some(parsed) = reqwest::Url::parse(url)
            .ok()
            .filter(|_| scheme_ok && url.len() <= 2000)
        else {
            return Err(InvalidValue::new(
                "url",
                "must be an http(s) URL of at most 2,000 characters",
            ));
        };
        let host = parsed
            .host_str()
            .unwrap_or_default()
            .trim_matches(['[', ']']);
        let private = match host.parse::<std::net::IpAddr>() {
            Ok(ip) => !is_public(ip),
            Err(_) => host.is_empty() || host == "localhost" || host.ends_with(".localhost"),
        };
        if private && !allow_private {
            return Err(InvalidValue::new(
                "url",
                "names a private address: webhooks go to the public internet only",
            ));
        }
        if self.events.is_empty()
            || self
                .events
                .iter()
                .any(|e| !EVENT_TYPES.contains(&e.as_str()))
        {
            return Err(InvalidValue::new(
                "events",
                "some of conversation.created, conversation.updated, message.created, contact.updated",
            ));
        }
        Ok(WebhookSettings {
            url,
            events: &self.events,
            include_private: self.include_private,
            enabled: self.enabled,
        })
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookView {
    id: String,
    url: String,
    events: Vec<String>,
    include_private: bool,
    enabled: bool,
    /// Failed attempts in a row.
    failures: i64,
    /// Why it switched itself off, if it did.
    disabled_reason: Option<String>,
    /// The signing secret: only in the answer that creates the webhook.
    secret: Option<String>,
    created_at: i64,
}

impl WebhookView {
    fn of(w: Webhook, with_secret: bool) -> Self {
        Self {
            secret: with_secret.then_some(w.secret),
            id: w.id,
            url: w.url,
            events: w.events,
            include_private: w.include_private,
            enabled: w.enabled,
            failures: w.failures,
            disabled_reason: w.disabled_reason,
            created_at: w.created_at,
        }
    }
}

/// The workspace's webhooks.
#[utoipa::path(get, path = "/api/v1/webhooks", tag = "admin",
    responses((status = 200, body = Vec<WebhookView>), (status = 403, body = ErrorBody)))]
async fn list_webhooks(
    State(state): State<AppState>,
    AgentAuth { agent: admin, .. }: AgentAuth,
) -> ApiResult<Json<Vec<WebhookView>>> {
    let hooks = state.store.webhooks(&admin.workspace_id).await?;
    Ok(Json(
        hooks
            .into_iter()
            .map(|w| WebhookView::of(w, false))
            .collect(),
    ))
}

/// A new webhook; the answer holds its secret (the only time it is shown).
#[utoipa::path(post, path = "/api/v1/webhooks", tag = "admin", request_body = WebhookRequest,
    responses((status = 201, body = WebhookView), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_webhook(
    State(state): State<AppState>,
    AgentAuth { agent: admin, .. }: AgentAuth,
    Json(request): Json<WebhookRequest>,
) -> ApiResult<(StatusCode, Json<WebhookView>)> {
    let settings = request.settings(state.settings.webhooks_allow_private)?;
    let hook = state
        .store
        .create_webhook(&admin.workspace_id, &settings, &new_secret())
        .await?;
    audit(
        &state,
        &admin,
        "webhook.created",
        &format!("webhook:{}", hook.id),
        serde_json::json!({"url": hook.url, "events": hook.events}),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(WebhookView::of(hook, true))))
}

#[utoipa::path(put, path = "/api/v1/webhooks/{id}", tag = "admin", params(("id" = String, Path)),
    request_body = WebhookRequest,
    responses((status = 200, body = WebhookView), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update_webhook(
    State(state): State<AppState>,
    AgentAuth { agent: admin, .. }: AgentAuth,
    Path(id): Path<String>,
    Json(request): Json<WebhookRequest>,
) -> ApiResult<Json<WebhookView>> {
    check_id(&id, "webhook")?;
    let settings = request.settings(state.settings.webhooks_allow_private)?;
    let hook = state
        .store
        .update_webhook(&admin.workspace_id, &id, &settings)
        .await
        .or_not_found("webhook")?;
    audit(
        &state,
        &admin,
        "webhook.updated",
        &format!("webhook:{id}"),
        serde_json::json!({"url": hook.url, "events": hook.events, "enabled": hook.enabled}),
    )
    .await?;
    Ok(Json(WebhookView::of(hook, false)))
}

#[utoipa::path(delete, path = "/api/v1/webhooks/{id}", tag = "admin", params(("id" = String, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)))]
async fn delete_webhook(
    State(state): State<AppState>,
    AgentAuth { agent: admin, .. }: AgentAuth,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    check_id(&id, "webhook")?;
    state
        .store
        .delete_webhook(&admin.workspace_id, &id)
        .await
        .or_not_found("webhook")?;
    audit(
        &state,
        &admin,
        "webhook.deleted",
        &format!("webhook:{id}"),
        serde_json::json!({}),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AttemptList {
    #[schema(value_type = Vec<Object>)]
    attempts: Vec<Attempt>,
}

/// The newest 100 delivery attempts: status code, error, time taken.
#[utoipa::path(get, path = "/api/v1/webhooks/{id}/attempts", tag = "admin", params(("id" = String, Path)),
    responses((status = 200, body = AttemptList), (status = 404, body = ErrorBody)))]
async fn list_attempts(
    State(state): State<AppState>,
    AgentAuth { agent: admin, .. }: AgentAuth,
    Path(id): Path<String>,
) -> ApiResult<Json<AttemptList>> {
    check_id(&id, "webhook")?;
    let hook = state
        .store
        .webhook(&admin.workspace_id, &id)
        .await
        .or_not_found("webhook")?;
    Ok(Json(AttemptList {
        attempts: state.store.webhook_attempts(&hook.id, 100).await?,
    }))
}
