//! The knowledge base (articles with alternative questions, draft or published, ja or en), the
//! workspace's synonym groups, and bot turns: every answer the bot gave, what it showed, how it
//! ended, and staff's review of it — the data behind accuracy, resolution and satisfaction.

use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use crate::group_commit::{BoxFuture, WriteOp};
use crate::{new_id, now_ms, Result, Store, StoreError};

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Article {
    pub id: String,
    pub workspace_id: String,
    pub category: String,
    /// `ja` or `en`.
    pub locale: String,
    /// `draft` or `published`.
    pub status: String,
    /// The question the article answers.
    pub title: String,
    /// Markdown.
    pub body: String,
    /// Other ways customers ask the same question.
    pub alternatives: Vec<String>,
    /// The one brand whose help center and bot show it; `None`: every brand's.
    pub brand_id: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

impl Article {
    fn from_row(row: &AnyRow) -> Result<Self> {
        let alternatives: String = row.try_get("alternatives")?;
        Ok(Self {
            id: row.try_get("id")?,
            workspace_id: row.try_get("workspace_id")?,
            category: row.try_get("category")?,
            locale: row.try_get("locale")?,
            status: row.try_get("status")?,
            title: row.try_get("title")?,
            body: row.try_get("body")?,
            alternatives: serde_json::from_str(&alternatives)
                .map_err(|e| StoreError::Corrupt(e.to_string()))?,
            brand_id: row.try_get("brand_id")?,
            created_at: row.try_get("created_at")?,
            updated_at: row.try_get("updated_at")?,
        })
    }
}

const ARTICLE_COLUMNS: &str =
    "id, workspace_id, category, locale, status, title, body, alternatives, brand_id, created_at, updated_at";

/// The editable fields of an article.
#[derive(Debug, Clone)]
pub struct ArticleFields {
    pub category: String,
    pub locale: String,
    pub status: String,
    pub title: String,
    pub body: String,
    pub alternatives: Vec<String>,
    pub brand_id: Option<String>,
}

/// One answer attempt of the bot.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct BotTurn {
    pub id: String,
    pub conversation_id: String,
    pub query: String,
    /// JSON `[{"article_id", "title", "score"}]`.
    pub shown: String,
    /// Confidence of the best article, in thousandths.
    pub confidence: i64,
    /// `answered`, `candidates`, `handover`, `resolved` or `not_resolved`.
    pub outcome: String,
    /// `correct` or `wrong` once staff reviewed it.
    pub review: Option<String>,
    pub created_at: i64,
}

impl BotTurn {
    fn from_row(row: &AnyRow) -> Result<Self> {
        Ok(Self {
            id: row.try_get("id")?,
            conversation_id: row.try_get("conversation_id")?,
            query: row.try_get("query")?,
            shown: row.try_get("shown")?,
            confidence: row.try_get("confidence")?,
            outcome: row.try_get("outcome")?,
            review: row.try_get("review")?,
            created_at: row.try_get("created_at")?,
        })
    }
}

const TURN_COLUMNS: &str =
    "id, conversation_id, query, shown, confidence, outcome, review, created_at";

/// Counts of one day (UTC) for the three rates.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct DayCounts {
    /// Days since the Unix epoch.
    pub day: i64,
    pub reviewed: i64,
    pub correct: i64,
    pub asked: i64,
    pub resolved: i64,
    /// Conversations rated that day, and those rated 4 or 5.
    pub rated: i64,
    pub satisfied: i64,
}

/// What a workspace's search index is built from, short of the articles themselves: it changes
/// when any published article does (an unpublished or deleted one lowers the count or the
/// time) or when the synonyms do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnowledgeVersion {
    pub published: i64,
    pub newest: i64,
    pub synonyms: Vec<Vec<String>>,
}

fn alternatives_json(alternatives: &[String]) -> Result<String> {
    serde_json::to_string(alternatives).map_err(|e| StoreError::Corrupt(e.to_string()))
}

/// A bot turn to log: the customer's words, what was shown (JSON), how sure the retrieval was
/// (per mille), the outcome so far, and when (the caller's clock).
pub struct NewBotTurn {
    pub workspace_id: String,
    pub conversation_id: String,
    pub query: String,
    pub shown: String,
    pub confidence: i64,
    pub outcome: &'static str,
    pub at: i64,
}

impl WriteOp for NewBotTurn {
    type Output = BotTurn;

