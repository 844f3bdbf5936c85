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

/// A job to queue: its kind, JSON payload, due time and optional dedupe key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobSpec {
    pub kind: String,
    pub payload: String,
    pub due_at: i64,
    pub dedupe_key: Option<String>,
}

/// The jobs a write triggers, applied in the write's own transaction: queued ones (a pending
/// job with the same key wins) and keys whose pending job is dropped.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JobChanges {
    pub enqueue: Vec<JobSpec>,
    pub cancel: Vec<String>,
}

/// No jobs: for writes that trigger none.
pub static NO_JOBS: JobChanges = JobChanges {
    enqueue: Vec::new(),
    cancel: Vec::new(),
};

impl JobChanges {
    pub fn is_empty(&self) -> bool {
        self.enqueue.is_empty() && self.cancel.is_empty()
    }

    /// Inside a write transaction: cancels first, then queues.
    pub(crate) async fn apply_in(&self, conn: &mut AnyConnection, now: i64) -> Result<()> {
        for key in &self.cancel {
            cancel_in(conn, key, now).await?;
        }
        for job in &self.enqueue {
            insert_in(conn, job, now).await?;
        }
        Ok(())
    }
}

/// Queues `job` unless one with its key is pending; true when it was queued.
async fn insert_in(conn: &mut AnyConnection, job: &JobSpec, now: i64) -> Result<bool> {
    let done = sqlx::query(
        "INSERT INTO jobs (id, kind, payload, due_at, created_at, dedupe_key) VALUES ($1, $2, $3, $4, $5, $6) \
         ON CONFLICT (dedupe_key) WHERE done_at IS NULL DO NOTHING",
    )
    .bind(new_id())
    .bind(&job.kind)
    .bind(&job.payload)
    .bind(job.due_at)
    .bind(now)
    .bind(job.dedupe_key.as_deref())
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Drops the pending job with `dedupe_key`; true when one was pending.
async fn cancel_in(conn: &mut AnyConnection, dedupe_key: &str, now: i64) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE jobs SET done_at = $2, last_error = 'cancelled' WHERE dedupe_key = $1 AND done_at IS NULL",
    )
    .bind(dedupe_key)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() > 0)
}

/// Queueing a job on its own (a group-commit write): true when it was queued.
struct NewJob {
    job: JobSpec,
    now: i64,
}

impl WriteOp for NewJob {
    type Output = bool;

    fn run<'a>(&'a self, conn: &'a mut AnyConnection) -> BoxFuture<'a, Result<bool>> {
        Box::pin(insert_in(conn, &self.job, self.now))
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
        Box::pin(cancel_in(conn, &self.dedupe_key, self.now))
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
            job: JobSpec {
                kind: kind.to_owned(),
                payload: payload.to_owned(),
                due_at,
                dedupe_key: dedupe_key.map(str::to_owned),
            },
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
             AND (locked_until IS NULL OR locked_until <= $1) ORDER BY due_at, id LIMIT $3{lock}) \
             RETURNING {JOB_COLUMNS}"
        ))
        .bind(now)
        .bind(now + lease_ms)
        .bind(limit)
        .fetch_all(&mut *w.tx)
        .await?;
        w.commit().await?;
        let mut jobs = rows.iter().map(Job::from_row).collect::<Result<Vec<_>>>()?;
        // Due together, in the order they were made (ids are time-ordered): events of a
        // messaging channel become messages in the order they came.
        jobs.sort_by(|a, b| (a.due_at, &a.id).cmp(&(b.due_at, &b.id)));
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
