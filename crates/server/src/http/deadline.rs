//! A time limit for each request, its body included: a client that sends half a body and stops
//! gets `408` instead of holding the connection (the header and idle timeouts are the accept
//! loop's, in `cli::serve`).

use std::time::Duration;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::http::error::{AppError, ErrorCode};

pub async fn deadline(State(secs): State<u32>, request: Request, next: Next) -> Response {
    let limit = Duration::from_secs(u64::from(secs.max(1)));
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => AppError::new(
            ErrorCode::RequestTimeout,
            "the request took too long to arrive",
        )
        .into_response(),
    }
}
