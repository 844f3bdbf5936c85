//! Search end to end over HTTP: Japanese relevance (inflections, kana and width variants, an
//! order number, an e-mail address, a phrase) with escaped, highlighted snippets; new messages
//! found within a second; filters, grouping by conversation, contacts; who may see what (another
//! workspace, an agent limited to their teams, visitors); a restart with the index folder gone
//! rebuilds it from the store.

use std::time::{Duration, Instant};

use madoguchi_core::agent::Role;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::support::{both_backends, Agent, TestApp};

both_backends!(
    search_finds_japanese_variants_and_respects_who_may_see,
    search_filters_groups_and_rebuilds_after_a_restart
);

pub async fn search(app: &TestApp, agent: &Agent, query: &str) -> (StatusCode, Value) {
    let response = app
        .http
        .get(format!("{}/api/v1/search", app.url))
        .query(&[("q", query)])
        .bearer_auth(&agent.token)
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// The conversations of the hits of `q` (with extra query parameters), waiting up to `within`
/// for the index to have them.
pub async fn found(
    app: &TestApp,
    agent: &Agent,
    q: &str,
    expected: usize,
    within: Duration,
) -> Vec<Value> {
    let started = Instant::now();
    loop {
        let (status, answer) = search(app, agent, q).await;
        assert_eq!(status, StatusCode::OK, "{q}: {answer}");
        let hits = answer["hits"].as_array().unwrap().clone();
        if hits.len() >= expected || started.elapsed() > within {
            return hits;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn conversations_of(hits: &[Value]) -> Vec<String> {
    hits.iter()
        .map(|h| h["conversation_id"].as_str().unwrap().to_owned())
        .collect()
}

const SOON: Duration = Duration::from_secs(1);

async fn search_finds_japanese_variants_and_respects_who_may_see(app: TestApp) {
    let workspace = app.workspace_id.clone();
    let admin = app
        .agent_in(&workspace, "lead@example.jp", Role::Admin)
        .await;
    let kettle = app
        .start(
            &app.visitor().await,
            "去年の春に買ったケトルが壊れました。<script>alert(1)</script>",
        )
        .await;
    let sent = Instant::now();
    let hits = found(&app, &admin, "ケトル", 1, SOON).await;
    assert!(sent.elapsed() < SOON, "found within a second");
    assert_eq!(conversations_of(&hits), [kettle.as_str()]);
    let snippet = hits[0]["snippet"].as_str().unwrap();
    assert!(snippet.contains("<mark>ケトル</mark>"), "{snippet}");
    assert!(snippet.contains("&lt;script&gt;"), "escaped: {snippet}");
    assert!(!snippet.contains("<script>"));
    assert_eq!(hits[0]["sender_kind"], "contact");
    assert_eq!(hits[0]["seq"], 1);

    let late = app
        .start(&app.visitor().await, "荷物がまだ届かないのですが")
        .await;
    let cancel = app
        .start(
            &app.visitor().await,
            "ｷｬﾝｾﾙをお願いします。注文番号はA-10293、連絡先は hanako.sato@example.jp です",
        )
        .await;
    found(&app, &admin, "キャンセル", 1, SOON).await;
    for (query, expected) in [
        ("届きません", &late),
        ("とどかない", &late),
        ("きゃんせる", &cancel),
        ("ｷｬﾝｾﾙ", &cancel),
        ("a-10293", &cancel),
        ("HANAKO.SATO@EXAMPLE.JP", &cancel),
        ("\"ケトルが壊れ\"", &kettle),
    ] {
        let hits = found(&app, &admin, query, 1, SOON).await;
        assert_eq!(conversations_of(&hits), [expected.as_str()], "{query}");
    }
    assert!(found(&app, &admin, "A-10294", 1, Duration::ZERO)
        .await
        .is_empty());
    assert!(
        found(&app, &admin, "\"壊れたケトル\"", 1, Duration::ZERO)
            .await
            .is_empty(),
        "a phrase keeps its order"
    );

    // Notes are found by agents, marked private.
    app.reply(&admin, &late, "配送業者に調査依頼済み", true)
        .await;
    let hits = found(&app, &admin, "調査依頼", 1, SOON).await;
    assert_eq!(hits[0]["private"], true);

    // Another workspace's agent finds nothing of this one.
    let (other, _) = app.other_workspace().await;
    let stranger = app.agent_in(&other, "other@example.jp", Role::Admin).await;
    let (status, answer) = search(&app, &stranger, "ケトル").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(answer["hits"], json!([]));
    // A visitor is no agent.
    let visitor = app.visitor().await;
    let anonymous = app
        .http
        .get(format!("{}/api/v1/search?q=ケトル", app.url))
        .header("x-visitor-token", &visitor.token)
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);

    // An agent limited to team A never sees team B's hits.
    let agent = app.agent("one@example.jp").await;
    let post = |path: &'static str, body: Value| {
        let request = app.post(path, &body).bearer_auth(&admin.token);
        async move {
            let answer: Value = request.send().await.unwrap().json().await.unwrap();
            answer
        }
    };
    let team_a = post("/api/v1/teams", json!({"name": "A", "members": [agent.id]})).await;
    let team_b = post("/api/v1/teams", json!({"name": "B"})).await;
    for (conversation, team) in [(&late, &team_a), (&cancel, &team_b)] {
        app.patch(
            &format!("/api/v1/conversations/{conversation}"),
            &json!({"team_id": team["id"]}),
        )
        .bearer_auth(&admin.token)
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap();
    }
    app.http
        .put(format!("{}/api/v1/routing/settings", app.url))
        .bearer_auth(&admin.token)
        .json(&json!({"agent_scope": "teams"}))
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap();
    let hits = found(&app, &agent, "届く", 1, SOON).await;
    assert_eq!(conversations_of(&hits), [late.as_str()]);
    assert!(found(&app, &agent, "キャンセル", 1, Duration::ZERO)
        .await
        .is_empty());
    assert_eq!(
        found(&app, &admin, "キャンセル", 1, SOON).await.len(),
        1,
        "admins see every team"
    );

    for bad in ["", &"長".repeat(201)] {
        let (status, answer) = search(&app, &admin, bad).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
        assert_eq!(answer["error"]["code"], "invalid_body");
    }
}

async fn search_filters_groups_and_rebuilds_after_a_restart(app: TestApp) {
    let workspace = app.workspace_id.clone();
    let admin = app
        .agent_in(&workspace, "lead@example.jp", Role::Admin)
        .await;
    let visitor = app.visitor().await;
    let first = app
        .start(&visitor, "返品したいです。サイズが合いません")
        .await;
    app.reply_as_visitor(&visitor, &first, "返品の送料はかかりますか")
        .await;
    let second = app
        .start(&app.visitor().await, "返品の期限を教えてください")
        .await;
    app.patch(
        &format!("/api/v1/conversations/{second}"),
        &json!({"status": "resolved"}),
    )
    .bearer_auth(&admin.token)
    .send()
    .await
    .unwrap()
    .error_for_status()
    .unwrap();
    assert_eq!(found(&app, &admin, "返品", 3, SOON).await.len(), 3);
    let get = |params: &'static str| {
        let app = &app;
        let admin = &admin;
        async move {
            let answer: Value = app
                .http
                .get(format!("{}/api/v1/search?q=返品&{params}", app.url))
                .bearer_auth(&admin.token)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            answer
        }
    };
    let only_open = get("status=open").await;
    assert_eq!(
        conversations_of(only_open["hits"].as_array().unwrap()),
        [first.clone(), first.clone()]
    );
    let grouped = get("type=conversations").await;
    let grouped = grouped["hits"].as_array().unwrap();
    assert_eq!(grouped.len(), 2, "{grouped:?}");
    assert!(grouped.iter().all(|h| h["type"] == "conversation"));
    let paged = get("limit=2").await;
    assert_eq!(paged["hits"].as_array().unwrap().len(), 2);
    let cursor = paged["next_cursor"].as_str().unwrap().to_owned();
    let rest: Value = app
        .http
        .get(format!("{}/api/v1/search", app.url))
        .query(&[("q", "返品"), ("limit", "2"), ("cursor", &cursor)])
        .bearer_auth(&admin.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(rest["hits"].as_array().unwrap().len(), 1);
    assert_eq!(rest["next_cursor"], Value::Null);
    let bad: Value = get("type=people").await;
    assert_eq!(bad["error"]["code"], "invalid_body");
    let future = get("from=2030-01-01").await;
    assert_eq!(future["hits"], json!([]));

    // Contacts by what the shop knows of them.
    let contact = app.contact_of(&visitor).await;
    app.patch(
        &format!("/api/v1/contacts/{contact}"),
        &json!({"name": "佐藤 花子", "email": "hanako@example.jp"}),
    )
    .bearer_auth(&admin.token)
    .send()
    .await
    .unwrap()
    .error_for_status()
    .unwrap();
    let people = get("type=contacts").await;
    assert_eq!(people["hits"], json!([]), "no contact is called 返品");
    let by_mail: Value = app
        .http
        .get(format!("{}/api/v1/search", app.url))
        .query(&[("q", "HANAKO@example"), ("type", "contacts")])
        .bearer_auth(&admin.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(by_mail["hits"][0]["contact"]["id"], contact.as_str());
    // The index knows them too: kana for the kanji of their name, within a second.
    let by_reading = contacts_found(&app, &admin, "さとう", 1).await;
    assert_eq!(by_reading[0]["contact"]["id"], contact.as_str());
    assert_eq!(
        by_reading[0]["snippet"],
        "<mark>佐藤</mark> 花子 hanako@example.jp"
    );

    // The index folder is lost: the restarted server rebuilds it from the store.
    let folder = app.state.settings.search_path();
    let app = app.restart().await;
    std::fs::remove_dir_all(&folder).ok();
    let app = app.restart().await;
    let admin = app
        .login("lead@example.jp", "password-123", &admin.id)
        .await;
    let hits = found(&app, &admin, "返品", 3, Duration::from_secs(5)).await;
    assert_eq!(hits.len(), 3, "rebuilt: {hits:?}");
    assert!(folder.join("meta.json").exists());
    let people = contacts_found(&app, &admin, "さとう", 1).await;
    assert_eq!(people[0]["contact"]["id"], contact.as_str(), "rebuilt");
}

/// The contacts `q` finds, waiting up to a second for `expected` of them.
async fn contacts_found(app: &TestApp, agent: &Agent, q: &str, expected: usize) -> Vec<Value> {
    let started = Instant::now();
    loop {
        let answer: Value = app
            .http
            .get(format!("{}/api/v1/search", app.url))
            .query(&[("q", q), ("type", "contacts")])
            .bearer_auth(&agent.token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let hits = answer["hits"].as_array().unwrap().clone();
        if hits.len() >= expected || started.elapsed() > SOON {
            return hits;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
