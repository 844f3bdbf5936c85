//! Process-wide counters, rendered in the Prometheus text format at `/metrics`.

use std::fmt::Write;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

#[derive(Debug, Default)]
pub struct Metrics {
    pub messages_created: AtomicU64,
    pub conversations_created: AtomicU64,
    pub login_failures: AtomicU64,
    pub ws_connections: AtomicI64,
}

impl Metrics {
    pub fn render(&self) -> String {
        let mut out = String::new();
        let counters: [(&str, &str, &str, i64); 4] = [
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
                "madoguchi_websocket_connections",
                "gauge",
                "Open WebSocket connections.",
                self.ws_connections.load(Ordering::Relaxed),
            ),
        ];
        for (name, kind, help, value) in counters {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}"
            );
        }
        out
    }
}
