//! Auto-replies: a greeting on a conversation's first message; in business hours, an
//! expectation message when no human has replied N seconds after the customer wrote; out of
//! hours, an away message at once with the next opening time. Each goes out at most once per
//! waiting period (from the customer's first unanswered message to the next human reply): its
//! `client_id` names that period, so a retry or a duplicate job cannot send it twice.
//!
//! The expectation is a job planned before the customer's message is written ([`plan_wait`])
//! and committed with it; a human reply, or the bot's answer, cancels it in its own
//! transaction ([`cancel_expectation`]). The messages sent at once (greeting, away) follow the
//! commit.

use chrono::DateTime;
use chrono_tz::Tz;
use madoguchi_core::automation::{Automation, WaitingReply};
use madoguchi_core::conversation::Involvement;
use madoguchi_core::hours::format_local;
use madoguchi_core::message::SenderKind;
use madoguchi_store::conversations::Conversation;
use madoguchi_store::jobs::{JobChanges, JobSpec, NO_JOBS};
use madoguchi_store::messages::Message;
use serde::{Deserialize, Serialize};

use crate::app::error::DomainResult;
use crate::app::AppState;
use crate::automation::notifications::NotifyJob;
use crate::bot;
use crate::inbox::messages::{post_automatic, Automatic};
use crate::inbox::outbox;
use crate::inbox::settings::automation_of;

pub const EXPECTATION_JOB: &str = "auto_reply.expectation";
pub const NOTIFY_JOB: &str = "notify.reply";

/// Payload of an expectation job.
#[derive(Debug, Serialize, Deserialize)]
pub struct ExpectationJob {
    pub workspace_id: String,
    pub conversation_id: String,
}

fn expectation_key(conversation_id: &str) -> String {
    format!("expect:{conversation_id}")
}

/// Drops the pending expectation of a conversation: for the write of a human reply or of an
/// answer that means the customer no longer waits.
pub fn cancel_expectation(conversation_id: &str) -> JobChanges {
    JobChanges {
        enqueue: Vec::new(),
        cancel: vec![expectation_key(conversation_id)],
    }
}

/// What a customer who now waits for a person gets: decided before the write, at one moment.
pub struct WaitPlan {
    pub automation: Automation,
    tz: Tz,
    now: i64,
    open: bool,
    /// In hours: the expectation job, to commit with the write.
    pub jobs: JobChanges,
}

/// Plans the wait for a person in a conversation of `channel_id` (its id known before it is
/// written: see [`madoguchi_store::conversations::NewConversation::id`]).
pub async fn plan_wait(
    state: &AppState,
    workspace_id: &str,
    channel_id: &str,
    conversation_id: &str,
) -> DomainResult<WaitPlan> {
    let (automation, tz) = automation_of(state, workspace_id, channel_id).await?;
    let now = state.clock.now_ms();
    let open = automation
        .hours
        .is_open(tz, DateTime::from_timestamp_millis(now).unwrap_or_default());
    let mut jobs = JobChanges::default();
    if let WaitingReply::ExpectationAfter(secs) = automation.waiting_reply(open) {
        let payload = ExpectationJob {
            workspace_id: workspace_id.to_owned(),
            conversation_id: conversation_id.to_owned(),
        };
        jobs.enqueue.push(JobSpec {
            kind: EXPECTATION_JOB.into(),
            payload: serde_json::to_string(&payload).unwrap_or_default(),
            due_at: now + i64::from(secs) * 1000,
            dedupe_key: Some(expectation_key(conversation_id)),
        });
    }
    Ok(WaitPlan {
        automation,
        tz,
        now,
        open,
        jobs,
    })
}

/// After a customer message was committed with its plan: the greeting on the first message;
/// then the bot, if no person is involved yet and it can answer (its answer cancels the
/// expectation); else, out of hours, the away message.
pub async fn after_customer_message(
    state: &AppState,
    plan: &WaitPlan,
    conversation: &Conversation,
    message: &Message,
    first_message: bool,
) -> DomainResult<()> {
    let automation = &plan.automation;
    if first_message {
        let locale = automation.locale_for(conversation.locale.as_deref());
        if let Some(text) = automation.greeting.render(locale, "") {
            post_automatic(
                state,
                conversation,
                Automatic {
                    sender_kind: SenderKind::System,
                    client_id: "greeting",
                    text,
                    meta: None,
                    jobs: &NO_JOBS,
                },
            )
            .await?;
        }
    }
    let involvement = Involvement {
        human_replied: conversation.first_agent_response_at.is_some(),
        assigned: conversation.assignee_id.is_some(),
        handed_over: conversation.handed_over_at.is_some(),
    };
    let answered = &cancel_expectation(&conversation.id);
    // A file or a mail (the customer messages with `meta`) is for a person to look at.
    if automation.bot
        && message.meta.is_none()
        && involvement.bot_may_answer()
        && bot::answer(state, conversation, message, automation, answered).await?
    {
        return Ok(());
    }
    send_away(state, plan, conversation).await
}

