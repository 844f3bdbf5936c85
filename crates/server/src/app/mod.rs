//! The application's shared state, and what every feature builds on: [`settings`], the
//! [`clock`], the services' [`error`], agent and visitor credentials ([`auth`]) and who may
//! call which agent route ([`access`]), signed links ([`signing`]), the memo of
//! posted automatic messages ([`posted`]) and the first-start workspace ([`bootstrap`]).

pub mod access;
pub mod auth;
pub mod bootstrap;
pub mod clock;
pub mod error;
pub mod posted;
pub mod settings;
pub mod signing;

use std::sync::Arc;
use std::time::Duration;

use madoguchi_store::Store;
use tokio::sync::watch;

use crate::app::clock::{Clock, SystemClock};
use crate::app::posted::PostedOnce;
use crate::app::settings::Settings;
use crate::channels::outbound::{Notifier, NotifierError};
use crate::http::metrics::Metrics;
use crate::http::rate_limit::{ConnectionLimit, RateLimiter};
use crate::knowledge::index::KnowledgeBase;
use crate::realtime::hub::Hub;

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
    /// Each workspace's conversation classifier.
    pub classifiers: Arc<crate::knowledge::classifier::Classifiers>,
    /// This node's full-text index over messages.
    pub search: Arc<crate::knowledge::search::Search>,
    /// Automatic messages known to be posted already (see [`PostedOnce`]).
    pub posted: Arc<PostedOnce>,
    /// The installation's signing key, once read (see [`signing::link_key`]).
    pub signing_key: Arc<tokio::sync::OnceCell<String>>,
}

pub struct Limits {
    pub login: RateLimiter,
    pub visitor_session: RateLimiter,
    /// Per visitor (contact id).
    pub visitor_messages: RateLimiter,
    pub visitor_conversations: RateLimiter,
    pub websockets: ConnectionLimit,
    /// Open TCP connections per client address.
    pub connections: ConnectionLimit,
}

impl AppState {
    /// State for a server on the system clock; the returned sender starts the shutdown.
    pub fn new(
        store: Store,
        settings: Settings,
    ) -> Result<(Self, watch::Sender<bool>), NotifierError> {
        Self::with_clock(store, settings, Arc::new(SystemClock))
    }

    /// State for a server whose time is `clock` (tests step a [`crate::app::clock::ManualClock`]).
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
            visitor_messages: RateLimiter::new(
                settings.rate_limits.visitor_messages_per_minute,
                minute,
            ),
            visitor_conversations: RateLimiter::new(
                settings.rate_limits.visitor_conversations_per_hour,
                minute * 60,
            ),
            websockets: ConnectionLimit::new(settings.rate_limits.websockets_per_ip),
            connections: ConnectionLimit::new(settings.rate_limits.connections_per_ip),
        };
        let notifier = Arc::new(Notifier::new(&settings.smtp, &settings.sms)?);
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
            classifiers: Arc::default(),
            search: Arc::default(),
            posted: Arc::default(),
            signing_key: Arc::default(),
        };
        Ok((state, shutdown_tx))
    }
}
