//! The core loop over real HTTP and WebSocket: a visitor writes, an agent answers live.

use serde_json::{json, Value};

use crate::support::{
    assert_next_message, both_backends, next_frame, next_message, send_frame, TestApp,
};

both_backends!(
    visitor_and_agent_see_each_other_live,
    reconnecting_visitor_gets_missed_messages_in_order,
    same_client_id_twice_gives_one_message,
    returning_visitor_finds_past_conversations,
    agent_updates_conversation_and_reads_contact_profile,
    timestamps_come_from_the_servers_clock,
);

async fn visitor_and_agent_see_each_other_live(app: TestApp) {
    let agent = app.agent("sato@example.jp").await;
    let mut agent_ws = app.agent_ws(&agent, "").await;
    let visitor = app.visitor().await;

    let conversation = app.start(&visitor, "注文した商品がまだ届きません").await;
    // The widget connects once the visitor has a conversation, resuming it from the start.
    let resume = format!("&conversation_id={conversation}&after_seq=0");
    let mut visitor_ws = app.visitor_ws(&visitor, &resume).await;
    let updated = next_frame(&mut agent_ws).await;
    assert_eq!(updated["type"], "conversation.updated");
    assert_eq!(
        updated["conversation"]["contact_id"],
        app.contact_of(&visitor).await.as_str()
    );
    let received = next_message(&mut agent_ws).await;
    assert_eq!(received["conversation_id"], conversation.as_str());
    assert_eq!(received["seq"], 1);
    assert_eq!(received["message"]["body"], "注文した商品がまだ届きません");
    assert_eq!(received["message"]["sender_kind"], "contact");

    assert_eq!(next_message(&mut visitor_ws).await["seq"], 1);

    app.reply(&agent, &conversation, "社内: 配送業者に確認する", true)
        .await;
    let note = next_message(&mut agent_ws).await;
    assert_eq!(
        (note["seq"].as_i64(), note["message"]["private"].as_bool()),
        (Some(2), Some(true))
    );

    app.reply(
        &agent,
        &conversation,
        "確認いたします。少々お待ちください。",
        false,
    )
    .await;
    let reply = next_message(&mut visitor_ws).await;
    assert_eq!(
        reply["seq"], 3,
        "the note (seq 2) must never reach the visitor: {reply}"
    );
    assert_eq!(
        reply["message"]["body"],
        "確認いたします。少々お待ちください。"
    );
    assert_eq!(reply["message"]["sender_kind"], "agent");
    assert!(
        reply["message"].get("sender_id").is_none(),
        "agent ids stay internal"
    );
    assert!(reply["message"].get("private").is_none());
    assert_eq!(next_message(&mut agent_ws).await["seq"], 3);

    let visible: Value = app
        .get(&format!("/widget/v1/conversations/{conversation}/messages"))
        .header("x-visitor-token", &visitor.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let seqs: Vec<i64> = visible["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["seq"].as_i64().unwrap())
        .collect();
    assert_eq!(seqs, vec![1, 3]);
    app.reply(&agent, &conversation, "印", false).await;
    assert_next_message(&mut visitor_ws, "印").await;
}

async fn reconnecting_visitor_gets_missed_messages_in_order(app: TestApp) {
    let agent = app.agent("a@example.jp").await;
    let visitor = app.visitor().await;
    let conversation = app.start(&visitor, "hello").await;
    for i in 0..5 {
        app.reply(&agent, &conversation, &format!("返信 {i}"), false)
            .await;
    }
    app.reply(&agent, &conversation, "note", true).await;
    app.reply(&agent, &conversation, "last", false).await;

    let mut ws = app
        .visitor_ws(
            &visitor,
            &format!("&conversation_id={conversation}&after_seq=1"),
        )
        .await;
    let mut seqs = Vec::new();
    for _ in 0..6 {
        seqs.push(next_message(&mut ws).await["seq"].as_i64().unwrap());
    }
    assert_eq!(seqs, vec![2, 3, 4, 5, 6, 8]);
    // Live events continue after the replay, without duplicates.
    app.reply(&agent, &conversation, "live", false).await;
    let live = next_message(&mut ws).await;
    assert_eq!(
        (live["seq"].as_i64(), live["message"]["body"].as_str()),
        (Some(9), Some("live"))
    );

    // The same through a resume frame on an open socket; agents get notes in the replay.
    let mut agent_ws = app.agent_ws(&agent, "").await;
    send_frame(
        &mut agent_ws,
        json!({"type": "resume", "conversation_id": conversation, "after_seq": 5}),
    )
    .await;
    let mut agent_seqs = Vec::new();
    for _ in 0..4 {
        agent_seqs.push(next_message(&mut agent_ws).await["seq"].as_i64().unwrap());
    }
    assert_eq!(agent_seqs, vec![6, 7, 8, 9]);
}

async fn same_client_id_twice_gives_one_message(app: TestApp) {
    let visitor = app.visitor().await;
    let start = json!({"body": "最初のメッセージ", "client_id": "tab1-0001"});
    let first = app
        .post("/widget/v1/conversations", &start)
        .header("x-visitor-token", &visitor.token)
        .send()
        .await
        .unwrap();
    assert_eq!(first.status(), 201);
    let first: Value = first.json().await.unwrap();
    let again = app
        .post("/widget/v1/conversations", &start)
        .header("x-visitor-token", &visitor.token)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 200);
    let again: Value = again.json().await.unwrap();
    assert_eq!(first["message"]["id"], again["message"]["id"]);
    let conversation = first["conversation"]["id"].as_str().unwrap();

    let path = format!("/widget/v1/conversations/{conversation}/messages");
    let send = json!({"body": "二通目", "client_id": "tab1-0002"});
    let statuses = [
        app.post(&path, &send)
            .header("x-visitor-token", &visitor.token)
            .send()
            .await
            .unwrap()
            .status(),
        app.post(&path, &send)
            .header("x-visitor-token", &visitor.token)
            .send()
            .await
            .unwrap()
            .status(),
    ];
    assert_eq!(statuses.map(|s| s.as_u16()), [201, 200]);
    let messages: Value = app
        .get(&path)
        .header("x-visitor-token", &visitor.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(messages["messages"].as_array().unwrap().len(), 2);
    assert_eq!(messages["messages"][1]["client_id"], "tab1-0002");

    // The agent API is idempotent the same way: a retried reply is one message, and the
    // visitor is not notified twice.
    let agent = app.agent("retry@example.jp").await;
    let mut visitor_ws = app.visitor_ws(&visitor, "").await;
    let agent_path = format!("/api/v1/conversations/{conversation}/messages");
    let reply = json!({"body": "確認します", "client_id": "inbox-0001"});
    let mut answers = Vec::new();
    for _ in 0..2 {
        let response = app
            .post(&agent_path, &reply)
            .bearer_auth(&agent.token)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let body: Value = response.json().await.unwrap();
        answers.push((status, body["message"]["id"].clone()));
    }
    assert_eq!((answers[0].0, answers[1].0), (201, 200));
    assert_eq!(
        answers[0].1, answers[1].1,
        "the replay returns the same message"
    );
    assert!(answers[0].1.is_string());
    let stored: Value = app
        .get(&agent_path)
        .bearer_auth(&agent.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let bodies: Vec<&str> = stored["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["body"].as_str().unwrap())
        .collect();
    assert_eq!(bodies, ["最初のメッセージ", "二通目", "確認します"]);
    assert_next_message(&mut visitor_ws, "確認します").await;
    app.reply(&agent, conversation, "印", false).await;
    assert_next_message(&mut visitor_ws, "印").await;
}

async fn returning_visitor_finds_past_conversations(app: TestApp) {
    let visitor = app.visitor().await;
    let conversation = app.start(&visitor, "前回の問い合わせ").await;
    let contact_id = app.contact_of(&visitor).await;
    let restored: Value = app
        .post(
            "/widget/v1/session",
            &json!({"channel_key": app.channel_key, "visitor_token": visitor.token}),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(restored["contact_id"], contact_id.as_str());
    assert_eq!(restored["visitor_token"], visitor.token.as_str());
    assert_eq!(restored["conversations"][0]["id"], conversation.as_str());

    // A forged or foreign token does not restore anyone: it starts a new visitor. So does a
    // real token with its signature altered.
    let forged = format!("{}.{}", app.channel_key, "0".repeat(64));
    let (head, last) = visitor.token.split_at(visitor.token.len() - 1);
    let altered = format!("{head}{}", if last == "0" { "1" } else { "0" });
    for token in [&altered, &forged] {
        let refused = app
            .get("/widget/v1/conversations")
            .header("x-visitor-token", token.as_str())
            .send()
            .await
            .unwrap();
        assert_eq!(refused.status(), 401, "{token}");
    }
    let fresh: Value = app
        .post(
            "/widget/v1/session",
            &json!({"channel_key": app.channel_key, "visitor_token": forged}),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(fresh["contact_id"].is_null());
    assert_ne!(fresh["visitor_token"], forged.as_str());
    assert_eq!(fresh["conversations"].as_array().unwrap().len(), 0);
}

async fn agent_updates_conversation_and_reads_contact_profile(app: TestApp) {
    let agent = app.agent("lead@example.jp").await;
    let visitor = app.visitor().await;
    let conversation = app.start(&visitor, "返品について").await;
    let mut visitor_ws = app.visitor_ws(&visitor, "").await;
    let patch = json!({"status": "resolved", "assignee_id": agent.id, "priority": "high", "tags": ["返品", "vip"]});
    let updated: Value = app
        .patch(&format!("/api/v1/conversations/{conversation}"), &patch)
        .bearer_auth(&agent.token)
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(updated["status"], "resolved");
    assert_eq!(updated["assignee_id"], agent.id.as_str());
    assert_eq!(updated["tags"], json!(["vip", "返品"]));
    let seen = next_frame(&mut visitor_ws).await;
    assert_eq!(
        (
            seen["type"].as_str(),
            seen["conversation"]["status"].as_str()
        ),
        (Some("conversation.updated"), Some("resolved"))
    );
    assert!(
        seen["conversation"].get("assignee_id").is_none(),
        "visitors do not see internal fields"
    );

    let mine: Value = app
        .get("/api/v1/conversations?assignee=me&tag=返品&status=resolved")
        .bearer_auth(&agent.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(mine["conversations"][0]["id"], conversation.as_str());
    assert_eq!(mine["counts"]["resolved"], 1);
    let none: Value = app
        .get("/api/v1/conversations?assignee=none")
        .bearer_auth(&agent.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(none["conversations"].as_array().unwrap().len(), 0);

    let unassign: Value = app
        .patch(
            &format!("/api/v1/conversations/{conversation}"),
            &json!({"assignee_id": null}),
        )
        .bearer_auth(&agent.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(unassign["assignee_id"], Value::Null);
    assert_eq!(
        unassign["status"], "resolved",
        "an absent field stays as it was"
    );

    app.patch(
        "/widget/v1/contact",
        &json!({"name": "山田 花子", "email": "Hanako@Example.jp", "phone": "090-1234-5678"}),
    )
    .header("x-visitor-token", &visitor.token)
    .send()
    .await
    .unwrap()
    .error_for_status()
    .unwrap();
    let second = app.start(&visitor, "別の質問").await;
    let profile: Value = app
        .get(&format!(
            "/api/v1/contacts/{}",
            app.contact_of(&visitor).await
        ))
        .bearer_auth(&agent.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(profile["contact"]["name"], "山田 花子");
    assert_eq!(profile["contact"]["email"], "hanako@example.jp");
    let conversations: Vec<&str> = profile["conversations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(conversations, vec![second.as_str(), conversation.as_str()]);
    let kinds: Vec<&str> = profile["identities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["kind"].as_str().unwrap())
        .collect();
    assert!(
        kinds.contains(&"visitor") && kinds.contains(&"email") && kinds.contains(&"phone"),
        "{kinds:?}"
    );
    assert!(
        !profile.to_string().contains(&visitor.token),
        "the visitor token never leaves the visitor"
    );
}

/// Every stored time comes from the server's clock (the test's manual one here): message
/// times, first response and resolution, the figures KPIs are computed from.
async fn timestamps_come_from_the_servers_clock(app: TestApp) {
    let agent = app.agent("clock@example.jp").await;
    let visitor = app.visitor().await;
    let t0 = crate::support::tokyo_ms(crate::support::IN_HOURS);
    let conversation = app.start(&visitor, "時計のテスト").await;
    app.clock.advance_secs(90);
    app.reply(&agent, &conversation, "お待たせしました", false)
        .await;
    app.clock.advance_secs(600);
    let path = format!("/api/v1/conversations/{conversation}");
    app.patch(&path, &json!({"status": "resolved"}))
        .bearer_auth(&agent.token)
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap();
    let details: Value = app
        .get(&path)
        .bearer_auth(&agent.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        (
            details["created_at"].as_i64(),
            details["first_agent_response_at"].as_i64(),
            details["resolved_at"].as_i64(),
        ),
        (Some(t0), Some(t0 + 90_000), Some(t0 + 690_000)),
        "{details}"
    );
    let times: Vec<i64> = app
        .visitor_messages(&visitor, &conversation)
        .await
        .iter()
        .take(2)
        .map(|m| m["created_at"].as_i64().unwrap())
        .collect();
    assert_eq!(times, [t0, t0 + 90_000]);
}
