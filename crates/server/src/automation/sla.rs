//! SLA timers: applying a policy sets a conversation's first-response and resolution
//! deadlines in its channel's business hours (several periods a day, holidays) and commits a
//! job per warning and per deadline with that change, so the timers hold across restarts and
//! nodes; a customer who writes again after an agent's answer starts the next-response timer
//! the same way. When a job comes due and the target is still open, a private note says so on
//! the timeline (a warning — mailed to the assignee if the policy says so — or the breach, which
//! is audited too).

use chrono::DateTime;
use madoguchi_core::conversation::{ConversationStatus, Priority};
use madoguchi_core::hours::format_local;
use madoguchi_core::sla::Policy;
use madoguchi_store::audit::AuditEntry;
use madoguchi_store::conversations::{Conversation, ConversationPatch, SlaDeadlines};
use madoguchi_store::jobs::{JobChanges, JobSpec};
use madoguchi_store::messages::Message;
use serde::{Deserialize, Serialize};

use crate::app::error::{DomainError, DomainResult};
use crate::app::AppState;
use crate::channels::outbound::Sender;
use crate::inbox::conversations::{self, Change};
use crate::inbox::messages;
use crate::inbox::settings::automation_of;

pub const SLA_JOB: &str = "sla.check";

/// Which target a job watches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Target {
    FirstResponse,
    NextResponse,
    Resolution,
}

/// Payload of an SLA job: a warning before `due_at`, or the check at it.
#[derive(Debug, Serialize, Deserialize)]
pub struct SlaJob {
    pub workspace_id: String,
    pub conversation_id: String,
    pub target: Target,
    pub due_at: i64,
    pub warning: bool,
}

/// The deadlines policy `policy_id` sets on `conversation` at `priority`, counted from when
/// the conversation began, and the jobs that watch them.
pub async fn apply(
    state: &AppState,
    conversation: &Conversation,
    policy_id: &str,
    priority: Priority,
) -> DomainResult<(SlaDeadlines, JobChanges)> {
    let policy = policy_of(state, &conversation.workspace_id, policy_id).await?;
    let (automation, tz) =
        automation_of(state, &conversation.workspace_id, &conversation.channel_id).await?;
    let start = DateTime::from_timestamp_millis(conversation.created_at).unwrap_or_default();
    let targets = policy.targets(priority);
    let due = |mins: Option<u32>| {
        mins.and_then(|m| {
            automation
                .hours
                .add_open_seconds(tz, start, i64::from(m) * 60)
        })
        .map(|at| at.timestamp_millis())
    };
    let deadlines = SlaDeadlines {
        policy_id: policy_id.to_owned(),
        first_due_at: due(targets.first_response_mins),
        resolution_due_at: due(targets.resolution_mins),
    };
    let jobs = timers(
        state,
        conversation,
        &policy,
        [
            (Target::FirstResponse, deadlines.first_due_at),
            (Target::Resolution, deadlines.resolution_due_at),
        ],
    );
    Ok((deadlines, jobs))
}

/// A change of priority under a policy moves its deadlines: `patch` gets them, and the jobs
/// that watch them are returned (none when nothing moves).
pub async fn follow_priority(
    state: &AppState,
    conversation: &Conversation,
    patch: &mut ConversationPatch,
) -> DomainResult<JobChanges> {
    let (Some(policy_id), Some(priority)) = (&conversation.sla_policy_id, patch.priority) else {
        return Ok(JobChanges::default());
    };
    if patch.sla.is_some() || priority == conversation.priority {
        return Ok(JobChanges::default());
    }
    match apply(state, conversation, policy_id, priority).await {
        Ok((deadlines, jobs)) => {
            patch.sla = Some(deadlines);
            Ok(jobs)
        }
        // The policy was deleted: the deadlines stay as they were.
        Err(DomainError::Store(madoguchi_store::StoreError::NotFound)) => Ok(JobChanges::default()),
        Err(err) => Err(err),
    }
}

/// A job at each deadline, and one at its warning when that is still ahead.
fn timers(
    state: &AppState,
    conversation: &Conversation,
    policy: &Policy,
    deadlines: impl IntoIterator<Item = (Target, Option<i64>)>,
) -> JobChanges {
    let now = state.clock.now_ms();
    let warn_ms = i64::from(policy.warn_before_mins) * 60_000;
    let mut jobs = JobChanges::default();
    for (target, due_at) in deadlines {
        let Some(due_at) = due_at else { continue };
        let mut at = vec![(false, due_at)];
        if warn_ms > 0 && due_at - warn_ms > now {
            at.push((true, due_at - warn_ms));
        }
        for (warning, when) in at {
            let job = SlaJob {
                workspace_id: conversation.workspace_id.clone(),
                conversation_id: conversation.id.clone(),
                target,
                due_at,
                warning,
            };
            jobs.enqueue.push(JobSpec {
                kind: SLA_JOB.into(),
                payload: serde_json::to_string(&job).unwrap_or_default(),
                due_at: when,
                dedupe_key: Some(format!(
                    "sla:{}:{target:?}:{due_at}:{warning}",
                    conversation.id
                )),
            });
        }
    }
    jobs
}

