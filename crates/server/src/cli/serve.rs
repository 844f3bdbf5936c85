//! `madoguchi serve`'s HTTP side: the full router (API, widget, pages, help center, OpenAPI
//! document) with its body limit, CORS and security headers, and [`launch`] (serve on a
//! listener until a shutdown future resolves, then tell WebSockets to close and drain).

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::http::{header, HeaderValue};
use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::app::AppState;

/// Largest request body accepted (a message is at most 10,000 characters, ~30 KB of UTF-8).
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// The full router: API, WebSockets, OpenAPI document, health and metrics.
pub fn router(state: AppState) -> Router {
    let (router, openapi) = crate::api::api_router().split_for_parts();
    let openapi = Arc::new(openapi);
    router
        .merge(crate::web::pages::routes())
        .merge(crate::web::help_center::routes())
        .route(
            "/api/openapi.json",
            axum::routing::get(move || {
                let openapi = openapi.clone();
                async move { axum::Json(openapi.as_ref().clone()) }
            }),
        )
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(axum::middleware::from_fn(crate::http::cors::widget_cors))
        .layer(axum::middleware::map_response(security_headers))
        .layer(axum::middleware::from_fn(
            crate::http::access_log::access_log,
        ))
        .with_state(state)
}

async fn security_headers(mut response: axum::response::Response) -> axum::response::Response {
    let headers = response.headers_mut();
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    response
}

/// Serves until `shutdown` resolves; then WebSockets are told to close and open requests drain.
pub async fn launch(
    listener: TcpListener,
    state: AppState,
    shutdown_tx: watch::Sender<bool>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = router(state).into_make_service_with_connect_info::<SocketAddr>();
    axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            shutdown.await;
            let _ = shutdown_tx.send(true);
        })
        .await
}
