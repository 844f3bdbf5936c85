//! The durable job queue: rows with a due time, run at least once. Claiming takes a lease, so a
//! crashed worker's jobs run again when the lease expires; on PostgreSQL several server
//! processes share the queue (`FOR UPDATE SKIP LOCKED`) without running a job twice at once.
//! A job may carry a `dedupe_key`: while one with the same key is pending, enqueueing another
//! does nothing, and cancelling by key drops the pending one.

use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use crate::group_commit::{BoxFuture, WriteOp};
use crate::{new_id, Backend, Result, Store};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    pub id: String,
    pub kind: String,
    /// JSON.
    pub payload: String,
    pub due_at: i64,
    /// Runs so far, this one included.
    pub attempts: i64,
    pub dedupe_key: Option<String>,
}

impl Job {
    fn from_row(row: &AnyRow) -> Result<Self> {
        Ok(Self {
            id: row.try_get("id")?,
            kind: row.try_get("kind")?,
            payload: row.try_get("payload")?,
            due_at: row.try_get("due_at")?,
            attempts: row.try_get("attempts")?,
            dedupe_key: row.try_get("dedupe_key")?,
        })
    }
}

const JOB_COLUMNS: &str = "id, kind, payload, due_at, attempts, dedupe_key";

/// Queueing a job (a group-commit write): true when it was queued.
struct NewJob {
    kind: String,
    payload: String,
    due_at: i64,
    dedupe_key: Option<String>,
    now: i64,
}

impl WriteOp for NewJob {
    type Output = bool;

    fn run<'a>(&'a self, conn: &'a mut AnyConnection) -> BoxFuture<'a, Result<bool>> {
        Box::pin(async move {
            let done = sqlx::query(
                "INSERT INTO jobs (id, kind, payload, due_at, created_at, dedupe_key) VALUES ($1, $2, $3, $4, $5, $6) \
                 ON CONFLICT (dedupe_key) WHERE done_at IS NULL DO NOTHING",
            )
            .bind(new_id())
            .bind(&self.kind)
            .bind(&self.payload)
            .bind(self.due_at)
            .bind(self.now)
            .bind(self.dedupe_key.as_deref())
            .execute(&mut *conn)
            .await?;
            Ok(done.rows_affected() == 1)
        })
    }
}

/// Dropping the pending job with a key (a group-commit write): true when one was pending.
struct CancelJob {
    dedupe_key: String,
    now: i64,
}

impl WriteOp for CancelJob {
    type Output = bool;

    fn run<'a>(&'a self, conn: &'a mut AnyConnection) -> BoxFuture<'a, Result<bool>> {
        Box::pin(async move {
            let done = sqlx::query(
                "UPDATE jobs SET done_at = $2, last_error = 'cancelled' WHERE dedupe_key = $1 AND done_at IS NULL",
            )
            .bind(&self.dedupe_key)
            .bind(self.now)
            .execute(&mut *conn)
            .await?;
            Ok(done.rows_affected() > 0)
        })
    }
}

impl Store {
    /// Queues a job; returns false when a pending job with the same `dedupe_key` exists.
    pub async fn enqueue_job(
        &self,
        kind: &str,
        payload: &str,
        due_at: i64,
        dedupe_key: Option<&str>,
        now: i64,
    ) -> Result<bool> {
        // Most enqueues of a keyed job find it pending: answer from a read, no write.
        if let Some(key) = dedupe_key {
            if self.job_pending(key).await? {
                return Ok(false);
            }
        }
        self.write(NewJob {
            kind: kind.to_owned(),
            payload: payload.to_owned(),
            due_at,
            dedupe_key: dedupe_key.map(str::to_owned),
            now,
        })
        .await
    }

    /// Claims up to `limit` due jobs for `lease_ms`, counting an attempt for each.
    pub async fn claim_due_jobs(&self, now: i64, limit: i64, lease_ms: i64) -> Result<Vec<Job>> {
        let lock = match self.backend() {
            Backend::Postgres => " FOR UPDATE SKIP LOCKED",
            Backend::Sqlite => "",
        };
        let mut w = self.begin_write().await?;
        let rows = sqlx::query(&format!(
            "UPDATE jobs SET locked_until = $2, attempts = attempts + 1 WHERE id IN (\
             SELECT id FROM jobs WHERE done_at IS NULL AND due_at <= $1 \
             AND (locked_until IS NULL OR locked_until <= $1) ORDER BY due_at LIMIT $3{lock}) \
             RETURNING {JOB_COLUMNS}"
        ))
        .bind(now)
        .bind(now + lease_ms)
        .bind(limit)
        .fetch_all(&mut *w.tx)
        .await?;
        w.commit().await?;
        let mut jobs = rows.iter().map(Job::from_row).collect::<Result<Vec<_>>>()?;
        jobs.sort_by_key(|job| job.due_at);
        Ok(jobs)
    }

    /// Marks a job done; `outcome` is recorded (`None` for success).
    pub async fn finish_job(&self, id: &str, now: i64, outcome: Option<&str>) -> Result<()> {
        let mut w = self.begin_write().await?;
        sqlx::query(
            "UPDATE jobs SET done_at = $2, last_error = $3, locked_until = NULL WHERE id = $1",
        )
        .bind(id)
        .bind(now)
        .bind(outcome)
        .execute(&mut *w.tx)
        .await?;
        w.commit().await
    }

    /// Schedules another attempt of a failed job.
    pub async fn retry_job(&self, id: &str, due_at: i64, error: &str) -> Result<()> {
        let mut w = self.begin_write().await?;
        sqlx::query(
            "UPDATE jobs SET due_at = $2, last_error = $3, locked_until = NULL WHERE id = $1",
        )
        .bind(id)
        .bind(due_at)
        .bind(error)
        .execute(&mut *w.tx)
        .await?;
        w.commit().await
    }

    /// Drops the pending job with this key, if any; returns whether one was pending.
    pub async fn cancel_job(&self, dedupe_key: &str, now: i64) -> Result<bool> {
        // Most human replies find nothing to cancel: answer from a read, no write.
        if !self.job_pending(dedupe_key).await? {
            return Ok(false);
        }
        self.write(CancelJob {
            dedupe_key: dedupe_key.to_owned(),
            now,
        })
        .await
    }

    /// Whether a job with this key is pending.
    async fn job_pending(&self, dedupe_key: &str) -> Result<bool> {
        let row =
            sqlx::query("SELECT 1 AS one FROM jobs WHERE dedupe_key = $1 AND done_at IS NULL")
                .bind(dedupe_key)
                .fetch_optional(self.pool())
                .await?;
        Ok(row.is_some())
    }

    /// Jobs not yet done (for tests and operators).
    pub async fn pending_jobs(&self) -> Result<Vec<Job>> {
        let rows = sqlx::query(&format!(
            "SELECT {JOB_COLUMNS} FROM jobs WHERE done_at IS NULL ORDER BY due_at"
        ))
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(Job::from_row).collect()
    }

    /// A named server-wide secret, created from `fresh` the first time it is asked for.
    pub async fn server_secret(&self, name: &str, fresh: &str) -> Result<String> {
        let mut w = self.begin_write().await?;
        sqlx::query("INSERT INTO server_secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING")
            .bind(name)
            .bind(fresh)
            .execute(&mut *w.tx)
            .await?;
        let value: String = sqlx::query("SELECT value FROM server_secrets WHERE name = $1")
            .bind(name)
            .fetch_one(&mut *w.tx)
            .await?
            .try_get("value")?;
        w.commit().await?;
        Ok(value)
    }
}