async fn policy_of(state: &AppState, workspace_id: &str, policy_id: &str) -> DomainResult<Policy> {
    let stored = state.store.sla_policy(workspace_id, policy_id).await?;
    serde_json::from_str(&stored.policy)
        .map_err(|err| DomainError::CorruptSettings(format!("SLA policy {:?}: {err}", stored.name)))
}

/// After a customer's message: when it makes them wait again after an agent's answer, in a
/// conversation under a policy with a next-response target, that deadline and its jobs.
pub async fn next_response(
    state: &AppState,
    conversation: &Conversation,
    message: &Message,
) -> DomainResult<()> {
    let Some(policy_id) = &conversation.sla_policy_id else {
        return Ok(());
    };
    if conversation.first_agent_response_at.is_none()
        || conversation.waiting_since != Some(message.seq)
    {
        return Ok(());
    }
    let policy = match policy_of(state, &conversation.workspace_id, policy_id).await {
        Err(DomainError::Store(madoguchi_store::StoreError::NotFound)) => return Ok(()),
        other => other?,
    };
    let Some(mins) = policy.targets(conversation.priority).next_response_mins else {
        return Ok(());
    };
    let (automation, tz) =
        automation_of(state, &conversation.workspace_id, &conversation.channel_id).await?;
    let start = DateTime::from_timestamp_millis(message.created_at).unwrap_or_default();
    let Some(due) = automation
        .hours
        .add_open_seconds(tz, start, i64::from(mins) * 60)
        .map(|at| at.timestamp_millis())
    else {
        return Ok(());
    };
    let jobs = timers(
        state,
        conversation,
        &policy,
        [(Target::NextResponse, Some(due))],
    );
    let patch = ConversationPatch {
        sla_next_due_at: Some(due),
        ..ConversationPatch::default()
    };
    conversations::update(
        state,
        &conversation.workspace_id,
        &conversation.id,
        Change {
            patch: &patch,
            actor: "sla",
            jobs: &jobs,
        },
    )
    .await?;
    Ok(())
}

/// Whether the target was reached by its deadline.
fn reached(conversation: &Conversation, target: Target, due_at: i64) -> bool {
    match target {
        Target::FirstResponse => conversation
            .first_agent_response_at
            .is_some_and(|at| at <= due_at),
        // Checked at its deadline: nobody waits any more, so an agent answered by then.
        Target::NextResponse => conversation.waiting_since.is_none(),
        Target::Resolution => {
            conversation.status == ConversationStatus::Resolved
                && conversation.resolved_at.is_some_and(|at| at <= due_at)
        }
    }
}

/// A warning or deadline job: a note on the timeline when the target is still open.
pub async fn check(state: &AppState, job: &SlaJob) -> DomainResult<&'static str> {
    let conversation = state
        .store
        .conversation(&job.workspace_id, &job.conversation_id)
        .await?;
    let current = match job.target {
        Target::FirstResponse => conversation.sla_first_due_at,
        Target::NextResponse => conversation.sla_next_due_at,
        Target::Resolution => conversation.sla_resolution_due_at,
    };
    if current != Some(job.due_at) {
        return Ok("deadline changed");
    }
    if reached(&conversation, job.target, job.due_at) {
        return Ok("met");
    }
    let (_, tz) =
        automation_of(state, &conversation.workspace_id, &conversation.channel_id).await?;
    let when = format_local(
        tz,
        DateTime::from_timestamp_millis(job.due_at).unwrap_or_default(),
        "ja",
    );
    let what = match job.target {
        Target::FirstResponse => "初回応答",
        Target::NextResponse => "次回応答",
        Target::Resolution => "解決",
    };
    let text = match job.warning {
        true => format!("SLA 警告: {what}の期限（{when}）が近づいています"),
        false => format!("SLA 超過: {what}の期限（{when}）を過ぎました"),
    };
    messages::post_note(
        state,
        &conversation,
        &format!("sla-{:?}-{}-{}", job.target, job.warning, job.due_at),
        &text,
        Some(&serde_json::json!({"kind": "sla", "target": job.target, "warning": job.warning})),
    )
    .await?;
    if job.warning {
        return mail_warning(state, &conversation, &text).await;
    }
    state
        .store
        .record_audit(&AuditEntry {
            workspace_id: &conversation.workspace_id,
            actor: "system",
            action: "sla.breached",
            target: &conversation.id,
            detail: &serde_json::json!({"target": job.target, "due_at": job.due_at}),
        })
        .await?;
    Ok("breached")
}

/// The warning by e-mail to the assignee, when the conversation's policy asks for it.
async fn mail_warning(
    state: &AppState,
    conversation: &Conversation,
    text: &str,
) -> DomainResult<&'static str> {
    let (Some(policy_id), Some(assignee)) =
        (&conversation.sla_policy_id, &conversation.assignee_id)
    else {
        return Ok("warned");
    };
    let policy = policy_of(state, &conversation.workspace_id, policy_id).await?;
    if !policy.warn_email || !state.notifier.can_email() {
        return Ok("warned");
    }
    let agent = state
        .store
        .agent(&conversation.workspace_id, assignee)
        .await?;
    let link = format!(
        "{}/inbox#conversation={}",
        state.settings.public_url(),
        conversation.id
    );
    state
        .notifier
        .send_email(
            &agent.email,
            text,
            format!("{text}\n\n{link}\n"),
            None,
            &Sender::default(),
        )
        .await
        .map_err(DomainError::Delivery)?;
    Ok("warned and mailed")
}
