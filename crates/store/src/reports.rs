//! What the KPI reports read: the facts of the conversations created in a period, from one
//! covering index (the writes keep the rating, NPS, complaint tag, bot resolution and waiting
//! time on the conversation; re-contact is worked out from the same rows), and the
//! help-center votes that solved a question without one.

use madoguchi_core::conversation::ConversationStatus;
use madoguchi_core::kpi::{ConversationFacts, RECONTACT_WITHIN_MS};
use std::collections::HashMap;

use sqlx::Row;

use crate::{Result, Store, StoreError};

/// Which conversations a report covers: created in `[from_ms, to_ms)`.
pub struct Period<'a> {
    pub workspace_id: &'a str,
    pub from_ms: i64,
    pub to_ms: i64,
    pub channel_id: Option<&'a str>,
}

/// Every column here is in the `conversations_report` index: the report reads the index only.
const FACTS: &str = "SELECT id, channel_id, assignee_id, team_id, contact_id, status, created_at, \
     first_contact_at, last_contact_at, first_agent_response_at, first_bot_at, resolved_at, \
     reopened, waiting_since_at, rating, nps, complaint, bot_resolved \
     FROM conversations WHERE workspace_id = $1 AND created_at >= $2 AND created_at < $3";

impl Store {
    /// The facts of every conversation the period covers, oldest first. Re-contact needs the
    /// conversations that came up to 7 days after the period: read from the same index.
    pub async fn conversation_facts(&self, period: &Period<'_>) -> Result<Vec<ConversationFacts>> {
        let rows = sqlx::query(&format!("{FACTS} ORDER BY created_at"))
            .bind(period.workspace_id)
            .bind(period.from_ms)
            .bind(period.to_ms + RECONTACT_WITHIN_MS)
            .fetch_all(self.pool())
            .await?;
        // When each customer opened conversations, for re-contact (any channel).
        let mut opened: HashMap<String, Vec<i64>> = HashMap::new();
        let mut facts = Vec::new();
        for row in &rows {
            let created_at: i64 = row.try_get("created_at")?;
            let contact: String = row.try_get("contact_id")?;
            opened.entry(contact.clone()).or_default().push(created_at);
            let channel_id: String = row.try_get("channel_id")?;
            let in_period = created_at < period.to_ms
                && period.channel_id.is_none_or(|wanted| wanted == channel_id);
            if !in_period {
                continue;
            }
            let status = ConversationStatus::parse(&row.try_get::<String, _>("status")?)?;
            let flag = |name: &str| -> Result<bool> { Ok(row.try_get::<i64, _>(name)? != 0) };
            facts.push((
                contact,
                ConversationFacts {
                    id: row.try_get("id")?,
                    channel_id,
                    assignee_id: row.try_get("assignee_id")?,
                    team_id: row.try_get("team_id")?,
                    created_at,
                    first_contact_at: row.try_get("first_contact_at")?,
                    last_contact_at: row.try_get("last_contact_at")?,
                    first_agent_response_at: row.try_get("first_agent_response_at")?,
                    first_bot_at: row.try_get("first_bot_at")?,
                    resolved_at: row.try_get("resolved_at")?,
                    open: matches!(
                        status,
                        ConversationStatus::Open | ConversationStatus::Pending
                    ),
                    spam: status == ConversationStatus::Spam,
                    reopened: flag("reopened")?,
                    waiting_since_at: row.try_get("waiting_since_at")?,
                    rating: row.try_get("rating")?,
                    nps: row.try_get("nps")?,
                    complaint: flag("complaint")?,
                    recontact: false,
                    bot_resolved: flag("bot_resolved")?,
                    business_first_response_s: None,
                },
            ));
        }
        // A conversation resolved after the period can be re-contacted later still: read those
        // later conversations too (usually none).
        let horizon = period.to_ms + RECONTACT_WITHIN_MS;
        let latest = facts
            .iter()
            .filter_map(|(_, f)| f.resolved_at)
            .max()
            .map_or(horizon, |at| at + RECONTACT_WITHIN_MS);
        if latest > horizon {
            let later = sqlx::query(
                "SELECT contact_id, created_at FROM conversations WHERE workspace_id = $1 \
                 AND created_at >= $2 AND created_at <= $3",
            )
            .bind(period.workspace_id)
            .bind(horizon)
            .bind(latest)
            .fetch_all(self.pool())
            .await?;
            for row in &later {
                opened
                    .entry(row.try_get("contact_id")?)
                    .or_default()
                    .push(row.try_get("created_at")?);
            }
        }
        Ok(facts
            .into_iter()
            .map(|(contact, mut f)| {
                if let Some(resolved) = f.resolved_at {
                    f.recontact = opened.get(&contact).is_some_and(|times| {
                        times
                            .iter()
                            .any(|at| *at > resolved && *at <= resolved + RECONTACT_WITHIN_MS)
                    });
                }
                f
            })
            .collect())
    }

