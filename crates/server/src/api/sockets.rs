//! WebSocket sessions for agents and visitors: live events they may see, and replay of what a
//! client missed (`{"type": "resume", "conversation_id", "after_seq"}`, or the same two as query
//! parameters on connect). For each conversation it resumed, a connection remembers the last
//! `seq` it sent, drops duplicates and fills gaps from the store, so a client sees messages in
//! order. Frames waiting in the hub are written together: one flush per wake-up.
//! `{"type": "typing", "conversation_id"}` tells the other side someone is writing (at most one
//! every [`TYPING_EVERY`] per conversation and connection; nothing is stored).
//!
//! Hygiene: connections per client IP are limited; the server pings every 30 s and drops a
//! client silent for 75 s; a client too slow for the hub's bounded queue is closed with 1013 and
//! resumes with `after_seq`, so one slow client never slows the others or grows memory.

use std::collections::HashMap;
use std::sync::atomic::Ordering;

use axum::extract::ws::{CloseFrame, Message as WsMessage, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::response::Response;
use futures_util::stream::SplitSink;
use futures_util::{SinkExt, StreamExt};
use madoguchi_store::StoreError;
use serde::Deserialize;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::broadcast;
use tokio::sync::broadcast::error::{RecvError, TryRecvError};

use crate::app::AppState;
use crate::http::error::AppError;
use crate::http::rate_limit::ConnectionSlot;
use crate::realtime::hub::{
    agent_message_frame, error_frame, visitor_message_frame, Event, Typist,
};
use madoguchi_store::conversations::{Conversation, Sight};

/// Who is on the other end, and so which events they may see.
#[derive(Debug, Clone)]
pub enum Viewer {
    Agent {
        workspace_id: String,
        /// The credential the socket was opened with: revoking it closes the socket.
        token_hash: String,
        agent_id: String,
        /// Shown to the customer and other agents while this agent types.
        name: String,
        /// The conversations they see, as when the socket opened.
        sight: Sight,
        /// Whether their role may answer (an analyst only watches: no typing notices).
        answers: bool,
    },
    Visitor {
        workspace_id: String,
        contact_id: String,
    },
}

impl Viewer {
    fn frame_of<'e>(&self, event: &'e Event) -> Option<&'e Utf8Bytes> {
        match self {
            Viewer::Agent {
                workspace_id,
                sight,
                ..
            } => (event.workspace_id == *workspace_id
                && sight.sees(event.team_id.as_deref(), event.brand_id.as_deref()))
            .then_some(&event.agent_frame),
            Viewer::Visitor { contact_id, .. } => (event.contact_id == *contact_id)
                .then_some(event.visitor_frame.as_ref())
                .flatten(),
        }
    }

    /// The conversation, when this viewer may read it.
    async fn readable(
        &self,
        state: &AppState,
        conversation_id: &str,
    ) -> Result<Option<Conversation>, StoreError> {
        let workspace_id = match self {
            Viewer::Agent { workspace_id, .. } | Viewer::Visitor { workspace_id, .. } => {
                workspace_id
            }
        };
        match state
            .store
            .conversation(workspace_id, conversation_id)
            .await
        {
            Ok(conversation) => Ok(match self {
                Viewer::Agent { sight, .. } => sight
                    .sees(
                        conversation.team_id.as_deref(),
                        conversation.brand_id.as_deref(),
                    )
                    .then_some(conversation),
                Viewer::Visitor { contact_id, .. } => {
                    (conversation.contact_id == *contact_id).then_some(conversation)
                }
            }),
            Err(StoreError::NotFound) => Ok(None),
            Err(err) => Err(err),
        }
    }
}

