//! Each workspace's retention policy, applied by a daily job: old resolved conversations lose
//! their messages (deleted or emptied), old files go, every node's search index forgets those
//! conversations, and the audit log keeps a tombstone per run. Saving a policy runs it at once;
//! each run queues the next one a day later (once per workspace and day).

use madoguchi_store::StoreError;
use serde::{Deserialize, Serialize};

use crate::app::error::DomainError;
use crate::app::AppState;
use crate::inbox::settings::retention_policy;

pub const RETENTION_JOB: &str = "retention";
/// Conversations emptied per transaction.
const BATCH: i64 = 200;
const DAY_MS: i64 = 86_400_000;

#[derive(Debug, Serialize, Deserialize)]
pub struct RetentionJob {
    pub workspace_id: String,
}

/// Queues a run for `at` (at most one per workspace and day).
pub async fn schedule(state: &AppState, workspace_id: &str, at: i64) -> Result<(), StoreError> {
    let payload = serde_json::to_string(&RetentionJob {
        workspace_id: workspace_id.to_owned(),
    })
    .unwrap_or_default();
    let key = format!("{RETENTION_JOB}:{workspace_id}:{}", at.div_euclid(DAY_MS));
    state
        .store
        .enqueue_job(
            RETENTION_JOB,
            &payload,
            at,
            Some(&key),
            state.clock.now_ms(),
        )
        .await?;
    Ok(())
}

/// Applies the policy now and queues tomorrow's run; nothing (and no next run) without one.
pub async fn run(state: &AppState, job: &RetentionJob) -> Result<&'static str, DomainError> {
    let workspace = state.store.workspace(&job.workspace_id).await?;
    let policy = retention_policy(&workspace)?;
    if !policy.is_set() {
        return Ok("no retention policy");
    }
    let now = state.clock.now_ms();
    loop {
        let done = state
            .store
            .apply_retention(&workspace.id, &policy, now, BATCH)
            .await?;
        for conversation in &done.conversation_ids {
            state.hub.conversation_emptied(conversation).await;
        }
        if (done.conversation_ids.len() as i64) < BATCH {
            break;
        }
    }
    schedule(state, &workspace.id, now + DAY_MS).await?;
    Ok("retention applied")
}
