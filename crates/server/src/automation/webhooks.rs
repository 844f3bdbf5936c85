//! Outgoing webhooks: every event made on this node (a new conversation, a conversation's
//! change, a message — private notes only for subscriptions that ask for them — and a contact's
//! change) becomes one job per matching subscription, holding the exact body and its
//! `webhook-id`, so that each retry (backoff from the job queue) sends the same message. Each attempt is logged; a webhook whose
//! attempts fail [`DISABLE_AFTER`] times in a row is switched off with a visible reason.

use madoguchi_store::webhooks::Attempt;
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast::error::RecvError;

use crate::app::AppState;
use crate::channels::webhooks::post;
use crate::realtime::hub::Event;

pub const WEBHOOK_JOB: &str = "webhook.deliver";
/// Failed attempts in a row that switch a webhook off.
pub const DISABLE_AFTER: i64 = 10;
/// The event types a webhook can subscribe to.
pub const EVENT_TYPES: &[&str] = &[
    "conversation.created",
    "conversation.updated",
    "message.created",
    "contact.updated",
];

/// A message to send: built once, sent as it is on every attempt.
#[derive(Debug, Serialize, Deserialize)]
pub struct WebhookJob {
    pub workspace_id: String,
    pub webhook_id: String,
    pub message_id: String,
    pub event_type: String,
    pub timestamp: i64,
    pub body: String,
}

/// Starts the dispatcher: it turns this node's events into delivery jobs until shutdown.
pub fn spawn_dispatcher(state: AppState) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut events = state.hub.subscribe_local();
        let mut contacts = state.hub.subscribe_contacts();
        let mut shutdown = state.shutdown.clone();
        loop {
            let event = tokio::select! {
                event = events.recv() => event,
                change = contacts.recv() => {
                    if let Ok(change) = change {
                        let happened = vec![("contact.updated", change.contact.clone(), false)];
                        if let Err(err) = enqueue(&state, &change.workspace_id, &happened).await {
                            tracing::warn!(%err, "webhook jobs could not be queued");
                        }
                    }
                    continue;
                }
                _ = shutdown.changed() => return,
            };
            match event {
                Ok(event) => {
                    if let Err(err) = dispatch(&state, &event).await {
                        tracing::warn!(%err, "webhook jobs could not be queued");
                    }
                }
                Err(RecvError::Lagged(missed)) => {
                    tracing::warn!(missed, "webhooks fell behind: some events were not sent")
                }
                Err(RecvError::Closed) => return,
            }
        }
    })
}

/// The webhook events an event makes: `(type, data, private)`.
fn webhook_events(event: &Event) -> Vec<(&'static str, serde_json::Value, bool)> {
    let Ok(frame) = serde_json::from_str::<serde_json::Value>(event.agent_frame.as_str()) else {
        return Vec::new();
    };
    match frame["type"].as_str() {
        Some("message.created") => {
            let message = frame["message"].clone();
            let private = message["private"] == true;
            let mut out = Vec::new();
            if message["seq"] == 1 {
                out.push((
                    "conversation.created",
                    serde_json::json!({"conversation_id": event.conversation_id, "contact_id": event.contact_id}),
                    false,
                ));
            }
            out.push(("message.created", message, private));
            out
        }
        Some("conversation.updated") => {
            vec![("conversation.updated", frame["conversation"].clone(), false)]
        }
        _ => Vec::new(),
    }
}

async fn dispatch(state: &AppState, event: &Event) -> anyhow::Result<()> {
    enqueue(state, &event.workspace_id, &webhook_events(event)).await
}

/// One job per event and subscription that wants it.
async fn enqueue(
    state: &AppState,
    workspace_id: &str,
    happened: &[(&'static str, serde_json::Value, bool)],
) -> anyhow::Result<()> {
    if happened.is_empty() {
        return Ok(());
    }
    let hooks = state.store.webhooks(workspace_id).await?;
    let now = state.clock.now_ms();
    for hook in hooks.iter().filter(|h| h.enabled) {
        for (kind, data, private) in happened {
            if !hook.events.iter().any(|e| e == kind) || (*private && !hook.include_private) {
                continue;
            }
            let message_id = format!("msg_{}", madoguchi_store::new_id().replace('-', ""));
            let body = serde_json::json!({
                "type": kind,
                "timestamp": chrono::DateTime::from_timestamp_millis(now).unwrap_or_default().to_rfc3339(),
                "data": data,
            })
            .to_string();
            let job = WebhookJob {
                workspace_id: hook.workspace_id.clone(),
                webhook_id: hook.id.clone(),
                message_id: message_id.clone(),
                event_type: (*kind).to_owned(),
                timestamp: now / 1000,
                body,
            };
            state
                .store
                .enqueue_job(
                    WEBHOOK_JOB,
                    &serde_json::to_string(&job)?,
                    now,
                    Some(&format!("webhook:{message_id}")),
                    now,
                )
                .await?;
        }
    }
    Ok(())
}

/// One attempt: logged; a failure is an error, for the job queue to retry.
pub async fn deliver(state: &AppState, job: &WebhookJob) -> Result<&'static str, String> {
    let hook = match state
        .store
        .webhook(&job.workspace_id, &job.webhook_id)
        .await
    {
        Ok(hook) => hook,
        Err(madoguchi_store::StoreError::NotFound) => return Ok("webhook deleted"),
        Err(err) => return Err(err.to_string()),
    };
    if !hook.enabled {
        return Ok("webhook disabled");
    }
    let answer = post(
        state.settings.webhooks_allow_private,
        &hook.url,
        &hook.secret,
        &job.message_id,
        job.timestamp,
        &job.body,
    )
    .await;
    let attempt = Attempt {
        message_id: job.message_id.clone(),
        event_type: job.event_type.clone(),
        status_code: answer.status.map(i64::from),
        error: answer.error.clone(),
        ok: answer.ok(),
        duration_ms: answer.elapsed_ms,
        created_at: state.clock.now_ms(),
    };
    let failures = state
        .store
        .record_webhook_attempt(
            &hook.id,
            &attempt,
            DISABLE_AFTER,
            &format!("{DISABLE_AFTER} failed attempts in a row"),
        )
        .await
        .map_err(|err| err.to_string())?;
    match (answer.ok(), failures >= DISABLE_AFTER) {
        (true, _) => Ok("delivered"),
        (false, true) => Ok("failed; webhook disabled"),
        (false, false) => Err(answer.error.unwrap_or_else(|| "failed".into())),
    }
}
