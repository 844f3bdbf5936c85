//! The Madoguchi server: HTTP API, WebSocket hub, automation, the support bot, and the
//! `madoguchi` CLI, laid out by feature.
//!
//! # Layout, and the order of dependencies
//! Each folder may use the folders below it, never one above (checked by the `layout` test,
//! which reads the `crate::` paths of every file):
//!
//! 1. [`cli`] — `serve` (the router, `launch`), `agent`, `audit`, `eval`, `bench`.
//! 2. [`api`] — the HTTP handlers of the agent, admin, knowledge and widget APIs and the
//!    WebSocket sessions, each documented into `/api/openapi.json` as it is registered.
//! 3. [`web`] — the widget script, inbox/admin/login pages, assets, locales, help center.
//! 4. [`automation`] — the rules that react: [`automation::intake`] is where customer and agent
//!    messages enter (it plans their jobs, writes through the door, then reacts);
//!    [`automation::mail_intake`] turns inbound mail into contacts, threads and messages;
//!    auto-replies, reply notifications, the job runner.
//! 5. [`bot`] — answering from the knowledge base, the customer's feedback.
//! 6. [`inbox`] — the doors: a message or a conversation change is written with the jobs it
//!    triggers in one transaction, then published; [`inbox::outbox`] mails what agents and
//!    auto-replies write in e-mail conversations; channel settings as typed values.
//! 7. [`app`] — the shared state, settings, clock, the services' error (no HTTP in it; mapped
//!    to status and code in one `From`), credentials and extractors, signed links, start-up.
//! 8. [`realtime`] (the hub, NATS), [`knowledge`] (the per-workspace search index),
//!    [`channels`] (provider adapters: mail parsing, spam flags and the SMTP receiver; e-mail
//!    and SMS out).
//! 9. [`http`] — error codes, JSON views, CORS, rate limits, metrics.
//!
//! # Tasks
//! `launch` runs the axum server; each WebSocket runs in its own task, which ends when the
//! client leaves, lags behind the hub, or the shutdown signal fires. `serve` also runs the job
//! runner, which stops with the same shutdown signal and finishes the job in hand first, and
//! (with `smtp_inbound.bind`) the SMTP receiver, a task per SMTP session.
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod api;
pub mod app;
pub mod automation;
pub mod bot;
pub mod channels;
pub mod cli;
pub mod http;
pub mod inbox;
pub mod knowledge;
pub mod realtime;
pub mod web;

/// The layout's dependency order, as the `//!` above states it: a folder may use the folders of
/// a later rank, never one of an earlier or the same rank (but itself).
#[cfg(test)]
mod layout {
    const RANKS: &[(&str, u8)] = &[
        ("cli", 1),
        ("api", 2),
        ("web", 3),
        ("automation", 4),
        ("bot", 5),
        ("inbox", 6),
        ("app", 7),
        ("realtime", 8),
        ("knowledge", 8),
        ("channels", 8),
        ("http", 9),
    ];

    fn rank(folder: &str) -> Option<u8> {
        RANKS.iter().find(|(f, _)| *f == folder).map(|(_, r)| *r)
    }

    /// The `.rs` files under `dir`, subfolders included.
    fn rust_files(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
        let mut files = Vec::new();
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                files.extend(rust_files(&path));
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
        files
    }

    #[test]
    fn folders_use_only_the_folders_below_them() {
        let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut violations = Vec::new();
        let mut folders = 0;
        for entry in std::fs::read_dir(&src).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if !path.is_dir() {
                assert!(
                    name == "lib.rs" || name == "main.rs",
                    "the root holds only lib.rs, main.rs and folders: {name}"
                );
                continue;
            }
            folders += 1;
            let own = rank(&name).unwrap_or_else(|| panic!("folder {name} has no rank"));
            for file in rust_files(&path) {
                let text = std::fs::read_to_string(&file).unwrap();
                for (at, _) in text.match_indices("crate::") {
                    let used: String = text[at + 7..]
                        .chars()
                        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                        .collect();
                    let Some(theirs) = rank(&used) else { continue };
                    if used != name && theirs <= own {
                        violations.push(format!("{} uses crate::{used}", file.display()));
                    }
                }
            }
        }
        assert_eq!(folders, RANKS.len(), "every folder is ranked");
        violations.sort();
        violations.dedup();
        assert!(violations.is_empty(), "{violations:#?}");
    }
}
