//! A server on port 0 over a fresh database, and clients for visitors and agents.

use std::net::SocketAddr;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use madoguchi_core::agent::{Email, Role};
use madoguchi_server::app::auth::hash_password;
use madoguchi_server::app::bootstrap::ensure_default_workspace;
use madoguchi_server::app::clock::{Clock, ManualClock};
use madoguchi_server::app::settings::Settings;
use madoguchi_server::app::AppState;
use madoguchi_server::cli::serve::launch;
use madoguchi_store::agents::NewAgent;
use madoguchi_store::testing::TestDatabase;
use madoguchi_store::{Backend, Store};
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::net::TcpStream;
use tokio::process::{Child, Command};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// Runs each named async test function once per backend (PostgreSQL when configured).
macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let app = $crate::support::TestApp::spawn(madoguchi_store::Backend::Sqlite).await.unwrap();
                super::$name(app).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if let Some(app) = $crate::support::TestApp::spawn(madoguchi_store::Backend::Postgres).await {
                    super::$name(app).await;
                }
            }
        }
    )*};
}
pub(crate) use both_backends;

/// A Thursday morning in Tokyo: open by the default business hours.
pub const IN_HOURS: &str = "2026-11-26T10:00:00";

/// Unix milliseconds of a Tokyo local time `YYYY-MM-DDTHH:MM:SS`.
pub fn tokyo_ms(local: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(&format!("{local}+09:00"))
        .unwrap()
        .timestamp_millis()
}

pub type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

pub struct TestApp {
    pub state: AppState,
    /// The server's clock; it starts at [`IN_HOURS`] and moves only when a test moves it.
    pub clock: Arc<ManualClock>,
    pub url: String,
    pub addr: SocketAddr,
    pub store: Store,
    pub workspace_id: String,
    pub channel_key: String,
    pub http: reqwest::Client,
    _db: TestDatabase,
    _shutdown: tokio::sync::oneshot::Sender<()>,
}

pub struct Agent {
    pub id: String,
    pub token: String,
    pub csrf: String,
}

pub struct Visitor {
    pub token: String,
}
impl TestApp {
    pub async fn spawn(backend: Backend) -> Option<Self> {
        Self::spawn_with(backend, Settings::default()).await
    }

    pub async fn spawn_with(backend: Backend, mut settings: Settings) -> Option<Self> {
        // Each server has a data folder of its own (the search index lives there).
        settings.data_dir =
            std::env::temp_dir().join(format!("mdg-data-{}", madoguchi_store::new_id()));
        let db = TestDatabase::create(backend).await?;
        let store = db.store().await;
        let boot = ensure_default_workspace(&store).await.unwrap();
        let clock = Arc::new(ManualClock::new(tokyo_ms(IN_HOURS)));
        let ids = (boot.workspace.id, boot.created_channel.unwrap().public_key);
        Some(Self::serve(db, store, settings, clock, ids).await)
    }

