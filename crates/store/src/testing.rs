//! Fresh databases for tests, on SQLite (a temporary file) and PostgreSQL (a schema of its own
//! in the database named by `MADOGUCHI_TEST_POSTGRES_URL`).
//!
//! When that variable is set, PostgreSQL tests run and fail if the server cannot be reached;
//! when it is not set, they are skipped (see [`skip`]: visibly, and never under CI).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};

use crate::{Backend, Store};

/// The variable CI sets to a PostgreSQL URL (e.g. `postgres://postgres@127.0.0.1:5432/test`).
pub const POSTGRES_URL_VAR: &str = "MADOGUCHI_TEST_POSTGRES_URL";

/// A database that lives as long as this value: a temporary directory or a PostgreSQL schema.
pub struct TestDatabase {
    pub url: String,
    pub backend: Backend,
    dir: PathBuf,
    schema: Option<(String, String)>,
}

impl TestDatabase {
    /// A new empty database, or `None` (with a note on stderr) for PostgreSQL when CI has not
    /// configured one.
    pub async fn create(backend: Backend) -> Option<Self> {
        let dir =
            std::env::temp_dir().join(format!("madoguchi-test-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).expect("create temp dir");
        match backend {
            Backend::Sqlite => {
                let url = format!("sqlite://{}?mode=rwc", dir.join("madoguchi.db").display());
                Some(Self {
                    url,
                    backend,
                    dir,
                    schema: None,
                })
            }
            Backend::Postgres => {
                let Ok(base) = std::env::var(POSTGRES_URL_VAR) else {
                    skip(&format!("{POSTGRES_URL_VAR} is not set"));
                    return None;
                };
                let schema = format!("t_{}", uuid::Uuid::new_v4().simple());
                execute_on(&base, &format!("CREATE SCHEMA {schema}")).await;
                let separator = if base.contains('?') { '&' } else { '?' };
                let url = format!("{base}{separator}options=-c%20search_path%3D{schema}");
                Some(Self {
                    url,
                    backend,
                    dir,
                    schema: Some((base, schema)),
                })
            }
        }
    }

    pub async fn store(&self) -> Store {
        Store::connect(&self.url)
            .await
            .expect("connect to the test database")
    }

    /// A scratch directory that lives as long as the database.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

/// Records that a test does not run here because `reason` (a service or file it needs is
/// missing). With `CI` set that is a failure: CI installs everything. Elsewhere the line goes
/// straight to the terminal's stderr, past the test harness's capture, so `cargo test` shows
/// it even though the test then counts as passed.
pub fn skip(reason: &str) {
    assert!(
        std::env::var_os("CI").is_none(),
        "CI must run every test, but: {reason}"
    );
    let thread = std::thread::current();
    let test = thread.name().unwrap_or("a test");
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "SKIPPED {test}: {reason}");
}

async fn execute_on(url: &str, sql: &str) {
    use sqlx::Connection;
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(url)
        .await
        .unwrap_or_else(|err| {
            panic!("{POSTGRES_URL_VAR} is set but PostgreSQL is unreachable: {err}")
        });
    sqlx::raw_sql(sql).execute(&mut conn).await.expect(sql);
    conn.close().await.ok();
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        std::fs::remove_dir_all(&self.dir).ok();
        if let Some((base, schema)) = self.schema.take() {
            // Drop runs inside an async test; a separate thread gets its own runtime.
            std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build();
                if let Ok(runtime) = runtime {
                    runtime.block_on(execute_on(
                        &base,
                        &format!("DROP SCHEMA IF EXISTS {schema} CASCADE"),
                    ));
                }
            })
            .join()
            .ok();
        }
    }
}

impl Store {
    /// Runs raw SQL, for tests that tamper with stored data on purpose; the read caches are
    /// dropped, so the next read sees the tampered rows.
    pub async fn execute_unchecked(&self, sql: &str) -> crate::Result<()> {
        sqlx::raw_sql(sql).execute(self.pool()).await?;
        self.caches.channels.clear();
        self.caches.workspaces.clear();
        self.caches.contacts.clear();
        self.caches.knowledge.clear();
        Ok(())
    }

    /// The single integer a raw SQL query returns (e.g. a `COUNT(*)`), for tests that check
    /// what was stored.
    pub async fn count_unchecked(&self, sql: &str) -> crate::Result<i64> {
        use sqlx::Row;
        let row = sqlx::query(sql).fetch_one(self.pool()).await?;
        Ok(row.try_get(0)?)
    }

    /// Makes every insert of a job of `kind` fail (a trigger), to prove that a write and the
    /// jobs it triggers commit together or not at all.
    pub async fn refuse_jobs_of_kind(&self, kind: &str) -> crate::Result<()> {
        let name: String = kind
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect();
        let name = format!("refuse_{name}");
        let kind = kind.replace('\'', "''");
        let sql = match self.backend() {
            Backend::Sqlite => format!(
                "CREATE TRIGGER {name} BEFORE INSERT ON jobs WHEN NEW.kind = '{kind}' \
                 BEGIN SELECT RAISE(ABORT, 'jobs of this kind are refused'); END;"
            ),
            Backend::Postgres => format!(
                "CREATE FUNCTION {name}() RETURNS trigger AS $$ BEGIN \
                 IF NEW.kind = '{kind}' THEN RAISE EXCEPTION 'jobs of this kind are refused'; END IF; \
                 RETURN NEW; END $$ LANGUAGE plpgsql; \
                 CREATE TRIGGER {name} BEFORE INSERT ON jobs FOR EACH ROW EXECUTE FUNCTION {name}();"
            ),
        };
        self.execute_unchecked(&sql).await
    }
}
