//! Harassment cases: a workspace's policy, flagged messages and the supervisor's decisions on
//! them, agents' reports, blocked senders, and the audit events a case's evidence is made of.
//! Every change is audited in its own transaction.

use sqlx::any::AnyRow;
use sqlx::Row;

use crate::audit::{AuditEntry, AuditEvent};
use crate::messages::{message_columns_of_m, Message};
use crate::{new_id, now_ms, Result, Store, StoreError};

/// A blocked sender: messages that match are kept but never reach an agent's queue.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Block {
    pub id: String,
    /// `contact`, `visitor`, `ip` or `email`.
    pub kind: String,
    /// The contact id, the visitor token's hash, a CIDR range or an e-mail address.
    pub value: String,
    pub reason: String,
    /// The conversation the block came from, if any.
    pub conversation_id: Option<String>,
    /// `None`: until lifted.
    pub until_at: Option<i64>,
    /// `agent:<id>` or `system`.
    pub created_by: String,
    pub created_at: i64,
}

impl Block {
    fn from_row(row: &AnyRow) -> Result<Self> {
        Ok(Self {
            id: row.try_get("id")?,
            kind: row.try_get("kind")?,
            value: row.try_get("value")?,
            reason: row.try_get("reason")?,
            conversation_id: row.try_get("conversation_id")?,
            until_at: row.try_get("until_at")?,
            created_by: row.try_get("created_by")?,
            created_at: row.try_get("created_at")?,
        })
    }
}

const BLOCK_COLUMNS: &str =
    "id, kind, value, reason, conversation_id, until_at, created_by, created_at";

/// What a new block holds.
pub struct NewBlock<'a> {
    pub workspace_id: &'a str,
    pub kind: &'a str,
    pub value: &'a str,
    pub reason: &'a str,
    pub conversation_id: Option<&'a str>,
    pub until_at: Option<i64>,
    pub created_by: &'a str,
    /// When, by the caller's clock (the one `until_at` and [`Store::active_blocks`] use).
    pub at: i64,
}

/// A flagged message with the conversation and customer it belongs to.
#[derive(Debug, Clone)]
pub struct Flagged {
    pub message: Message,
    pub contact_id: String,
    pub flag_decided_by: Option<String>,
    pub flag_decided_at: Option<i64>,
}

impl Store {
    /// Replaces the workspace's harassment policy (JSON), audited.
    pub async fn set_harassment_policy(
        &self,
        workspace_id: &str,
        policy: &str,
        actor: &str,
    ) -> Result<()> {
        let mut w = self.begin_write().await?;
        sqlx::query("UPDATE workspaces SET harassment = $2 WHERE id = $1")
            .bind(workspace_id)
            .bind(policy)
            .execute(&mut *w.tx)
            .await?;
        let detail = serde_json::from_str(policy).unwrap_or_default();
        Self::append_audit_in(
            &mut w.tx,
            self.audit_key.as_deref(),
            &AuditEntry {
                workspace_id,
                actor,
                action: "harassment.policy_changed",
                target: workspace_id,
                detail: &detail,
            },
            now_ms(),
        )
        .await?;
        w.commit().await?;
        self.caches.workspaces.clear();
        Ok(())
    }

    /// Blocks a sender, audited.
    pub async fn create_block(&self, new: &NewBlock<'_>) -> Result<Block> {
        let mut w = self.begin_write().await?;
        let row = sqlx::query(&format!(
            "INSERT INTO blocks (id, workspace_id, kind, value, reason, conversation_id, until_at, created_by, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING {BLOCK_COLUMNS}"
        ))
        .bind(new_id())
        .bind(new.workspace_id)
        .bind(new.kind)
        .bind(new.value)
        .bind(new.reason)
        .bind(new.conversation_id)
        .bind(new.until_at)
        .bind(new.created_by)
        .bind(new.at)
        .fetch_one(&mut *w.tx)
        .await?;
        let block = Block::from_row(&row)?;
        let detail = serde_json::json!({
            "kind": block.kind, "value": block.value, "reason": block.reason,
            "conversation_id": block.conversation_id, "until_at": block.until_at,
        });
        Self::append_audit_in(
            &mut w.tx,
            self.audit_key.as_deref(),
            &AuditEntry {
                workspace_id: new.workspace_id,
                actor: new.created_by,
                action: "harassment.blocked",
                target: new.conversation_id.unwrap_or(&block.id),
                detail: &detail,
            },
            now_ms(),
        )
        .await?;
        w.commit().await?;
        self.caches.blocks.clear();
        Ok(block)
    }

