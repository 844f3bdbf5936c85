//! LINE events into the inbox. The webhook (`api::hooks`) checks the signature and commits each
//! event as a job; here, after that commit, a job turns its event into a contact (identity
//! `line` + the user id, named from LINE's profile) and a message through the one door: text as
//! it is, a sticker as 「（スタンプ）」, an image fetched from LINE's content API and kept as a
//! file, other kinds as a line saying what came. The message's client id is the event's
//! `webhookEventId`, so a redelivered event is stored once. The customer's reply token is kept
//! for a free, quick answer (see `inbox::outbox`). A message goes to the customer's open
//! conversation on the channel, else starts one.

use madoguchi_core::message::{ClientId, MessageBody, SenderKind};
use madoguchi_store::attachments::NewAttachment;
use madoguchi_store::contacts::{Contact, IDENTITY_LINE};
use madoguchi_store::workspaces::Channel;
use serde::{Deserialize, Serialize};

use crate::app::AppState;
use crate::automation::intake;
use crate::channels::line::{Event, LineClient, LineConnection};
use crate::channels::ProviderError;
use madoguchi_store::conversations::Conversation;

pub const LINE_EVENT_JOB: &str = "line_event";

/// Payload of a `line_event` job: one verified webhook event.
#[derive(Debug, Serialize, Deserialize)]
pub struct LineEventJob {
    pub workspace_id: String,
    pub channel_id: String,
    pub event: Event,
}

fn failed(err: impl std::fmt::Display) -> String {
    err.to_string()
}

/// Handles one event; `Err` retries the job.
pub async fn handle(state: &AppState, job: &LineEventJob) -> Result<&'static str, String> {
    let channel = state
        .store
        .channel(&job.workspace_id, &job.channel_id)
        .await
        .map_err(failed)?;
    let connection = LineConnection::of(&channel)?;
    let client = LineClient::new(&connection, state.settings.webhooks_allow_private);
    let event = &job.event;
    let Some(user_id) = event
        .source
        .user_id
        .as_deref()
        .filter(|_| event.source.kind == "user")
    else {
        return Ok("not from a user");
    };
    let contact = state
        .store
        .identified_contact(&channel.workspace_id, IDENTITY_LINE, user_id)
        .await
        .map_err(failed)?;
    let contact =
        intake::named_from_profile(state, contact, || client.display_name(user_id)).await?;
    let message = match (event.kind.as_str(), &event.message) {
        ("message", Some(message)) => message,
        ("follow", _) => return Ok("followed"),
        ("unfollow", _) => {
            tracing::info!(channel = %channel.id, contact = %contact.id, "a LINE user blocked the account");
            return Ok("unfollowed");
        }
        _ => return Ok("not a message"),
    };
    let client_id = ClientId::parse(&format!("line-{}", event.webhook_event_id)).map_err(failed)?;
    let text = match message.kind.as_str() {
        "text" => message.text.clone().unwrap_or_default(),
        "sticker" => "（スタンプ）".to_owned(),
        "image" => "（画像）".to_owned(),
        other => format!("（LINEで{other}が送られました。LINEアプリでご確認ください）"),
    };
    let body = MessageBody::parse(madoguchi_core::text::visible_only(&text, true).trim())
        .or_else(|_| MessageBody::parse("（空のメッセージ）"))
        .map_err(failed)?;
    let meta = (message.kind == "sticker").then(|| {
        serde_json::json!({"line": {"sticker": {"package_id": message.package_id, "sticker_id": message.sticker_id}}})
            .to_string()
    });
    let conversation = intake::customer_writes(
        state,
        &channel,
        &contact,
        &body,
        &client_id,
        meta.as_deref(),
    )
    .await?;
    if let Some(token) = &event.reply_token {
        state
            .store
            .set_reply_token(&conversation.id, token, state.clock.now_ms())
            .await
            .map_err(failed)?;
    }
    if message.kind == "image" {
        attach_image(
            state,
            &channel,
            &client,
            &conversation,
            &contact,
            &message.id,
            &client_id,
        )
        .await?;
    }
    Ok("received")
}

/// Fetches the image of a message and adds it to the conversation as the customer's file
/// (once: its message carries the event's client id).
async fn attach_image(
    state: &AppState,
    channel: &Channel,
    client: &LineClient<'_>,
    conversation: &Conversation,
    contact: &Contact,
    line_message_id: &str,
    client_id: &ClientId,
) -> Result<(), String> {
    let file_id = ClientId::parse(&format!("{}.f0", client_id.as_str())).map_err(failed)?;
    let stored = state
        .store
        .message_by_client_id(SenderKind::Contact, &contact.id, &file_id)
        .await
        .map_err(failed)?;
    if stored.is_some() {
        return Ok(());
    }
    let (_, data) = match client.content(line_message_id).await {
        Ok(content) => content,
        Err(ProviderError::Retry(err)) => return Err(err),
        Err(ProviderError::Refused(err)) => {
            tracing::warn!(channel = %channel.id, error = %err, "a LINE image could not be fetched");
            return Ok(());
        }
    };
    let Ok(content_type) = madoguchi_core::attachment::sniff(&data) else {
        tracing::warn!(channel = %channel.id, "a LINE image is not an image");
        return Ok(());
    };
    let name = format!(
        "line-image.{}",
        content_type.rsplit('/').next().unwrap_or("bin")
    );
    let attachment = state
        .store
        .create_attachment(&NewAttachment {
            workspace_id: &channel.workspace_id,
            conversation_id: &conversation.id,
            uploaded_by: &format!("contact:{}", contact.id),
            private: true,
            name: &name,
            content_type,
            data: &data,
            at: state.clock.now_ms(),
        })
        .await
        .map_err(failed)?;
    let meta = serde_json::json!({"attachments": [{
        "id": attachment.id,
        "name": attachment.name,
        "content_type": attachment.content_type,
        "size": attachment.size,
    }]})
    .to_string();
    intake::customer_writes(
        state,
        channel,
        contact,
        &MessageBody::parse(&name).map_err(failed)?,
        &file_id,
        Some(&meta),
    )
    .await?;
    Ok(())
}