    /// A server on `store` with its own state, on a new port.
    async fn serve(
        db: TestDatabase,
        store: Store,
        mut settings: Settings,
        clock: Arc<ManualClock>,
        (workspace_id, channel_key): (String, String),
    ) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        settings
            .public_url
            .get_or_insert_with(|| format!("http://{addr}"));
        let (state, shutdown_tx) =
            AppState::with_clock(store.clone(), settings, clock.clone()).unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        madoguchi_server::automation::indexing::spawn_indexer(state.clone());
        madoguchi_server::automation::webhooks::spawn_dispatcher(state.clone());
        tokio::spawn(launch(listener, state.clone(), shutdown_tx, async move {
            let _ = stopped.await;
        }));
        TestApp {
            state,
            clock,
            url: format!("http://{addr}"),
            addr,
            store,
            workspace_id,
            channel_key,
            http: reqwest::Client::new(),
            _db: db,
            _shutdown: stop,
        }
    }

    /// The server stopped and started again on the same database: new state (caches, models,
    /// connections), the clock where it was.
    pub async fn restart(self) -> Self {
        let TestApp {
            state,
            clock,
            workspace_id,
            channel_key,
            _db: db,
            _shutdown: stop,
            ..
        } = self;
        drop(stop);
        // The old node lets its search index go before the new one opens the folder.
        for _ in 0..100 {
            if state.search.index().is_none() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let mut settings = (*state.settings).clone();
        settings.public_url = None;
        let store = db.store().await;
        let clock = Arc::new(ManualClock::new(clock.now_ms()));
        Self::serve(db, store, settings, clock, (workspace_id, channel_key)).await
    }

    /// Creates an agent in `workspace_id` and logs in over HTTP.
    pub async fn agent_in(&self, workspace_id: &str, email: &str, role: Role) -> Agent {
        let hash = hash_password("password-123".into()).await.unwrap();
        let agent = self
            .store
            .create_agent(NewAgent {
                workspace_id,
                email: &Email::parse(email).unwrap(),
                name: "テスト担当",
                role,
                password_hash: &hash,
            })
            .await
            .unwrap();
        self.login(email, "password-123", &agent.id).await
    }

    /// A new session for an existing agent (`password-123` unless they changed it).
    pub async fn login(&self, email: &str, password: &str, agent_id: &str) -> Agent {
        let login: Value = self
            .post(
                "/api/v1/auth/login",
                &json!({"email": email, "password": password}),
            )
            .send()
            .await
            .unwrap()
            .error_for_status()
            .unwrap()
            .json()
            .await
            .unwrap();
        Agent {
            id: agent_id.to_owned(),
            token: login["token"].as_str().unwrap().to_owned(),
            csrf: login["csrf_token"].as_str().unwrap().to_owned(),
        }
    }

    pub async fn agent(&self, email: &str) -> Agent {
        let workspace = self.workspace_id.clone();
        self.agent_in(&workspace, email, Role::Agent).await
    }

    /// A second workspace with its own widget channel: `(workspace_id, channel_key)`.
    pub async fn other_workspace(&self) -> (String, String) {
        let workspace = self.store.create_workspace("Other shop").await.unwrap();
        let channel = self
            .store
            .create_channel(&workspace.id, "widget", "Web")
            .await
            .unwrap();
        (workspace.id, channel.public_key)
    }

    pub async fn visitor(&self) -> Visitor {
        self.visitor_on(&self.channel_key.clone()).await
    }

    pub async fn visitor_on(&self, channel_key: &str) -> Visitor {
        let session: Value = self
            .post("/widget/v1/session", &json!({"channel_key": channel_key}))
            .send()
            .await
            .unwrap()
            .error_for_status()
            .unwrap()
            .json()
            .await
            .unwrap();
        assert!(
            session["contact_id"].is_null(),
            "a new visitor stores nothing"
        );
        Visitor {
            token: session["visitor_token"].as_str().unwrap().to_owned(),
        }
    }

    /// The contact id of a visitor who has written (a page view alone makes none).
    pub async fn contact_of(&self, visitor: &Visitor) -> String {
        let session: Value = self
            .post(
                "/widget/v1/session",
                &json!({"channel_key": visitor.token.split('.').next().unwrap(), "visitor_token": visitor.token}),
            )
            .send()
            .await
            .unwrap()
            .error_for_status()
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(session["visitor_token"], visitor.token.as_str());
        session["contact_id"]
            .as_str()
            .expect("the visitor has written")
            .to_owned()
    }

    /// `GET path` as `agent`, expecting success: the JSON answer.
    pub async fn get_json(&self, agent: &Agent, path: &str) -> Value {
        self.get(path)
            .bearer_auth(&agent.token)
            .send()
            .await
            .unwrap()
            .error_for_status()
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// Changes a channel's automation settings as `admin` would: read, edit, save.
    pub async fn change_automation(
        &self,
        admin: &Agent,
        channel_id: &str,
        edit: impl FnOnce(&mut Value),
    ) {
        let path = format!("/api/v1/channels/{channel_id}/automation");
        let mut automation = self.get_json(admin, &path).await;
        edit(&mut automation);
        self.http
            .put(format!("{}{path}", self.url))
            .bearer_auth(&admin.token)
            .json(&automation)
            .send()
            .await
            .unwrap()
            .error_for_status()
            .unwrap();
    }

    pub fn get(&self, path: &str) -> reqwest::RequestBuilder {
        self.http.get(format!("{}{path}", self.url))
    }

    pub fn post(&self, path: &str, body: &Value) -> reqwest::RequestBuilder {
        self.http.post(format!("{}{path}", self.url)).json(body)
    }

    pub fn patch(&self, path: &str, body: &Value) -> reqwest::RequestBuilder {
        self.http.patch(format!("{}{path}", self.url)).json(body)
    }

    /// Starts a conversation as `visitor`; returns the conversation id.
    pub async fn start(&self, visitor: &Visitor, body: &str) -> String {
        let response: Value = self
            .post("/widget/v1/conversations", &json!({"body": body}))
            .header("x-visitor-token", &visitor.token)
            .send()
            .await
            .unwrap()
            .error_for_status()
            .unwrap()
            .json()
            .await
            .unwrap();
        response["conversation"]["id"].as_str().unwrap().to_owned()
    }

    /// A further message from `visitor` in their conversation.
    pub async fn reply_as_visitor(&self, visitor: &Visitor, conversation: &str, body: &str) {
        self.post(
            &format!("/widget/v1/conversations/{conversation}/messages"),
            &json!({"body": body}),
        )
        .header("x-visitor-token", &visitor.token)
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap();
    }

    /// Sends a reply (or a note) as `agent`; returns the response body.
    pub async fn reply(
        &self,
        agent: &Agent,
        conversation: &str,
        body: &str,
        private: bool,
    ) -> Value {
        self.post(
            &format!("/api/v1/conversations/{conversation}/messages"),
            &json!({"body": body, "private": private}),
        )
        .bearer_auth(&agent.token)
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap()
        .json()
        .await
        .unwrap()
    }

    /// Runs the jobs due at the clock's time, as the background runner would.
    pub async fn run_jobs(&self) -> usize {
        madoguchi_server::automation::jobs::run_due_jobs(&self.state)
            .await
            .unwrap()
    }

    /// The bodies of a conversation's system (automatic) messages, as its visitor sees them.
    pub async fn system_messages(&self, visitor: &Visitor, conversation: &str) -> Vec<String> {
        self.visitor_messages(visitor, conversation)
            .await
            .into_iter()
            .filter(|m| m["sender_kind"] == "system")
            .map(|m| m["body"].as_str().unwrap().to_owned())
            .collect()
    }

    /// Messages of a conversation as its visitor sees them.
    pub async fn visitor_messages(&self, visitor: &Visitor, conversation: &str) -> Vec<Value> {
        let list: Value = self
            .get(&format!("/widget/v1/conversations/{conversation}/messages"))
            .header("x-visitor-token", &visitor.token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        list["messages"].as_array().unwrap().clone()
    }

    /// The test database (its directory holds a SQLite database the CLI can open).
    pub fn database(&self) -> &TestDatabase {
        &self._db
    }

    pub async fn ws(&self, path_and_query: &str) -> Ws {
        let request = format!("ws://{}{path_and_query}", self.addr)
            .into_client_request()
            .unwrap();
        tokio_tungstenite::connect_async(request).await.unwrap().0
    }

    pub async fn agent_ws(&self, agent: &Agent, extra: &str) -> Ws {
        self.ws(&format!("/api/v1/ws?access_token={}{extra}", agent.token))
            .await
    }

    pub async fn visitor_ws(&self, visitor: &Visitor, extra: &str) -> Ws {
        self.ws(&format!(
            "/widget/v1/ws?visitor_token={}{extra}",
            visitor.token
        ))
        .await
    }
}

/// `madoguchi serve`, the real binary, as a child process.
pub struct Server {
    pub child: Child,
    pub url: String,
    /// Printed on the first start of an empty database.
    pub channel_key: Option<String>,
}

/// Starts `madoguchi serve` on a free port and waits until it listens.
pub async fn start_server(db: &TestDatabase, env: &[(&str, &str)]) -> Server {
    let mut command = Command::new(env!("CARGO_BIN_EXE_madoguchi"));
    command
        .args(["serve", "--bind", "127.0.0.1:0", "--data-dir"])
        .arg(db.dir());
    if db.backend == Backend::Postgres {
        command.args(["--database-url", &db.url]);
    }
    // Only warnings and errors: the access log of a crash test would bury the test's output.
    command.env("RUST_LOG", "warn");
    // No test server fetches the sentence encoder from the registry (tests that want it give
    // a fetched models folder).
    command.env("MADOGUCHI_FETCH_MODELS", "false");
    command.envs(env.iter().copied());
    let mut child = command
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut channel_key = None;
    let url = tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            if let Some(key) = line.strip_prefix("widget channel key: ") {
                channel_key = Some(key.to_owned());
            }
            if let Some(url) = line.strip_prefix("listening on ") {
                return url.to_owned();
            }
        }
        panic!("server exited before listening");
    })
    .await
    .expect("server did not start within 30 s");
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    Server {
        child,
        url,
        channel_key,
    }
}

