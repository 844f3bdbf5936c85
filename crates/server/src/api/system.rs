//! Health and metrics for operators.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, State};
use axum::http::{header, HeaderMap};
use axum::response::IntoResponse;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::AppState;
use crate::http::error::{ApiResult, AppError, ErrorBody, ErrorCode, Json};
use crate::knowledge::models::SemanticHealth;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(healthz))
        .routes(routes!(metrics))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    status: &'static str,
    /// The full-text search index: `ready` once it has caught up with the store since start.
    search: SearchHealth,
    /// The knowledge base's sentence encoder: `ready`, `loading` or `lexical` (and why).
    semantic: SemanticHealth,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SearchHealth {
    ready: bool,
    documents: u64,
}

/// Liveness, database reachability, and whether the search index is up to date.
#[utoipa::path(get, path = "/healthz", tag = "system", responses((status = 200, body = Health), (status = 503, body = ErrorBody)))]
async fn healthz(State(state): State<AppState>) -> ApiResult<Json<Health>> {
    state.store.ping().await.map_err(|err| {
        AppError::new(
            ErrorCode::Unavailable,
            format!("database unreachable: {err}"),
        )
    })?;
    Ok(Json(Health {
        status: "ok",
        search: SearchHealth {
            ready: state.search.is_ready(),
            documents: state.search.index().map_or(0, |i| i.documents()),
        },
        semantic: state.kb.models.health(),
    }))
}

/// Prometheus metrics in the text exposition format: for `Authorization: Bearer
/// {metrics_token}`, or for loopback clients while no token is set.
#[utoipa::path(get, path = "/metrics", tag = "system", responses((status = 200, content_type = "text/plain", body = String), (status = 401, body = ErrorBody)))]
async fn metrics(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> ApiResult<impl IntoResponse> {
    let allowed = match &state.settings.metrics_token {
        Some(token) => headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .is_some_and(|given| constant_time_eq(given.as_bytes(), token.as_bytes())),
        None => peer.ip().is_loopback(),
    };
    if !allowed {
        return Err(AppError::new(
            ErrorCode::Unauthenticated,
            "metrics need the metrics token",
        ));
    }
    Ok((
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(state.store.commit_stats())
            + &state.kb.timings.render(
                "madoguchi_kb_search_seconds",
                "Knowledge-base searches (help center, search API, bot), the query's embedding included.",
            ),
    ))
}

/// Compares two secrets without stopping at the first difference.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0, |acc, (x, y)| acc | (x ^ y)) == 0
}