/// Query parameters of the WebSocket endpoints (the token parameters are read by the auth
/// extractors).
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
pub struct SocketParams {
    /// Replay this conversation's messages after `after_seq` before live events.
    pub conversation_id: Option<String>,
    pub after_seq: Option<i64>,
    /// Agents: a bearer token (browsers cannot set headers on WebSockets).
    pub access_token: Option<String>,
    /// Visitors: the visitor token.
    pub visitor_token: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
enum ClientFrame {
    Resume {
        conversation_id: String,
        after_seq: i64,
    },
    Typing {
        conversation_id: String,
    },
}

/// Typing notices a connection passes on per conversation: one per this interval.
const TYPING_EVERY: Duration = Duration::from_secs(2);

/// How often the server pings; a client that answers nothing (not even a pong) for
/// [`IDLE_TIMEOUT`] is disconnected.
const PING_EVERY: Duration = Duration::from_secs(30);
const IDLE_TIMEOUT: Duration = Duration::from_secs(75);
/// How long a closed connection waits for the client's close frame.
const CLOSE_GRACE: Duration = Duration::from_secs(10);

/// Read and write buffers per socket: small, so ten thousand idle widgets stay cheap.
const SOCKET_BUFFER: usize = 8 * 1024;

/// Largest frame a client may send.
const MAX_CLIENT_FRAME: usize = 16 * 1024;
/// Most queued events sent per wake-up before one flush.
const DRAIN: usize = 64;
/// Conversations a connection tracks for ordering (those it resumed); past this the oldest
/// tracked one is forgotten, so an agent resuming conversation after conversation stays small.
const MAX_TRACKED: usize = 256;
/// Messages fetched per query while replaying.
const REPLAY_PAGE: i64 = 500;

/// Subscribes before answering the upgrade, so every event committed after the client sees
/// the handshake reaches it.
pub fn upgrade(
    ws: WebSocketUpgrade,
    state: AppState,
    viewer: Viewer,
    params: SocketParams,
    peer: IpAddr,
) -> Result<Response, AppError> {
    let slot = state.limits.websockets.acquire(peer)?;
    let (events, revocations) = match &viewer {
        Viewer::Agent { workspace_id, .. } => (
            state.hub.subscribe_workspace(workspace_id),
            Some(state.hub.subscribe_revocations()),
        ),
        Viewer::Visitor { contact_id, .. } => (state.hub.subscribe_contact(contact_id), None),
    };
    let feeds = Feeds {
        events,
        revocations,
    };
    Ok(ws
        .max_message_size(MAX_CLIENT_FRAME)
        .read_buffer_size(SOCKET_BUFFER)
        .write_buffer_size(SOCKET_BUFFER)
        .on_upgrade(move |socket| run(socket, state, viewer, params, feeds, slot)))
}

/// What a socket listens to besides its client: the events it may see and, for agents, the
/// credentials revoked since it opened.
struct Feeds {
    events: broadcast::Receiver<Arc<Event>>,
    revocations: Option<broadcast::Receiver<Arc<str>>>,
}

/// The next revocation, or never (visitor sockets have none to watch).
async fn next_revocation(
    revocations: &mut Option<broadcast::Receiver<Arc<str>>>,
) -> Result<Arc<str>, RecvError> {
    match revocations {
        Some(receiver) => receiver.recv().await,
        None => std::future::pending().await,
    }
}

type Sink = SplitSink<WebSocket, WsMessage>;

struct Tracked {
    seq: i64,
    since: u64,
}

struct Connection {
    state: AppState,
    viewer: Viewer,
    /// Per resumed conversation, the last `seq` sent.
    last_sent: HashMap<String, Tracked>,
    /// Counts conversations tracked so far (their age).
    tracked: u64,
    sink: Sink,
    /// We sent a close frame and wait for the client's.
    closing: bool,
    /// When this connection last passed on a typing notice, per conversation (bounded).
    typing: HashMap<String, Instant>,
}

async fn run(
    socket: WebSocket,
    state: AppState,
    viewer: Viewer,
    params: SocketParams,
    feeds: Feeds,
    _slot: ConnectionSlot,
) {
    let Feeds {
        mut events,
        mut revocations,
    } = feeds;
    state.metrics.ws_connections.fetch_add(1, Ordering::Relaxed);
    let _present = match &viewer {
        Viewer::Agent { agent_id, .. } => Some(state.hub.agent_present(agent_id)),
        Viewer::Visitor { .. } => None,
    };
    let mut heartbeat = tokio::time::interval(PING_EVERY);
    let mut last_heard = Instant::now();
    let mut shutdown = state.shutdown.clone();
    let (sink, mut stream) = socket.split();
    let mut conn = Connection {
        state: state.clone(),
        viewer,
        last_sent: HashMap::new(),
        tracked: 0,
        sink,
        closing: false,
        typing: HashMap::new(),
    };
    let mut ok = match (params.conversation_id, params.after_seq) {
        (Some(conversation_id), after_seq) => conn
            .resume(&conversation_id, after_seq.unwrap_or(0))
            .await
            .is_ok(),
        _ => true,
    } && conn.sink.flush().await.is_ok();
    while ok {
        ok = tokio::select! {
            incoming = stream.next() => {
                last_heard = Instant::now();
                match incoming {
                Some(Ok(WsMessage::Text(text))) => conn.handle_client_frame(&text).await.is_ok(),
                Some(Ok(WsMessage::Binary(_))) => conn.send(error_frame("bad_request", "frames must be JSON text")).await.is_ok(),
                Some(Ok(WsMessage::Ping(_) | WsMessage::Pong(_))) => true,
                Some(Ok(WsMessage::Close(_)) | Err(_)) | None => false,
                }
            },
            _ = heartbeat.tick() => {
                if last_heard.elapsed() > IDLE_TIMEOUT {
                    conn.close(1001, "idle").await;
                    false
                } else {
                    conn.sink.send(WsMessage::Ping(Default::default())).await.is_ok()
                }
            },
            event = events.recv() => match event {
                Ok(event) => conn.deliver_ready(event, &mut events).await,
                Err(RecvError::Lagged(_)) => {
                    conn.lagging().await;
                    false
                }
                Err(RecvError::Closed) => false,
            },
            revoked = next_revocation(&mut revocations) => {
                let ours = match (&revoked, &conn.viewer) {
                    (Ok(hash), Viewer::Agent { token_hash, .. }) => **hash == **token_hash,
                    // Missed some: the session may be among them, so it ends to be safe.
                    (Err(RecvError::Lagged(_)), _) => true,
                    (Err(RecvError::Closed), _) => {
                        revocations = None;
                        false
                    }
                    _ => false,
                };
                if ours {
                    conn.close(1008, "session ended").await;
                }
                !ours
            },
            _ = shutdown.changed() => {
                conn.close(1001, "server shutting down").await;
                false
            }
        };
        // Frames are queued by `send`; one flush per wake-up writes them together.
        ok = ok && conn.sink.flush().await.is_ok();
    }
    if conn.closing {
        // Finish the closing handshake: wait (briefly) for the client's close, so that what we
        // sent, the close frame last, is read before the connection goes away.
        let _ = tokio::time::timeout(CLOSE_GRACE, async {
            while let Some(Ok(message)) = stream.next().await {
                if matches!(message, WsMessage::Close(_)) {
                    break;
                }
            }
        })
        .await;
    }
    state.metrics.ws_connections.fetch_sub(1, Ordering::Relaxed);
}

impl Connection {
    /// Queues a frame; the main loop flushes.
    async fn send(&mut self, frame: impl Into<Utf8Bytes>) -> Result<(), axum::Error> {
        self.sink.feed(WsMessage::Text(frame.into())).await
    }

