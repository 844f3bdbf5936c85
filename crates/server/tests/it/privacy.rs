//! Sensitive data customers paste: a card number (Luhn-checked), My Number and a password are
//! masked before the message is stored — checked in the database row, the API and the audit
//! log (which names the kinds, never the values) — and a workspace can switch a rule off.
//! A contact's rights: the export holds all their data; after erasure none of it is left in
//! the database files, the search index or any answer, and the audit chain still verifies.

use madoguchi_core::agent::Role;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::time::Duration;

use crate::support::{both_backends, TestApp};

both_backends!(pasted_card_numbers_and_passwords_are_stored_masked);
both_backends!(an_erased_contact_leaves_nothing_behind);
both_backends!(the_retention_policy_empties_old_resolved_conversations);

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

/// What the erased contact wrote, was called and attached; none of it may be left.
const SECRETS: [&str; 6] = [
    "QZ-48151",
    "hanako.erase@example.jp",
    "09048151623",
    "消去花子",
    "erase-marker-pdf-77",
    "くそ店員",
];

/// The files in `dir` (not below it) that hold `needle`, ASCII case aside.
fn held_in(dir: &std::path::Path, needle: &str) -> Vec<String> {
    let needle = needle.to_ascii_lowercase().into_bytes();
    std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|entry| {
            let path = entry.unwrap().path();
            let bytes = std::fs::read(&path).ok()?.to_ascii_lowercase();
            bytes
                .windows(needle.len())
                .any(|w| w == needle.as_slice())
                .then(|| path.display().to_string())
        })
        .collect()
}

