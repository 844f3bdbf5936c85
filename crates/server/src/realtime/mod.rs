//! Real-time delivery: the [`hub`] fans committed events out to the sockets that may see them,
//! in process or across nodes through NATS. The WebSocket sessions themselves are
//! `api::sockets`.

pub mod hub;
