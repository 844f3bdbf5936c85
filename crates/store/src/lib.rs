//! Persistence for Madoguchi: one body of SQL for SQLite (the default) and PostgreSQL.
//!
//! Every write that a client will see acknowledged runs in one transaction and is committed before
//! the call returns. SQL is written once in the dialect both backends share (`$1` placeholders,
//! `RETURNING`, `ON CONFLICT`); times are Unix milliseconds, ids UUIDv7 strings.
//!
//! # Layout
//! - [`cache`]: read caches for channels, workspaces and the knowledge base's version.
//! - [`db`]: the [`Store`] handle, connection set-up, write transactions, migrations.
//! - [`group_commit`]: concurrent short writes (messages, conversation updates, jobs, bot turns)
//!   sharing one commit on SQLite.
//! - [`demo`]: a synthetic shop history for demos and benchmarks, written in bulk.
//! - [`workspaces`]: workspaces and channels.
//! - [`agents`]: agents and their session / API tokens (stored hashed); [`account_links`]:
//!   invitations and password resets sent by e-mail.
//! - [`contacts`]: contacts and their identities (visitor token hash, e-mail, phone, shop user ids).
//! - [`conversations`]: conversations, their filters, tags and updates.
//! - [`messages`]: appending messages (idempotent on `client_id`) and reading them by `seq`.
//! - [`attachments`]: files attached to messages, stored in the database.
//! - [`reports`]: the facts the KPI reports read.
//! - [`teams`]: teams and members, agents' scope, capacity and away switch, routing rules.
//! - [`classification`]: a workspace's categories and the labelled history its classifier learns;
//!   which sensitive data it masks.
//! - [`templates`]: canned replies and the tag list.
//! - [`audit`]: the hash-chained audit log.
//! - [`erasure`]: a contact's data: its export and its erasure.
//! - [`harassment`]: flagged and reported messages, decisions, blocked senders, case evidence.
//! - [`mail`]: the Message-IDs of each conversation's mails, for threading.
//! - [`knowledge`]: knowledge-base articles, synonyms, and the bot's turns.
//! - [`webhooks`]: outgoing webhooks, their failures in a row and their delivery log.
//! - [`jobs`]: the durable job queue (auto-replies, notifications) and server secrets.
//! - [`testing`] (feature `testing`): fresh databases for tests on both backends.
//!
//! # Tasks
//! On SQLite the store spawns one task, the group committer, when it connects (so
//! [`Store::connect`] needs a Tokio runtime); writers queue on one in-process lock so that a
//! transaction never meets `SQLITE_BUSY` half-way.
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod account_links;
pub mod agents;
pub mod article_vectors;
pub mod attachments;
pub mod audit;
pub mod brands;
pub mod cache;
pub mod classification;
pub mod contacts;
pub mod conversations;
pub mod db;
pub mod demo;
pub mod erasure;
pub mod group_commit;
pub mod harassment;
pub mod jobs;
pub mod knowledge;
pub mod mail;
pub mod messages;
pub mod messaging;
pub mod reports;
pub mod teams;
pub mod templates;
#[cfg(feature = "testing")]
pub mod testing;
pub mod webhooks;
pub mod workspaces;

pub use db::{Backend, Store};

/// What can go wrong in the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("invalid reference: {0}")]
    InvalidReference(String),
    #[error("stored data is not valid: {0}")]
    Corrupt(String),
    #[error("database error: {0}")]
    Database(sqlx::Error),
}

impl From<sqlx::Error> for StoreError {
    fn from(err: sqlx::Error) -> Self {
        match err {
            sqlx::Error::RowNotFound => StoreError::NotFound,
            other => StoreError::Database(other),
        }
    }
}

impl From<madoguchi_core::InvalidValue> for StoreError {
    fn from(err: madoguchi_core::InvalidValue) -> Self {
        StoreError::Corrupt(err.to_string())
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Current time in Unix milliseconds.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// A new time-ordered id.
pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// Whether a database error is a unique-constraint violation (both backends).
pub(crate) fn is_unique_violation(err: &sqlx::Error) -> bool {
    matches!(err, sqlx::Error::Database(db) if db.is_unique_violation())
}
