//! The HTTP layer's shared pieces, below every feature: the error type and its codes
//! ([`error`]), the JSON shapes stored things are shown in ([`views`]), CORS for the widget API
//! ([`cors`]), the client's address behind trusted proxies ([`client_ip`]), rate and connection limits ([`rate_limit`]) and the Prometheus counters
//! ([`metrics`]), a log line per request ([`access_log`]) and a time limit per request
//! ([`deadline`]).

pub mod access_log;
pub mod client_ip;
pub mod cors;
pub mod deadline;
pub mod error;
pub mod metrics;
pub mod rate_limit;
pub mod views;
