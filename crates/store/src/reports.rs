//! What the KPI reports read: the facts of the conversations created in a period, from one
//! covering index (the writes keep the rating, NPS, complaint tag, bot resolution and waiting
//! time on the conversation; re-contact is worked out from the same rows), and the
//! help-center votes that solved a question without one.

use madoguchi_core::conversation::ConversationStatus;
use madoguchi_core::kpi::{ConversationFacts, RECONTACT_WITHIN_MS};
use std::collections::HashMap;

use sqlx::Row;

use crate::{Backend, Result, Store, StoreError};

/// Which conversations a report covers: created in `[from_ms, to_ms)`.
pub struct Period<'a> {
    pub workspace_id: &'a str,
    pub from_ms: i64,
    pub to_ms: i64,
    pub channel_id: Option<&'a str>,
}

/// The facts of a conversation, in the order a packed row lists them. Every one is in the
/// `conversations_report` index: the report reads the index only.
const COLUMNS: [&str; 21] = [
    "id",
    "channel_id",
    "assignee_id",
    "team_id",
    "contact_id",
    "status",
    "created_at",
    "first_contact_at",
    "last_contact_at",
    "first_agent_response_at",
    "first_bot_at",
    "resolved_at",
    "reopened",
    "waiting_since_at",
    "rating",
    "nps",
    "complaint",
    "bot_resolved",
    "sla_first_due_at",
    "sla_resolution_due_at",
    "priority",
];

/// The facts of a span packed into one text (`,` between fields, `;` between conversations;
/// ids, statuses and numbers hold neither): a week is one value to decode instead of
/// thousands of rows, which is where a report's time went. No `GROUP BY`, so the index is
/// read in order without a sort.
fn packed_facts_sql(backend: Backend) -> String {
    let fields = COLUMNS
        .iter()
        .map(|c| format!("COALESCE(CAST({c} AS TEXT), '')"))
        .collect::<Vec<_>>()
        .join(" || ',' || ");
    let packed = match backend {
        Backend::Sqlite => format!("group_concat({fields}, ';')"),
        Backend::Postgres => format!("string_agg({fields}, ';')"),
    };
    format!(
        "SELECT {packed} AS packed FROM conversations WHERE workspace_id = $1 \
         AND created_at >= $2 AND created_at < $3"
    )
}

/// One conversation of a packed text.
struct Packed<'a>([&'a str; COLUMNS.len()]);

impl<'a> Packed<'a> {
    fn parse(row: &'a str) -> Result<Self> {
        let mut fields = [""; COLUMNS.len()];
        let mut parts = row.split(',');
        for field in &mut fields {
            *field = parts
                .next()
                .ok_or_else(|| StoreError::Corrupt("a packed fact row is short".into()))?;
        }
        Ok(Self(fields))
    }

    fn text(&self, i: usize) -> Option<String> {
        (!self.0[i].is_empty()).then(|| self.0[i].to_owned())
    }

    fn int(&self, i: usize) -> Result<Option<i64>> {
        match self.0[i] {
            "" => Ok(None),
            n => n
                .parse()
                .map(Some)
                .map_err(|_| StoreError::Corrupt(format!("{}: not a number: {n}", COLUMNS[i]))),
        }
    }

    fn flag(&self, i: usize) -> Result<bool> {
        Ok(self.int(i)?.unwrap_or(0) != 0)
    }
}

impl Store {
    /// The facts of every conversation the period covers, oldest first. Re-contact needs the
    /// conversations that came up to 7 days after the period: read from the same index.
    pub async fn conversation_facts(&self, period: &Period<'_>) -> Result<Vec<ConversationFacts>> {
        let sql = packed_facts_sql(self.backend());
        let end = period.to_ms + RECONTACT_WITHIN_MS;
        let mut spans = Vec::new();
        let mut from = period.from_ms;
        while from < end {
            let to = (from + RECONTACT_WITHIN_MS).min(end);
            let packed: Option<String> = sqlx::query(&sql)
                .bind(period.workspace_id)
                .bind(from)
                .bind(to)
                .fetch_one(self.pool())
                .await?
                .try_get("packed")?;
            spans.extend(packed);
            from = to;
        }
        // When each customer opened conversations, for re-contact (any channel).
        let mut opened: HashMap<String, Vec<i64>> = HashMap::new();
        let mut facts = Vec::new();
        for packed in &spans {
            for row in packed.split(';') {
                let row = Packed::parse(row)?;
                let created_at = row.int(6)?.unwrap_or(0);
                let contact = row.0[4].to_owned();
                opened.entry(contact.clone()).or_default().push(created_at);
                let in_period = created_at < period.to_ms
                    && period.channel_id.is_none_or(|wanted| wanted == row.0[1]);
                if !in_period {
                    continue;
                }
                let status = ConversationStatus::parse(row.0[5])?;
                facts.push((
                    contact,
                    ConversationFacts {
                        id: row.0[0].to_owned(),
                        channel_id: row.0[1].to_owned(),
                        assignee_id: row.text(2),
                        team_id: row.text(3),
                        brand_id: None,
                        created_at,
                        first_contact_at: row.int(7)?,
                        last_contact_at: row.int(8)?,
                        first_agent_response_at: row.int(9)?,
                        first_bot_at: row.int(10)?,
                        resolved_at: row.int(11)?,
                        open: matches!(
                            status,
                            ConversationStatus::Open | ConversationStatus::Pending
                        ),
                        spam: status == ConversationStatus::Spam,
                        reopened: row.flag(12)?,
                        waiting_since_at: row.int(13)?,
                        rating: row.int(14)?,
                        nps: row.int(15)?,
                        complaint: row.flag(16)?,
                        recontact: false,
                        bot_resolved: row.flag(17)?,
                        business_first_response_s: None,
                        sla_first_due_at: row.int(18)?,
                        sla_resolution_due_at: row.int(19)?,
                        priority: row.text(20),
                    },
                ));
            }
        }
        facts.sort_by_key(|(_, f)| f.created_at);
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
