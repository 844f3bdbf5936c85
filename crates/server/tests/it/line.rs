//! LINE end to end against a local HTTP server standing in for LINE's API (the test runs it and
//! records each request): a signed webhook becomes a conversation with the profile's display
//! name; a redelivered event is one message; a bad signature is 401 and stores nothing; a
//! quick agent reply goes out with the reply token, a late one is pushed with the bearer token
//! and a retry key; a failing push is retried with the same key and shows failed after the last
//! try; the monthly quota (429) fails at once, plainly; stickers and images arrive too.

use std::sync::{Arc, Mutex};

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, Mac};
use madoguchi_core::agent::Role;
use madoguchi_store::Backend;
use serde_json::{json, Value};
use sha2::Sha256;

use crate::attachments::PNG;
use crate::support::{Agent, TestApp};
use crate::webhooks::allowing_private;

pub(crate) const SECRET: &str = "line-channel-secret";
pub(crate) const TOKEN: &str = "line-access-token";
const USER: &str = "U4af4980629b2e1c0a2b4f3c8d1e5a7b9";

/// One request the stand-in got.
#[derive(Debug, Clone)]
pub(crate) struct Seen {
    path: String,
    authorization: Option<String>,
    retry_key: Option<String>,
    body: Value,
}

#[derive(Clone, Default)]
pub(crate) struct FakeLine {
    seen: Arc<Mutex<Vec<Seen>>>,
    /// Statuses the push API answers next (then 200).
    pub(crate) push_script: Arc<Mutex<Vec<u16>>>,
}

impl FakeLine {
    pub(crate) fn sent(&self, path: &str) -> Vec<Seen> {
        let seen = self.seen.lock().unwrap();
        seen.iter().filter(|s| s.path == path).cloned().collect()
    }
}

fn record(line: &FakeLine, path: String, headers: &HeaderMap, body: &str) {
    let header = |name: &str| headers.get(name).map(|v| v.to_str().unwrap().to_owned());
    line.seen.lock().unwrap().push(Seen {
        path,
        authorization: header("authorization"),
        retry_key: header("x-line-retry-key"),
        body: serde_json::from_str(body).unwrap_or(Value::Null),
    });
}

pub(crate) async fn start_fake_line() -> (FakeLine, String) {
    let line = FakeLine::default();
    let router = axum::Router::new()
        .route(
            "/v2/bot/profile/{user}",
            get(|State(line): State<FakeLine>, Path(user): Path<String>, headers: HeaderMap| async move {
                record(&line, format!("/v2/bot/profile/{user}"), &headers, "");
                axum::Json(json!({"userId": user, "displayName": "山田 花子"}))
            }),
        )
        .route(
            "/v2/bot/message/{id}/content",
            get(|State(line): State<FakeLine>, Path(id): Path<String>, headers: HeaderMap| async move {
                record(&line, format!("/v2/bot/message/{id}/content"), &headers, "");
                ([("content-type", "image/png")], PNG.to_vec())
            }),
        )
        .route(
            "/v2/bot/message/reply",
            post(|State(line): State<FakeLine>, headers: HeaderMap, body: String| async move {
                record(&line, "/v2/bot/message/reply".into(), &headers, &body);
                axum::Json(json!({}))
            }),
        )
        .route(
            "/v2/bot/message/push",
            post(|State(line): State<FakeLine>, headers: HeaderMap, body: String| async move {
                record(&line, "/v2/bot/message/push".into(), &headers, &body);
                let status = {
                    let mut script = line.push_script.lock().unwrap();
                    if script.is_empty() { 200 } else { script.remove(0) }
                };
                let message = match status {
                    429 => "You have reached your monthly limit.",
                    500 => "Internal server error",
                    _ => "ok",
                };
                (StatusCode::from_u16(status).unwrap(), axum::Json(json!({"message": message})))
            }),
        )
        .with_state(line.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await });
    (line, url)
}

pub(crate) fn sign(body: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(body.as_bytes());
    STANDARD.encode(mac.finalize().into_bytes())
}

/// A webhook body with one message event.
pub(crate) fn event(id: &str, reply_token: &str, message: Value, redelivery: bool) -> String {
    json!({"destination": "Ubot", "events": [{
        "type": "message", "mode": "active", "timestamp": 1_795_654_800_000_i64,
        "webhookEventId": id, "deliveryContext": {"isRedelivery": redelivery},
        "replyToken": reply_token,
        "source": {"type": "user", "userId": USER},
        "message": message,
    }]})
    .to_string()
}