/// The next JSON frame, failing the test after 10 s.
pub async fn next_frame(ws: &mut Ws) -> Value {
    loop {
        let message = tokio::time::timeout(Duration::from_secs(10), ws.next())
            .await
            .expect("no frame within 10 s")
            .expect("socket closed")
            .expect("socket error");
        if let WsMessage::Text(text) = message {
            return serde_json::from_str(&text).unwrap();
        }
    }
}

/// The next `message.created` frame, skipping others.
pub async fn next_message(ws: &mut Ws) -> Value {
    loop {
        let frame = next_frame(ws).await;
        if frame["type"] == "message.created" {
            return frame;
        }
    }
}

/// Asserts that the next `message.created` frame carries `marker`: sent after whatever must not
/// reach this socket, a marker proves that nothing came before it (no sleep needed, and a closed
/// or failing socket fails the test).
pub async fn assert_next_message(ws: &mut Ws, marker: &str) {
    let frame = next_message(ws).await;
    assert_eq!(
        frame["message"]["body"], marker,
        "a message arrived before the marker: {frame}"
    );
}

/// The code the server closes `ws` with, skipping other frames; fails when it stays open 5 s.
pub async fn close_code(ws: &mut Ws) -> Option<u16> {
    tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            match ws.next().await {
                Some(Ok(WsMessage::Close(frame))) => return frame.map(|f| u16::from(f.code)),
                Some(Ok(_)) => continue,
                _ => return None,
            }
        }
    })
    .await
    .expect("the socket stayed open")
}

pub async fn send_frame(ws: &mut Ws, frame: Value) {
    ws.send(WsMessage::Text(frame.to_string().into()))
        .await
        .unwrap();
}
