//! One log line per request (`madoguchi::access`): method, path, status and time taken. Query
//! strings are never logged: they carry WebSocket tokens and signed-link signatures.

use std::time::Instant;

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;

pub async fn access_log(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let response = next.run(request).await;
    let status = response.status().as_u16();
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    if status >= 500 {
        tracing::warn!(target: "madoguchi::access", %method, %path, status, ms = format!("{ms:.1}"));
    } else {
        tracing::info!(target: "madoguchi::access", %method, %path, status, ms = format!("{ms:.1}"));
    }
    response
}