    /// Too slow to keep up: the client reconnects and resumes with `after_seq`.
    async fn lagging(&mut self) {
        self.close(1013, "lagging; reconnect and resume").await;
    }

    /// Sends `first` and whatever else is already waiting (up to [`DRAIN`]), to be flushed
    /// together; false when the connection is done.
    async fn deliver_ready(
        &mut self,
        first: Arc<Event>,
        events: &mut broadcast::Receiver<Arc<Event>>,
    ) -> bool {
        let mut next = Some(first);
        let mut sent = 0;
        while let Some(event) = next.take() {
            if self.deliver(&event).await.is_err() {
                return false;
            }
            sent += 1;
            if sent == DRAIN {
                break;
            }
            next = match events.try_recv() {
                Ok(event) => Some(event),
                Err(TryRecvError::Lagged(_)) => {
                    self.lagging().await;
                    return false;
                }
                Err(TryRecvError::Empty) => None,
                Err(TryRecvError::Closed) => return false,
            };
        }
        true
    }

    async fn close(&mut self, code: u16, reason: &'static str) {
        self.closing = true;
        let frame = CloseFrame {
            code,
            reason: Utf8Bytes::from_static(reason),
        };
        let _ = self.sink.send(WsMessage::Close(Some(frame))).await;
    }

    async fn handle_client_frame(&mut self, text: &str) -> Result<(), axum::Error> {
        match serde_json::from_str::<ClientFrame>(text) {
            Ok(ClientFrame::Resume {
                conversation_id,
                after_seq,
            }) => self.resume(&conversation_id, after_seq).await,
            Ok(ClientFrame::Typing { conversation_id }) => self.typing(conversation_id).await,
            Err(err) => {
                self.send(error_frame("bad_request", &err.to_string()))
                    .await
            }
        }
    }

