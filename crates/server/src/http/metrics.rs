//! Process-wide counters and latency histograms, rendered in the Prometheus text format at
//! `/metrics`.

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

/// Upper bounds of the latency buckets, in milliseconds.
const BUCKETS_MS: [f64; 10] = [0.5, 1.0, 2.0, 3.0, 5.0, 7.5, 10.0, 20.0, 50.0, 100.0];

/// Durations counted into fixed buckets (a Prometheus histogram).
#[derive(Debug, Default)]
pub struct Histogram {
    /// Per bucket of [`BUCKETS_MS`], then the overflow.
    counts: [AtomicU64; BUCKETS_MS.len() + 1],
    sum_micros: AtomicU64,
}

impl Histogram {
    pub fn observe(&self, elapsed: std::time::Duration) {
        let ms = elapsed.as_secs_f64() * 1000.0;
        let bucket = BUCKETS_MS
            .iter()
            .position(|bound| ms <= *bound)
            .unwrap_or(BUCKETS_MS.len());
        self.counts[bucket].fetch_add(1, Ordering::Relaxed);
        self.sum_micros
            .fetch_add(elapsed.as_micros() as u64, Ordering::Relaxed);
    }

    /// `name` in the text format: cumulative buckets (`le` in seconds), sum and count.
    pub fn render(&self, name: &str, help: &str) -> String {
        let mut out = format!("# HELP {name} {help}\n# TYPE {name} histogram\n");
        let mut total = 0;
        for (i, count) in self.counts.iter().enumerate() {
            total += count.load(Ordering::Relaxed);
            let le = BUCKETS_MS
                .get(i)
                .map_or("+Inf".to_owned(), |ms| (ms / 1000.0).to_string());
            let _ = writeln!(out, "{name}_bucket{{le=\"{le}\"}} {total}");
        }
        let sum = self.sum_micros.load(Ordering::Relaxed) as f64 / 1e6;
        let _ = writeln!(out, "{name}_sum {sum}\n{name}_count {total}");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_histogram_counts_cumulatively() {
        let h = Histogram::default();
        h.observe(Duration::from_micros(300));
        h.observe(Duration::from_millis(4));
        h.observe(Duration::from_millis(400));
        let text = h.render("x_seconds", "X.");
        assert!(text.contains("x_seconds_bucket{le=\"0.0005\"} 1"), "{text}");
        assert!(text.contains("x_seconds_bucket{le=\"0.005\"} 2"), "{text}");
        assert!(text.contains("x_seconds_bucket{le=\"0.1\"} 2"), "{text}");
        assert!(text.contains("x_seconds_bucket{le=\"+Inf\"} 3"), "{text}");
        assert!(text.contains("x_seconds_count 3"), "{text}");
    }
}