/// Out of hours, the away message for the conversation's current waiting period.
pub async fn send_away(
    state: &AppState,
    plan: &WaitPlan,
    conversation: &Conversation,
) -> DomainResult<()> {
    let automation = &plan.automation;
    let (WaitingReply::AwayNow, Some(waiting_since)) = (
        automation.waiting_reply(plan.open),
        conversation.waiting_since,
    ) else {
        return Ok(());
    };
    let now = DateTime::from_timestamp_millis(plan.now).unwrap_or_default();
    let locale = automation.locale_for(conversation.locale.as_deref());
    let next_open = automation
        .hours
        .next_open(plan.tz, now)
        .map(|at| format_local(plan.tz, at, locale))
        .unwrap_or_default();
    let Some(text) = automation.away.render(locale, &next_open) else {
        return Ok(());
    };
    post_automatic(
        state,
        conversation,
        Automatic {
            sender_kind: SenderKind::System,
            client_id: &format!("away-{waiting_since}"),
            text,
            meta: None,
            jobs: &NO_JOBS,
        },
    )
    .await
}

/// The jobs an agent's message triggers: a reply (not a note) cancels the expectation and
/// plans a notification for a visitor who has left.
pub async fn plan_agent_message(
    state: &AppState,
    conversation: &Conversation,
    private: bool,
) -> DomainResult<JobChanges> {
    if private {
        return Ok(JobChanges::default());
    }
    let mut jobs = cancel_expectation(&conversation.id);
    // In an e-mail conversation the reply itself is the mail: no notification besides.
    let mail = outbox::plan(state, conversation).await?;
    let notify = mail.is_none();
    jobs.enqueue.extend(mail);
    let (automation, _) =
        automation_of(state, &conversation.workspace_id, &conversation.channel_id).await?;
    if notify && reachable(state, &automation).any() {
        let job = NotifyJob {
            workspace_id: conversation.workspace_id.clone(),
            conversation_id: conversation.id.clone(),
        };
        jobs.enqueue.push(JobSpec {
            kind: NOTIFY_JOB.into(),
            payload: serde_json::to_string(&job).unwrap_or_default(),
            due_at: state.clock.now_ms() + i64::from(automation.notify_after_secs) * 1000,
            dedupe_key: Some(format!("notify:{}", conversation.id)),
        });
    }
    Ok(jobs)
}

/// The ways a reply can reach a visitor who left: switched on for the channel and configured
/// on the server (`smtp.url`, `sms.url`). Nothing is offered or planned that cannot be sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct Reachable {
    pub email: bool,
    pub sms: bool,
}

impl Reachable {
    pub fn any(self) -> bool {
        self.email || self.sms
    }
}

pub fn reachable(state: &AppState, automation: &Automation) -> Reachable {
    Reachable {
        email: automation.notify_email && state.notifier.can_email(),
        sms: automation.notify_sms && state.notifier.can_sms(),
    }
}

/// Runs an expectation job: sends the message if the customer is still waiting.
pub async fn send_expectation(
    state: &AppState,
    job: &ExpectationJob,
) -> DomainResult<&'static str> {
    let conversation = state
        .store
        .conversation(&job.workspace_id, &job.conversation_id)
        .await?;
    let Some(waiting_since) = conversation.waiting_since else {
        return Ok("answered meanwhile");
    };
    let (automation, _) =
        automation_of(state, &conversation.workspace_id, &conversation.channel_id).await?;
    let locale = automation.locale_for(conversation.locale.as_deref());
    match automation.expectation.render(locale, "") {
        Some(text) => {
            post_automatic(
                state,
                &conversation,
                Automatic {
                    sender_kind: SenderKind::System,
                    client_id: &format!("expect-{waiting_since}"),
                    text,
                    meta: None,
                    jobs: &NO_JOBS,
                },
            )
            .await?;
            Ok("sent")
        }
        None => Ok("switched off"),
    }
}