    /// Passes on that this viewer is writing in a conversation they may read.
    async fn typing(&mut self, conversation_id: String) -> Result<(), axum::Error> {
        if matches!(self.viewer, Viewer::Agent { answers: false, .. }) {
            return self
                .send(error_frame("forbidden", "this role does not answer"))
                .await;
        }
        let now = Instant::now();
        if self
            .typing
            .get(&conversation_id)
            .is_some_and(|at| now.duration_since(*at) < TYPING_EVERY)
        {
            return Ok(());
        }
        let conversation = match self.viewer.readable(&self.state, &conversation_id).await {
            Ok(Some(conversation)) => conversation,
            Ok(None) => {
                return self
                    .send(error_frame("not_found", "conversation not found"))
                    .await
            }
            Err(err) => {
                tracing::error!(%err, "typing failed");
                return self.send(error_frame("internal", "internal error")).await;
            }
        };
        if self.typing.len() >= MAX_TRACKED {
            self.typing.clear();
        }
        self.typing.insert(conversation_id, now);
        let typist = match &self.viewer {
            Viewer::Agent { agent_id, name, .. } => Typist::Agent { id: agent_id, name },
            Viewer::Visitor { .. } => Typist::Contact,
        };
        self.state.hub.typing(&conversation, typist);
        Ok(())
    }

    /// Sends every message after `after_seq` that this viewer may see, then tracks the
    /// conversation so live events continue from there.
    async fn resume(&mut self, conversation_id: &str, after_seq: i64) -> Result<(), axum::Error> {
        match self.viewer.readable(&self.state, conversation_id).await {
            Ok(Some(_)) => self.catch_up(conversation_id, after_seq.max(0)).await,
            Ok(None) => {
                self.send(error_frame("not_found", "conversation not found"))
                    .await
            }
            Err(err) => {
                tracing::error!(%err, "resume failed");
                self.send(error_frame("internal", "internal error")).await
            }
        }
    }

    async fn catch_up(
        &mut self,
        conversation_id: &str,
        mut after_seq: i64,
    ) -> Result<(), axum::Error> {
        let include_private = matches!(self.viewer, Viewer::Agent { .. });
        loop {
            let page = match self
                .state
                .store
                .messages_after(conversation_id, after_seq, include_private, REPLAY_PAGE)
                .await
            {
                Ok(page) => page,
                Err(err) => {
                    tracing::error!(%err, "replay failed");
                    return self.send(error_frame("internal", "internal error")).await;
                }
            };
            for message in &page {
                let frame = if include_private {
                    agent_message_frame(message)
                } else {
                    visitor_message_frame(message)
                };
                self.send(frame).await?;
                after_seq = message.seq;
            }
            self.track(conversation_id, after_seq);
            if (page.len() as i64) < REPLAY_PAGE {
                return Ok(());
            }
        }
    }

    async fn deliver(&mut self, event: &Event) -> Result<(), axum::Error> {
        let Some(frame) = self.viewer.frame_of(event) else {
            return Ok(());
        };
        if !event.is_message {
            return self.send(frame.clone()).await;
        }
        match self.last_sent.get(&event.conversation_id).map(|t| t.seq) {
            Some(last) if event.seq <= last => Ok(()),
            Some(last) if event.seq > last + 1 => {
                self.catch_up(&event.conversation_id.clone(), last).await
            }
            Some(_) => {
                self.track(&event.conversation_id, event.seq);
                self.send(frame.clone()).await
            }
            // Not resumed on this connection: passed on as it comes.
            None => self.send(frame.clone()).await,
        }
    }

    fn track(&mut self, conversation_id: &str, seq: i64) {
        if let Some(last) = self.last_sent.get_mut(conversation_id) {
            last.seq = seq;
            return;
        }
        if self.last_sent.len() >= MAX_TRACKED {
            let oldest = self
                .last_sent
                .iter()
                .min_by_key(|(_, tracked)| tracked.since)
                .map(|(id, _)| id.clone());
            if let Some(oldest) = oldest {
                self.last_sent.remove(&oldest);
            }
        }
        self.tracked += 1;
        self.last_sent.insert(
            conversation_id.to_owned(),
            Tracked {
                seq,
                since: self.tracked,
            },
        );
    }
}
