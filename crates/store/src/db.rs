//! The [`Store`] handle: connecting, migrating, and write transactions.

use std::sync::Arc;
use std::time::Duration;

use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{Any, AnyPool, Executor, Transaction};
use tokio::sync::{Mutex, OwnedMutexGuard};

use crate::cache::Caches;
use crate::group_commit::{self, CommitStats, GroupCommit, WriteOp};
use crate::{Result, StoreError};

/// Which database engine a [`Store`] talks to, chosen from the URL scheme.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn from_url(url: &str) -> Result<Self> {
        if url.starts_with("sqlite:") {
            Ok(Backend::Sqlite)
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Ok(Backend::Postgres)
        } else {
            Err(StoreError::InvalidReference(
                "database URL must start with sqlite: or postgres://".into(),
            ))
        }
    }

    fn migrations(self) -> Migrations {
        /// The numbered migrations of both backends, from their folders.
        macro_rules! migrations {
            ($($n:literal => $file:literal),* $(,)?) => {
                (
                    &[$(($n, include_str!(concat!("../migrations/sqlite/", $file)))),*],
                    &[$(($n, include_str!(concat!("../migrations/postgres/", $file)))),*],
                )
            };
        }
        const ALL: (Migrations, Migrations) = migrations!(
            1 => "0001_core.sql",
            2 => "0002_templates.sql",
            3 => "0003_automation.sql",
            4 => "0004_knowledge.sql",
            5 => "0005_ratings.sql",
            6 => "0006_scenarios.sql",
            7 => "0007_waiting.sql",
            8 => "0008_handover.sql",
            9 => "0009_identity_secret.sql",
            10 => "0010_attachments.sql",
            11 => "0011_conversation_locale.sql",
            12 => "0012_workspace_logo.sql",
            13 => "0013_article_votes.sql",
            14 => "0014_sender_name_and_reads.sql",
            15 => "0015_snoozed_until.sql",
            16 => "0016_agent_lifecycle.sql",
            17 => "0017_email.sql",
            18 => "0018_imap.sql",
            19 => "0019_kpi_facts.sql",
            20 => "0020_nps.sql",
            21 => "0021_report_columns.sql",
            22 => "0022_harassment.sql",
            23 => "0023_teams_rules.sql",
            24 => "0024_sla.sql",
            25 => "0025_classification.sql",
            26 => "0026_next_response.sql",
            27 => "0027_search.sql",
            28 => "0028_sensitive.sql",
            29 => "0029_webhooks.sql",
            30 => "0030_report_priority.sql",
            31 => "0031_erasure.sql",
            32 => "0032_contact_search.sql",
            33 => "0033_account_links.sql",
            34 => "0034_totp.sql",
            35 => "0035_api_channel.sql",
            36 => "0036_brands.sql",
            37 => "0037_messaging_channels.sql",
            38 => "0038_shop_data.sql",
            39 => "0039_article_vectors.sql",
        );
        match self {
            Backend::Sqlite => ALL.0,
            Backend::Postgres => ALL.1,
        }
    }
}

/// Numbered SQL scripts, applied in order.
type Migrations = &'static [(i64, &'static str)];

/// A cheap-to-clone handle on the database.
#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    /// SQLite allows one writer; queueing writers here avoids `SQLITE_BUSY` inside transactions.
    write_lock: Option<Arc<Mutex<()>>>,
    /// SQLite: short writes committed together (see [`group_commit`]).
    group_commit: Option<GroupCommit>,
    pub(crate) caches: Arc<Caches>,
    /// The key the audit chain is signed with (see [`crate::audit`]); unkeyed without one.
    pub(crate) audit_key: Option<Arc<crate::audit::AuditKey>>,
}

/// A write transaction; on SQLite it also holds the writer lock until commit or drop.
pub(crate) struct WriteTx {
    pub(crate) tx: Transaction<'static, Any>,
    _writer: Option<OwnedMutexGuard<()>>,
}

impl WriteTx {
    pub(crate) async fn commit(self) -> Result<()> {
        self.tx.commit().await?;
        Ok(())
    }
}

