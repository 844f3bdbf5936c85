//! Outgoing webhooks end to end against a local receiver the test runs: signed as Standard
//! Webhooks says (checked here with HMAC-SHA256 written independently), private notes only when
//! asked for, a failed delivery retried with the same `webhook-id`, every attempt in the log,
//! and a webhook that keeps failing switched off with its reason. Out of the box a webhook
//! cannot reach a private address (refused when saved, and again when a name resolves to one).

use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, Mac};
use madoguchi_core::agent::Role;
use serde_json::{json, Value};
use sha2::Sha256;

use madoguchi_server::app::settings::Settings;
use madoguchi_store::Backend;

use crate::support::{both_backends, TestApp};

both_backends!(webhooks_never_reach_private_addresses_by_default);

/// The local receiver is on a private address: this server may reach it.
pub(crate) async fn allowing_private(backend: Backend) -> Option<TestApp> {
    let settings = Settings {
        webhooks_allow_private: true,
        ..Settings::default()
    };
    TestApp::spawn_with(backend, settings).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_are_signed_retried_logged_and_disabled_sqlite() {
    let app = allowing_private(Backend::Sqlite).await.unwrap();
    webhooks_are_signed_retried_logged_and_disabled(app).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_are_signed_retried_logged_and_disabled_postgres() {
    if let Some(app) = allowing_private(Backend::Postgres).await {
        webhooks_are_signed_retried_logged_and_disabled(app).await;
    }
}

async fn webhooks_never_reach_private_addresses_by_default(app: TestApp) {
    let workspace = app.workspace_id.clone();
    let admin = app
        .agent_in(&workspace, "lead@example.jp", Role::Admin)
        .await;
    let (receiver, url) = start_receiver().await;
    for private in [
        url.clone(),
        "http://169.254.169.254/latest/meta-data".to_owned(),
        "http://[::1]:8080/hook".to_owned(),
        "http://localhost:8080/hook".to_owned(),
    ] {
        let refused = app
            .post(
                "/api/v1/webhooks",
                &json!({"url": private, "events": ["message.created"]}),
            )
            .bearer_auth(&admin.token)
            .send()
            .await
            .unwrap();
        assert_eq!(
            refused.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{private}"
        );
    }
    // A name that resolves to a private address gets nothing either.
    let port = url.rsplit(':').next().unwrap().split('/').next().unwrap();
    let events = vec!["message.created".to_owned()];
    let hook = app
        .store
        .create_webhook(
            &workspace,
            &madoguchi_store::webhooks::WebhookSettings {
                url: &format!("http://localhost:{port}/hook"),
                events: &events,
                include_private: false,
                enabled: true,
            },
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        )
        .await
        .unwrap();
    app.start(&app.visitor().await, "こんにちは").await;
    // The event becomes a job shortly after the message; the job's attempt is logged.
    let started = std::time::Instant::now();
    let attempts = loop {
        app.run_jobs().await;
        let attempts = app.store.webhook_attempts(&hook.id, 10).await.unwrap();
        if !attempts.is_empty() {
            break attempts;
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(5),
            "no attempt"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    };
    assert!(
        attempts[0]
            .error
            .as_deref()
            .is_some_and(|e| e.contains("private address")),
        "{attempts:?}"
    );
    assert!(
        receiver.got.lock().unwrap().is_empty(),
        "nothing reached it"
    );
}

/// One request: `webhook-id`, `webhook-timestamp`, `webhook-signature` and the body.
type Request = (String, String, String, String);

/// What the receiver got.
#[derive(Clone, Default)]
struct Receiver {
    got: Arc<Mutex<Vec<Request>>>,
    /// Statuses to answer with, in turn (then 200).
    script: Arc<Mutex<Vec<u16>>>,
}

async fn receive(State(r): State<Receiver>, headers: HeaderMap, body: String) -> StatusCode {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    r.got.lock().unwrap().push((
        header("webhook-id"),
        header("webhook-timestamp"),
        header("webhook-signature"),
        body,
    ));
    let mut script = r.script.lock().unwrap();
    let status = if script.is_empty() {
        200
    } else {
        script.remove(0)
    };
    StatusCode::from_u16(status).unwrap()
}

async fn start_receiver() -> (Receiver, String) {
    let receiver = Receiver::default();
    let app = axum::Router::new()
        .route("/hook", axum::routing::post(receive))
        .with_state(receiver.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (receiver, url)
}

/// The receiver's messages of one type, once the jobs have run.
async fn received(
    app: &TestApp,
    receiver: &Receiver,
    kind: &str,
    n: usize,
) -> Vec<(String, String, String, Value)> {
    for _ in 0..100 {
        app.run_jobs().await;
        let of_kind: Vec<_> = receiver
            .got
            .lock()
            .unwrap()
            .iter()
            .map(|(id, ts, sig, body)| {
                (
                    id.clone(),
                    ts.clone(),
                    sig.clone(),
                    serde_json::from_str::<Value>(body).unwrap(),
                )
            })
            .filter(|(_, _, _, body)| body["type"] == kind)
            .collect();
        if of_kind.len() >= n {
            return of_kind;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!("fewer than {n} {kind} webhooks arrived");
}

async fn webhooks_are_signed_retried_logged_and_disabled(app: TestApp) {
    let workspace = app.workspace_id.clone();
    let admin = app
        .agent_in(&workspace, "lead@example.jp", Role::Admin)
        .await;
    let agent = app.agent("one@example.jp").await;
    let (receiver, url) = start_receiver().await;
    let create = |who: &crate::support::Agent, body: Value| {
        let request = app.post("/api/v1/webhooks", &body).bearer_auth(&who.token);
        async move {
            let response = request.send().await.unwrap();
            let status = response.status();
            (
                status,
                response.json::<Value>().await.unwrap_or(Value::Null),
            )
        }
    };
    let events = json!(["conversation.created", "message.created"]);
    assert_eq!(
        create(&agent, json!({"url": url, "events": events}))
            .await
            .0,
        StatusCode::FORBIDDEN
    );
    let (status, bad) = create(
        &admin,
        json!({"url": "ftp://example.jp/x", "events": events}),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
    let (status, _) = create(&admin, json!({"url": url, "events": ["contact.deleted"]})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, hook) = create(&admin, json!({"url": url, "events": events})).await;
    assert_eq!(status, StatusCode::CREATED, "{hook}");
    let secret = hook["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("whsec_"));
    let hook_id = hook["id"].as_str().unwrap().to_owned();
    let listed = app.get_json(&admin, "/api/v1/webhooks").await;
    assert_eq!(listed[0]["secret"], Value::Null, "the secret is shown once");

    let visitor = app.visitor().await;
    let conversation = app.start(&visitor, "webhookのテストです").await;
    let created = received(&app, &receiver, "conversation.created", 1).await;
    assert_eq!(
        created[0].3["data"]["conversation_id"],
        conversation.as_str()
    );
    let messages = received(&app, &receiver, "message.created", 1).await;
    let (id, timestamp, signature, body) = &messages[0];
    assert_eq!(body["data"]["body"], "webhookのテストです");
    assert!(id.starts_with("msg_"));
    // Verified as any Standard Webhooks library does.
    let raw = receiver
        .got
        .lock()
        .unwrap()
        .iter()
        .find(|(i, ..)| i == id)
        .unwrap()
        .3
        .clone();
    let key = STANDARD
        .decode(secret.strip_prefix("whsec_").unwrap())
        .unwrap();
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap();
    mac.update(format!("{id}.{timestamp}.{raw}").as_bytes());
    let expected = format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()));
    assert_eq!(signature, &expected);

    // Private notes only for a webhook that asks.
    app.reply(&admin, &conversation, "社内メモです", true).await;
    app.reply(&admin, &conversation, "担当からの返信です", false)
        .await;
    let after = received(&app, &receiver, "message.created", 2).await;
    let bodies: Vec<&Value> = after.iter().map(|m| &m.3["data"]["body"]).collect();
    assert!(bodies.contains(&&json!("担当からの返信です")), "{bodies:?}");
    assert!(!bodies.contains(&&json!("社内メモです")), "{bodies:?}");

    // A 500 is retried later with the same webhook-id.
    let before = receiver.got.lock().unwrap().len();
    receiver.script.lock().unwrap().push(500);
    app.reply(&admin, &conversation, "再送のテスト", false)
        .await;
    let first = loop {
        app.run_jobs().await;
        if receiver.got.lock().unwrap().len() > before {
            break receiver.got.lock().unwrap()[before].0.clone();
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    };
    app.clock.advance_secs(10);
    app.run_jobs().await;
    let retried: Vec<String> = receiver.got.lock().unwrap()[before..]
        .iter()
        .map(|(id, ..)| id.clone())
        .collect();
    assert_eq!(
        retried,
        [first.clone(), first.clone()],
        "the same message twice"
    );
    let log = app
        .get_json(&admin, &format!("/api/v1/webhooks/{hook_id}/attempts"))
        .await;
    let tries: Vec<(Value, Value)> = log["attempts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["message_id"] == first.as_str())
        .map(|a| (a["status_code"].clone(), a["ok"].clone()))
        .collect();
    assert_eq!(
        tries,
        [(json!(200), json!(true)), (json!(500), json!(false))]
    );

    // Failing again and again: switched off, with the reason shown.
    receiver.script.lock().unwrap().extend([500; 20]);
    app.reply(&admin, &conversation, "ずっと失敗", false).await;
    for _ in 0..15 {
        app.run_jobs().await;
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        app.clock.advance_secs(3600);
    }
    let shown = app.get_json(&admin, "/api/v1/webhooks").await;
    assert_eq!(shown[0]["enabled"], false, "{shown}");
    assert!(shown[0]["disabled_reason"]
        .as_str()
        .unwrap()
        .contains("failed attempts in a row"));
    // Switched on again by an update.
    let on: Value = app
        .http
        .put(format!("{}/api/v1/webhooks/{hook_id}", app.url))
        .bearer_auth(&admin.token)
        .json(&json!({"url": url, "events": events, "include_private": true}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        (on["enabled"].clone(), on["failures"].clone()),
        (json!(true), json!(0))
    );

    // A contact's change, for a webhook that asks for it.
    receiver.script.lock().unwrap().clear();
    app.http
        .put(format!("{}/api/v1/webhooks/{hook_id}", app.url))
        .bearer_auth(&admin.token)
        .json(&json!({"url": url, "events": ["contact.updated"]}))
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap();
    let contact = app.contact_of(&visitor).await;
    app.patch(
        &format!("/api/v1/contacts/{contact}"),
        &json!({"name": "山田 太郎"}),
    )
    .bearer_auth(&admin.token)
    .send()
    .await
    .unwrap()
    .error_for_status()
    .unwrap();
    let changed = received(&app, &receiver, "contact.updated", 1).await;
    assert_eq!(changed[0].3["data"]["id"], contact.as_str());
    assert_eq!(changed[0].3["data"]["name"], "山田 太郎");
}

/// A receiver written with the `standardwebhooks` package (PyPI), down at first: every event
/// reaches it once it is up (retried with the same `webhook-id`), and the library verifies each.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_standard_webhooks_client_verifies_every_event_after_an_outage() {
    let available = std::process::Command::new("python3")
        .args(["-c", "import standardwebhooks"])
        .status()
        .is_ok_and(|s| s.success());
    if !available {
        madoguchi_store::testing::skip(
            "the standardwebhooks package is not installed (pip install standardwebhooks)",
        );
        return;
    }
    let app = allowing_private(Backend::Sqlite).await.unwrap();
    // The library checks timestamps against the real time: the server's clock starts there.
    let real_now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    app.clock.set(real_now);
    let workspace = app.workspace_id.clone();
    let admin = app
        .agent_in(&workspace, "lead@example.jp", Role::Admin)
        .await;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let hook: Value = app
        .post(
            "/api/v1/webhooks",
            &json!({"url": format!("http://127.0.0.1:{port}/hook"), "events": ["conversation.created", "message.created"]}),
        )
        .bearer_auth(&admin.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let secret = hook["secret"].as_str().unwrap().to_owned();

    // Events while the receiver is down: attempts fail and are retried.
    let visitor = app.visitor().await;
    let conversation = app.start(&visitor, "こんにちは").await;
    app.reply(&admin, &conversation, "いらっしゃいませ", false)
        .await;
    for _ in 0..3 {
        app.run_jobs().await;
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        app.clock.advance_secs(6);
    }
    let hook_id = hook["id"].as_str().unwrap();
    let failed = app.store.webhook_attempts(hook_id, 50).await.unwrap();
    assert!(
        !failed.is_empty() && failed.iter().all(|a| a.error.is_some()),
        "{failed:?}"
    );

    // The receiver comes up.
    let log = std::env::temp_dir().join(format!("mdg-stdwh-{}.jsonl", madoguchi_store::new_id()));
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/standard_webhooks_receiver.py"
    );
    let mut receiver = tokio::process::Command::new("python3")
        .arg(script)
        .arg(port.to_string())
        .arg(&secret)
        .arg(&log)
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let up = std::time::Instant::now();
    while tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_err()
    {
        assert!(
            up.elapsed() < std::time::Duration::from_secs(20),
            "the receiver did not start"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let lines = || -> Vec<Value> {
        std::fs::read_to_string(&log)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    };
    let started = std::time::Instant::now();
    loop {
        app.clock.advance_secs(10);
        app.run_jobs().await;
        let got = lines();
        let kinds: std::collections::BTreeSet<String> = got
            .iter()
            .filter_map(|l| l["type"].as_str().map(str::to_owned))
            .collect();
        let messages = got
            .iter()
            .filter(|l| l["type"] == "message.created")
            .filter_map(|l| l["id"].as_str())
            .collect::<std::collections::BTreeSet<_>>()
            .len();
        let posted = app
            .store
            .messages_after(&conversation, 0, false, 100)
            .await
            .unwrap()
            .len();
        if kinds.contains("conversation.created") && messages >= posted {
            break;
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(30),
            "not every event arrived: {got:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let got = lines();
    assert!(
        got.iter().all(|l| l["ok"] == true),
        "the library verified every request: {got:?}"
    );
    // At least once: what failed during the outage arrived later under the same id.
    let ids: std::collections::BTreeSet<&str> =
        got.iter().map(|l| l["id"].as_str().unwrap()).collect();
    let failed_ids: std::collections::BTreeSet<&str> =
        failed.iter().map(|a| a.message_id.as_str()).collect();
    assert!(failed_ids.is_subset(&ids), "{failed_ids:?} ⊆ {ids:?}");
    // The conversation and each of its messages once: the visitor's, the agent's and, out of
    // business hours (the clock is the real one here), the automatic reply.
    let messages = app
        .store
        .messages_after(&conversation, 0, false, 100)
        .await
        .unwrap();
    assert_eq!(
        ids.len(),
        1 + messages.len(),
        "the conversation and its {} messages: {got:?}",
        messages.len()
    );
    receiver.kill().await.unwrap();
}
