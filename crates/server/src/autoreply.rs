//! Auto-replies: a greeting on a conversation's first message; in business hours, an
//! expectation message when no human has replied N seconds after the customer wrote; out of
//! hours, an away message at once with the next opening time. Each goes out at most once per
//! waiting period (from the customer's first unanswered message to the next human reply): its
//! `client_id` names that period, so a retry or a duplicate job cannot send it twice. A human
//! reply cancels the pending expectation.

use chrono::DateTime;
use chrono_tz::Tz;
use madoguchi_core::automation::{Automation, WaitingReply};
use madoguchi_core::hours::{format_local, parse_time_zone};
use madoguchi_core::message::SenderKind;
use madoguchi_store::conversations::Conversation;
use madoguchi_store::messages::Message;
use madoguchi_store::workspaces::{Channel, Workspace};
use serde::{Deserialize, Serialize};

use crate::app::AppState;
use crate::bot;
use crate::error::ApiResult;
use crate::messaging;
use crate::notify::NotifyJob;

pub const EXPECTATION_JOB: &str = "auto_reply.expectation";
pub const NOTIFY_JOB: &str = "notify.reply";

/// A channel's automation settings; unreadable stored settings fall back to the defaults.
pub fn channel_automation(channel: &Channel) -> Automation {
    serde_json::from_str(&channel.automation).unwrap_or_default()
}

/// The workspace's time zone (Asia/Tokyo when unset or unknown).
pub fn workspace_time_zone(workspace: &Workspace) -> Tz {
    parse_time_zone(&workspace.time_zone).unwrap_or(Tz::Asia__Tokyo)
}

/// Payload of an expectation job.
#[derive(Debug, Serialize, Deserialize)]
pub struct ExpectationJob {
    pub workspace_id: String,
    pub conversation_id: String,
    /// The `seq` that opened the waiting period this reply is for.
    pub waiting_since: i64,
}

fn expectation_key(conversation_id: &str) -> String {
    format!("expect:{conversation_id}")
}

async fn settings_of(state: &AppState, conversation: &Conversation) -> ApiResult<(Automation, Tz)> {
    let channel = state
        .store
        .channel(&conversation.workspace_id, &conversation.channel_id)
        .await?;
    let workspace = state.store.workspace(&conversation.workspace_id).await?;
    Ok((
        channel_automation(&channel),
        workspace_time_zone(&workspace),
    ))
}

/// After a customer message was committed: greeting; then the bot, if it can answer; else the
/// wait for a human (expectation later in hours, away message now out of hours).
pub async fn after_customer_message(
    state: &AppState,
    conversation: &Conversation,
    message: &Message,
    first_message: bool,
) -> ApiResult<()> {
    let (automation, tz) = settings_of(state, conversation).await?;
    if first_message {
        if let Some(text) = automation.greeting.render(&automation.locale, "") {
            messaging::post_automatic(
                state,
                conversation,
                SenderKind::System,
                "greeting",
                text,
                None,
            )
            .await?;
        }
    }
    if automation.bot && bot::answer(state, conversation, message, &automation).await? {
        return Ok(());
    }
    // The conversation as this message left it says since when the customer waits.
    let waiting_since = conversation.waiting_since;
    wait_for_human(state, conversation, waiting_since, &automation, tz).await
}

/// The customer now waits for a person (after the bot could not help, for instance).
pub async fn hand_over(state: &AppState, conversation: &Conversation) -> ApiResult<()> {
    let (automation, tz) = settings_of(state, conversation).await?;
    let waiting_since = state.store.waiting_since(&conversation.id).await?;
    wait_for_human(state, conversation, waiting_since, &automation, tz).await
}