    fn run<'a>(&'a self, conn: &'a mut AnyConnection) -> BoxFuture<'a, Result<BotTurn>> {
        Box::pin(async move {
            let row = sqlx::query(&format!(
                "INSERT INTO bot_turns (id, workspace_id, conversation_id, query, shown, confidence, outcome, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) RETURNING {TURN_COLUMNS}"
            ))
            .bind(new_id())
            .bind(&self.workspace_id)
            .bind(&self.conversation_id)
            .bind(&self.query)
            .bind(&self.shown)
            .bind(self.confidence)
            .bind(self.outcome)
            .bind(self.at)
            .fetch_one(&mut *conn)
            .await?;
            BotTurn::from_row(&row)
        })
    }
}

impl Store {
    pub async fn create_article(
        &self,
        workspace_id: &str,
        fields: &ArticleFields,
    ) -> Result<Article> {
        let now = now_ms();
        let mut w = self.begin_write().await?;
        let row = sqlx::query(&format!(
            "INSERT INTO articles (id, workspace_id, category, locale, status, title, body, alternatives, brand_id, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $10, $9, $9) RETURNING {ARTICLE_COLUMNS}"
        ))
        .bind(new_id())
        .bind(workspace_id)
        .bind(&fields.category)
        .bind(&fields.locale)
        .bind(&fields.status)
        .bind(&fields.title)
        .bind(&fields.body)
        .bind(alternatives_json(&fields.alternatives)?)
        .bind(now)
        .bind(fields.brand_id.as_deref())
        .fetch_one(&mut *w.tx)
        .await?;
        w.commit().await?;
        self.caches.knowledge.clear();
        Article::from_row(&row)
    }

    pub async fn update_article(
        &self,
        workspace_id: &str,
        id: &str,
        fields: &ArticleFields,
    ) -> Result<Article> {
        let mut w = self.begin_write().await?;
        let row = sqlx::query(&format!(
            "UPDATE articles SET category = $3, locale = $4, status = $5, title = $6, body = $7, alternatives = $8, \
             updated_at = $9, brand_id = $10 WHERE id = $1 AND workspace_id = $2 RETURNING {ARTICLE_COLUMNS}"
        ))
        .bind(id)
        .bind(workspace_id)
        .bind(&fields.category)
        .bind(&fields.locale)
        .bind(&fields.status)
        .bind(&fields.title)
        .bind(&fields.body)
        .bind(alternatives_json(&fields.alternatives)?)
        .bind(now_ms())
        .bind(fields.brand_id.as_deref())
        .fetch_one(&mut *w.tx)
        .await?;
        w.commit().await?;
        self.caches.knowledge.clear();
        Article::from_row(&row)
    }

    pub async fn article(&self, workspace_id: &str, id: &str) -> Result<Article> {
        let row = sqlx::query(&format!(
            "SELECT {ARTICLE_COLUMNS} FROM articles WHERE id = $1 AND workspace_id = $2"
        ))
        .bind(id)
        .bind(workspace_id)
        .fetch_one(self.pool())
        .await?;
        Article::from_row(&row)
    }

    /// Articles of a workspace by category and title; only published ones when `published_only`.
    pub async fn articles(&self, workspace_id: &str, published_only: bool) -> Result<Vec<Article>> {
        let rows = sqlx::query(&format!(
            "SELECT {ARTICLE_COLUMNS} FROM articles WHERE workspace_id = $1 AND (status = 'published' OR $2 = 0) \
             ORDER BY category, title, id"
        ))
        .bind(workspace_id)
        .bind(i64::from(published_only))
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(Article::from_row).collect()
    }

    /// What the knowledge base's search index depends on; cached (see [`crate::cache`]).
    pub async fn knowledge_version(&self, workspace_id: &str) -> Result<KnowledgeVersion> {
        self.caches
            .knowledge
            .get_or_load(workspace_id, || async {
                let row = sqlx::query(
                    "SELECT COUNT(*) AS n, COALESCE(MAX(updated_at), 0) AS newest FROM articles \
                     WHERE workspace_id = $1 AND status = 'published'",
                )
                .bind(workspace_id)
                .fetch_one(self.pool())
                .await?;
                Ok(KnowledgeVersion {
                    published: row.try_get("n")?,
                    newest: row.try_get("newest")?,
                    synonyms: self.synonym_groups(workspace_id).await?,
                })
            })
            .await
    }

    pub async fn delete_article(&self, workspace_id: &str, id: &str) -> Result<()> {
        let mut w = self.begin_write().await?;
        sqlx::query("DELETE FROM article_votes WHERE article_id = $1 AND workspace_id = $2")
            .bind(id)
            .bind(workspace_id)
            .execute(&mut *w.tx)
            .await?;
        let done = sqlx::query("DELETE FROM articles WHERE id = $1 AND workspace_id = $2")
            .bind(id)
            .bind(workspace_id)
            .execute(&mut *w.tx)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        w.commit().await?;
        self.caches.knowledge.clear();
        Ok(())
    }

