//! The Madoguchi server: HTTP API, WebSocket hub, authentication, and the `madoguchi` CLI.
//!
//! # Layout
//! - [`cli`]: the command line (`serve`, `agent create`, `config`).
//! - [`settings`]: defaults → TOML → `MADOGUCHI_*` environment → flags.
//! - [`app`]: shared state, the router, `launch` with graceful shutdown.
//! - [`routes`]: HTTP handlers, documented into `/api/openapi.json` as they are registered.
//! - [`ui`]: widget script, inbox and admin pages, assets and locales; [`cors`] for the widget API.
//! - [`auth`]: agent and visitor credentials, CSRF rules, password hashing.
//! - [`inbox`]: the doors — a message, or a conversation change, is written with the jobs it
//!   triggers in one transaction, then published.
//! - [`automation`]: the rules that react — [`automation::intake`] is where customer and agent
//!   messages enter (plan their jobs, write through the door, react); auto-replies, reply
//!   notifications by e-mail and SMS, the job runner.
//! - [`bot`]: the support bot and its per-workspace knowledge index; [`help`]: the public help
//!   center pages.
//! - [`hub`]: in-process fan-out of committed events; [`ws`]: WebSocket sessions with replay.
//! - [`views`]: what each audience sees of stored things; [`error`]: the JSON error type;
//!   [`clock`]: time.
//! - [`eval`]: `madoguchi eval faq`, the retrieval benchmark; [`bench`]: `madoguchi bench store|realtime`.
//! - [`rate_limit`], [`metrics`], [`bootstrap`] (first-start workspace).
//!
//! # Tasks
//! `launch` runs the axum server; each WebSocket runs in its own task, which ends when the
//! client leaves, lags behind the hub, or the shutdown signal fires. `serve` also runs the job
//! runner, which stops with the same shutdown signal.
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod app;
pub mod auth;
pub mod automation;
mod bench;
pub mod bootstrap;
pub mod bot;
pub mod cli;
pub mod clock;
mod cors;
pub mod error;
mod eval;
mod help;
pub mod hub;
pub mod inbox;
pub mod metrics;
pub mod rate_limit;
mod routes;
pub mod settings;
mod ui;
pub mod views;
pub mod ws;