async fn an_erased_contact_leaves_nothing_behind(app: TestApp) {
    let workspace = app.workspace_id.clone();
    let admin = app
        .agent_in(&workspace, "dpo@example.jp", Role::Admin)
        .await;
    let agent = app.agent("helper@example.jp").await;
    let visitor = app.visitor().await;
    let id = app
        .start(
            &visitor,
            "ケトルの注文番号はQZ-48151です。届きません。連絡先 hanako.erase@example.jp",
        )
        .await;
    let contact = app.contact_of(&visitor).await;
    let patched = app
        .patch(
            &format!("/api/v1/contacts/{contact}"),
            &json!({"name": "消去花子", "email": "hanako.erase@example.jp", "phone": "090-4815-1623"}),
        )
        .bearer_auth(&agent.token)
        .send()
        .await
        .unwrap();
    assert_eq!(patched.status(), StatusCode::OK);
    // The shop's system told their order.
    app.store
        .set_shop_data(
            &app.workspace_id,
            &contact,
            r#"{"attributes":{"氏名":"消去花子"},"orders":[{"id":"QZ-48151","placed_at":"2026-11-20"}]}"#,
        )
        .await
        .unwrap();
    app.reply(&agent, &id, "消去花子様、QZ-48151を確認します", false)
        .await;
    app.reply(&agent, &id, "社内メモ: QZ-48151 は再送", true)
        .await;
    app.reply_as_visitor(&visitor, &id, "死ねよ、くそ店員")
        .await;
    let pdf = b"%PDF-1.4\n% erase-marker-pdf-77\n%%EOF\n".to_vec();
    let uploaded = app
        .http
        .post(format!(
            "{}/widget/v1/conversations/{id}/attachments?name=receipt.pdf",
            app.url
        ))
        .header("x-visitor-token", &visitor.token)
        .header("content-type", "application/octet-stream")
        .body(pdf.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(uploaded.status(), StatusCode::CREATED);
    // Someone else's conversation stays as it is.
    let other = app
        .start(&app.visitor().await, "ケトルの色違いはありますか")
        .await;
    let hits = crate::search::found(&app, &agent, "QZ-48151", 3, Duration::from_secs(2)).await;
    assert_eq!(hits.len(), 3, "{hits:?}");
    let hits = crate::search::found(&app, &agent, "ケトル", 2, Duration::from_secs(2)).await;
    assert_eq!(hits.len(), 2, "{hits:?}");

    let index = app.state.search.index().unwrap();
    for token in ["QZ-48151", "hanako.erase@example.jp"] {
        assert!(index.dictionary_holds(token).unwrap(), "{token}");
    }

    // The export: admins only, everything in it, audited.
    let path = format!("/api/v1/contacts/{contact}/export");
    let refused = app
        .get(&path)
        .bearer_auth(&agent.token)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let export = app.get_json(&admin, &path).await;
    assert_eq!(export["contact"]["email"], "hanako.erase@example.jp");
    let conversation = &export["conversations"][0];
    assert_eq!(conversation["id"], id.as_str());
    let bodies: Vec<&str> = conversation["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["body"].as_str().unwrap())
        .collect();
    for expected in [
        "ケトルの注文番号はQZ-48151です。届きません。連絡先 hanako.erase@example.jp",
        "消去花子様、QZ-48151を確認します",
        "社内メモ: QZ-48151 は再送",
        "receipt.pdf",
    ] {
        assert!(bodies.contains(&expected), "{expected} not in {bodies:?}");
    }
    use base64::Engine;
    assert_eq!(
        conversation["attachments"][0]["data_base64"],
        base64::engine::general_purpose::STANDARD.encode(&pdf)
    );
    let page = app
        .get(&format!("{path}?format=html"))
        .bearer_auth(&admin.token)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("消去花子") && page.contains("社内メモ: QZ-48151 は再送"));
    let bad = app
        .get(&format!("{path}?format=xml"))
        .bearer_auth(&admin.token)
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);

    // The erasure: admins only.
    let erase = |who: &crate::support::Agent| {
        app.http
            .delete(format!("{}/api/v1/contacts/{contact}", app.url))
            .bearer_auth(&who.token)
            .send()
    };
    let refused = erase(&agent).await.unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let erased = erase(&admin).await.unwrap();
    assert_eq!(erased.status(), StatusCode::OK);
    let erased: Value = erased.json().await.unwrap();
    assert_eq!(erased["conversations"], 1);
    assert!(erased["messages"].as_u64().unwrap() >= 5, "{erased}");
    assert_eq!(erased["attachments"], 1);
    assert!(
        erased["redacted_audit_events"].as_u64().unwrap() >= 1,
        "{erased}"
    );

    // Nothing is left in any answer: search (within a second), the conversation, the profile,
    // the export, the visitor's own list.
    let started = std::time::Instant::now();
    loop {
        let hits = crate::search::found(&app, &agent, "ケトル", 0, Duration::ZERO).await;
        if hits.len() == 1 {
            assert_eq!(hits[0]["conversation_id"], other.as_str());
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(1), "{hits:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    for q in ["QZ-48151", "hanako.erase@example.jp", "くそ店員"] {
        let (_, answer) = crate::search::search(&app, &admin, q).await;
        assert_eq!(answer["hits"], json!([]), "{q}");
    }
    let messages = app
        .get_json(&admin, &format!("/api/v1/conversations/{id}/messages"))
        .await;
    assert_eq!(messages["messages"], json!([]));
    let profile = app
        .get_json(&admin, &format!("/api/v1/contacts/{contact}"))
        .await;
    assert_eq!(profile["contact"]["email"], Value::Null);
    assert_eq!(profile["contact"]["name"], Value::Null);
    assert_eq!(profile["identities"], json!([]));
    let export = app.get_json(&admin, &path).await.to_string();
    for secret in SECRETS {
        assert!(!export.contains(secret), "{secret} in the export: {export}");
    }
    let mine: Value = app
        .get("/widget/v1/conversations")
        .header("x-visitor-token", &visitor.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(!mine.to_string().contains(&id), "{mine}");
    // Erasing again changes nothing.
    let again: Value = erase(&admin).await.unwrap().json().await.unwrap();
    assert_eq!(again["messages"], 0);

    // The audit chain still verifies; the tombstone holds no personal data.
    let check = app.store.verify_audit_chain(&workspace).await.unwrap();
    assert_eq!(check.first_broken_seq, None, "{check:?}");
    let events = app.store.audit_events(&workspace).await.unwrap();
    assert!(events.iter().any(|e| e.action == "contact.erased"));
    assert!(events.iter().any(|e| e.action == "contact.exported"));
    for event in &events {
        for secret in SECRETS {
            assert!(!event.detail.contains(secret), "{secret} in {event:?}");
        }
    }

    // The audit log as admins read it: the erasure and the export, the chain verified.
    let log = app
        .get_json(&admin, &format!("/api/v1/audit?target=contact:{contact}"))
        .await;
    assert_eq!(log["chain"]["verified"], true, "{log}");
    let actions: Vec<&str> = log["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    // Newest first: the export after the erasure, the erasure, the exports before it.
    assert_eq!(
        actions,
        [
            "contact.exported",
            "contact.erased",
            "contact.exported",
            "contact.exported"
        ]
    );
    let csv = app
        .get("/api/v1/audit?action=contact.&format=csv")
        .bearer_auth(&admin.token)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(csv.starts_with("seq,created_at,actor,action,target,detail,hash\n"));
    assert!(csv.contains(",contact.erased,"), "{csv}");

    // Not in the database's files (SQLite) or rows (PostgreSQL), nor in the index's files.
    match app.database().backend {
        madoguchi_store::Backend::Sqlite => {
            for secret in SECRETS {
                let files = held_in(app.database().dir(), secret);
                assert!(files.is_empty(), "{secret} in {files:?}");
            }
        }
        madoguchi_store::Backend::Postgres => {
            let tables = app
                .store
                .count_unchecked(
                    "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = current_schema()",
                )
                .await
                .unwrap();
            // Bookkeeping of migrations aside, every table is scanned.
            assert_eq!(tables, TABLES.len() as i64 + 1, "a table is missing below");
            for table in TABLES {
                for secret in SECRETS {
                    let sql =
                        format!("SELECT COUNT(*) FROM {table} x WHERE x::text LIKE '%{secret}%'");
                    assert_eq!(app.store.count_unchecked(&sql).await.unwrap(), 0, "{sql}");
                }
            }
        }
    }
    // The segments that held them are rewritten right after the documents are deleted (search
    // stops finding them first): the terms are gone once that merge is done.
    let started = std::time::Instant::now();
    for token in ["QZ-48151", "hanako.erase@example.jp"] {
        while index.dictionary_holds(token).unwrap() {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "{token} in the index"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// Every table (PostgreSQL holds no files to scan).
const TABLES: [&str; 35] = [
    "workspaces",
    "channels",
    "agents",
    "agent_tokens",
    "contacts",
    "contact_identities",
    "teams",
    "conversations",
    "messages",
    "tags",
    "conversation_tags",
    "audit_events",
    "jobs",
    "templates",
    "server_secrets",
    "articles",
    "synonym_groups",
    "bot_turns",
    "ratings",
    "scenario_clicks",
    "attachments",
    "article_votes",
    "mail_ids",
    "imap_state",
    "nps_answers",
    "blocks",
    "team_members",
    "routing_rules",
    "sla_policies",
    "webhooks",
    "webhook_attempts",
    "account_links",
    "brands",
    "agent_brands",
    "article_vectors",
];

/// A workspace keeping resolved conversations 30 days and files 7: a month later the old
/// conversation's messages are emptied (then deleted, when the policy says so), its file is
/// gone, search forgets it, the open conversation stays, and the audit chain still verifies.
async fn the_retention_policy_empties_old_resolved_conversations(app: TestApp) {
    let workspace = app.workspace_id.clone();
    let admin = app
        .agent_in(&workspace, "lead@example.jp", Role::Admin)
        .await;
    let agent = app.agent("one@example.jp").await;
    let old_visitor = app.visitor().await;
    let old = app
        .start(&old_visitor, "古い問い合わせ RT-77001 です")
        .await;
    let pdf = b"%PDF-1.4\n% retention\n%%EOF\n".to_vec();
    let uploaded: Value = app
        .http
        .post(format!(
            "{}/widget/v1/conversations/{old}/attachments?name=old.pdf",
            app.url
        ))
        .header("x-visitor-token", &old_visitor.token)
        .header("content-type", "application/octet-stream")
        .body(pdf)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let file = uploaded["meta"]["attachments"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.reply(&admin, &old, "RT-77001 承知しました", false)
        .await;
    app.patch(
        &format!("/api/v1/conversations/{old}"),
        &json!({"status": "resolved"}),
    )
    .bearer_auth(&admin.token)
    .send()
    .await
    .unwrap()
    .error_for_status()
    .unwrap();
    let open = app
        .start(&app.visitor().await, "新しい問い合わせ RT-77002 です")
        .await;
    let hits = crate::search::found(&app, &agent, "RT-77001", 2, Duration::from_secs(2)).await;
    assert_eq!(hits.len(), 2, "{hits:?}");

    // A month on, the policy is set: admins only, days checked.
    app.clock.advance_secs(31 * 86_400);
    // Their sessions went idle meanwhile.
    let admin = app
        .login("lead@example.jp", "password-123", &admin.id)
        .await;
    let agent = app.login("one@example.jp", "password-123", &agent.id).await;
    let put = |who: &crate::support::Agent, body: &Value| {
        app.http
            .put(format!("{}/api/v1/privacy/retention", app.url))
            .bearer_auth(&who.token)
            .json(body)
            .send()
    };
    let policy =
        json!({"resolved_conversations_days": 30, "removal": "redact", "attachments_days": 7});
    let refused = put(&agent, &policy).await.unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let bad = put(&admin, &json!({"attachments_days": 0})).await.unwrap();
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let set = put(&admin, &policy).await.unwrap();
    assert_eq!(set.status(), StatusCode::OK);
    assert_eq!(
        app.get_json(&agent, "/api/v1/privacy/retention").await,
        policy
    );
    assert!(app.run_jobs().await >= 1);

    // Emptied: who wrote when stays, the text does not; the file is gone.
    let messages = app
        .get_json(&admin, &format!("/api/v1/conversations/{old}/messages"))
        .await;
    let messages = messages["messages"].as_array().unwrap().clone();
    assert!(messages.len() >= 3, "{messages:?}");
    assert!(
        messages
            .iter()
            .all(|m| m["body"] == "" && m["meta"].is_null()),
        "{messages:?}"
    );
    let gone = app
        .get(&format!("/api/v1/attachments/{file}"))
        .bearer_auth(&admin.token)
        .send()
        .await
        .unwrap();
    assert_eq!(gone.status(), StatusCode::NOT_FOUND);
    let kept = app
        .get_json(&admin, &format!("/api/v1/conversations/{open}/messages"))
        .await;
    assert_eq!(
        kept["messages"][0]["body"],
        "新しい問い合わせ RT-77002 です"
    );
    // Search forgets it within a second; the open one is still found.
    let started = std::time::Instant::now();
    loop {
        let hits = crate::search::found(&app, &agent, "RT-77001", 0, Duration::ZERO).await;
        if hits.is_empty() {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(1), "{hits:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let open_hits = crate::search::found(&app, &agent, "RT-77002", 1, Duration::from_secs(1)).await;
    assert_eq!(open_hits.len(), 1);
    // And its terms leave the index's files (the emptied conversation is announced).
    let index = app.state.search.index().unwrap();
    let started = std::time::Instant::now();
    while index.dictionary_holds("RT-77001").unwrap() {
        assert!(started.elapsed() < Duration::from_secs(1), "still indexed");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // Deletion instead of emptying: the messages go.
    let set = put(
        &admin,
        &json!({"resolved_conversations_days": 30, "removal": "delete"}),
    )
    .await
    .unwrap();
    assert_eq!(set.status(), StatusCode::OK);
    app.clock.advance_secs(60);
    app.run_jobs().await;
    let messages = app
        .get_json(&admin, &format!("/api/v1/conversations/{old}/messages"))
        .await;
    assert_eq!(messages["messages"], json!([]));
    let kept = app
        .get_json(&admin, &format!("/api/v1/conversations/{open}/messages"))
        .await;
    assert_eq!(
        kept["messages"][0]["body"],
        "新しい問い合わせ RT-77002 です"
    );

    // Audited, the chain whole, and tomorrow's run queued.
    let events = app.store.audit_events(&workspace).await.unwrap();
    let runs = events
        .iter()
        .filter(|e| e.action == "retention.applied")
        .count();
    assert_eq!(runs, 2, "{events:?}");
    assert!(events.iter().all(|e| !e.detail.contains("RT-77001")));
    let check = app.store.verify_audit_chain(&workspace).await.unwrap();
    assert_eq!(check.first_broken_seq, None, "{check:?}");
    let queued = app
        .store
        .count_unchecked("SELECT COUNT(*) FROM jobs WHERE kind = 'retention' AND done_at IS NULL")
        .await
        .unwrap();
    assert_eq!(queued, 1);
}