    /// A reader's 「この記事は役に立ちましたか？」 answer in the help center.
    pub async fn record_article_vote(
        &self,
        workspace_id: &str,
        article_id: &str,
        helpful: bool,
        at: i64,
    ) -> Result<()> {
        let mut w = self.begin_write().await?;
        let done = sqlx::query(
            "INSERT INTO article_votes (id, workspace_id, article_id, helpful, created_at) \
             SELECT $1, $2, $3, $4, $5 WHERE EXISTS \
             (SELECT 1 FROM articles WHERE id = $3 AND workspace_id = $2 AND status = 'published')",
        )
        .bind(new_id())
        .bind(workspace_id)
        .bind(article_id)
        .bind(i64::from(helpful))
        .bind(at)
        .execute(&mut *w.tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        w.commit().await
    }

    /// Per article of the workspace: `(article_id, helpful, not_helpful)` votes since `since`.
    pub async fn article_votes(
        &self,
        workspace_id: &str,
        since: i64,
    ) -> Result<Vec<(String, i64, i64)>> {
        let rows = sqlx::query(
            "SELECT article_id, CAST(SUM(helpful) AS BIGINT) AS yes, \
             CAST(SUM(1 - helpful) AS BIGINT) AS no FROM article_votes WHERE workspace_id = $1 AND created_at >= $2 GROUP BY article_id ORDER BY article_id",
        )
        .bind(workspace_id)
        .bind(since)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get("article_id")?,
                    r.try_get("yes")?,
                    r.try_get("no")?,
                ))
            })
            .collect()
    }

    /// The workspace's synonym groups, each a list of words.
    pub async fn synonym_groups(&self, workspace_id: &str) -> Result<Vec<Vec<String>>> {
        let rows =
            sqlx::query("SELECT words FROM synonym_groups WHERE workspace_id = $1 ORDER BY id")
                .bind(workspace_id)
                .fetch_all(self.pool())
                .await?;
        rows.iter()
            .map(|row| {
                let words: String = row.try_get("words")?;
                Ok(words
                    .split(',')
                    .map(|w| w.trim().to_owned())
                    .filter(|w| !w.is_empty())
                    .collect())
            })
            .collect()
    }

    /// Replaces the workspace's synonym groups.
    pub async fn set_synonym_groups(
        &self,
        workspace_id: &str,
        groups: &[Vec<String>],
    ) -> Result<()> {
        let mut w = self.begin_write().await?;
        sqlx::query("DELETE FROM synonym_groups WHERE workspace_id = $1")
            .bind(workspace_id)
            .execute(&mut *w.tx)
            .await?;
        for group in groups {
            sqlx::query("INSERT INTO synonym_groups (id, workspace_id, words) VALUES ($1, $2, $3)")
                .bind(new_id())
                .bind(workspace_id)
                .bind(group.join(","))
                .execute(&mut *w.tx)
                .await?;
        }
        w.commit().await?;
        self.caches.knowledge.clear();
        Ok(())
    }

    /// Logs one bot turn (a group-commit write: the bot may answer every customer line).
    pub async fn record_bot_turn(&self, turn: NewBotTurn) -> Result<BotTurn> {
        self.write(turn).await
    }

    pub async fn bot_turn(&self, workspace_id: &str, id: &str) -> Result<BotTurn> {
        let row = sqlx::query(&format!(
            "SELECT {TURN_COLUMNS} FROM bot_turns WHERE id = $1 AND workspace_id = $2"
        ))
        .bind(id)
        .bind(workspace_id)
        .fetch_one(self.pool())
        .await?;
        BotTurn::from_row(&row)
    }

    /// Sets a turn's outcome (the visitor's answer to "did this solve it?").
    pub async fn set_bot_outcome(&self, workspace_id: &str, id: &str, outcome: &str) -> Result<()> {
        self.update_turn(workspace_id, id, "outcome", outcome).await
    }

    /// Staff's verdict on a turn: `correct` or `wrong`.
    pub async fn review_bot_turn(&self, workspace_id: &str, id: &str, review: &str) -> Result<()> {
        self.update_turn(workspace_id, id, "review", review).await
    }

    async fn update_turn(
        &self,
        workspace_id: &str,
        id: &str,
        column: &'static str,
        value: &str,
    ) -> Result<()> {
        let mut w = self.begin_write().await?;
        let done = sqlx::query(&format!("UPDATE bot_turns SET {column} = $3, updated_at = $4 WHERE id = $1 AND workspace_id = $2"))
            .bind(id)
            .bind(workspace_id)
            .bind(value)
            .bind(now_ms())
            .execute(&mut *w.tx)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        if column == "outcome" {
            // The reports read whether the bot resolved the conversation from the conversation.
            sqlx::query(
                "UPDATE conversations SET bot_resolved = CASE WHEN EXISTS (SELECT 1 FROM bot_turns b \
                 WHERE b.conversation_id = conversations.id AND b.outcome = 'resolved') THEN 1 ELSE 0 END \
                 WHERE id = (SELECT conversation_id FROM bot_turns WHERE id = $1)",
            )
            .bind(id)
            .execute(&mut *w.tx)
            .await?;
        }
        w.commit().await
    }

    /// The newest turns, for review.
    pub async fn bot_turns(&self, workspace_id: &str, limit: i64) -> Result<Vec<BotTurn>> {
        let rows = sqlx::query(&format!(
            "SELECT {TURN_COLUMNS} FROM bot_turns WHERE workspace_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2"
        ))
        .bind(workspace_id)
        .bind(limit.clamp(1, 1000))
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(BotTurn::from_row).collect()
    }

    /// Per-day counts between `from` and `to` (Unix ms): reviewed / correct turns (accuracy),
    /// turns that asked "did this solve it?" / answered yes (resolution).
    pub async fn bot_day_counts(
        &self,
        workspace_id: &str,
        from: i64,
        to: i64,
    ) -> Result<Vec<DayCounts>> {
        let rows = sqlx::query(
            "SELECT created_at / 86400000 AS day, \
             SUM(CASE WHEN review IS NOT NULL THEN 1 ELSE 0 END) AS reviewed, \
             SUM(CASE WHEN review = 'correct' THEN 1 ELSE 0 END) AS correct, \
             SUM(CASE WHEN outcome IN ('resolved', 'not_resolved') THEN 1 ELSE 0 END) AS asked, \
             SUM(CASE WHEN outcome = 'resolved' THEN 1 ELSE 0 END) AS resolved \
             FROM bot_turns WHERE workspace_id = $1 AND created_at >= $2 AND created_at < $3 \
             GROUP BY created_at / 86400000 ORDER BY day",
        )
        .bind(workspace_id)
        .bind(from)
        .bind(to)
        .fetch_all(self.pool())
        .await?;
        let mut days = rows
            .iter()
            .map(|row| {
                Ok(DayCounts {
                    day: row.try_get("day")?,
                    reviewed: row.try_get("reviewed")?,
                    correct: row.try_get("correct")?,
                    asked: row.try_get("asked")?,
                    resolved: row.try_get("resolved")?,
                    rated: 0,
                    satisfied: 0,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let ratings = sqlx::query(
            "SELECT created_at / 86400000 AS day, COUNT(*) AS rated, \
             SUM(CASE WHEN score >= 4 THEN 1 ELSE 0 END) AS satisfied \
             FROM ratings WHERE workspace_id = $1 AND created_at >= $2 AND created_at < $3 \
             GROUP BY created_at / 86400000",
        )
        .bind(workspace_id)
        .bind(from)
        .bind(to)
        .fetch_all(self.pool())
        .await?;
        for row in &ratings {
            let day: i64 = row.try_get("day")?;
            let index = match days.iter().position(|d| d.day == day) {
                Some(index) => index,
                None => {
                    days.push(DayCounts {
                        day,
                        ..Default::default()
                    });
                    days.len() - 1
                }
            };
            days[index].rated = row.try_get("rated")?;
            days[index].satisfied = row.try_get("satisfied")?;
        }
        days.sort_by_key(|d| d.day);
        Ok(days)
    }

    /// Records (or replaces) a conversation's satisfaction rating, 1–5, given at `now`.
    pub async fn rate_conversation(
        &self,
        workspace_id: &str,
        conversation_id: &str,
        score: i64,
        comment: Option<&str>,
        now: i64,
    ) -> Result<()> {
        let mut w = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO ratings (conversation_id, workspace_id, score, comment, created_at) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (conversation_id) DO UPDATE SET score = $3, comment = $4, created_at = $5",
        )
        .bind(conversation_id)
        .bind(workspace_id)
        .bind(score)
        .bind(comment)
        .bind(now)
        .execute(&mut *w.tx)
        .await?;
        sqlx::query("UPDATE conversations SET rating = $2 WHERE id = $1")
            .bind(conversation_id)
            .bind(score)
            .execute(&mut *w.tx)
            .await?;
        w.commit().await
    }
}
