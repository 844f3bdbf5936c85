//! What the KPI reports read: the facts of the conversations created in a period, in one
//! query (ratings, the `complaint` tag, re-contact within 7 days and the bot's resolutions
//! looked up by index), and the help-center votes that solved a question without one.

use madoguchi_core::conversation::ConversationStatus;
use madoguchi_core::kpi::{ConversationFacts, RECONTACT_WITHIN_MS};
use sqlx::Row;

use crate::{Result, Store, StoreError};

/// Which conversations a report covers: created in `[from_ms, to_ms)`.
pub struct Period<'a> {
    pub workspace_id: &'a str,
    pub from_ms: i64,
    pub to_ms: i64,
    pub channel_id: Option<&'a str>,
}

const FACTS: &str = "SELECT c.id, c.channel_id, c.assignee_id, c.team_id, c.status, c.created_at, \
     c.first_contact_at, c.last_contact_at, c.first_agent_response_at, c.first_bot_at, \
     c.resolved_at, c.reopened, \
     (SELECT m.created_at FROM messages m WHERE m.conversation_id = c.id AND m.seq = c.waiting_since) AS waiting_since_at, \
     (SELECT r.score FROM ratings r WHERE r.conversation_id = c.id) AS rating, \
     (SELECT a.score FROM nps_answers a WHERE a.conversation_id = c.id) AS nps, \
     CAST(CASE WHEN EXISTS (SELECT 1 FROM conversation_tags ct JOIN tags t ON t.id = ct.tag_id \
       WHERE ct.conversation_id = c.id AND t.name = 'complaint') THEN 1 ELSE 0 END AS BIGINT) AS complaint, \
     CAST(CASE WHEN c.resolved_at IS NOT NULL AND EXISTS (SELECT 1 FROM conversations n \
       WHERE n.contact_id = c.contact_id AND n.created_at > c.resolved_at \
       AND n.created_at <= c.resolved_at + $4) THEN 1 ELSE 0 END AS BIGINT) AS recontact, \
     CAST(CASE WHEN EXISTS (SELECT 1 FROM bot_turns b WHERE b.conversation_id = c.id \
       AND b.outcome = 'resolved') THEN 1 ELSE 0 END AS BIGINT) AS bot_resolved \
     FROM conversations c WHERE c.workspace_id = $1 AND c.created_at >= $2 AND c.created_at < $3";

impl Store {
    /// The facts of every conversation the period covers, oldest first.
    pub async fn conversation_facts(&self, period: &Period<'_>) -> Result<Vec<ConversationFacts>> {
        let sql = match period.channel_id {
            Some(_) => format!("{FACTS} AND c.channel_id = $5 ORDER BY c.created_at"),
            None => format!("{FACTS} ORDER BY c.created_at"),
        };
        let mut query = sqlx::query(&sql)
            .bind(period.workspace_id)
            .bind(period.from_ms)
            .bind(period.to_ms)
            .bind(RECONTACT_WITHIN_MS);
        if let Some(channel) = period.channel_id {
            query = query.bind(channel);
        }
        let rows = query.fetch_all(self.pool()).await?;
        rows.iter()
            .map(|row| {
                let status = ConversationStatus::parse(&row.try_get::<String, _>("status")?)?;
                Ok(ConversationFacts {
                    id: row.try_get("id")?,
                    channel_id: row.try_get("channel_id")?,
                    assignee_id: row.try_get("assignee_id")?,
                    team_id: row.try_get("team_id")?,
                    created_at: row.try_get("created_at")?,
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
                    reopened: row.try_get::<i64, _>("reopened")? > 0,
                    waiting_since_at: row.try_get("waiting_since_at")?,
                    rating: row.try_get("rating")?,
                    nps: row.try_get("nps")?,
                    complaint: row.try_get::<i64, _>("complaint")? != 0,
                    recontact: row.try_get::<i64, _>("recontact")? != 0,
                    bot_resolved: row.try_get::<i64, _>("bot_resolved")? != 0,
                    business_first_response_s: None,
                })
            })
            .collect()
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
