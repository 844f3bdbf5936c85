//! `madoguchi serve`'s HTTP side: the full router (API, widget, pages, help center, OpenAPI
//! document) with its body limit, CORS and security headers, and [`launch`] (serve on a
//! listener until a shutdown future resolves, then tell WebSockets to close and drain).

use std::future::Future;
use std::sync::Arc;

use std::time::Duration;

use axum::body::Body;
use axum::extract::{ConnectInfo, DefaultBodyLimit, Request};
use axum::http::{header, HeaderValue};
use axum::Router;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tower::ServiceExt;

use crate::app::AppState;

/// Largest request body accepted (a message is at most 10,000 characters, ~30 KB of UTF-8).
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// The full router: API, WebSockets, OpenAPI document, health and metrics.
pub fn router(state: AppState) -> Router {
    let (router, openapi) = crate::api::api_router().split_for_parts();
    let openapi = Arc::new(openapi);
    router
        // Every API route's permission, checked before its handler.
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::app::access::authorize,
        ))
        .merge(crate::web::pages::routes())
        .merge(crate::web::help_center::routes())
        .merge(crate::web::forms::routes())
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
        .layer(axum::middleware::from_fn_with_state(
            state.settings.rate_limits.request_timeout_secs,
            crate::http::deadline::deadline,
        ))
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
    // No framing, but for pages that say who may frame them (an embeddable form).
    let framable = headers
        .get(header::CONTENT_SECURITY_POLICY)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|csp| csp.contains("frame-ancestors"));
    if !framable {
        headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    }
    response
}

/// Serves until `shutdown` resolves; then WebSockets are told to close and open requests drain.
/// Each connection gets the header/idle timeout (a client that trickles headers or idles on a
/// kept-alive connection is cut off), requests a time limit (`408`), and each client address at
/// most `connections_per_ip` connections (more are closed at once).
pub async fn launch(
    listener: TcpListener,
    state: AppState,
    shutdown_tx: watch::Sender<bool>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let limits = &state.settings.rate_limits;
    let header_timeout = Duration::from_secs(u64::from(limits.header_timeout_secs.max(1)));
    let limits_of_state = state.limits.clone();
    let trusted = state.settings.trusted_proxies.clone();
    let app = router(state);
    // Told once when shutdown starts: each connection then finishes its request and closes.
    let (closing_tx, closing) = watch::channel(false);
    let mut open = tokio::task::JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        while open.try_join_next().is_some() {}
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(err) => {
                    // Out of file descriptors and the like: wait a little instead of spinning.
                    tracing::warn!(%err, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        // Behind a trusted proxy every client shares its address: the cap counts clients only.
        let slot = if trusted.iter().any(|range| range.contains(peer.ip())) {
            None
        } else {
            match limits_of_state.connections.acquire(peer.ip()) {
                Ok(slot) => Some(slot),
                Err(_) => continue,
            }
        };
        let app = app.clone();
        let service = hyper::service::service_fn(move |mut request: Request<Incoming>| {
            request.extensions_mut().insert(ConnectInfo(peer));
            app.clone().oneshot(request.map(Body::new))
        });
        let connection = http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(header_timeout)
            .serve_connection(TokioIo::new(stream), service)
            .with_upgrades();
        let mut closing = closing.clone();
        open.spawn(async move {
            let _slot = slot;
            tokio::pin!(connection);
            let ended = tokio::select! {
                ended = connection.as_mut() => ended,
                _ = async { closing.wait_for(|closing| *closing).await.map(|_| ()) } => {
                    connection.as_mut().graceful_shutdown();
                    connection.await
                }
            };
            if let Err(err) = ended {
                tracing::debug!(%err, %peer, "connection ended");
            }
        });
    }
    let _ = shutdown_tx.send(true);
    let _ = closing_tx.send(true);
    while open.join_next().await.is_some() {}
    Ok(())
}
