//! Instagram direct messages into the inbox. The webhook (`api::hooks`) checks the signature
//! and commits each messaging event as a job; here a job turns its event into a contact
//! (identity `instagram` + the Instagram-scoped user id, named from the profile) and a message through the one door —
//! text, a reply to a story (marked as such), photos and mentions named — into the customer's
//! open conversation on the channel, else a new one. The message's client id comes from the
//! event's `mid`, so a redelivered event is stored once; echoes of our own sends are skipped.

use madoguchi_core::message::{ClientId, MessageBody};
use madoguchi_store::contacts::IDENTITY_INSTAGRAM;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::app::AppState;
use crate::automation::intake;
use crate::channels::instagram::{self, Event, InstagramConnection};

pub const INSTAGRAM_EVENT_JOB: &str = "instagram_event";

/// Payload of an `instagram_event` job: one verified messaging event.
#[derive(Debug, Serialize, Deserialize)]
pub struct InstagramEventJob {
    pub workspace_id: String,
    pub channel_id: String,
    pub event: Event,
}

fn failed(err: impl std::fmt::Display) -> String {
    err.to_string()
}

/// Handles one event; `Err` retries the job.
pub async fn handle(state: &AppState, job: &InstagramEventJob) -> Result<&'static str, String> {
    let Some(message) = job.event.message.as_ref().filter(|m| !m.is_echo) else {
        return Ok("not a customer's message");
    };
    let channel = state
        .store
        .channel(&job.workspace_id, &job.channel_id)
        .await
        .map_err(failed)?;
    let contact = state
        .store
        .identified_contact(
            &channel.workspace_id,
            IDENTITY_INSTAGRAM,
            &job.event.sender.id,
        )
        .await
        .map_err(failed)?;
    let connection = InstagramConnection::of(&channel)?;
    let allow_private = state.settings.webhooks_allow_private;
    let contact = intake::named_from_profile(state, contact, || {
        instagram::display_name(&connection, allow_private, &job.event.sender.id)
    })
    .await?;
    // A mid is long and of any characters: its digest makes the client id.
    let digest = hex::encode(Sha256::digest(message.mid.as_bytes()));
    let client_id = ClientId::parse(&format!("ig-{}", &digest[..40])).map_err(failed)?;
    let text = madoguchi_core::text::visible_only(&message.body(), true);
    let body = MessageBody::parse(text.trim())
        .or_else(|_| MessageBody::parse("（空のメッセージ）"))
        .map_err(failed)?;
    intake::customer_writes(state, &channel, &contact, &body, &client_id, None).await?;
    Ok("received")
}