impl Store {
    /// Connects to `url` (`sqlite://path?mode=rwc` or `postgres://…`) and runs the migrations.
    pub async fn connect(url: &str) -> Result<Self> {
        sqlx::any::install_default_drivers();
        let backend = Backend::from_url(url)?;
        // No ping before each acquire: it is a round trip per query (to SQLite's worker thread, or
        // to PostgreSQL); a broken connection fails its query and the pool drops it.
        let options = AnyPoolOptions::new()
            .acquire_timeout(Duration::from_secs(30))
            .test_before_acquire(false);
        let pool = match backend {
            Backend::Sqlite => {
                options
                    .max_connections(8)
                    .after_connect(|conn, _meta| {
                        Box::pin(async move {
                            conn.execute(
                                "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
                                 PRAGMA busy_timeout = 10000; PRAGMA foreign_keys = ON; \
                                 PRAGMA secure_delete = ON;",
                            )
                            .await?;
                            Ok(())
                        })
                    })
                    .connect(url)
                    .await?
            }
            Backend::Postgres => options.max_connections(16).connect(url).await?,
        };
        let write_lock = (backend == Backend::Sqlite).then(|| Arc::new(Mutex::new(())));
        let group_commit = write_lock
            .as_ref()
            .map(|lock| GroupCommit::start(pool.clone(), lock.clone()));
        let store = Store {
            pool,
            backend,
            write_lock,
            group_commit,
            caches: Arc::default(),
            audit_key: None,
        };
        store.migrate().await?;
        Ok(store)
    }

    /// This handle, signing new audit events with `key` and checking the chain against it.
    pub fn with_audit_key(mut self, key: crate::audit::AuditKey) -> Self {
        self.audit_key = Some(Arc::new(key));
        self
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub(crate) fn pool(&self) -> &AnyPool {
        &self.pool
    }

    pub(crate) async fn begin_write(&self) -> Result<WriteTx> {
        let writer = match &self.write_lock {
            Some(lock) => Some(lock.clone().lock_owned().await),
            None => None,
        };
        let tx = self.pool.begin().await?;
        Ok(WriteTx {
            tx,
            _writer: writer,
        })
    }

    /// Runs a short write and commits it, sharing the transaction with concurrent ones on SQLite.
    pub(crate) async fn write<O: WriteOp>(&self, op: O) -> Result<O::Output> {
        match &self.group_commit {
            Some(group) => group.write(op).await,
            None => group_commit::write_alone(&self.pool, op).await,
        }
    }

    /// SQLite: moves the write-ahead log into the database file and truncates it, so that the
    /// old versions of deleted rows it holds are gone too. Nothing on PostgreSQL (its dead rows
    /// go at the next vacuum).
    pub(crate) async fn truncate_log(&self) -> Result<()> {
        let Some(lock) = &self.write_lock else {
            return Ok(());
        };
        // No writer in between: the checkpoint can take the whole log.
        let _writer = lock.lock().await;
        sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Group-commit figures so far (SQLite; `None` on PostgreSQL).
    pub fn commit_stats(&self) -> Option<&CommitStats> {
        self.group_commit.as_ref().map(|group| group.stats.as_ref())
    }

    /// Applies the migrations this database has not seen yet, each in its own transaction.
    async fn migrate(&self) -> Result<()> {
        let mut w = self.begin_write().await?;
        w.tx.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)",
        )
        .await?;
        w.commit().await?;
        for (version, sql) in self.backend.migrations() {
            let mut w = self.begin_write().await?;
            let applied: Option<AnyRow> =
                sqlx::query("SELECT version FROM schema_migrations WHERE version = $1")
                    .bind(*version)
                    .fetch_optional(&mut *w.tx)
                    .await?;
            if applied.is_some() {
                continue;
            }
            w.tx.execute(*sql).await?;
            sqlx::query("INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)")
                .bind(*version)
                .bind(crate::now_ms())
                .execute(&mut *w.tx)
                .await?;
            w.commit().await?;
        }
        Ok(())
    }

    /// Checks that the database answers (for `/healthz`).
    pub async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}
