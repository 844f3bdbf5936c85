//! The API channel end to end: a shop's own system, with the channel's token, keeps a
//! customer by its own id, opens a conversation as them (idempotent on `client_id`), reads the
//! agent's reply (never the note) and writes again, and tells the customer's attributes and
//! recent orders (shown to agents); another channel's token, an agent token or none reaches
//! nothing.

use madoguchi_core::agent::Role;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::support::{both_backends, TestApp};

both_backends!(a_shops_system_writes_as_its_customers_through_the_api_channel);

async fn channel(app: &TestApp, admin: &crate::support::Agent, name: &str) -> (String, String) {
    let made: Value = app
        .post("/api/v1/channels", &json!({"kind": "api", "name": name}))
        .bearer_auth(&admin.token)
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(made["kind"], "api");
    let token = made["api_token"].as_str().unwrap().to_owned();
    assert!(token.starts_with("mdc_"), "{made}");
    (made["id"].as_str().unwrap().to_owned(), token)
}

async fn a_shops_system_writes_as_its_customers_through_the_api_channel(app: TestApp) {
    let workspace = app.workspace_id.clone();
    let admin = app
        .agent_in(&workspace, "lead@example.jp", Role::Admin)
        .await;
    let (channel_id, token) = channel(&app, &admin, "注文システム").await;
    let listed = app.get_json(&admin, "/api/v1/channels").await;
    assert!(
        !listed.to_string().contains(&token),
        "the token is shown once"
    );
    let call = |method: reqwest::Method, path: &str, token: &str, body: Option<Value>| {
        let mut request = app
            .http
            .request(method, format!("{}{path}", app.url))
            .bearer_auth(token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        request.send()
    };
    use reqwest::Method;

    // Nobody else gets in.
    for wrong in ["", "mdc_0000", admin.token.as_str()] {
        let refused = call(
            Method::PUT,
            "/channel/v1/contacts/C-1001",
            wrong,
            Some(json!({})),
        )
        .await
        .unwrap();
        assert_eq!(refused.status(), StatusCode::UNAUTHORIZED, "{wrong}");
    }

    // The customer by the shop's own id, then a conversation as them.
    let contact: Value = call(
        Method::PUT,
        "/channel/v1/contacts/C-1001",
        &token,
        Some(json!({"name": "佐藤 花子", "email": "hanako@example.jp"})),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(contact["name"], "佐藤 花子");
    let start = json!({"external_id": "C-1001", "body": "注文A-100の配送状況を教えてください", "client_id": "order-a-100"});
    let started = call(
        Method::POST,
        "/channel/v1/conversations",
        &token,
        Some(start.clone()),
    )
    .await
    .unwrap();
    assert_eq!(started.status(), StatusCode::CREATED);
    let started: Value = started.json().await.unwrap();
    let id = started["conversation"]["id"].as_str().unwrap().to_owned();
    assert_eq!(started["conversation"]["channel_id"], channel_id.as_str());
    assert_eq!(started["conversation"]["contact_id"], contact["id"]);
    let again = call(
        Method::POST,
        "/channel/v1/conversations",
        &token,
        Some(start),
    )
    .await
    .unwrap();
    assert_eq!(again.status(), StatusCode::OK, "the same client_id");
    let again: Value = again.json().await.unwrap();
    assert_eq!(again["conversation"]["id"], id.as_str());

    // The agent answers in the inbox; the shop's system reads the reply, not the note.
    let profile = app
        .get_json(
            &admin,
            &format!("/api/v1/contacts/{}", contact["id"].as_str().unwrap()),
        )
        .await;
    assert!(profile["identities"]
        .as_array()
        .unwrap()
        .iter()
        .any(|i| i["kind"] == "external" && i["value"] == "C-1001"));
    app.reply(&admin, &id, "本日発送いたしました", false).await;
    app.reply(&admin, &id, "社内メモ: 配送業者に確認済み", true)
        .await;
    let path = format!("/channel/v1/conversations/{id}/messages");
    let read: Value = call(Method::GET, &path, &token, None)
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let bodies: Vec<&str> = read["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["body"].as_str().unwrap())
        .collect();
    assert!(bodies.contains(&"本日発送いたしました"), "{bodies:?}");
    assert!(!bodies.iter().any(|b| b.contains("社内メモ")), "{bodies:?}");
    let sent = call(
        Method::POST,
        &path,
        &token,
        Some(json!({"body": "ありがとうございます"})),
    )
    .await
    .unwrap();
    assert_eq!(sent.status(), StatusCode::CREATED);
    let inbox = app
        .get_json(&admin, &format!("/api/v1/conversations/{id}/messages"))
        .await;
    assert!(inbox.to_string().contains("ありがとうございます"));

    // Another API channel, or a widget conversation: not found.
    let (_, other) = channel(&app, &admin, "アプリ").await;
    let hidden = call(Method::GET, &path, &other, None).await.unwrap();
    assert_eq!(hidden.status(), StatusCode::NOT_FOUND);
    let widget = app.start(&app.visitor().await, "ウィジェットから").await;
    let hidden = call(
        Method::GET,
        &format!("/channel/v1/conversations/{widget}/messages"),
        &token,
        None,
    )
    .await
    .unwrap();
    assert_eq!(hidden.status(), StatusCode::NOT_FOUND);
    let bad = call(
        Method::POST,
        "/channel/v1/conversations",
        &token,
        Some(json!({"external_id": " ", "body": "x"})),
    )
    .await
    .unwrap();
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);

    // The shop tells what it knows of the customer: agents see it beside the conversation.
    let orders = json!({
        "attributes": {"会員ランク": "ゴールド", "ポイント": "1,200"},
        "orders": [{"id": "A-100", "placed_at": "2026-11-20", "status": "発送済み", "total": "¥3,980",
                    "items": ["マグカップ", "コースター"], "url": "https://shop.example/admin/orders/A-100"}]
    });
    let told = call(
        Method::PUT,
        "/channel/v1/contacts/C-1001/orders",
        &token,
        Some(orders),
    )
    .await
    .unwrap();
    assert_eq!(told.status(), StatusCode::OK);
    let profile = app
        .get_json(
            &admin,
            &format!("/api/v1/contacts/{}", contact["id"].as_str().unwrap()),
        )
        .await;
    assert_eq!(
        profile["contact"]["shop"]["attributes"]["会員ランク"],
        "ゴールド"
    );
    assert_eq!(
        profile["contact"]["shop"]["orders"][0]["items"][1],
        "コースター"
    );
    let script =
        json!({"orders": [{"id": "A-1", "placed_at": "2026-11-20", "url": "javascript:alert(1)"}]});
    let refused = call(
        Method::PUT,
        "/channel/v1/contacts/C-1001/orders",
        &token,
        Some(script),
    )
    .await
    .unwrap();
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let unknown = call(
        Method::PUT,
        "/channel/v1/contacts/C-1001/orders",
        &token,
        Some(json!({"orders": [], "secret": 1})),
    )
    .await
    .unwrap();
    assert!(
        unknown.status().is_client_error(),
        "unknown fields are refused"
    );
}
