//! Who a visitor is: a page view stores nothing until the visitor writes, and a customer signed
//! in on the shop's site (a user id signed with the channel's identity secret) is one contact on
//! every device, while an unsigned or wrongly signed id is never believed.

use hmac::{Hmac, Mac};
use madoguchi_core::agent::Role;
use reqwest::StatusCode;
use serde_json::{json, Value};
use sha2::Sha256;

use crate::support::{both_backends, TestApp};

both_backends!(
    a_page_view_stores_nothing,
    a_signed_in_customer_is_one_contact_everywhere
);

/// The hex HMAC-SHA256 of `id`, as the shop's server makes it.
pub fn user_hash(secret: &str, id: &str) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(id.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

async fn count(app: &TestApp, table: &str) -> i64 {
    app.store
        .count_unchecked(&format!("SELECT COUNT(*) FROM {table}"))
        .await
        .unwrap()
}

async fn session(app: &TestApp, body: Value) -> Value {
    app.post("/widget/v1/session", &body)
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap()
        .json()
        .await
        .unwrap()
}

async fn a_page_view_stores_nothing(app: TestApp) {
    // What a cookie-less browser does on every page: configuration, then a new session.
    let mut tokens = Vec::new();
    for _ in 0..20 {
        app.get(&format!(
            "/widget/v1/channels/{}?locale=ja&path=/",
            app.channel_key
        ))
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap();
        let created = session(&app, json!({"channel_key": app.channel_key})).await;
        assert!(created["contact_id"].is_null());
        assert_eq!(created["conversations"], json!([]));
        tokens.push(created["visitor_token"].as_str().unwrap().to_owned());
    }
    assert_eq!(count(&app, "contacts").await, 0);
    assert_eq!(count(&app, "contact_identities").await, 0);
    // Such a visitor lists no conversations and reads none.
    let list: Value = app
        .get("/widget/v1/conversations")
        .header("x-visitor-token", &tokens[0])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list["conversations"], json!([]));

    // The first message makes the contact (with the pre-chat form's details); the same token
    // finds it again.
    let started = app
        .post(
            "/widget/v1/conversations",
            &json!({"body": "在庫はありますか", "contact": {"name": "鈴木 一郎", "email": "ichiro@example.jp"}}),
        )
        .header("x-visitor-token", &tokens[0])
        .send()
        .await
        .unwrap();
    assert_eq!(started.status(), StatusCode::CREATED);
    assert_eq!(count(&app, "contacts").await, 1);
    let restored = session(
        &app,
        json!({"channel_key": app.channel_key, "visitor_token": tokens[0]}),
    )
    .await;
    assert_eq!(restored["visitor_token"], tokens[0].as_str());
    assert_eq!(restored["contact"]["name"], "鈴木 一郎");
    assert_eq!(restored["contact"]["email"], "ichiro@example.jp");
    assert_eq!(restored["conversations"].as_array().unwrap().len(), 1);

    // Leaving an address for notifications makes a contact too; bad details are refused.
    let saved = app
        .patch("/widget/v1/contact", &json!({"email": "two@example.jp"}))
        .header("x-visitor-token", &tokens[1])
        .send()
        .await
        .unwrap();
    assert_eq!(saved.status(), StatusCode::OK);
    let refused = app
        .post(
            "/widget/v1/conversations",
            &json!({"body": "こんにちは", "contact": {"email": "not an address"}}),
        )
        .header("x-visitor-token", &tokens[2])
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        count(&app, "contacts").await,
        2,
        "a refused message made no contact"
    );
}