    /// Lifts a block of the workspace, audited; [`StoreError::NotFound`] when there is no such
    /// active block. Returns the lifted block.
    pub async fn lift_block(&self, workspace_id: &str, id: &str, actor: &str) -> Result<Block> {
        let mut w = self.begin_write().await?;
        let row = sqlx::query(&format!(
            "UPDATE blocks SET lifted_at = $3 WHERE id = $1 AND workspace_id = $2 AND lifted_at IS NULL \
             RETURNING {BLOCK_COLUMNS}"
        ))
        .bind(id)
        .bind(workspace_id)
        .bind(now_ms())
        .fetch_optional(&mut *w.tx)
        .await?
        .ok_or(StoreError::NotFound)?;
        let block = Block::from_row(&row)?;
        let detail = serde_json::json!({"kind": block.kind, "value": block.value});
        Self::append_audit_in(
            &mut w.tx,
            self.audit_key.as_deref(),
            &AuditEntry {
                workspace_id,
                actor,
                action: "harassment.unblocked",
                target: block.conversation_id.as_deref().unwrap_or(&block.id),
                detail: &detail,
            },
            now_ms(),
        )
        .await?;
        w.commit().await?;
        self.caches.blocks.clear();
        Ok(block)
    }

    /// The workspace's blocks in force at `now`, newest first.
    pub async fn active_blocks(&self, workspace_id: &str, now: i64) -> Result<Vec<Block>> {
        let blocks = self
            .caches
            .blocks
            .get_or_load(workspace_id, || async {
                let rows = sqlx::query(&format!(
                    "SELECT {BLOCK_COLUMNS} FROM blocks WHERE workspace_id = $1 AND lifted_at IS NULL \
                     ORDER BY created_at DESC"
                ))
                .bind(workspace_id)
                .fetch_all(self.pool())
                .await?;
                rows.iter().map(Block::from_row).collect::<Result<Vec<_>>>()
            })
            .await?;
        Ok(blocks
            .into_iter()
            .filter(|b| b.until_at.is_none_or(|until| until > now))
            .collect())
    }

