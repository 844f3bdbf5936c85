//! What leaves a LINE conversation: every visible message that is not the customer's (an
//! agent's reply, the bot, an auto-reply) goes to LINE as a job committed with the message
//! (planned by `outbox::job`). While the customer's reply token is fresh the free reply API
//! answers, else the push API (the account's monthly quota) with the message's id as its
//! `X-Line-Retry-Key`, so a retried push is delivered once. Each message's state is kept and
//! shown to agents live: `sent`, `retrying` (LINE or the network failed; the queue retries with
//! backoff) or `failed` with the reason (LINE refused it, the quota is used up, or the last try
//! failed).

use madoguchi_core::message::SenderKind;
use madoguchi_store::contacts::IDENTITY_LINE;
use madoguchi_store::messages::Message;
use serde::{Deserialize, Serialize};

use crate::app::AppState;
use crate::channels::line::{LineClient, LineConnection, LineError, REPLY_TOKEN_FRESH_MS};

pub const LINE_SEND_JOB: &str = "line_send";

/// Payload of a `line_send` job.
#[derive(Debug, Serialize, Deserialize)]
pub struct LineSendJob {
    pub workspace_id: String,
    pub conversation_id: String,
    /// The conversation's newest `seq` before the message: the job sends the outgoing
    /// messages after it that have not gone yet.
    pub after_seq: i64,
}

fn failed(err: impl std::fmt::Display) -> String {
    err.to_string()
}

/// Sends the conversation's outgoing messages after `after_seq` not yet sent; on the
/// `last_try` what still fails is marked failed.
pub async fn send(
    state: &AppState,
    job: &LineSendJob,
    last_try: bool,
) -> Result<&'static str, String> {
    let store = &state.store;
    let conversation = store
        .conversation(&job.workspace_id, &job.conversation_id)
        .await
        .map_err(failed)?;
    let channel = store
        .channel(&job.workspace_id, &conversation.channel_id)
        .await
        .map_err(failed)?;
    let connection = LineConnection::of(&channel)?;
    let to = store
        .contact_identities(&job.workspace_id, &conversation.contact_id)
        .await
        .map_err(failed)?
        .into_iter()
        .find(|i| i.kind == IDENTITY_LINE)
        .map(|i| i.value);
    let pending: Vec<Message> = store
        .messages_after(&conversation.id, job.after_seq, false, 50)
        .await
        .map_err(failed)?
        .into_iter()
        .filter(|m| m.sender_kind != SenderKind::Contact && m.delivery.as_deref() != Some("sent"))
        .filter(|m| m.delivery.as_deref() != Some("failed"))
        .collect();
    let client = LineClient::new(&connection, state.settings.webhooks_allow_private);
    for message in pending {
        let outcome = match &to {
            None => Err(LineError::Refused(
                "the customer has no LINE user id".into(),
            )),
            Some(to) => {
                let fresh_since = state.clock.now_ms() - REPLY_TOKEN_FRESH_MS;
                match store
                    .take_reply_token(&conversation.id, fresh_since)
                    .await
                    .map_err(failed)?
                {
                    Some(token) => client.reply(&token, &message.body).await,
                    None => client.push(to, &message.body, &message.id).await,
                }
            }
        };
        let (delivery, detail, result) = match outcome {
            Ok(()) => ("sent", None, Ok(())),
            Err(LineError::Refused(reason)) => ("failed", Some(reason), Ok(())),
            Err(LineError::Retry(reason)) if last_try => ("failed", Some(reason), Ok(())),
            Err(LineError::Retry(reason)) => ("retrying", Some(reason.clone()), Err(reason)),
        };
        let updated = store
            .set_delivery(&message.id, delivery, detail.as_deref())
            .await
            .map_err(failed)?;
        state.hub.message_updated(&conversation, &updated);
        result?;
    }
    Ok("sent")
}
