//! The door for conversation changes: status, assignee, priority and tags are written with
//! their audit entry and the jobs they trigger in one transaction, then published. It owns the
//! rules of a change itself: a conversation that becomes resolved asks its customer for a
//! rating (満足率) — queued as a job in the same transaction and run at once, so a crash in
//! between only delays it. Reading (how far staff or the customer have read) goes through
//! here too, so both sides see it live.

use madoguchi_core::conversation::ConversationStatus;
use madoguchi_core::harassment::HARASSMENT_TAG;
use madoguchi_core::message::SenderKind;
use madoguchi_store::conversations::{Conversation, ConversationPatch, Reader};
use madoguchi_store::jobs::{JobChanges, JobSpec, NO_JOBS};
use serde::{Deserialize, Serialize};

use crate::app::error::DomainResult;
use crate::app::AppState;
use crate::inbox::messages::{post_automatic, Automatic};
use crate::inbox::settings::automation_of;

pub const RATING_JOB: &str = "survey.rating";
pub const WAKE_JOB: &str = "conversation.wake";

/// Payload of a snoozed conversation's wake-up.
#[derive(Debug, Serialize, Deserialize)]
pub struct WakeJob {
    pub workspace_id: String,
    pub conversation_id: String,
    /// The snooze it ends: a later snooze (or none) makes this one stale.
    pub until: i64,
}

/// Payload of a rating request.
#[derive(Debug, Serialize, Deserialize)]
pub struct RatingJob {
    pub workspace_id: String,
    pub conversation_id: String,
}

/// Who changes a conversation, and the jobs the change triggers besides the door's own.
pub struct Change<'a> {
    pub patch: &'a ConversationPatch,
    /// `agent:{id}`, `bot` or `system`, for the audit log.
    pub actor: &'a str,
    pub jobs: &'a JobChanges,
}

/// Records that `reader` has read `conversation` up to `seq`, and publishes it when it moved
/// (the customer sees 既読, agents' unread counts drop).
pub async fn read(
    state: &AppState,
    conversation: &Conversation,
    reader: Reader,
    seq: i64,
) -> DomainResult<()> {
    if let Some(updated) = state
        .store
        .mark_read(&conversation.workspace_id, &conversation.id, reader, seq)
        .await?
    {
        state.hub.conversation_updated(&updated);
    }
    Ok(())
}

/// Applies `change` to a conversation of `workspace_id` and publishes the result.
pub async fn update(
    state: &AppState,
    workspace_id: &str,
    id: &str,
    change: Change<'_>,
) -> DomainResult<Conversation> {
    let before = state.store.conversation(workspace_id, id).await?;
    let resolves = before.status != ConversationStatus::Resolved
        && change.patch.status == Some(ConversationStatus::Resolved);
    let mut jobs = change.jobs.clone();
    let rating = RatingJob {
        workspace_id: workspace_id.to_owned(),
        conversation_id: id.to_owned(),
    };
    if let (Some(ConversationStatus::Snoozed), Some(until)) =
        (change.patch.status, change.patch.snoozed_until)
    {
        let wake = WakeJob {
            workspace_id: workspace_id.to_owned(),
            conversation_id: id.to_owned(),
            until,
        };
        jobs.enqueue.push(JobSpec {
            kind: WAKE_JOB.into(),
            payload: serde_json::to_string(&wake).unwrap_or_default(),
            due_at: until,
            dedupe_key: Some(format!("wake:{id}:{until}")),
        });
    }
    if resolves {
        jobs.enqueue.push(JobSpec {
            kind: RATING_JOB.into(),
            payload: serde_json::to_string(&rating).unwrap_or_default(),
            due_at: state.clock.now_ms(),
            dedupe_key: Some(format!("rating:{id}")),
        });
    }
    let conversation = state
        .store
        .update_conversation(
            workspace_id,
            id,
            change.patch,
            change.actor,
            &jobs,
            state.clock.now_ms(),
        )
        .await?;
    state.hub.conversation_updated(&conversation);
    if resolves {
        // Committed either way: a failure here is the queued job's to retry.
        if let Err(err) = ask_rating(state, &rating).await {
            tracing::warn!(error = %err, "asking for a rating failed; the job will retry");
        }
    }
    Ok(conversation)
}

