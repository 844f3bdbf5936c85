//! Process-wide counters, rendered in the Prometheus text format at `/metrics`.

use std::fmt::Write;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

use madoguchi_store::group_commit::CommitStats;

#[derive(Debug, Default)]
pub struct Metrics {
    pub messages_created: AtomicU64,
    pub conversations_created: AtomicU64,
    pub login_failures: AtomicU64,
    /// Password hashes checked: one per login attempt, known e-mail or not.
    pub password_checks: AtomicU64,
    pub ws_connections: AtomicI64,
}

impl Metrics {
    /// The counters, with the store's group-commit figures when it has them (SQLite).
    pub fn render(&self, commits: Option<&CommitStats>) -> String {
        let mut out = String::new();
        let mut counters: Vec<(&str, &str, &str, i64)> = vec![
            (
                "madoguchi_messages_created_total",
                "counter",
                "Messages committed.",
                self.messages_created.load(Ordering::Relaxed) as i64,
            ),
            (
                "madoguchi_conversations_created_total",
                "counter",
                "Conversations started.",
                self.conversations_created.load(Ordering::Relaxed) as i64,
            ),
            (
                "madoguchi_login_failures_total",
                "counter",
                "Failed agent logins.",
                self.login_failures.load(Ordering::Relaxed) as i64,
            ),
            (
                "madoguchi_password_checks_total",
                "counter",
                "Password hashes checked (one per login attempt, whether the e-mail is known or not).",
                self.password_checks.load(Ordering::Relaxed) as i64,
            ),
            (
                "madoguchi_websocket_connections",
                "gauge",
                "Open WebSocket connections.",
                self.ws_connections.load(Ordering::Relaxed),
            ),
        ];
        if let Some(commits) = commits {
            counters.push((
                "madoguchi_store_commits_total",
                "counter",
                "Transactions the group committer committed.",
                commits.batches.load(Ordering::Relaxed) as i64,
            ));
            counters.push((
                "madoguchi_store_grouped_writes_total",
                "counter",
                "Writes committed by the group committer (writes / commits = mean batch size).",
                commits.writes.load(Ordering::Relaxed) as i64,
            ));
        }
        for (name, kind, help, value) in counters {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}"
            );
        }
        out
    }
}
