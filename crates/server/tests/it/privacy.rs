//! Sensitive data customers paste: a card number (Luhn-checked), My Number and a password are
//! masked before the message is stored — checked in the database row, the API and the audit
//! log (which names the kinds, never the values) — and a workspace can switch a rule off.

use madoguchi_core::agent::Role;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::support::{both_backends, TestApp};

both_backends!(pasted_card_numbers_and_passwords_are_stored_masked);

async fn pasted_card_numbers_and_passwords_are_stored_masked(app: TestApp) {
    let workspace = app.workspace_id.clone();
    let admin = app
        .agent_in(&workspace, "lead@example.jp", Role::Admin)
        .await;
    let visitor = app.visitor().await;
    let id = app
        .start(
            &visitor,
            "支払いできません。カード番号は4111-1111-1111-1111です",
        )
        .await;
    app.reply_as_visitor(
        &visitor,
        &id,
        "ログインのパスワードは Secret-99 です。個人番号は123456789018",
    )
    .await;
    let list = app
        .get_json(&admin, &format!("/api/v1/conversations/{id}/messages"))
        .await;
    let bodies: Vec<String> = list["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["sender_kind"] == "contact")
        .map(|m| m["body"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        bodies,
        [
            "支払いできません。カード番号は**** **** **** 1111です",
            "ログインのパスワードは ******** です。個人番号は**** **** ****"
        ]
    );
    // The rows themselves hold the masked text.
    let ids: Vec<String> = list["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["sender_kind"] == "contact")
        .map(|m| m["id"].as_str().unwrap().to_owned())
        .collect();
    let stored = app.store.messages_by_ids(&workspace, &ids).await.unwrap();
    assert_eq!(stored.len(), 2);
    for message in &stored {
        for secret in [
            "4111-1111-1111-1111",
            "4111111111111111",
            "Secret-99",
            "123456789018",
        ] {
            assert!(!message.body.contains(secret), "{}", message.body);
        }
    }
    // Audited: what kinds, never the values.
    let events = app
        .store
        .audit_events_about(&workspace, &ids)
        .await
        .unwrap();
    let masked: Vec<&str> = events
        .iter()
        .filter(|e| e.action == "message.sensitive_masked")
        .map(|e| e.detail.as_str())
        .collect();
    assert_eq!(masked.len(), 2, "{events:?}");
    assert!(
        masked[0].contains("card")
            && masked[1].contains("password")
            && masked[1].contains("my_number")
    );
    assert!(masked
        .iter()
        .all(|d| !d.contains("1111") && !d.contains("Secret")));

    // The rules are the workspace's: admins change them.
    let agent = app.agent("one@example.jp").await;
    let rules = app.get_json(&agent, "/api/v1/privacy/masking").await;
    assert_eq!(
        rules,
        json!({"card": true, "my_number": true, "password": true})
    );
    let refused = app
        .http
        .put(format!("{}/api/v1/privacy/masking", app.url))
        .bearer_auth(&agent.token)
        .json(&json!({"card": false}))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let changed: Value = app
        .http
        .put(format!("{}/api/v1/privacy/masking", app.url))
        .bearer_auth(&admin.token)
        .json(&json!({"card": false, "my_number": true, "password": true}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(changed["card"], false);
    let kept = app
        .start(&app.visitor().await, "テスト用カード 4111 1111 1111 1111")
        .await;
    let list = app
        .get_json(&admin, &format!("/api/v1/conversations/{kept}/messages"))
        .await;
    assert_eq!(
        list["messages"][0]["body"],
        "テスト用カード 4111 1111 1111 1111"
    );
}
