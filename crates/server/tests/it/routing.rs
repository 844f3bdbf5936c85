//! Teams and routing end to end: ordered rules with conditions and actions (a team, its next
//! agent by round robin within capacity and skipping agents away or offline, priority, tags),
//! each firing noted on the timeline; classification of new conversations (keywords, then the
//! workspace's own model trained from agents' choices) and rules on the category; reassignment
//! when an assignee stays silent; and agents
//! who see only their teams' conversations (HTTP and socket).

use madoguchi_core::agent::Role;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::support::{both_backends, next_message, Agent, TestApp};

both_backends!(
    new_conversations_are_classified_and_agents_corrections_train_the_model,
    categories_are_checked_and_only_admins_change_them,
    rules_route_to_a_team_by_round_robin_within_capacity,
    a_silent_assignee_loses_the_conversation_to_the_next_agent,
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

async fn new_conversations_are_classified_and_agents_corrections_train_the_model(app: TestApp) {
    let workspace = app.workspace_id.clone();
    let admin = app
        .agent_in(&workspace, "lead@example.jp", Role::Admin)
        .await;
    let agent = app.agent("one@example.jp").await;
    let team = post(&app, &admin, "/api/v1/teams", json!({"name": "経理"})).await;
    post(
        &app,
        &admin,
        "/api/v1/routing/rules",
        json!({"name": "お金の話", "rule": {"when": "created",
            "conditions": {"categories": ["支払い"]},
            "actions": {"team_id": team["id"], "priority": "high"}}}),
    )
    .await;
    let classification = app.get_json(&agent, "/api/v1/classification").await;
    assert_eq!(classification["classifier"]["method"], "keywords");
    assert_eq!(classification["categories"].as_array().unwrap().len(), 7);

    // Too little history: the keyword rule decides, and the rule on its category fires.
    let paid = customer_writes(&app, "請求が二重になっているようです").await;
    let shown = conversation(&app, &agent, &paid).await;
    assert_eq!(shown["category"], "支払い");
    assert_eq!(shown["category_source"], "keywords");
    assert!(shown["category_confidence"].as_f64().unwrap() > 0.0);
    assert_eq!(shown["team_id"], team["id"]);
    assert_eq!(shown["priority"], "high");
    let frayed = customer_writes(&app, "縫い目がほつれてきました").await;
    let shown = conversation(&app, &agent, &frayed).await;
    assert_eq!(shown["category"], "その他", "no keyword names it");
    assert_eq!(shown["category_confidence"], 0.0);

    // Agents correct: each choice is a training example.
    let (status, bad) = send_as(
        &app,
        &agent,
        reqwest::Method::PATCH,
        &format!("/api/v1/conversations/{frayed}"),
        &json!({"category": "未知のカテゴリ"}),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
    assert_eq!(bad["error"]["code"], "invalid_body");
    let texts = [
        ("縫い目がほつれていました", "返品・交換"),
        ("袖のところがほつれています", "返品・交換"),
        ("生地がほつれて穴があきました", "返品・交換"),
        ("届いたときから糸がほつれていた", "返品・交換"),
        ("ほつれがひどくて着られません", "返品・交換"),
        ("宛名を会社名にしてほしい", "支払い"),
        ("宛名と但し書きを変えてください", "支払い"),
        ("但し書きはお品代でお願いします", "支払い"),
        ("宛名なしで大丈夫です", "支払い"),
        ("経費で落とすので但し書きが必要", "支払い"),
    ];
    let mut labelled = vec![frayed.clone()];
    for round in 0..3 {
        for (text, category) in texts {
            let id = customer_writes(&app, &format!("{text}（{round}）")).await;
            let (status, answer) = send_as(
                &app,
                &agent,
                reqwest::Method::PATCH,
                &format!("/api/v1/conversations/{id}"),
                &json!({"category": category}),
            )
            .await;
            assert_eq!(status, StatusCode::OK, "{answer}");
            assert_eq!(answer["category_source"], "agent");
            assert_eq!(answer["category_confidence"], 1.0);
            labelled.push(id);
        }
    }
    let (status, _) = send_as(
        &app,
        &agent,
        reqwest::Method::PATCH,
        &format!("/api/v1/conversations/{frayed}"),
        &json!({"category": "返品・交換"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);

    // The model retrains in the background from those 31 examples.
    let mut method = Value::Null;
    for _ in 0..100 {
        method = app.get_json(&agent, "/api/v1/classification").await["classifier"].clone();
        if method["method"] == "model" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(method, json!({"method": "model", "examples": 31}));
    let learned = customer_writes(&app, "裾がほつれているので見てほしい").await;
    let shown = conversation(&app, &agent, &learned).await;
    assert_eq!(shown["category"], "返品・交換", "{shown}");
    assert_eq!(shown["category_source"], "model");
    let receipt = customer_writes(&app, "領収書の宛名について").await;
    let shown = conversation(&app, &agent, &receipt).await;
    assert_eq!(shown["category"], "支払い", "{shown}");
    assert_eq!(
        shown["team_id"], team["id"],
        "the rule reads the model's category"
    );
}

async fn categories_are_checked_and_only_admins_change_them(app: TestApp) {
    let workspace = app.workspace_id.clone();
    let admin = app
        .agent_in(&workspace, "lead@example.jp", Role::Admin)
        .await;
    let agent = app.agent("one@example.jp").await;
    let mine = json!({"categories": [
        {"name": "修理", "keywords": ["修理", "故障", "壊れ"]},
        {"name": "見積もり", "keywords": ["見積"]},
        {"name": "その他"}
    ]});
    let (status, _) = send_as(
        &app,
        &agent,
        reqwest::Method::PUT,
        "/api/v1/classification",
        &mine,
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    for (bad, field) in [
        (json!({"categories": [{"name": "ひとつ"}]}), "categories"),
        (
            json!({"categories": [{"name": "a"}, {"name": "a"}]}),
            "name",
        ),
        (
            json!({"categories": [{"name": "a", "keywords": [""]}, {"name": "b"}]}),
            "keywords",
        ),
    ] {
        let (status, answer) = send_as(
            &app,
            &admin,
            reqwest::Method::PUT,
            "/api/v1/classification",
            &bad,
        )
        .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
        assert!(
            answer["error"]["message"].as_str().unwrap().contains(field),
            "{answer}"
        );
    }
    let (status, saved) = send_as(
        &app,
        &admin,
        reqwest::Method::PUT,
        "/api/v1/classification",
        &mine,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{saved}");
    assert_eq!(
        saved["categories"][2],
        json!({"name": "その他", "keywords": []})
    );
    let broken = customer_writes(&app, "電源が入らなくなりました。故障でしょうか").await;
    assert_eq!(
        conversation(&app, &agent, &broken).await["category"],
        "修理"
    );
    let (status, _) = send_as(
        &app,
        &agent,
        reqwest::Method::PATCH,
        &format!("/api/v1/conversations/{broken}"),
        &json!({"category": "支払い"}),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "not a category any more"
    );
    let (status, back) = send_as(
        &app,
        &admin,
        reqwest::Method::PUT,
        "/api/v1/classification",
        &json!({"categories": null}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(back["categories"][0]["name"], "注文・配送");
}

async fn a_silent_assignee_loses_the_conversation_to_the_next_agent(app: TestApp) {
    let workspace = app.workspace_id.clone();
    let admin = app
        .agent_in(&workspace, "lead@example.jp", Role::Admin)
        .await;
    let a1 = app.agent("one@example.jp").await;
    let a2 = app.agent("two@example.jp").await;
    let team = post(
        &app,
        &admin,
        "/api/v1/teams",
        json!({"name": "窓口", "members": [a1.id, a2.id]}),
    )
    .await;
    post(
        &app,
        &admin,
        "/api/v1/routing/rules",
        json!({"name": "全件", "rule": {"when": "created",
            "actions": {"team_id": team["id"], "assign": "round_robin"}}}),
    )
    .await;
    let (status, bad) = send_as(
        &app,
        &admin,
        reqwest::Method::PUT,
        "/api/v1/routing/settings",
        &json!({"agent_scope": "all", "reassign_after_mins": 0}),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
    let (status, _) = send_as(
        &app,
        &admin,
        reqwest::Method::PUT,
        "/api/v1/routing/settings",
        &json!({"agent_scope": "all", "reassign_after_mins": 15}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        app.get_json(&a1, "/api/v1/routing/settings").await["reassign_after_mins"],
        15
    );
    let _one = app.agent_ws(&a1, "").await;
    let _two = app.agent_ws(&a2, "").await;

    let silent = customer_writes(&app, "返事を待っています").await;
    assert_eq!(
        conversation(&app, &admin, &silent).await["assignee_id"],
        a1.id.as_str()
    );
    let answered = customer_writes(&app, "こちらも待っています").await;
    assert_eq!(
        conversation(&app, &admin, &answered).await["assignee_id"],
        a2.id.as_str()
    );
    app.clock.advance_secs(5 * 60);
    app.reply(&a2, &answered, "確認しています", false).await;

    app.clock.advance_secs(11 * 60);
    app.run_jobs().await;
    let moved = conversation(&app, &admin, &silent).await;
    assert_eq!(
        moved["assignee_id"],
        a2.id.as_str(),
        "one stayed silent 15 minutes"
    );
    let timeline = app
        .get_json(&admin, &format!("/api/v1/conversations/{silent}/messages"))
        .await;
    let notes: Vec<&str> = timeline["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["private"] == true)
        .map(|m| m["body"].as_str().unwrap())
        .collect();
    assert!(
        notes
            .iter()
            .any(|n| n.contains("15分応答しなかったため、テスト担当 に再割り当て")),
        "{notes:?}"
    );
    assert_eq!(
        conversation(&app, &admin, &answered).await["assignee_id"],
        a2.id.as_str(),
        "answered in time: stays"
    );
}
