//! End-to-end tests over real HTTP and WebSocket, against SQLite and PostgreSQL.

mod attachments;
mod authz;
mod automation;
mod bad_input;
mod browser;
mod cluster;
mod connections;
mod core_loop;
mod crash;
mod email;
mod eval;
mod harassment;
mod identity;
mod imap;
mod knowledge;
mod lifecycle;
mod notifications;
mod presence;
mod reports;
mod routing;
mod search;
mod shop;
mod sla;
mod support;
mod system;
mod ui_api;
