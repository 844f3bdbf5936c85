//! The application: shared state, the router, and `launch` (serve on a listener until a
//! shutdown future resolves, then tell WebSockets to close and drain).

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::http::{header, HeaderValue};
use axum::Router;
use madoguchi_store::Store;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::automation::notifications::{Notifier, NotifierError};
use crate::bot::knowledge::KnowledgeBase;
use crate::clock::{Clock, SystemClock};
use crate::hub::Hub;
use crate::inbox::messages::PostedOnce;
use crate::metrics::Metrics;
use crate::rate_limit::{ConnectionLimit, RateLimiter};
use crate::routes;
use crate::settings::Settings;

/// Largest request body accepted (a message is at most 10,000 characters, ~30 KB of UTF-8).
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// Everything a request handler may need; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub hub: Hub,
    pub settings: Arc<Settings>,
    pub metrics: Arc<Metrics>,
    pub limits: Arc<Limits>,
    /// Changes once, when the server starts shutting down.
    pub shutdown: watch::Receiver<bool>,
    pub clock: Arc<dyn Clock>,
    pub notifier: Arc<Notifier>,
    pub kb: Arc<KnowledgeBase>,
    /// Automatic messages known to be posted already (see [`crate::inbox::messages::PostedOnce`]).
    pub posted: Arc<PostedOnce>,
}

pub struct Limits {
    pub login: RateLimiter,
    pub visitor_session: RateLimiter,
    pub websockets: ConnectionLimit,
}

impl AppState {
    /// State for a server on the system clock; the returned sender starts the shutdown.
    pub fn new(
        store: Store,
        settings: Settings,
    ) -> Result<(Self, watch::Sender<bool>), NotifierError> {
        Self::with_clock(store, settings, Arc::new(SystemClock))
    }

    /// State for a server whose time is `clock` (tests step a [`crate::clock::ManualClock`]).
    pub fn with_clock(
        store: Store,
        settings: Settings,
        clock: Arc<dyn Clock>,
    ) -> Result<(Self, watch::Sender<bool>), NotifierError> {
        let (shutdown_tx, shutdown) = watch::channel(false);
        let minute = Duration::from_secs(60);
        let limits = Limits {
            login: RateLimiter::new(settings.rate_limits.logins_per_minute, minute),
            visitor_session: RateLimiter::new(
                settings.rate_limits.visitor_sessions_per_minute,
                minute,
            ),
            websockets: ConnectionLimit::new(settings.rate_limits.websockets_per_ip),
        };
        let notifier = Arc::new(Notifier::new(&settings)?);
        let state = AppState {
            store,
            hub: Hub::default(),
            settings: Arc::new(settings),
            metrics: Arc::new(Metrics::default()),
            limits: Arc::new(limits),
            shutdown,
            clock,
            notifier,
            kb: Arc::default(),
            posted: Arc::default(),
        };
        Ok((state, shutdown_tx))
    }
}

/// The full router: API, WebSockets, OpenAPI document, health and metrics.
pub fn router(state: AppState) -> Router {
    let (router, openapi) = routes::api_router().split_for_parts();
    let openapi = Arc::new(openapi);
    router
        .merge(crate::ui::routes())
        .merge(crate::help::routes())
        .route(
            "/api/openapi.json",
            axum::routing::get(move || {
                let openapi = openapi.clone();
                async move { axum::Json(openapi.as_ref().clone()) }
            }),
        )
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(axum::middleware::from_fn(crate::cors::widget_cors))
        .layer(axum::middleware::map_response(security_headers))
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
