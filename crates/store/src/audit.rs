//! The audit log: security-relevant actions, hash-chained per workspace so that editing or
//! deleting an event is detectable. Each event's hash covers the previous event's hash.

use sha2::{Digest, Sha256};
use sqlx::{AnyConnection, Row};

use crate::{now_ms, Result, Store};

pub struct AuditEntry<'a> {
    pub workspace_id: &'a str,
    /// Who acted: `agent:<id>`, `contact:<id>`, `system`, or `anonymous`.
    pub actor: &'a str,
    pub action: &'a str,
    pub target: &'a str,
    pub detail: &'a serde_json::Value,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AuditEvent {
    pub seq: i64,
    pub actor: String,
    pub action: String,
    pub target: String,
    pub detail: String,
    pub created_at: i64,
    pub prev_hash: String,
    pub hash: String,
}

/// The outcome of checking a workspace's chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainCheck {
    pub events: usize,
    /// The first event whose hash or link does not match, or `Some(-1)` when the newest events
    /// were removed.
    pub first_broken_seq: Option<i64>,
}

fn chain_hash(
    prev: &str,
    seq: i64,
    actor: &str,
    action: &str,
    target: &str,
    detail: &str,
    at: i64,
) -> String {
    let mut hasher = Sha256::new();
    for field in [
        prev,
        &seq.to_string(),
        actor,
        action,
        target,
        detail,
        &at.to_string(),
    ] {
        hasher.update((field.len() as u64).to_be_bytes());
        hasher.update(field.as_bytes());
    }
    hex::encode(hasher.finalize())
}

impl Store {
    /// Records an audit event in its own transaction.
    pub async fn record_audit(&self, entry: &AuditEntry<'_>) -> Result<()> {
        let mut w = self.begin_write().await?;
        Self::append_audit_in(&mut w.tx, entry, now_ms()).await?;
        w.commit().await
    }

    /// Appends an event inside a write transaction. Bumping the workspace's counter first locks
    /// the workspace row on PostgreSQL, so concurrent appends form one chain.
    pub(crate) async fn append_audit_in(
        conn: &mut AnyConnection,
        entry: &AuditEntry<'_>,
        now: i64,
    ) -> Result<()> {
        let row = sqlx::query(
            "UPDATE workspaces SET audit_seq = audit_seq + 1 WHERE id = $1 RETURNING audit_seq, audit_head",
        )
        .bind(entry.workspace_id)
        .fetch_one(&mut *conn)
        .await?;
        let seq: i64 = row.try_get("audit_seq")?;
        let prev: String = row.try_get("audit_head")?;
        let detail = entry.detail.to_string();
        let hash = chain_hash(
            &prev,
            seq,
            entry.actor,
            entry.action,
            entry.target,
            &detail,
            now,
        );
        sqlx::query(
            "INSERT INTO audit_events (workspace_id, seq, actor, action, target, detail, created_at, prev_hash, hash) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(entry.workspace_id)
        .bind(seq)
        .bind(entry.actor)
        .bind(entry.action)
        .bind(entry.target)
        .bind(&detail)
        .bind(now)
        .bind(&prev)
        .bind(&hash)
        .execute(&mut *conn)
        .await?;
        sqlx::query("UPDATE workspaces SET audit_head = $2 WHERE id = $1")
            .bind(entry.workspace_id)
            .bind(&hash)
            .execute(&mut *conn)
            .await?;
        Ok(())
    }

    /// A workspace's audit events, oldest first.
    pub async fn audit_events(&self, workspace_id: &str) -> Result<Vec<AuditEvent>> {
        let rows = sqlx::query(
            "SELECT seq, actor, action, target, detail, created_at, prev_hash, hash FROM audit_events \
             WHERE workspace_id = $1 ORDER BY seq",
        )
        .bind(workspace_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|row| {
                Ok(AuditEvent {
                    seq: row.try_get("seq")?,
                    actor: row.try_get("actor")?,
                    action: row.try_get("action")?,
                    target: row.try_get("target")?,
                    detail: row.try_get("detail")?,
                    created_at: row.try_get("created_at")?,
                    prev_hash: row.try_get("prev_hash")?,
                    hash: row.try_get("hash")?,
                })
            })
            .collect()
    }

    /// Recomputes the chain of a workspace and says where it breaks, if anywhere.
    pub async fn verify_audit_chain(&self, workspace_id: &str) -> Result<ChainCheck> {
        let events = self.audit_events(workspace_id).await?;
        let mut prev = String::new();
        for (index, event) in events.iter().enumerate() {
            let expected = chain_hash(
                &prev,
                event.seq,
                &event.actor,
                &event.action,
                &event.target,
                &event.detail,
                event.created_at,
            );
            if event.seq != index as i64 + 1 || event.prev_hash != prev || event.hash != expected {
                return Ok(ChainCheck {
                    events: events.len(),
                    first_broken_seq: Some(event.seq),
                });
            }
            prev = expected;
        }
        let head: String = sqlx::query("SELECT audit_head FROM workspaces WHERE id = $1")
            .bind(workspace_id)
            .fetch_one(self.pool())
            .await?
            .try_get("audit_head")?;
        let first_broken_seq = (head != prev).then_some(-1);
        Ok(ChainCheck {
            events: events.len(),
            first_broken_seq,
        })
    }
}