pub(crate) async fn deliver(
    app: &TestApp,
    path: &str,
    body: &str,
    signature: Option<&str>,
) -> StatusCode {
    let mut request = app
        .http
        .post(format!("{}{path}", app.url))
        .header("content-type", "application/json")
        .body(body.to_owned());
    if let Some(signature) = signature {
        request = request.header("x-line-signature", signature);
    }
    request.send().await.unwrap().status()
}

async fn messages(app: &TestApp, agent: &Agent, conversation: &str) -> Vec<Value> {
    app.get_json(
        agent,
        &format!("/api/v1/conversations/{conversation}/messages"),
    )
    .await["messages"]
        .as_array()
        .unwrap()
        .clone()
}

/// The delivery of the message with `body`.
async fn delivery(app: &TestApp, agent: &Agent, conversation: &str, body: &str) -> (Value, Value) {
    let all = messages(app, agent, conversation).await;
    let m = all.iter().find(|m| m["body"] == body).unwrap();
    (m["delivery"].clone(), m["delivery_detail"].clone())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn line_talks_both_ways_sqlite() {
    line_talks_both_ways(allowing_private(Backend::Sqlite).await.unwrap()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn line_talks_both_ways_postgres() {
    if let Some(app) = allowing_private(Backend::Postgres).await {
        line_talks_both_ways(app).await;
    }
}

async fn line_talks_both_ways(app: TestApp) {
    let (line, base) = start_fake_line().await;
    let workspace = app.workspace_id.clone();
    let admin = app
        .agent_in(&workspace, "lead@example.jp", Role::Admin)
        .await;
    let response = app
        .post(
            "/api/v1/channels",
            &json!({"kind": "line", "name": "LINE公式アカウント", "line": {"channel_secret": SECRET, "channel_access_token": TOKEN, "api_base": base}}),
        )
        .bearer_auth(&admin.token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let channel: Value = response.json().await.unwrap();
    let webhook_url = channel["line"]["webhook_url"].as_str().unwrap().to_owned();
    assert!(
        webhook_url.starts_with(&format!("{}/hooks/line/ch_", app.url)),
        "{channel}"
    );
    assert!(
        !channel.to_string().contains(SECRET) && !channel.to_string().contains(TOKEN),
        "secrets are never shown: {channel}"
    );
    let hook = webhook_url.trim_start_matches(&app.url).to_owned();
    let conversations = || async {
        app.get_json(&admin, "/api/v1/conversations?status=&limit=50")
            .await["conversations"]
            .as_array()
            .unwrap()
            .clone()
    };

    // A bad or missing signature: 401, nothing stored.
    let first = event(
        "01HXLINEEVENT000000000000A1",
        "rt-1",
        json!({"id": "m1", "type": "text", "text": "注文した商品が届きません"}),
        false,
    );
    assert_eq!(
        deliver(&app, &hook, &first, Some(&sign("other body"))).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        deliver(&app, &hook, &first, None).await,
        StatusCode::UNAUTHORIZED
    );
    app.run_jobs().await;
    assert!(conversations().await.is_empty());

    // Signed: a conversation with the text, the customer named from their LINE profile.
    assert_eq!(
        deliver(&app, &hook, &first, Some(&sign(&first))).await,
        StatusCode::OK
    );
    app.run_jobs().await;
    let list = conversations().await;
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["contact_name"], "山田 花子");
    let conversation = list[0]["id"].as_str().unwrap().to_owned();
    assert_eq!(
        line.sent(&format!("/v2/bot/profile/{USER}"))[0]
            .authorization
            .as_deref(),
        Some(&*format!("Bearer {TOKEN}"))
    );
    // LINE redelivers the same event: still one message.
    let again = event(
        "01HXLINEEVENT000000000000A1",
        "rt-1",
        json!({"id": "m1", "type": "text", "text": "注文した商品が届きません"}),
        true,
    );
    assert_eq!(
        deliver(&app, &hook, &again, Some(&sign(&again))).await,
        StatusCode::OK
    );
    app.run_jobs().await;
    let customer: Vec<Value> = messages(&app, &admin, &conversation)
        .await
        .into_iter()
        .filter(|m| m["sender_kind"] == "contact")
        .collect();
    assert_eq!(customer.len(), 1);
    assert_eq!(customer[0]["body"], "注文した商品が届きません");

    // A quick reply answers with the event's reply token (free).
    app.reply(
        &admin,
        &conversation,
        "確認いたします。少々お待ちください。",
        false,
    )
    .await;
    app.run_jobs().await;
    let replies = line.sent("/v2/bot/message/reply");
    assert_eq!(replies.len(), 1);
    assert_eq!(replies[0].body["replyToken"], "rt-1");
    assert_eq!(
        replies[0].body["messages"][0]["text"],
        "確認いたします。少々お待ちください。"
    );
    assert_eq!(
        replies[0].authorization.as_deref(),
        Some(&*format!("Bearer {TOKEN}"))
    );
    assert_eq!(
        delivery(
            &app,
            &admin,
            &conversation,
            "確認いたします。少々お待ちください。"
        )
        .await
        .0,
        "sent"
    );

    // Later the token is stale (and used): the reply is pushed with a retry key.
    app.clock.advance_secs(120);
    let late = app
        .reply(&admin, &conversation, "本日発送いたしました。", false)
        .await;
    app.run_jobs().await;
    let pushes = line.sent("/v2/bot/message/push");
    assert_eq!(pushes.len(), 1);
    assert_eq!(pushes[0].body["to"], USER);
    assert_eq!(
        pushes[0].body["messages"][0],
        json!({"type": "text", "text": "本日発送いたしました。"})
    );
    assert_eq!(
        pushes[0].retry_key.as_deref(),
        late["message"]["id"].as_str()
    );
    assert_eq!(
        pushes[0].authorization.as_deref(),
        Some(&*format!("Bearer {TOKEN}"))
    );
    assert_eq!(
        line.sent("/v2/bot/message/reply").len(),
        1,
        "a token answers once"
    );

    // LINE fails: retried with backoff and the same key, failed after the last try.
    *line.push_script.lock().unwrap() = vec![500; 20];
    app.reply(&admin, &conversation, "追跡番号は 1234 です。", false)
        .await;
    app.run_jobs().await;
    let (state, detail) = delivery(&app, &admin, &conversation, "追跡番号は 1234 です。").await;
    assert_eq!(state, "retrying", "{detail}");
    for _ in 0..12 {
        app.clock.advance_secs(2 * 3600);
        app.run_jobs().await;
    }
    let (state, detail) = delivery(&app, &admin, &conversation, "追跡番号は 1234 です。").await;
    assert_eq!(state, "failed");
    assert!(detail.as_str().unwrap().contains("500"), "{detail}");
    let tries: Vec<Seen> = line
        .sent("/v2/bot/message/push")
        .into_iter()
        .filter(|s| s.body["messages"][0]["text"] == "追跡番号は 1234 です。")
        .collect();
    assert_eq!(tries.len(), 10, "every attempt, then no more");
    assert!(
        tries.iter().all(|t| t.retry_key == tries[0].retry_key),
        "one retry key"
    );

    // The monthly quota: failed at once, saying so.
    *line.push_script.lock().unwrap() = vec![429];
    app.reply(&admin, &conversation, "ほかにご不明点はありますか？", false)
        .await;
    app.run_jobs().await;
    let (state, detail) =
        delivery(&app, &admin, &conversation, "ほかにご不明点はありますか？").await;
    assert_eq!(state, "failed");
    assert!(detail.as_str().unwrap().contains("quota"), "{detail}");

    // A sticker and a photo from the customer.
    let sticker = event(
        "01HXLINEEVENT000000000000A2",
        "rt-2",
        json!({"id": "m2", "type": "sticker", "packageId": "446", "stickerId": "1988"}),
        false,
    );
    assert_eq!(
        deliver(&app, &hook, &sticker, Some(&sign(&sticker))).await,
        StatusCode::OK
    );
    let photo = event(
        "01HXLINEEVENT000000000000A3",
        "rt-3",
        json!({"id": "m3", "type": "image"}),
        false,
    );
    assert_eq!(
        deliver(&app, &hook, &photo, Some(&sign(&photo))).await,
        StatusCode::OK
    );
    app.run_jobs().await;
    let all = messages(&app, &admin, &conversation).await;
    assert!(
        all.iter()
            .any(|m| m["body"] == "（スタンプ）"
                && m["meta"]["line"]["sticker"]["sticker_id"] == "1988"),
        "{all:?}"
    );
    let file = all
        .iter()
        .find(|m| m["meta"]["attachments"][0]["content_type"] == "image/png")
        .unwrap_or_else(|| panic!("the photo: {all:?}"));
    assert_eq!(line.sent("/v2/bot/message/m3/content").len(), 1);
    let id = file["meta"]["attachments"][0]["id"].as_str().unwrap();
    let bytes = app
        .get(&format!("/api/v1/attachments/{id}"))
        .bearer_auth(&admin.token)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(&bytes[..], PNG);
    assert_eq!(
        conversations().await.len(),
        1,
        "all in the customer's one conversation"
    );
}
