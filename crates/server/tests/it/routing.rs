//! Teams and routing end to end: ordered rules with conditions and actions (a team, its next
//! agent by round robin within capacity and skipping agents away or offline, priority, tags),
//! each firing noted on the timeline; and agents who see only their teams' conversations (HTTP
//! and socket).

use madoguchi_core::agent::Role;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::support::{both_backends, next_message, Agent, TestApp};

both_backends!(
    rules_route_to_a_team_by_round_robin_within_capacity,
    agents_limited_to_their_teams_see_only_those,
    routing_settings_are_checked_and_guarded
);

async fn send_as(
    app: &TestApp,
    who: &Agent,
    method: reqwest::Method,
    path: &str,
    body: &Value,
) -> (StatusCode, Value) {
    let response = app
        .http
        .request(method, format!("{}{path}", app.url))
        .bearer_auth(&who.token)
        .json(body)
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn post(app: &TestApp, who: &Agent, path: &str, body: Value) -> Value {
    let (status, answer) = send_as(app, who, reqwest::Method::POST, path, &body).await;
    assert!(status.is_success(), "{path}: {status} {answer}");
    answer
}

async fn conversation(app: &TestApp, who: &Agent, id: &str) -> Value {
    app.get_json(who, &format!("/api/v1/conversations/{id}"))
        .await
}

/// A new visitor's conversation with `text`.
async fn customer_writes(app: &TestApp, text: &str) -> String {
    let visitor = app.visitor().await;
    app.start(&visitor, text).await
}

async fn rules_route_to_a_team_by_round_robin_within_capacity(app: TestApp) {
    let workspace = app.workspace_id.clone();
    let admin = app
        .agent_in(&workspace, "lead@example.jp", Role::Admin)
        .await;
    let a1 = app.agent("one@example.jp").await;
    let a2 = app.agent("two@example.jp").await;
    let a3 = app.agent("three@example.jp").await;
    let team = post(
        &app,
        &admin,
        "/api/v1/teams",
        json!({"name": "配送チーム", "members": [a1.id, a2.id, a3.id]}),
    )
    .await;
    let team_id = team["id"].as_str().unwrap().to_owned();
    assert_eq!(team["members"], json!([a1.id, a2.id, a3.id]));
    let (status, _) = send_as(
        &app,
        &admin,
        reqwest::Method::PUT,
        &format!("/api/v1/agents/{}/routing", a2.id),
        &json!({"capacity": 1, "away": false}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    post(
        &app,
        &admin,
        "/api/v1/routing/rules",
        json!({"name": "配送", "rule": {"when": "created",
            "conditions": {"words": ["配送", "届か"]},
            "actions": {"team_id": team_id, "assign": "round_robin", "priority": "high", "tags": ["配送"]}}}),
    )
    .await;
    post(
        &app,
        &admin,
        "/api/v1/routing/rules",
        json!({"name": "至急", "rule": {"when": "customer_message",
            "conditions": {"words": ["至急"]}, "actions": {"priority": "urgent"}}}),
    )
    .await;
    post(
        &app,
        &admin,
        "/api/v1/routing/rules",
        json!({"name": "止めたルール", "enabled": false, "rule": {"when": "created",
            "conditions": {"words": ["配送"]}, "actions": {"tags": ["off"]}}}),
    )
    .await;
    // One and two have the inbox open; three does not.
    let _one = app.agent_ws(&a1, "").await;
    let _two = app.agent_ws(&a2, "").await;

    let first = customer_writes(&app, "配送状況を教えてください").await;
    let shown = conversation(&app, &admin, &first).await;
    assert_eq!(shown["team_id"], team_id.as_str());
    assert_eq!(shown["assignee_id"], a1.id.as_str());
    assert_eq!(shown["priority"], "high");
    assert_eq!(
        shown["tags"],
        json!(["配送"]),
        "the switched-off rule did nothing"
    );
    let timeline = app
        .get_json(&admin, &format!("/api/v1/conversations/{first}/messages"))
        .await;
    let notes: Vec<&str> = timeline["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["private"] == true && m["sender_kind"] == "system")
        .map(|m| m["body"].as_str().unwrap())
        .collect();
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert!(
        notes[0].starts_with("ルール「配送」: チーム「配送チーム」、担当 "),
        "{}",
        notes[0]
    );
    assert!(
        notes[0].contains("優先度 高") && notes[0].contains("タグ #配送"),
        "{}",
        notes[0]
    );

    // Round robin: two next; then two is full (capacity 1) and three offline, so one.
    let second = customer_writes(&app, "荷物が届かないです").await;
    assert_eq!(
        conversation(&app, &admin, &second).await["assignee_id"],
        a2.id.as_str()
    );
    let third = customer_writes(&app, "まだ届かない").await;
    assert_eq!(
        conversation(&app, &admin, &third).await["assignee_id"],
        a1.id.as_str()
    );

    // Both rules fire, in order: the later one's priority stands.
    let urgent = customer_writes(&app, "至急、配送の件です").await;
    let shown = conversation(&app, &admin, &urgent).await;
    assert_eq!(shown["priority"], "urgent");
    assert_eq!(shown["team_id"], team_id.as_str());

    // Three comes online and one steps away: three is next.
    let _three = app.agent_ws(&a3, "").await;
    let (status, body) = send_as(
        &app,
        &a1,
        reqwest::Method::PUT,
        &format!("/api/v1/agents/{}/routing", a1.id),
        &json!({"capacity": null, "away": true}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let fifth = customer_writes(&app, "配送先を変えたい").await;
    assert_eq!(
        conversation(&app, &admin, &fifth).await["assignee_id"],
        a3.id.as_str()
    );
    let routing = app
        .get_json(&admin, &format!("/api/v1/agents/{}/routing", a3.id))
        .await;
    assert_eq!(routing["online"], true);

    // No rule holds: nothing happens.
    let plain = customer_writes(&app, "営業時間を教えてください").await;
    let shown = conversation(&app, &admin, &plain).await;
    assert!(shown["team_id"].is_null() && shown["assignee_id"].is_null());
    assert_eq!(shown["priority"], "normal");

    // A later message on a conversation: only customer_message rules look at it.
    let visitor = app.visitor().await;
    let later = app.start(&visitor, "質問があります").await;
    app.post(
        &format!("/widget/v1/conversations/{later}/messages"),
        &json!({"body": "至急お願いします。配送の件です"}),
    )
    .header("x-visitor-token", &visitor.token)
    .send()
    .await
    .unwrap()
    .error_for_status()
    .unwrap();
    let shown = conversation(&app, &admin, &later).await;
    assert_eq!(shown["priority"], "urgent");
    assert!(
        shown["team_id"].is_null(),
        "the created rule does not fire later"
    );
}

async fn agents_limited_to_their_teams_see_only_those(app: TestApp) {
    let workspace = app.workspace_id.clone();
    let admin = app
        .agent_in(&workspace, "lead@example.jp", Role::Admin)
        .await;
    let in_a = app.agent("a@example.jp").await;
    let in_b = app.agent("b@example.jp").await;
    let team_a = post(
        &app,
        &admin,
        "/api/v1/teams",
        json!({"name": "A", "members": [in_a.id]}),
    )
    .await;
    let team_b = post(
        &app,
        &admin,
        "/api/v1/teams",
        json!({"name": "B", "members": [in_b.id]}),
    )
    .await;
    let ca = customer_writes(&app, "Aの件").await;
    let visitor_b = app.visitor().await;
    let cb = app.start(&visitor_b, "Bの件").await;
    for (id, team) in [(&ca, &team_a), (&cb, &team_b)] {
        let (status, body) = send_as(
            &app,
            &admin,
            reqwest::Method::PATCH,
            &format!("/api/v1/conversations/{id}"),
            &json!({"team_id": team["id"]}),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    // Everyone sees everything until the workspace limits agents to their teams.
    let list = app.get_json(&in_a, "/api/v1/conversations").await;
    assert_eq!(list["conversations"].as_array().unwrap().len(), 2);
    let (status, _) = send_as(
        &app,
        &admin,
        reqwest::Method::PUT,
        "/api/v1/routing/settings",
        &json!({"agent_scope": "teams"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);

    let list = app.get_json(&in_a, "/api/v1/conversations").await;
    let ids: Vec<&str> = list["conversations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [ca.as_str()]);
    assert_eq!(list["counts"]["open"], 1, "counts are of their teams too");
    for path in [
        format!("/api/v1/conversations/{cb}"),
        format!("/api/v1/conversations/{cb}/messages"),
        format!("/api/v1/conversations/{cb}/transcript"),
    ] {
        let status = app
            .get(&path)
            .bearer_auth(&in_a.token)
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
    }
    let (status, _) = send_as(
        &app,
        &in_a,
        reqwest::Method::POST,
        &format!("/api/v1/conversations/{cb}/messages"),
        &json!({"body": "見えないはず"}),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = send_as(
        &app,
        &in_a,
        reqwest::Method::PATCH,
        &format!("/api/v1/conversations/{cb}"),
        &json!({"status": "resolved"}),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let by_team = app
        .get_json(
            &admin,
            &format!(
                "/api/v1/conversations?team={}",
                team_b["id"].as_str().unwrap()
            ),
        )
        .await;
    assert_eq!(by_team["conversations"][0]["id"], cb.as_str());
    assert_eq!(by_team["conversations"].as_array().unwrap().len(), 1);

    // The socket: B's message never reaches A's agent; A's does.
    let mut socket = app.agent_ws(&in_a, "").await;
    app.post(
        &format!("/widget/v1/conversations/{cb}/messages"),
        &json!({"body": "Bの追加"}),
    )
    .header("x-visitor-token", &visitor_b.token)
    .send()
    .await
    .unwrap()
    .error_for_status()
    .unwrap();
    app.reply(&admin, &ca, "Aへの返信", false).await;
    let frame = next_message(&mut socket).await;
    assert_eq!(frame["conversation_id"], ca.as_str(), "{frame}");
    let refused = tokio_tungstenite::connect_async(format!(
        "ws://{}/api/v1/ws?access_token={}&conversation_id={cb}",
        app.addr, in_a.token
    ))
    .await;
    assert!(
        refused.is_err(),
        "no socket onto another team's conversation"
    );
    // Admins see all.
    let all = app.get_json(&admin, "/api/v1/conversations").await;
    assert_eq!(all["conversations"].as_array().unwrap().len(), 2);
}

async fn routing_settings_are_checked_and_guarded(app: TestApp) {
    let workspace = app.workspace_id.clone();
    let admin = app
        .agent_in(&workspace, "lead@example.jp", Role::Admin)
        .await;
    let agent = app.agent("staff@example.jp").await;
    let (status, _) = send_as(
        &app,
        &agent,
        reqwest::Method::POST,
        "/api/v1/teams",
        &json!({"name": "X"}),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    post(&app, &admin, "/api/v1/teams", json!({"name": "X"})).await;
    let (status, body) = send_as(
        &app,
        &admin,
        reqwest::Method::POST,
        "/api/v1/teams",
        &json!({"name": "X"}),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    let (status, body) = send_as(
        &app,
        &admin,
        reqwest::Method::POST,
        "/api/v1/teams",
        &json!({"name": "Y", "members": [madoguchi_store::new_id()]}),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    for (rule, code) in [
        (
            json!({"when": "created", "actions": {}}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({"when": "sometimes", "actions": {"priority": "high"}}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({"when": "created", "actions": {"team_id": madoguchi_store::new_id()}}),
            StatusCode::NOT_FOUND,
        ),
        (
            json!({"when": "created", "conditions": {"language": "fr"}, "actions": {"priority": "high"}}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
    ] {
        let (status, body) = send_as(
            &app,
            &admin,
            reqwest::Method::POST,
            "/api/v1/routing/rules",
            &json!({"name": "r", "rule": rule}),
        )
        .await;
        assert_eq!(status, code, "{rule}: {body}");
        assert!(body["error"]["code"].is_string());
    }
    let (status, _) = send_as(
        &app,
        &agent,
        reqwest::Method::POST,
        "/api/v1/routing/rules",
        &json!({"name": "r", "rule": {"when": "created", "actions": {"priority": "high"}}}),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // An agent switches themselves away, but sets no capacity and touches nobody else.
    let me = format!("/api/v1/agents/{}/routing", agent.id);
    let (status, _) = send_as(
        &app,
        &agent,
        reqwest::Method::PUT,
        &me,
        &json!({"capacity": null, "away": true}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = send_as(
        &app,
        &agent,
        reqwest::Method::PUT,
        &me,
        &json!({"capacity": 3, "away": true}),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let boss = format!("/api/v1/agents/{}/routing", admin.id);
    let (status, _) = send_as(
        &app,
        &agent,
        reqwest::Method::PUT,
        &boss,
        &json!({"capacity": null, "away": true}),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = send_as(
        &app,
        &admin,
        reqwest::Method::PUT,
        "/api/v1/routing/settings",
        &json!({"agent_scope": "some"}),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
}