async fn a_signed_in_customer_is_one_contact_everywhere(app: TestApp) {
    let workspace = app.workspace_id.clone();
    let admin = app
        .agent_in(&workspace, "owner@example.jp", Role::Admin)
        .await;
    let agent = app.agent("staff@example.jp").await;
    let channel = app.store.channel_by_key(&app.channel_key).await.unwrap();
    let secret_path = format!("/api/v1/channels/{}/identity-secret", channel.id);
    let signed = |secret: &str, id: &str| json!({"channel_key": app.channel_key, "user": {"id": id, "hash": user_hash(secret, id), "name": "山田 花子", "email": "hanako@example.jp"}});

    // Before the shop turns verification on, a user id is ignored even with a hash.
    let ignored = session(&app, signed("guess", "user-42")).await;
    assert!(ignored["contact_id"].is_null());
    let refused = app
        .post(&secret_path, &json!({}))
        .bearer_auth(&agent.token)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let secret: Value = app
        .post(&secret_path, &json!({}))
        .bearer_auth(&admin.token)
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap()
        .json()
        .await
        .unwrap();
    let secret = secret["secret"].as_str().unwrap().to_owned();
    let channels: Value = app
        .get("/api/v1/channels")
        .bearer_auth(&agent.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(channels["channels"][0]["identity_verification"], true);
    assert!(
        !channels.to_string().contains(&secret),
        "the secret is shown only once"
    );

    // Phone: the customer writes; laptop: the same customer sees that conversation.
    let phone = session(&app, signed(&secret, "user-42")).await;
    assert!(
        phone["contact_id"].is_null(),
        "no row before the first message"
    );
    let phone_token = phone["visitor_token"].as_str().unwrap();
    app.post(
        "/widget/v1/conversations",
        &json!({"body": "注文番号 1234 の件", "contact": {"name": "山田 花子"}}),
    )
    .header("x-visitor-token", phone_token)
    .send()
    .await
    .unwrap()
    .error_for_status()
    .unwrap();
    let laptop = session(&app, signed(&secret, "user-42")).await;
    assert_ne!(laptop["visitor_token"], phone["visitor_token"]);
    let contact_id = laptop["contact_id"].as_str().unwrap().to_owned();
    assert_eq!(laptop["conversations"].as_array().unwrap().len(), 1);
    assert_eq!(
        laptop["contact"]["email"], "hanako@example.jp",
        "the shop's details are kept"
    );
    let profile: Value = app
        .get(&format!("/api/v1/contacts/{contact_id}"))
        .bearer_auth(&agent.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let identities = profile["identities"].as_array().unwrap();
    assert!(identities
        .iter()
        .any(|i| i["kind"] == "user" && i["value"] == "user-42"));

    // A forged hash, another user's hash or the old secret after rotation: never that contact.
    let forged = [
        json!({"channel_key": app.channel_key, "user": {"id": "user-42", "hash": "00".repeat(32)}}),
        json!({"channel_key": app.channel_key, "user": {"id": "user-42", "hash": user_hash(&secret, "user-43")}}),
        json!({"channel_key": app.channel_key, "user": {"id": "user-42", "hash": user_hash(&secret, "user-42").to_uppercase() + "0"}}),
    ];
    for body in forged {
        let s = session(&app, body.clone()).await;
        assert!(s["contact_id"].is_null(), "{body}");
        assert_eq!(s["conversations"], json!([]));
    }
    // A laptop token stays the customer's only while the page still vouches for them: signed
    // out, the next page view starts an anonymous visitor.
    let laptop_token = laptop["visitor_token"].as_str().unwrap();
    let signed_out = session(
        &app,
        json!({"channel_key": app.channel_key, "visitor_token": laptop_token}),
    )
    .await;
    assert_ne!(signed_out["visitor_token"], laptop["visitor_token"]);
    assert!(signed_out["contact_id"].is_null());

    // An anonymous visitor who signs in brings their conversation along.
    let guest = app.visitor().await;
    app.start(&guest, "ログイン前の質問").await;
    let mut body = signed(&secret, "user-77");
    body["visitor_token"] = json!(guest.token);
    let joined = session(&app, body).await;
    assert_eq!(joined["contact_id"], app.contact_of(&guest).await.as_str());
    assert_eq!(joined["conversations"].as_array().unwrap().len(), 1);

    // Turned off, or rotated: the old signatures no longer vouch for anyone.
    app.post(&secret_path, &json!({}))
        .bearer_auth(&admin.token)
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap();
    let stale = session(&app, signed(&secret, "user-42")).await;
    assert!(
        stale["contact_id"].is_null(),
        "a rotated secret stops working"
    );
    let off = app
        .http
        .delete(format!("{}{secret_path}", app.url))
        .bearer_auth(&admin.token)
        .send()
        .await
        .unwrap();
    assert_eq!(off.status(), StatusCode::NO_CONTENT);
}