    /// Flagged customer messages of the workspace, newest first: those still to review, or
    /// all of them (`pending_only` false) written since `since`.
    pub async fn flagged_messages(
        &self,
        workspace_id: &str,
        pending_only: bool,
        since: i64,
        limit: i64,
    ) -> Result<Vec<Flagged>> {
        let columns = message_columns_of_m();
        let rows = sqlx::query(&format!(
            "SELECT {columns}, m.flag_decided_by, m.flag_decided_at, c.contact_id AS flagged_contact \
             FROM messages m JOIN conversations c ON c.id = m.conversation_id \
             WHERE m.flag IS NOT NULL AND m.created_at >= $2 AND c.workspace_id = $1 \
             AND ($3 = 0 OR m.flag_decision IS NULL) ORDER BY m.created_at DESC LIMIT $4"
        ))
        .bind(workspace_id)
        .bind(since)
        .bind(i64::from(pending_only))
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|row| {
                Ok(Flagged {
                    message: Message::from_row(row)?,
                    contact_id: row.try_get("flagged_contact")?,
                    flag_decided_by: row.try_get("flag_decided_by")?,
                    flag_decided_at: row.try_get("flag_decided_at")?,
                })
            })
            .collect()
    }

    /// A message of the workspace by id, with its conversation's customer.
    pub async fn workspace_message(&self, workspace_id: &str, id: &str) -> Result<Message> {
        let columns = message_columns_of_m();
        let row = sqlx::query(&format!(
            "SELECT {columns} FROM messages m JOIN conversations c ON c.id = m.conversation_id \
             WHERE m.id = $1 AND c.workspace_id = $2"
        ))
        .bind(id)
        .bind(workspace_id)
        .fetch_optional(self.pool())
        .await?
        .ok_or(StoreError::NotFound)?;
        Message::from_row(&row)
    }

    /// Flags a customer message by an agent's report (`flag` JSON), audited with its text.
    /// A message flagged already keeps its flag; the report is still recorded.
    pub async fn report_message(
        &self,
        workspace_id: &str,
        message: &Message,
        flag: &str,
        actor: &str,
    ) -> Result<()> {
        let mut w = self.begin_write().await?;
        sqlx::query("UPDATE messages SET flag = COALESCE(flag, $2) WHERE id = $1")
            .bind(&message.id)
            .bind(flag)
            .execute(&mut *w.tx)
            .await?;
        let detail = serde_json::json!({
            "conversation_id": message.conversation_id,
            "seq": message.seq,
            "body": message.body,
            "flag": serde_json::from_str::<serde_json::Value>(flag).unwrap_or_default(),
        });
        Self::append_audit_in(
            &mut w.tx,
            self.audit_key.as_deref(),
            &AuditEntry {
                workspace_id,
                actor,
                action: "message.reported",
                target: &message.id,
                detail: &detail,
            },
            now_ms(),
        )
        .await?;
        w.commit().await
    }

    /// Records a supervisor's decision on a flagged message, audited.
    pub async fn decide_flag(
        &self,
        workspace_id: &str,
        message: &Message,
        decision: &str,
        agent_id: &str,
    ) -> Result<()> {
        let mut w = self.begin_write().await?;
        let now = now_ms();
        sqlx::query(
            "UPDATE messages SET flag_decision = $2, flag_decided_by = $3, flag_decided_at = $4 \
             WHERE id = $1 AND flag IS NOT NULL",
        )
        .bind(&message.id)
        .bind(decision)
        .bind(agent_id)
        .bind(now)
        .execute(&mut *w.tx)
        .await?;
        let detail = serde_json::json!({
            "conversation_id": message.conversation_id,
            "decision": decision,
        });
        Self::append_audit_in(
            &mut w.tx,
            self.audit_key.as_deref(),
            &AuditEntry {
                workspace_id,
                actor: &format!("agent:{agent_id}"),
                action: "harassment.decided",
                target: &message.id,
                detail: &detail,
            },
            now,
        )
        .await?;
        w.commit().await
    }

    /// Flagged messages in a conversation that no supervisor dismissed.
    pub async fn count_flagged(&self, conversation_id: &str) -> Result<i64> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS n FROM messages WHERE conversation_id = $1 AND flag IS NOT NULL \
             AND (flag_decision IS NULL OR flag_decision <> 'dismissed')",
        )
        .bind(conversation_id)
        .fetch_one(self.pool())
        .await?;
        Ok(row.try_get("n")?)
    }

    /// The audit events about any of `targets` (a conversation and its messages), oldest first.
    pub async fn audit_events_about(
        &self,
        workspace_id: &str,
        targets: &[String],
    ) -> Result<Vec<AuditEvent>> {
        let mut events = Vec::new();
        for chunk in targets.chunks(200) {
            let placeholders = (2..chunk.len() + 2)
                .map(|i| format!("${i}"))
                .collect::<Vec<_>>()
                .join(", ");
            let sql = format!(
                "SELECT seq, actor, action, target, detail, created_at, prev_hash, hash FROM audit_events \
                 WHERE workspace_id = $1 AND target IN ({placeholders})"
            );
            let mut query = sqlx::query(&sql).bind(workspace_id);
            for target in chunk {
                query = query.bind(target);
            }
            for row in query.fetch_all(self.pool()).await? {
                events.push(AuditEvent::from_row(&row)?);
            }
        }
        events.sort_by_key(|e| e.seq);
        Ok(events)
    }
}
