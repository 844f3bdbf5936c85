//! Harassment (カスハラ) end to end: the check on every customer message, masking for agents
//! (over the API and the sockets) with logged reveals, the bot's guideline reply, escalation and
//! blocks, reports and the supervisors' review, and the evidence export that detects edits.

use madoguchi_core::agent::Role;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::support::{both_backends, next_message, Agent, TestApp, Visitor};

both_backends!(
    abusive_messages_are_masked_answered_and_sealed,
    severe_abuse_ends_the_conversation_and_blocks_the_sender,
    agents_report_and_supervisors_decide
);

async fn send(app: &TestApp, visitor: &Visitor, conversation: &str, body: &str) -> Value {
    app.post(
        &format!("/widget/v1/conversations/{conversation}/messages"),
        &json!({"body": body}),
    )
    .header("x-visitor-token", &visitor.token)
    .send()
    .await
    .unwrap()
    .error_for_status()
    .unwrap()
    .json()
    .await
    .unwrap()
}

async fn agent_messages(app: &TestApp, agent: &Agent, conversation: &str) -> Vec<Value> {
    app.get_json(
        agent,
        &format!("/api/v1/conversations/{conversation}/messages"),
    )
    .await["messages"]
        .as_array()
        .unwrap()
        .clone()
}

/// `POST path` as `agent`: status and JSON answer (null when empty).
async fn post_as(app: &TestApp, agent: &Agent, path: &str, body: &Value) -> (StatusCode, Value) {
    let response = app
        .post(path, body)
        .bearer_auth(&agent.token)
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn evidence(app: &TestApp, admin: &Agent, conversation: &str) -> Value {
    app.get_json(
        admin,
        &format!("/api/v1/conversations/{conversation}/evidence"),
    )
    .await
}

async fn abusive_messages_are_masked_answered_and_sealed(app: TestApp) {
    let agent = app.agent("staff@example.jp").await;
    let workspace = app.workspace_id.clone();
    let admin = app
        .agent_in(&workspace, "boss@example.jp", Role::Admin)
        .await;
    let visitor = app.visitor().await;
    let conversation = app.start(&visitor, "注文した商品がまだ届きません").await;
    let mut socket = app.agent_ws(&agent, "").await;

    let abuse = "ふざけるな、バ カ 野郎";
    let sent = send(&app, &visitor, &conversation, abuse).await;
    let message_id = sent["message"]["id"].as_str().unwrap().to_owned();
    // The customer sees their own words; the bot answers with the guideline, nothing else.
    let seen = app.visitor_messages(&visitor, &conversation).await;
    assert_eq!(
        seen.iter()
            .find(|m| m["id"] == message_id.as_str())
            .unwrap()["body"],
        abuse
    );
    let bot: Vec<&Value> = seen.iter().filter(|m| m["sender_kind"] == "bot").collect();
    assert_eq!(bot.len(), 1, "{seen:?}");
    assert!(
        bot[0]["body"].as_str().unwrap().contains("スタッフの尊厳"),
        "{bot:?}"
    );

    // Agents get it masked, on the socket and from the API, with the reason.
    let frame = loop {
        let frame = next_message(&mut socket).await;
        if frame["message"]["id"] == message_id.as_str() {
            break frame;
        }
    };
    assert_eq!(frame["message"]["masked"], true);
    assert_eq!(frame["message"]["body"], "");
    assert!(!frame.to_string().contains("野郎"));
    let listed = agent_messages(&app, &agent, &conversation).await;
    let masked = listed
        .iter()
        .find(|m| m["id"] == message_id.as_str())
        .unwrap();
    assert_eq!(masked["body"], "");
    assert_eq!(masked["masked"], true);
    assert_eq!(masked["flag"]["source"], "check");
    assert_eq!(masked["flag"]["categories"], json!(["insult"]));
    assert!(!listed
        .iter()
        .any(|m| m["body"].as_str().unwrap().contains("野郎")));
    let list = app.get_json(&agent, "/api/v1/conversations").await;
    let row = list["conversations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == conversation.as_str())
        .unwrap()
        .clone();
    // The guideline reply is the newest visible message now; the row is still open.
    assert_eq!(row["status"], "open");
    assert!(!row.to_string().contains("野郎"), "{row}");
    let transcript = app
        .get(&format!("/api/v1/conversations/{conversation}/transcript"))
        .bearer_auth(&agent.token)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(transcript.contains("[masked: insult]"), "{transcript}");
    assert!(!transcript.contains("野郎"));

    // Revealing is on purpose, and logged.
    let (status, revealed) = post_as(
        &app,
        &agent,
        &format!("/api/v1/messages/{message_id}/reveal"),
        &json!({}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(revealed["body"], abuse);
    let (_, elsewhere) = post_as(
        &app,
        &agent,
        &format!("/api/v1/messages/{}/reveal", madoguchi_store::new_id()),
        &json!({}),
    )
    .await;
    assert_eq!(elsewhere["error"]["code"], "not_found");

    // A complaint is no abuse: it is tagged, not masked. Look-alikes are nothing.
    send(&app, &visitor, &conversation, "最悪です。返金してください").await;
    send(
        &app,
        &visitor,
        &conversation,
        "ぶっ殺し価格セールは今日までですか？",
    )
    .await;
    let listed = agent_messages(&app, &agent, &conversation).await;
    assert_eq!(listed.iter().filter(|m| m["masked"] == true).count(), 1);
    let tags = app
        .get_json(&agent, &format!("/api/v1/conversations/{conversation}"))
        .await["tags"]
        .clone();
    assert_eq!(tags, json!(["complaint"]));

    // The evidence: the original text, who revealed it when, a verified chain.
    let (status, _) = (
        app.get(&format!("/api/v1/conversations/{conversation}/evidence"))
            .bearer_auth(&agent.token)
            .send()
            .await
            .unwrap()
            .status(),
        (),
    );
    assert_eq!(status, StatusCode::FORBIDDEN, "supervisors only");
    let case = evidence(&app, &admin, &conversation).await;
    assert_eq!(case["verified"], true, "{case}");
    let original = case["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == message_id.as_str())
        .unwrap()
        .clone();
    assert_eq!(original["body"], abuse);
    assert_eq!(original["matches_seal"], true);
    let actions: Vec<&str> = case["audit_events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "message.flagged",
            "message.revealed",
            "harassment.evidence_exported"
        ]
    );
    let reveal = &case["audit_events"][1];
    assert_eq!(reveal["actor"], format!("agent:{}", agent.id));
    let sealed: Value =
        serde_json::from_str(case["audit_events"][0]["detail"].as_str().unwrap()).unwrap();
    assert_eq!(sealed["body"], abuse);
    let html = app
        .get(&format!(
            "/api/v1/conversations/{conversation}/evidence?format=html"
        ))
        .bearer_auth(&admin.token)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("改ざんなし") && html.contains("バ カ 野郎"),
        "{html}"
    );

    // Editing the stored message, then an audit row, is found out.
    app.store
        .execute_unchecked(&format!(
            "UPDATE messages SET body = '配送について質問です' WHERE id = '{message_id}'"
        ))
        .await
        .unwrap();
    let case = evidence(&app, &admin, &conversation).await;
    assert_eq!(case["verified"], false);
    let edited = case["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == message_id.as_str())
        .unwrap()
        .clone();
    assert_eq!(edited["matches_seal"], false);
    assert!(case["chain"]["first_broken_seq"].is_null());
    app.store
        .execute_unchecked(&format!(
            "UPDATE audit_events SET detail = '{{}}' WHERE target = '{message_id}' AND action = 'message.flagged'"
        ))
        .await
        .unwrap();
    let case = evidence(&app, &admin, &conversation).await;
    assert!(
        case["chain"]["first_broken_seq"].as_i64().unwrap() >= 1,
        "{case}"
    );
}

async fn severe_abuse_ends_the_conversation_and_blocks_the_sender(app: TestApp) {
    let agent = app.agent("staff@example.jp").await;
    let workspace = app.workspace_id.clone();
    let admin = app
        .agent_in(&workspace, "boss@example.jp", Role::Admin)
        .await;
    let mut policy = app.get_json(&agent, "/api/v1/harassment/policy").await;
    policy["block_days"] = json!(7);
    policy["guideline"] = json!("暴言・脅迫には対応しません。");
    let forbidden = app
        .http
        .put(format!("{}/api/v1/harassment/policy", app.url))
        .bearer_auth(&agent.token)
        .json(&policy)
        .send()
        .await
        .unwrap();
    assert_eq!(forbidden.status(), StatusCode::FORBIDDEN);
    let mut bad = policy.clone();
    bad["end_at_severity"] = json!(9);
    let refused = app
        .http
        .put(format!("{}/api/v1/harassment/policy", app.url))
        .bearer_auth(&admin.token)
        .json(&bad)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let saved = app
        .http
        .put(format!("{}/api/v1/harassment/policy", app.url))
        .bearer_auth(&admin.token)
        .json(&policy)
        .send()
        .await
        .unwrap();
    assert_eq!(saved.status(), StatusCode::OK);

    let visitor = app.visitor().await;
    let conversation = app.start(&visitor, "いい加減にしろ。殺 す ぞ").await;
    let shown = app
        .get_json(&agent, &format!("/api/v1/conversations/{conversation}"))
        .await;
    assert_eq!(shown["status"], "blocked");
    assert_eq!(shown["priority"], "urgent");
    assert_eq!(shown["tags"], json!(["harassment"]));
    let seen = app.visitor_messages(&visitor, &conversation).await;
    assert_eq!(seen.iter().filter(|m| m["sender_kind"] == "bot").count(), 1);

    let contact = app.contact_of(&visitor).await;
    let blocks = app.get_json(&agent, "/api/v1/harassment/blocks").await;
    assert_eq!(blocks.as_array().unwrap().len(), 1);
    assert_eq!(blocks[0]["kind"], "contact");
    assert_eq!(blocks[0]["value"], contact.as_str());
    assert_eq!(blocks[0]["conversation_id"], conversation.as_str());
    let until = blocks[0]["until_at"].as_i64().unwrap();
    assert!(until - blocks[0]["created_at"].as_i64().unwrap() > 6 * 86_400_000);

    // The blocked sender's messages are kept, answer nothing and reach no queue.
    send(&app, &visitor, &conversation, "返事しろ").await;
    let again = app.start(&visitor, "別件です").await;
    let second = app
        .get_json(&agent, &format!("/api/v1/conversations/{again}"))
        .await;
    assert_eq!(second["status"], "blocked");
    assert!(app.system_messages(&visitor, &again).await.is_empty());
    assert_eq!(app.run_jobs().await, 0);
    let open = app
        .get_json(&agent, "/api/v1/conversations?status=open")
        .await;
    assert!(
        open["conversations"].as_array().unwrap().is_empty(),
        "{open}"
    );
    assert_eq!(open["counts"]["blocked"], 2);
    let listed = agent_messages(&app, &agent, &conversation).await;
    assert_eq!(
        listed
            .iter()
            .filter(|m| m["sender_kind"] == "contact")
            .count(),
        2
    );

    let stats = app.get_json(&admin, "/api/v1/harassment/stats").await;
    assert_eq!(stats["totals"]["threat"], 1, "{stats}");
    assert_eq!(stats["pending"], 1);

    // Lifting the block opens the conversation it came from again.
    let block_id = blocks[0]["id"].as_str().unwrap();
    let lift = |who: &Agent| {
        app.http
            .delete(format!("{}/api/v1/harassment/blocks/{block_id}", app.url))
            .bearer_auth(&who.token)
            .send()
    };
    assert_eq!(lift(&agent).await.unwrap().status(), StatusCode::FORBIDDEN);
    assert_eq!(lift(&admin).await.unwrap().status(), StatusCode::NO_CONTENT);
    assert_eq!(lift(&admin).await.unwrap().status(), StatusCode::NOT_FOUND);
    let reopened = app
        .get_json(&agent, &format!("/api/v1/conversations/{conversation}"))
        .await;
    assert_eq!(reopened["status"], "open");
    let case = evidence(&app, &admin, &conversation).await;
    let actions: Vec<&str> = case["audit_events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    for action in [
        "message.flagged",
        "harassment.blocked",
        "harassment.escalated",
        "harassment.unblocked",
    ] {
        assert!(actions.contains(&action), "{actions:?}");
    }
    assert_eq!(case["verified"], true);
}

async fn agents_report_and_supervisors_decide(app: TestApp) {
    let agent = app.agent("staff@example.jp").await;
    let workspace = app.workspace_id.clone();
    let admin = app
        .agent_in(&workspace, "boss@example.jp", Role::Admin)
        .await;
    let visitor = app.visitor().await;
    let conversation = app
        .start(&visitor, "担当の田中さんは今日は何時に帰りますか")
        .await;
    let listed = agent_messages(&app, &agent, &conversation).await;
    let first = listed[0]["id"].as_str().unwrap().to_owned();
    let reported = &format!("/api/v1/messages/{first}/report");
    let (status, body) = post_as(&app, &agent, reported, &json!({"reason": ""})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (status, view) = post_as(
        &app,
        &agent,
        reported,
        &json!({"reason": "自宅に来ると脅している"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{view}");
    let (flag, masked) = (&view["flag"], &view["masked"]);
    assert_eq!(*masked, true);
    assert_eq!(flag["source"], "report");
    assert_eq!(flag["reported_by"], agent.id.as_str());

    // An agent's own message cannot be reported.
    let reply = app
        .reply(&agent, &conversation, "ご連絡ありがとうございます", false)
        .await;
    let own = format!(
        "/api/v1/messages/{}/report",
        reply["message"]["id"].as_str().unwrap()
    );
    let (status, _) = post_as(&app, &agent, &own, &json!({"reason": "x"})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

    // The review queue is the supervisors'.
    let denied = app
        .get("/api/v1/harassment/reviews")
        .bearer_auth(&agent.token)
        .send()
        .await
        .unwrap();
    assert_eq!(denied.status(), StatusCode::FORBIDDEN);
    let queue = app.get_json(&admin, "/api/v1/harassment/reviews").await;
    assert_eq!(queue.as_array().unwrap().len(), 1);
    assert_eq!(queue[0]["message"]["id"], first.as_str());
    assert_eq!(queue[0]["message"]["body"], "");
    let decide = format!("/api/v1/harassment/reviews/{first}");
    let (status, _) = post_as(&app, &admin, &decide, &json!({"decision": "maybe"})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, decided) = post_as(&app, &admin, &decide, &json!({"decision": "dismissed"})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(decided["masked"], false);
    assert_eq!(decided["flag_decision"], "dismissed");
    assert!(decided["body"].as_str().unwrap().contains("何時に帰り"));
    let queue = app.get_json(&admin, "/api/v1/harassment/reviews").await;
    assert!(queue.as_array().unwrap().is_empty());
    let all = app
        .get_json(&admin, "/api/v1/harassment/reviews?all=true")
        .await;
    assert_eq!(all[0]["decided_by"], admin.id.as_str());

    // A block by address range holds every new visitor from it (here: this machine).
    let (status, bad) = post_as(
        &app,
        &admin,
        "/api/v1/harassment/blocks",
        &json!({"kind": "ip", "value": "not an address", "reason": "x"}),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
    let (status, block) = post_as(
        &app,
        &admin,
        "/api/v1/harassment/blocks",
        &json!({"kind": "ip", "value": "127.0.0.0/8", "reason": "繰り返しの嫌がらせ", "days": 1}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{block}");
    assert_eq!(block["value"], "127.0.0.0/8");
    let stranger = app.visitor().await;
    let held = app.start(&stranger, "こんにちは").await;
    let shown = app
        .get_json(&agent, &format!("/api/v1/conversations/{held}"))
        .await;
    assert_eq!(shown["status"], "blocked");
    // Tomorrow the block has run out.
    app.clock.advance_secs(86_400 + 60);
    let later = app.start(&stranger, "こんにちは、再度失礼します").await;
    let shown = app
        .get_json(&agent, &format!("/api/v1/conversations/{later}"))
        .await;
    assert_eq!(shown["status"], "open");
}

/// `madoguchi audit verify` over a database with a flagged message: intact, then failing once
/// the sealed original text is edited.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_verify_fails_when_a_sealed_message_is_edited() {
    let app = TestApp::spawn(madoguchi_store::Backend::Sqlite)
        .await
        .unwrap();
    let visitor = app.visitor().await;
    app.start(&visitor, "死ねよ、くそ店員").await;
    let verify = || {
        std::process::Command::new(env!("CARGO_BIN_EXE_madoguchi"))
            .args(["audit", "verify", "--data-dir"])
            .arg(app.database().dir())
            .output()
            .unwrap()
    };
    let intact = verify();
    assert!(
        intact.status.success(),
        "{}",
        String::from_utf8_lossy(&intact.stderr)
    );
    app.store
        .execute_unchecked(
            "UPDATE audit_events SET detail = replace(detail, '死ね', '元気') WHERE action = 'message.flagged'",
        )
        .await
        .unwrap();
    let broken = verify();
    assert!(!broken.status.success());
    let stderr = String::from_utf8_lossy(&broken.stderr);
    assert!(stderr.contains("message.flagged"), "{stderr}");
}
