//! SLA timers: applying a policy sets a conversation's first-response and resolution
//! deadlines in its channel's business hours (several periods a day, holidays) and commits a
//! job per warning and per deadline with that change, so the timers hold across restarts and
//! nodes. When a job comes due and the target is still open, a private note says so on the
//! timeline (a warning, or the breach, which is audited too).

use chrono::DateTime;
use madoguchi_core::conversation::{ConversationStatus, Priority};
use madoguchi_core::hours::format_local;
use madoguchi_core::sla::Policy;
use madoguchi_store::audit::AuditEntry;
use madoguchi_store::conversations::{Conversation, SlaDeadlines};
use madoguchi_store::jobs::{JobChanges, JobSpec};
use serde::{Deserialize, Serialize};

use crate::app::error::{DomainError, DomainResult};
use crate::app::AppState;
use crate::inbox::messages;
use crate::inbox::settings::automation_of;

pub const SLA_JOB: &str = "sla.check";

/// Which target a job watches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Target {
    FirstResponse,
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
    let stored = state
        .store
        .sla_policy(&conversation.workspace_id, policy_id)
        .await?;
    let policy: Policy = serde_json::from_str(&stored.policy).map_err(|err| {
        DomainError::CorruptSettings(format!("SLA policy {:?}: {err}", stored.name))
    })?;
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
    let now = state.clock.now_ms();
    let warn_ms = i64::from(policy.warn_before_mins) * 60_000;
    let mut jobs = JobChanges::default();
    for (target, due_at) in [
        (Target::FirstResponse, deadlines.first_due_at),
        (Target::Resolution, deadlines.resolution_due_at),
    ] {
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
    Ok((deadlines, jobs))
}

/// Whether the target was reached by its deadline.
fn reached(conversation: &Conversation, target: Target, due_at: i64) -> bool {
    match target {
        Target::FirstResponse => conversation
            .first_agent_response_at
            .is_some_and(|at| at <= due_at),
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
        return Ok("warned");
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