async fn wait_for_human(
    state: &AppState,
    conversation: &Conversation,
    waiting_since: Option<i64>,
    automation: &Automation,
    tz: Tz,
) -> ApiResult<()> {
    let now_ms = state.clock.now_ms();
    let now = DateTime::from_timestamp_millis(now_ms).unwrap_or_default();
    let Some(waiting_since) = waiting_since else {
        return Ok(());
    };
    match automation.waiting_reply(automation.hours.is_open(tz, now)) {
        WaitingReply::ExpectationAfter(secs) => {
            let job = ExpectationJob {
                workspace_id: conversation.workspace_id.clone(),
                conversation_id: conversation.id.clone(),
                waiting_since,
            };
            let payload = serde_json::to_string(&job).unwrap_or_default();
            let due = now_ms + i64::from(secs) * 1000;
            let key = expectation_key(&conversation.id);
            state
                .store
                .enqueue_job(EXPECTATION_JOB, &payload, due, Some(&key), now_ms)
                .await?;
        }
        WaitingReply::AwayNow => {
            let next_open = automation
                .hours
                .next_open(tz, now)
                .map(|at| format_local(tz, at, &automation.locale))
                .unwrap_or_default();
            if let Some(text) = automation.away.render(&automation.locale, &next_open) {
                let client_id = format!("away-{waiting_since}");
                messaging::post_automatic(
                    state,
                    conversation,
                    SenderKind::System,
                    &client_id,
                    text,
                    None,
                )
                .await?;
            }
        }
        WaitingReply::Nothing => {}
    }
    Ok(())
}

/// After a human reply was committed: cancel the expectation, plan a notification.
pub async fn after_human_reply(state: &AppState, conversation: &Conversation) -> ApiResult<()> {
    let now = state.clock.now_ms();
    state
        .store
        .cancel_job(&expectation_key(&conversation.id), now)
        .await?;
    let (automation, _) = settings_of(state, conversation).await?;
    if automation.notify_email || automation.notify_sms {
        let job = NotifyJob {
            workspace_id: conversation.workspace_id.clone(),
            conversation_id: conversation.id.clone(),
        };
        let payload = serde_json::to_string(&job).unwrap_or_default();
        let due = now + i64::from(automation.notify_after_secs) * 1000;
        let key = format!("notify:{}", conversation.id);
        state
            .store
            .enqueue_job(NOTIFY_JOB, &payload, due, Some(&key), now)
            .await?;
    }
    Ok(())
}

/// Runs an expectation job: sends the message if the customer is still waiting since then.
pub async fn send_expectation(state: &AppState, job: &ExpectationJob) -> ApiResult<&'static str> {
    let conversation = state
        .store
        .conversation(&job.workspace_id, &job.conversation_id)
        .await?;
    if state.store.waiting_since(&conversation.id).await? != Some(job.waiting_since) {
        return Ok("answered meanwhile");
    }
    let (automation, _) = settings_of(state, &conversation).await?;
    match automation.expectation.render(&automation.locale, "") {
        Some(text) => {
            let client_id = format!("expect-{}", job.waiting_since);
            messaging::post_automatic(
                state,
                &conversation,
                SenderKind::System,
                &client_id,
                text,
                None,
            )
            .await?;
            Ok("sent")
        }
        None => Ok("switched off"),
    }
}

/// After a conversation is resolved: ask the customer how satisfied they are (1–5), once per
/// resolution.
pub async fn ask_rating(state: &AppState, conversation: &Conversation) -> ApiResult<()> {
    let (automation, _) = settings_of(state, conversation).await?;
    let text = if automation.locale == "en" {
        "How did we do? Please rate this conversation."
    } else {
        "ご対応はいかがでしたか？ 満足度をお選びください。"
    };
    let buttons: Vec<serde_json::Value> = (1..=5)
        .map(|n| serde_json::json!({"label": "★".repeat(n), "value": n.to_string()}))
        .collect();
    let meta = serde_json::json!({"kind": "rating", "buttons": buttons});
    let client_id = format!(
        "rating-{}",
        conversation
            .resolved_at
            .unwrap_or(conversation.last_activity_at)
    );
    messaging::post_automatic(
        state,
        conversation,
        SenderKind::System,
        &client_id,
        text.into(),
        Some(&meta),
    )
    .await?;
    Ok(())
}
