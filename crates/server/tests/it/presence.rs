//! What each side sees of the other besides messages: who of the staff wrote, read receipts
//! (既読) and unread counts, waiting time, and typing notices, live over the WebSockets.

use serde_json::{json, Value};

use crate::support::{both_backends, next_frame, send_frame, TestApp, Ws};

both_backends!(reads_typing_and_names_reach_the_other_side);

/// The next frame of `kind`, skipping others (message echoes, updates).
async fn next_of(ws: &mut Ws, kind: &str) -> Value {
    loop {
        let frame = next_frame(ws).await;
        if frame["type"] == kind {
            return frame;
        }
    }
}

async fn list(app: &TestApp, token: &str) -> Value {
    app.get("/api/v1/conversations")
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

async fn reads_typing_and_names_reach_the_other_side(app: TestApp) {
    let agent = app.agent("tanaka@example.jp").await;
    let visitor = app.visitor().await;
    let conversation = app.start(&visitor, "注文の確認をお願いします").await;
    app.post(
        &format!("/widget/v1/conversations/{conversation}/messages"),
        &json!({"body": "注文番号は 1234 です"}),
    )
    .header("x-visitor-token", &visitor.token)
    .send()
    .await
    .unwrap()
    .error_for_status()
    .unwrap();

    // The list shows two unread customer messages and since when the customer waits.
    let before = list(&app, &agent.token).await;
    let row = &before["conversations"][0];
    assert_eq!(row["unread"], 2);
    assert!(row["waiting_since_at"].as_i64().unwrap() > 0);

    let mut visitor_ws = app.visitor_ws(&visitor, "").await;
    let mut agent_ws = app.agent_ws(&agent, "").await;

    // The agent reads: the customer sees it as read; the unread count goes.
    let read = |path: String, token: (&'static str, String), seq: i64| {
        app.post(&path, &json!({"seq": seq}))
            .header(token.0, token.1)
            .send()
    };
    let agent_read = format!("/api/v1/conversations/{conversation}/read");
    let bearer = ("authorization", format!("Bearer {}", agent.token));
    assert_eq!(
        read(agent_read.clone(), bearer.clone(), 2)
            .await
            .unwrap()
            .status(),
        204
    );
    let updated = next_of(&mut visitor_ws, "conversation.updated").await;
    assert_eq!(updated["conversation"]["agent_read_seq"], 2);
    assert_eq!(
        list(&app, &agent.token).await["conversations"][0]["unread"],
        0
    );
    // Reading backwards, or past the last message, changes nothing.
    read(agent_read.clone(), bearer.clone(), 1).await.unwrap();
    read(agent_read, bearer, 99).await.unwrap();
    let again: Value = app
        .get(&format!("/api/v1/conversations/{conversation}"))
        .bearer_auth(&agent.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(again["agent_read_seq"], 2);

    // Typing: the customer sees the agent's name; the agents see the customer typing.
    send_frame(
        &mut agent_ws,
        json!({"type": "typing", "conversation_id": conversation}),
    )
    .await;
    let typing = next_of(&mut visitor_ws, "typing").await;
    assert_eq!(
        (typing["sender_kind"].as_str(), typing["name"].as_str()),
        (Some("agent"), Some("テスト担当"))
    );
    assert!(
        typing.get("sender_id").is_none(),
        "no agent ids for visitors"
    );
    send_frame(
        &mut visitor_ws,
        json!({"type": "typing", "conversation_id": conversation}),
    )
    .await;
    // Agents see every typist (so two agents do not answer at once): first this agent's own.
    let own = next_of(&mut agent_ws, "typing").await;
    assert_eq!(own["sender_id"], agent.id.as_str());
    let typing = next_of(&mut agent_ws, "typing").await;
    assert_eq!(typing["sender_kind"], "contact");
    // Nobody types into someone else's conversation.
    let stranger = app.visitor().await;
    app.start(&stranger, "別件です").await;
    let mut stranger_ws = app.visitor_ws(&stranger, "").await;
    send_frame(
        &mut stranger_ws,
        json!({"type": "typing", "conversation_id": conversation}),
    )
    .await;
    let refused = next_of(&mut stranger_ws, "error").await;
    assert_eq!(refused["error"]["code"], "not_found");

    // The reply carries the agent's name to the customer; the customer reads it.
    app.reply(&agent, &conversation, "確認いたします", false)
        .await;
    let messages = app.visitor_messages(&visitor, &conversation).await;
    let reply = messages
        .iter()
        .find(|m| m["sender_kind"] == "agent")
        .unwrap();
    assert_eq!(reply["sender_name"], "テスト担当");
    let visitor_read = format!("/widget/v1/conversations/{conversation}/read");
    let token = ("x-visitor-token", visitor.token.clone());
    assert_eq!(
        read(visitor_read.clone(), token.clone(), 3)
            .await
            .unwrap()
            .status(),
        204
    );
    // (The reply's own update comes first; the read one follows.)
    loop {
        let seen = next_of(&mut agent_ws, "conversation.updated").await;
        if seen["conversation"]["contact_read_seq"] == 3 {
            break;
        }
    }
    let other = ("x-visitor-token", stranger.token.clone());
    assert_eq!(read(visitor_read, other, 3).await.unwrap().status(), 404);
}