/// Reopens a snoozed conversation when its time comes; nothing when it was woken, reopened or
/// snoozed again meanwhile.
pub async fn wake(state: &AppState, job: &WakeJob) -> DomainResult<&'static str> {
    let conversation = state
        .store
        .conversation(&job.workspace_id, &job.conversation_id)
        .await?;
    if conversation.status != ConversationStatus::Snoozed
        || conversation.snoozed_until != Some(job.until)
    {
        return Ok("changed meanwhile");
    }
    let patch = ConversationPatch {
        status: Some(ConversationStatus::Open),
        ..Default::default()
    };
    let change = Change {
        patch: &patch,
        actor: "system",
        jobs: &NO_JOBS,
    };
    update(state, &job.workspace_id, &job.conversation_id, change).await?;
    Ok("woken")
}

/// Asks the customer of a resolved conversation how satisfied they are (1–5), once per
/// resolution; nothing when it was reopened meanwhile.
pub async fn ask_rating(state: &AppState, job: &RatingJob) -> DomainResult<&'static str> {
    let conversation = state
        .store
        .conversation(&job.workspace_id, &job.conversation_id)
        .await?;
    let Some(resolved_at) = conversation
        .resolved_at
        .filter(|_| conversation.status == ConversationStatus::Resolved)
    else {
        return Ok("reopened meanwhile");
    };
    if conversation.tags.iter().any(|t| t == HARASSMENT_TAG) {
        // Ended for harassment: no survey.
        return Ok("ended for harassment");
    }
    let channel = state
        .store
        .channel(&conversation.workspace_id, &conversation.channel_id)
        .await?;
    if channel.kind == "email" {
        // Buttons mean nothing in a mail: the survey goes out as a link (see notifications).
        return Ok("asked by mail");
    }
    let (automation, _) =
        automation_of(state, &conversation.workspace_id, &conversation.channel_id).await?;
    let text = if automation.locale_for(conversation.locale.as_deref()) == "en" {
        "How did we do? Please rate this conversation."
    } else {
        "ご対応はいかがでしたか？ 満足度をお選びください。"
    };
    let buttons: Vec<serde_json::Value> = (1..=5)
        .map(|n| serde_json::json!({"label": "★".repeat(n), "value": n.to_string()}))
        .collect();
    let meta = serde_json::json!({"kind": "rating", "buttons": buttons});
    post_automatic(
        state,
        &conversation,
        Automatic {
            sender_kind: SenderKind::System,
            client_id: &format!("rating-{resolved_at}"),
            text: text.into(),
            meta: Some(&meta),
            jobs: &NO_JOBS,
        },
    )
    .await?;
    if automation.nps {
        let text = if automation.locale_for(conversation.locale.as_deref()) == "en" {
            "How likely are you to recommend us to a friend? (0 = not at all, 10 = very likely)"
        } else {
            "当店を友人やお知り合いに勧める可能性はどのくらいありますか？（0 = まったくない、10 = とても高い）"
        };
        let buttons: Vec<serde_json::Value> = (0..=10)
            .map(|n| serde_json::json!({"label": n.to_string(), "value": n.to_string()}))
            .collect();
        let meta = serde_json::json!({"kind": "nps", "buttons": buttons});
        post_automatic(
            state,
            &conversation,
            Automatic {
                sender_kind: SenderKind::System,
                client_id: &format!("nps-{resolved_at}"),
                text: text.into(),
                meta: Some(&meta),
                jobs: &NO_JOBS,
            },
        )
        .await?;
    }
    Ok("sent")
}