    /// Records a conversation's NPS answer; a changed answer only within 7 days of the first
    /// ([`StoreError::Conflict`] after that).
    pub async fn answer_nps(
        &self,
        workspace_id: &str,
        conversation_id: &str,
        score: i64,
        comment: Option<&str>,
        now: i64,
    ) -> Result<()> {
        let mut w = self.begin_write().await?;
        let done = sqlx::query(
            "INSERT INTO nps_answers (conversation_id, workspace_id, score, comment, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $5) ON CONFLICT (conversation_id) DO UPDATE \
             SET score = $3, comment = $4, updated_at = $5 WHERE nps_answers.created_at > $6",
        )
        .bind(conversation_id)
        .bind(workspace_id)
        .bind(score)
        .bind(comment)
        .bind(now)
        .bind(now - 7 * 24 * 3_600_000)
        .execute(&mut *w.tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::Conflict(
                "the answer can no longer be changed".into(),
            ));
        }
        sqlx::query("UPDATE conversations SET nps = $2 WHERE id = $1")
            .bind(conversation_id)
            .bind(score)
            .execute(&mut *w.tx)
            .await?;
        w.commit().await
    }

    /// How many conversations the workspace has.
    pub async fn count_conversations(&self, workspace_id: &str) -> Result<i64> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM conversations WHERE workspace_id = $1")
            .bind(workspace_id)
            .fetch_one(self.pool())
            .await?;
        Ok(row.try_get("n")?)
    }

    /// How many messages the workspace's conversations hold.
    pub async fn count_messages(&self, workspace_id: &str) -> Result<i64> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS n FROM messages m JOIN conversations c ON c.id = m.conversation_id \
             WHERE c.workspace_id = $1",
        )
        .bind(workspace_id)
        .fetch_one(self.pool())
        .await?;
        Ok(row.try_get("n")?)
    }

    /// The workspace's KPI targets as JSON, if it set any.
    pub async fn kpi_targets(&self, workspace_id: &str) -> Result<Option<String>> {
        let row = sqlx::query("SELECT kpi_targets FROM workspaces WHERE id = $1")
            .bind(workspace_id)
            .fetch_one(self.pool())
            .await?;
        Ok(row.try_get("kpi_targets")?)
    }

    pub async fn set_kpi_targets(&self, workspace_id: &str, targets: &str) -> Result<()> {
        let mut w = self.begin_write().await?;
        sqlx::query("UPDATE workspaces SET kpi_targets = $2 WHERE id = $1")
            .bind(workspace_id)
            .bind(targets)
            .execute(&mut *w.tx)
            .await?;
        w.commit().await
    }

    /// When help-center readers marked an article 役に立った in the period.
    pub async fn helpful_votes(
        &self,
        workspace_id: &str,
        from_ms: i64,
        to_ms: i64,
    ) -> Result<Vec<i64>> {
        let rows = sqlx::query(
            "SELECT created_at FROM article_votes WHERE workspace_id = $1 AND helpful = 1 \
             AND created_at >= $2 AND created_at < $3",
        )
        .bind(workspace_id)
        .bind(from_ms)
        .bind(to_ms)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|row| Ok(row.try_get("created_at")?))
            .collect()
    }
}
