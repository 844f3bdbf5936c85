//! Outgoing webhooks: a workspace's subscriptions (URL, events, secret, whether private notes
//! go out), the count of failed attempts in a row that disables one, and the log of attempts.

use sqlx::any::AnyRow;
use sqlx::Row;

use crate::{new_id, now_ms, Result, Store, StoreError};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Webhook {
    pub id: String,
    pub workspace_id: String,
    pub url: String,
    /// `whsec_…` (Standard Webhooks).
    pub secret: String,
    /// The event types it receives (JSON array).
    pub events: Vec<String>,
    pub include_private: bool,
    pub enabled: bool,
    /// Failed attempts in a row.
    pub failures: i64,
    /// Why it was switched off by itself.
    pub disabled_reason: Option<String>,
    pub created_at: i64,
}

impl Webhook {
    fn from_row(row: &AnyRow) -> Result<Self> {
        let events: String = row.try_get("events")?;
        Ok(Self {
            id: row.try_get("id")?,
            workspace_id: row.try_get("workspace_id")?,
            url: row.try_get("url")?,
            secret: row.try_get("secret")?,
            events: serde_json::from_str(&events).unwrap_or_default(),
            include_private: row.try_get::<i64, _>("include_private")? != 0,
            enabled: row.try_get::<i64, _>("enabled")? != 0,
            failures: row.try_get("failures")?,
            disabled_reason: row.try_get("disabled_reason")?,
            created_at: row.try_get("created_at")?,
        })
    }
}

const COLUMNS: &str = "id, workspace_id, url, secret, events, include_private, enabled, failures, \
     disabled_reason, created_at";

/// What a webhook is set to.
#[derive(Debug, Clone)]
pub struct WebhookSettings<'a> {
    pub url: &'a str,
    pub events: &'a [String],
    pub include_private: bool,
    pub enabled: bool,
}

/// One delivery attempt, as logged.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Attempt {
    /// The `webhook-id` it carried (the same on every retry of one message).
    pub message_id: String,
    pub event_type: String,
    pub status_code: Option<i64>,
    pub error: Option<String>,
    pub ok: bool,
    pub duration_ms: i64,
    pub created_at: i64,
}

impl Store {
    pub async fn create_webhook(
        &self,
        workspace_id: &str,
        settings: &WebhookSettings<'_>,
        secret: &str,
    ) -> Result<Webhook> {
        let mut w = self.begin_write().await?;
        let row = sqlx::query(&format!(
            "INSERT INTO webhooks (id, workspace_id, url, secret, events, include_private, enabled, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING {COLUMNS}"
        ))
        .bind(new_id())
        .bind(workspace_id)
        .bind(settings.url)
        .bind(secret)
        .bind(serde_json::to_string(settings.events).unwrap_or_default())
        .bind(i64::from(settings.include_private))
        .bind(i64::from(settings.enabled))
        .bind(now_ms())
        .fetch_one(&mut *w.tx)
        .await?;
        w.commit().await?;
        Webhook::from_row(&row)
    }

