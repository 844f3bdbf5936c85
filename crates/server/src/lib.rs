//! The Madoguchi server: HTTP API, WebSocket hub, authentication, and the `madoguchi` CLI.
//!
//! # Layout
//! - [`cli`]: the command line (`serve`, `agent create`, `config`).
//! - [`settings`]: defaults → TOML → `MADOGUCHI_*` environment → flags.
//! - [`app`]: shared state, the router, `launch` with graceful shutdown.
//! - [`routes`]: HTTP handlers, documented into `/api/openapi.json` as they are registered.
//! - [`ui`]: widget script, inbox and admin pages, assets and locales; [`cors`] for the widget API.
//! - [`auth`]: agent and visitor credentials, CSRF rules, password hashing.
//! - [`messaging`]: commit a message, then publish it — the one write path for messages.
//! - [`hub`]: in-process fan-out of committed events; [`ws`]: WebSocket sessions with replay.
//! - [`views`]: what each audience sees of stored things; [`error`]: the JSON error type.
//! - [`autoreply`]: greeting, expectation and away messages; [`notify`]: reply notifications by
//!   e-mail and SMS with signed links; [`jobs`]: runs the durable jobs; [`clock`]: time.
//! - [`kb`]: the knowledge base's per-workspace search index; [`bot`]: the support bot that
//!   answers from it; [`help`]: the public help center pages.
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
pub mod autoreply;
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
pub mod jobs;
pub mod kb;
pub mod messaging;
pub mod metrics;
pub mod notify;
pub mod rate_limit;
mod routes;
pub mod settings;
mod ui;
pub mod views;
pub mod ws;
