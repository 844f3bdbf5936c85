//! What leaves a conversation on a messaging channel (LINE, Instagram): every visible message
//! that is not the customer's (an agent's reply, the bot, an auto-reply) goes to the provider as
//! a job committed with the message (planned by `outbox::job`). On LINE, while the customer's
//! reply token is fresh the free reply API answers, else the push API (the account's monthly
//! quota) with the message's id as its `X-Line-Retry-Key`, so a retried push is delivered once.
//! On Instagram the send API answers within 24 hours of the customer's last message; after
//! that the message fails with that reason (agents are told before they write, see
//! `api::conversations`). Each message's state is kept and shown to agents live: `sent`,
//! `retrying` (the provider or the network failed; the queue retries with backoff) or `failed`
//! with the reason (refused, the quota used up, the window closed, or the last try failed).

use madoguchi_core::message::SenderKind;
use madoguchi_store::contacts::{IDENTITY_INSTAGRAM, IDENTITY_LINE};
use madoguchi_store::conversations::Conversation;
use madoguchi_store::messages::Message;
use madoguchi_store::workspaces::Channel;
use serde::{Deserialize, Serialize};

use crate::app::AppState;
use crate::channels::instagram::{self, InstagramConnection};
use crate::channels::line::{LineClient, LineConnection, REPLY_TOKEN_FRESH_MS};
use crate::channels::ProviderError;

pub const MESSAGING_SEND_JOB: &str = "messaging_send";

/// Payload of a `messaging_send` job.
#[derive(Debug, Serialize, Deserialize)]
pub struct MessagingSendJob {
    pub workspace_id: String,
    pub conversation_id: String,
    /// The conversation's newest `seq` before the message: the job sends the outgoing
    /// messages after it that have not gone yet.
    pub after_seq: i64,
}

/// The channel kinds whose conversations are answered through a provider.
pub fn is_messaging(kind: &str) -> bool {
    matches!(kind, "line" | "instagram")
}

fn failed(err: impl std::fmt::Display) -> String {
    err.to_string()
}

/// Whether Instagram still lets the business answer: within 24 hours of the customer's last
/// message.
pub async fn instagram_window_open(
    state: &AppState,
    conversation: &Conversation,
) -> Result<bool, madoguchi_store::StoreError> {
    let last = state
        .store
        .last_contact_message_at(&conversation.id)
        .await?;
    Ok(last.is_some_and(|at| state.clock.now_ms() - at <= instagram::WINDOW_MS))
}

/// The customer's id at the provider.
async fn recipient(
    state: &AppState,
    conversation: &Conversation,
    kind: &str,
) -> Result<Option<String>, String> {
    Ok(state
        .store
        .contact_identities(&conversation.workspace_id, &conversation.contact_id)
        .await
        .map_err(failed)?
        .into_iter()
        .find(|i| i.kind == kind)
        .map(|i| i.value))
}

/// Sends one message through the channel's provider.
async fn deliver(
    state: &AppState,
    channel: &Channel,
    conversation: &Conversation,
    message: &Message,
) -> Result<Result<(), ProviderError>, String> {
    let allow_private = state.settings.webhooks_allow_private;
    let no_id = || ProviderError::Refused("お客様の宛先（ユーザーID）がありません".into());
    Ok(match channel.kind.as_str() {
        "line" => {
            let connection = LineConnection::of(channel)?;
            let client = LineClient::new(&connection, allow_private);
            match recipient(state, conversation, IDENTITY_LINE).await? {
                None => Err(no_id()),
                Some(to) => {
                    let fresh_since = state.clock.now_ms() - REPLY_TOKEN_FRESH_MS;
                    match state
                        .store
                        .take_reply_token(&conversation.id, fresh_since)
                        .await
                        .map_err(failed)?
                    {
                        Some(token) => client.reply(&token, &message.body).await,
                        None => client.push(&to, &message.body, &message.id).await,
                    }
                }
            }
        }
        "instagram" => {
            let connection = InstagramConnection::of(channel)?;
            if !instagram_window_open(state, conversation)
                .await
                .map_err(failed)?
            {
                Err(ProviderError::Refused(
                    "お客様の最後のメッセージから24時間を過ぎたため、Instagramでは送信できません（24-hour window closed）".into(),
                ))
            } else {
                match recipient(state, conversation, IDENTITY_INSTAGRAM).await? {
                    None => Err(no_id()),
                    Some(to) => {
                        instagram::send(&connection, allow_private, &to, &message.body).await
                    }
                }
            }
        }
        other => Err(ProviderError::Refused(format!(
            "a {other} channel has no provider"
        ))),
    })
}

/// Sends the conversation's outgoing messages after `after_seq` not yet sent; on the
/// `last_try` what still fails is marked failed.
pub async fn send(
    state: &AppState,
    job: &MessagingSendJob,
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
    let pending: Vec<Message> = store
        .messages_after(&conversation.id, job.after_seq, false, 50)
        .await
        .map_err(failed)?
        .into_iter()
        .filter(|m| m.sender_kind != SenderKind::Contact)
        .filter(|m| !matches!(m.delivery.as_deref(), Some("sent" | "failed")))
        .collect();
    for message in pending {
        let (delivery, detail, result) = match deliver(state, &channel, &conversation, &message)
            .await?
        {
            Ok(()) => ("sent", None, Ok(())),
            Err(ProviderError::Refused(reason)) => ("failed", Some(reason), Ok(())),
            Err(ProviderError::Retry(reason)) if last_try => ("failed", Some(reason), Ok(())),
            Err(ProviderError::Retry(reason)) => ("retrying", Some(reason.clone()), Err(reason)),
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
