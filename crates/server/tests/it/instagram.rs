//! Instagram direct messages end to end against a local HTTP server standing in for the Graph
//! API (the test runs it and records each send): the subscription handshake, a signed message
//! and a story reply in (a bad signature is 401 and stores nothing; our own echo is skipped),
//! the agent's reply out with the bearer token, and — past the 24-hour window — a reply refused
//! with a clear message.

use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use hmac::{Hmac, Mac};
use madoguchi_core::agent::Role;
use madoguchi_store::Backend;
use serde_json::{json, Value};
use sha2::Sha256;

use crate::support::TestApp;
use crate::webhooks::allowing_private;

const APP_SECRET: &str = "meta-app-secret";
const VERIFY: &str = "verify-me-please";
const ACCESS: &str = "page-access-token";
const SENDER: &str = "17841400000000001";

type Sent = Arc<Mutex<Vec<(Option<String>, Value)>>>;

async fn start_fake_graph() -> (Sent, String) {
    let sent: Sent = Arc::default();
    let router = axum::Router::new()
        .route(
            "/me/messages",
            axum::routing::post(
                |State(sent): State<Sent>, headers: HeaderMap, body: String| async move {
                    let auth = headers
                        .get("authorization")
                        .map(|v| v.to_str().unwrap().to_owned());
                    sent.lock()
                        .unwrap()
                        .push((auth, serde_json::from_str(&body).unwrap()));
                    axum::Json(json!({"recipient_id": SENDER, "message_id": "m_out"}))
                },
            ),
        )
        .route(
            "/{id}",
            axum::routing::get(|| async {
                axum::Json(json!({"name": "佐藤 美咲", "username": "misaki.s"}))
            }),
        )
        .with_state(sent.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await });
    (sent, url)
}

fn sign(body: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(APP_SECRET.as_bytes()).unwrap();
    mac.update(body.as_bytes());
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

fn webhook(message: Value) -> String {
    json!({"object": "instagram", "entry": [{"id": "IGBIZ", "time": 1_795_654_800_000_i64, "messaging": [
        {"sender": {"id": SENDER}, "recipient": {"id": "IGBIZ"}, "timestamp": 1_795_654_800_000_i64, "message": message}
    ]}]})
    .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instagram_dms_come_in_and_go_out_within_the_window_sqlite() {
    instagram_dms(allowing_private(Backend::Sqlite).await.unwrap()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instagram_dms_come_in_and_go_out_within_the_window_postgres() {
    if let Some(app) = allowing_private(Backend::Postgres).await {
        instagram_dms(app).await;
    }
}

async fn instagram_dms(app: TestApp) {
    let (sent, base) = start_fake_graph().await;
    let workspace = app.workspace_id.clone();
    let admin = app
        .agent_in(&workspace, "lead@example.jp", Role::Admin)
        .await;
    let channel: Value = app
        .post(
            "/api/v1/channels",
            &json!({"kind": "instagram", "name": "Instagram", "instagram": {
                "app_secret": APP_SECRET, "verify_token": VERIFY, "access_token": ACCESS, "graph_base": base}}),
        )
        .bearer_auth(&admin.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let url = channel["instagram"]["webhook_url"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(!channel.to_string().contains(APP_SECRET) && !channel.to_string().contains(ACCESS));
    let hook = url.trim_start_matches(&app.url).to_owned();

    // The handshake answers the challenge only to the right verify token.
    let shake = |token: &str| {
        app.get(&format!(
            "{hook}?hub.mode=subscribe&hub.verify_token={token}&hub.challenge=1158201444"
        ))
        .send()
    };
    let good = shake(VERIFY).await.unwrap();
    assert_eq!(good.status(), StatusCode::OK);
    assert_eq!(good.text().await.unwrap(), "1158201444");
    assert_eq!(
        shake("wrong").await.unwrap().status(),
        StatusCode::FORBIDDEN
    );

    let post = |body: String, signature: Option<String>| {
        let mut request = app
            .http
            .post(format!("{}{hook}", app.url))
            .header("content-type", "application/json")
            .body(body);
        if let Some(signature) = signature {
            request = request.header("x-hub-signature-256", signature);
        }
        request.send()
    };
    let hello = webhook(
        json!({"mid": "aWdfZAG1faXRlbToxOklHTWVzc2FnZAUlEOjE3ODQx", "text": "この商品の在庫はありますか？"}),
    );
    assert_eq!(
        post(hello.clone(), Some(sign("tampered")))
            .await
            .unwrap()
            .status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        post(hello.clone(), None).await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
    app.run_jobs().await;
    let list = || async {
        app.get_json(&admin, "/api/v1/conversations?status=&limit=50")
            .await["conversations"]
            .as_array()
            .unwrap()
            .clone()
    };
    assert!(
        list().await.is_empty(),
        "nothing stored without the signature"
    );
    for body in [
        hello.clone(),
        hello.clone(),
        webhook(
            json!({"mid": "story-reply-1", "text": "この色が欲しいです", "reply_to": {"story": {"id": "s1", "url": "https://cdn.example/s1"}}}),
        ),
        webhook(json!({"mid": "echo-1", "text": "（自分の送信）", "is_echo": true})),
    ] {
        assert_eq!(
            post(body.clone(), Some(sign(&body)))
                .await
                .unwrap()
                .status(),
            StatusCode::OK
        );
    }
    app.run_jobs().await;
    let conversations = list().await;
    assert_eq!(conversations.len(), 1);
    assert_eq!(
        conversations[0]["contact_name"], "佐藤 美咲",
        "named from the profile"
    );
    let id = conversations[0]["id"].as_str().unwrap().to_owned();
    let messages = app
        .get_json(&admin, &format!("/api/v1/conversations/{id}/messages"))
        .await;
    let bodies: Vec<&str> = messages["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["sender_kind"] == "contact")
        .map(|m| m["body"].as_str().unwrap())
        .collect();
    assert_eq!(
        bodies,
        [
            "この商品の在庫はありますか？",
            "（ストーリーへの返信）\nこの色が欲しいです"
        ],
        "the redelivery once, the echo not at all"
    );

    // The agent answers: out through the send API.
    app.reply(&admin, &id, "在庫がございます。", false).await;
    app.run_jobs().await;
    let out = sent.lock().unwrap().clone();
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].0.as_deref(), Some(&*format!("Bearer {ACCESS}")));
    assert_eq!(
        out[0].1,
        json!({"recipient": {"id": SENDER}, "message": {"text": "在庫がございます。"}})
    );

    // A day and more later the window has closed: the reply is refused, saying why.
    app.clock.advance_secs(25 * 3600);
    let late = app
        .post(
            &format!("/api/v1/conversations/{id}/messages"),
            &json!({"body": "その後いかがですか？"}),
        )
        .bearer_auth(&admin.token)
        .send()
        .await
        .unwrap();
    assert_eq!(late.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let error: Value = late.json().await.unwrap();
    assert!(
        error["error"]["message"]
            .as_str()
            .unwrap()
            .contains("24時間"),
        "{error}"
    );
    let note = app
        .post(
            &format!("/api/v1/conversations/{id}/messages"),
            &json!({"body": "次に連絡が来たら案内する", "private": true}),
        )
        .bearer_auth(&admin.token)
        .send()
        .await
        .unwrap();
    assert!(note.status().is_success(), "notes are still fine");
    assert_eq!(sent.lock().unwrap().len(), 1);
}