    pub async fn webhooks(&self, workspace_id: &str) -> Result<Vec<Webhook>> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM webhooks WHERE workspace_id = $1 ORDER BY created_at, id"
        ))
        .bind(workspace_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(Webhook::from_row).collect()
    }

    pub async fn webhook(&self, workspace_id: &str, id: &str) -> Result<Webhook> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM webhooks WHERE id = $1 AND workspace_id = $2"
        ))
        .bind(id)
        .bind(workspace_id)
        .fetch_optional(self.pool())
        .await?
        .ok_or(StoreError::NotFound)?;
        Webhook::from_row(&row)
    }

    /// Changes a webhook; switching it on again clears its failures.
    pub async fn update_webhook(
        &self,
        workspace_id: &str,
        id: &str,
        settings: &WebhookSettings<'_>,
    ) -> Result<Webhook> {
        let mut w = self.begin_write().await?;
        let row = sqlx::query(&format!(
            "UPDATE webhooks SET url = $3, events = $4, include_private = $5, enabled = $6, \
             failures = CASE WHEN $6 = 1 THEN 0 ELSE failures END, \
             disabled_reason = CASE WHEN $6 = 1 THEN NULL ELSE disabled_reason END \
             WHERE id = $1 AND workspace_id = $2 RETURNING {COLUMNS}"
        ))
        .bind(id)
        .bind(workspace_id)
        .bind(settings.url)
        .bind(serde_json::to_string(settings.events).unwrap_or_default())
        .bind(i64::from(settings.include_private))
        .bind(i64::from(settings.enabled))
        .fetch_optional(&mut *w.tx)
        .await?
        .ok_or(StoreError::NotFound)?;
        w.commit().await?;
        Webhook::from_row(&row)
    }

    pub async fn delete_webhook(&self, workspace_id: &str, id: &str) -> Result<()> {
        let mut w = self.begin_write().await?;
        sqlx::query(
            "DELETE FROM webhook_attempts WHERE webhook_id IN \
             (SELECT id FROM webhooks WHERE id = $1 AND workspace_id = $2)",
        )
        .bind(id)
        .bind(workspace_id)
        .execute(&mut *w.tx)
        .await?;
        let deleted = sqlx::query("DELETE FROM webhooks WHERE id = $1 AND workspace_id = $2")
            .bind(id)
            .bind(workspace_id)
            .execute(&mut *w.tx)
            .await?;
        if deleted.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        w.commit().await
    }

    /// Logs an attempt and counts failures in a row; a webhook that reaches `disable_after`
    /// of them is switched off with `reason`. Its failures in a row after this attempt.
    pub async fn record_webhook_attempt(
        &self,
        webhook_id: &str,
        attempt: &Attempt,
        disable_after: i64,
        reason: &str,
    ) -> Result<i64> {
        let mut w = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO webhook_attempts (id, webhook_id, message_id, event_type, status_code, error, \
             ok, duration_ms, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(new_id())
        .bind(webhook_id)
        .bind(&attempt.message_id)
        .bind(&attempt.event_type)
        .bind(attempt.status_code)
        .bind(attempt.error.as_deref())
        .bind(i64::from(attempt.ok))
        .bind(attempt.duration_ms)
        .bind(attempt.created_at)
        .execute(&mut *w.tx)
        .await?;
        let row = sqlx::query(
            "UPDATE webhooks SET failures = CASE WHEN $2 = 1 THEN 0 ELSE failures + 1 END WHERE id = $1 \
             RETURNING failures",
        )
        .bind(webhook_id)
        .bind(i64::from(attempt.ok))
        .fetch_optional(&mut *w.tx)
        .await?;
        let failures: i64 = match row {
            Some(row) => row.try_get("failures")?,
            None => 0,
        };
        if failures >= disable_after {
            sqlx::query("UPDATE webhooks SET enabled = 0, disabled_reason = $2 WHERE id = $1")
                .bind(webhook_id)
                .bind(reason)
                .execute(&mut *w.tx)
                .await?;
        }
        w.commit().await?;
        Ok(failures)
    }

    /// The newest attempts of a webhook.
    pub async fn webhook_attempts(&self, webhook_id: &str, limit: i64) -> Result<Vec<Attempt>> {
        let rows = sqlx::query(
            "SELECT message_id, event_type, status_code, error, ok, duration_ms, created_at \
             FROM webhook_attempts WHERE webhook_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2",
        )
        .bind(webhook_id)
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(Attempt {
                    message_id: r.try_get("message_id")?,
                    event_type: r.try_get("event_type")?,
                    status_code: r.try_get("status_code")?,
                    error: r.try_get("error")?,
                    ok: r.try_get::<i64, _>("ok")? != 0,
                    duration_ms: r.try_get("duration_ms")?,
                    created_at: r.try_get("created_at")?,
                })
            })
            .collect()
    }
}
