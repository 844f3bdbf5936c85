//! The authorization matrix: visitors reach only their own conversations, agents only their
//! workspace, no credentials means 401, cookies need CSRF protection.

use madoguchi_core::agent::Role;
use reqwest::StatusCode;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Error as WsError;

use crate::support::{assert_next_message, both_backends, next_message, TestApp};

both_backends!(
    visitor_cannot_reach_another_visitors_conversation,
    agent_cannot_reach_another_workspace,
    no_credentials_is_401,
    cookie_writes_need_csrf_protection,
    only_admins_create_agents,
    only_admins_change_channels_articles_and_synonyms,
    only_admins_teach_the_bot_and_it_is_audited,
    logins_reveal_no_accounts,
    logins_are_rate_limited,
);

/// Status of a WebSocket handshake that the server refused.
async fn ws_refusal(app: &TestApp, path: &str, headers: &[(&'static str, &str)]) -> u16 {
    let mut request = format!("ws://{}{path}", app.addr)
        .into_client_request()
        .unwrap();
    for (name, value) in headers {
        request.headers_mut().insert(*name, value.parse().unwrap());
    }
    match tokio_tungstenite::connect_async(request).await {
        Err(WsError::Http(response)) => response.status().as_u16(),
        Ok(_) => panic!("{path}: the handshake was accepted"),
        Err(other) => panic!("{path}: {other}"),
    }
}

async fn visitor_cannot_reach_another_visitors_conversation(app: TestApp) {
    let alice = app.visitor().await;
    let bob = app.visitor().await;
    let conversation = app.start(&alice, "alice の秘密").await;
    let path = format!("/widget/v1/conversations/{conversation}/messages");
    let read = app
        .get(&path)
        .header("x-visitor-token", &bob.token)
        .send()
        .await
        .unwrap();
    assert_eq!(read.status(), StatusCode::NOT_FOUND);
    let body: Value = read.json().await.unwrap();
    assert_eq!(body["error"]["code"], "not_found");
    let write = app
        .post(&path, &json!({"body": "割り込み"}))
        .header("x-visitor-token", &bob.token)
        .send()
        .await
        .unwrap();
    assert_eq!(write.status(), StatusCode::NOT_FOUND);
    let list: Value = app
        .get("/widget/v1/conversations")
        .header("x-visitor-token", &bob.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list["conversations"].as_array().unwrap().len(), 0);

    let ws_path = format!(
        "/widget/v1/ws?visitor_token={}&conversation_id={conversation}&after_seq=0",
        bob.token
    );
    assert_eq!(ws_refusal(&app, &ws_path, &[]).await, 404);
    // A visitor who never wrote has nothing to listen to.
    let bob_path = format!("/widget/v1/ws?visitor_token={}", bob.token);
    assert_eq!(ws_refusal(&app, &bob_path, &[]).await, 401);
    // Bob's socket never carries Alice's events.
    app.start(&bob, "ボブの最初").await;
    assert_eq!(ws_refusal(&app, &ws_path, &[]).await, 404);
    let mut bob_ws = app.visitor_ws(&bob, "").await;
    let mut alice_ws = app.visitor_ws(&alice, "").await;
    app.post(&path, &json!({"body": "続き"}))
        .header("x-visitor-token", &alice.token)
        .send()
        .await
        .unwrap();
    assert_eq!(next_message(&mut alice_ws).await["message"]["body"], "続き");
    app.start(&bob, "ボブの印").await;
    assert_next_message(&mut bob_ws, "ボブの印").await;
    // Nor does a resume frame for her conversation.
    crate::support::send_frame(
        &mut bob_ws,
        json!({"type": "resume", "conversation_id": conversation, "after_seq": 0}),
    )
    .await;
    let refused = crate::support::next_frame(&mut bob_ws).await;
    assert_eq!(
        (refused["type"].as_str(), refused["error"]["code"].as_str()),
        (Some("error"), Some("not_found"))
    );

    // A visitor token of another workspace's channel does not reach this one either.
    let (_, other_key) = app.other_workspace().await;
    let stranger = app.visitor_on(&other_key).await;
    let read = app
        .get(&path)
        .header("x-visitor-token", &stranger.token)
        .send()
        .await
        .unwrap();
    assert_eq!(read.status(), StatusCode::NOT_FOUND);
}

async fn agent_cannot_reach_another_workspace(app: TestApp) {
    let visitor = app.visitor().await;
    let conversation = app.start(&visitor, "workspace 1").await;
    let (other_ws, other_key) = app.other_workspace().await;
    let outsider = app.agent_in(&other_ws, "out@example.jp", Role::Admin).await;
    let insider = app.agent("in@example.jp").await;

    let paths = [
        format!("/api/v1/conversations/{conversation}"),
        format!("/api/v1/conversations/{conversation}/messages"),
        format!("/api/v1/contacts/{}", app.contact_of(&visitor).await),
    ];
    for path in &paths {
        let response = app
            .get(path)
            .bearer_auth(&outsider.token)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
        let response = app
            .get(path)
            .bearer_auth(&insider.token)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{path}");
    }
    let patch = app
        .patch(
            &format!("/api/v1/conversations/{conversation}"),
            &json!({"status": "resolved"}),
        )
        .bearer_auth(&outsider.token)
        .send()
        .await
        .unwrap();
    assert_eq!(patch.status(), StatusCode::NOT_FOUND);
    let send = app
        .post(
            &format!("/api/v1/conversations/{conversation}/messages"),
            &json!({"body": "x"}),
        )
        .bearer_auth(&outsider.token)
        .send()
        .await
        .unwrap();
    assert_eq!(send.status(), StatusCode::NOT_FOUND);
    let list: Value = app
        .get("/api/v1/conversations")
        .bearer_auth(&outsider.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list["conversations"].as_array().unwrap().len(), 0);
    // Assigning an agent of another workspace is refused.
    let assign = app
        .patch(
            &format!("/api/v1/conversations/{conversation}"),
            &json!({"assignee_id": outsider.id}),
        )
        .bearer_auth(&insider.token)
        .send()
        .await
        .unwrap();
    assert_eq!(assign.status(), StatusCode::UNPROCESSABLE_ENTITY);

    let ws_path = format!(
        "/api/v1/ws?access_token={}&conversation_id={conversation}",
        outsider.token
    );
    assert_eq!(ws_refusal(&app, &ws_path, &[]).await, 404);
    let mut outsider_ws = app.agent_ws(&outsider, "").await;
    let mut insider_ws = app.agent_ws(&insider, "").await;
    app.reply(&insider, &conversation, "内部の返信", false)
        .await;
    assert_eq!(
        next_message(&mut insider_ws).await["message"]["body"],
        "内部の返信"
    );
    let neighbour = app.visitor_on(&other_key).await;
    app.start(&neighbour, "隣の店の印").await;
    assert_next_message(&mut outsider_ws, "隣の店の印").await;
}

async fn no_credentials_is_401(app: TestApp) {
    let visitor = app.visitor().await;
    let conversation = app.start(&visitor, "x").await;
    let gets = [
        "/api/v1/conversations".to_owned(),
        format!("/api/v1/conversations/{conversation}"),
        format!("/api/v1/conversations/{conversation}/messages"),
        format!("/api/v1/contacts/{}", app.contact_of(&visitor).await),
        "/api/v1/me".to_owned(),
        "/api/v1/agents".to_owned(),
        "/api/v1/channels".to_owned(),
        "/widget/v1/conversations".to_owned(),
        format!("/widget/v1/conversations/{conversation}/messages"),
    ];
    for path in &gets {
        let response = app.get(path).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{path}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"]["code"], "unauthenticated", "{path}");
        let wrong = app
            .get(path)
            .bearer_auth("not-a-token")
            .header("x-visitor-token", "ch_x.y")
            .send()
            .await
            .unwrap();
        assert_eq!(
            wrong.status(),
            StatusCode::UNAUTHORIZED,
            "{path} with a wrong token"
        );
    }
    let post = app
        .post(
            &format!("/api/v1/conversations/{conversation}/messages"),
            &json!({"body": "x"}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(post.status(), StatusCode::UNAUTHORIZED);
    let post = app
        .post("/widget/v1/conversations", &json!({"body": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(post.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(ws_refusal(&app, "/api/v1/ws", &[]).await, 401);
    assert_eq!(ws_refusal(&app, "/widget/v1/ws", &[]).await, 401);

    // A logged-out token stops working at once.
    let agent = app.agent("bye@example.jp").await;
    let logout = app
        .post("/api/v1/auth/logout", &json!({}))
        .bearer_auth(&agent.token)
        .send()
        .await
        .unwrap();
    assert_eq!(logout.status(), StatusCode::NO_CONTENT);
    let after = app
        .get("/api/v1/me")
        .bearer_auth(&agent.token)
        .send()
        .await
        .unwrap();
    assert_eq!(after.status(), StatusCode::UNAUTHORIZED);
}

async fn cookie_writes_need_csrf_protection(app: TestApp) {
    let agent = app.agent("cookie@example.jp").await;
    let visitor = app.visitor().await;
    let conversation = app.start(&visitor, "x").await;
    let cookie = format!("mdg_session={}", agent.token);
    let path = format!("/api/v1/conversations/{conversation}/messages");
    let read = app
        .get(&path)
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(
        read.status(),
        StatusCode::OK,
        "cookie reads need no CSRF token"
    );
    let forged = app
        .post(&path, &json!({"body": "forged"}))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    let body: Value = forged.json().await.unwrap();
    assert_eq!(body["error"]["code"], "csrf_failed");
    let wrong = app
        .post(&path, &json!({"body": "x"}))
        .header("cookie", &cookie)
        .header("x-csrf-token", "guess")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::FORBIDDEN);
    let good = app
        .post(&path, &json!({"body": "ok"}))
        .header("cookie", &cookie)
        .header("x-csrf-token", &agent.csrf)
        .send()
        .await
        .unwrap();
    assert_eq!(good.status(), StatusCode::CREATED);
    let bodies = message_bodies(&app, &visitor, &conversation).await;
    assert_eq!(bodies, ["x", "ok"], "refused writes stored nothing");

    // Cookie-authenticated WebSockets must come from our own origin.
    let host = app.addr.to_string();
    assert_eq!(
        ws_refusal(
            &app,
            "/api/v1/ws",
            &[("cookie", &cookie), ("origin", "https://evil.example")]
        )
        .await,
        403
    );
    let own_origin = format!("http://{host}");
    let mut request = format!("ws://{host}/api/v1/ws")
        .into_client_request()
        .unwrap();
    request
        .headers_mut()
        .insert("cookie", cookie.parse().unwrap());
    request
        .headers_mut()
        .insert("origin", own_origin.parse().unwrap());
    assert!(tokio_tungstenite::connect_async(request).await.is_ok());

    // The visitor cookie is for reads only; writes need the token in a header.
    let visitor_cookie = format!("mdg_visitor={}", visitor.token);
    let visitor_read = app
        .get("/widget/v1/conversations")
        .header("cookie", &visitor_cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(visitor_read.status(), StatusCode::OK);
    let visitor_write = app
        .post(
            &format!("/widget/v1/conversations/{conversation}/messages"),
            &json!({"body": "x"}),
        )
        .header("cookie", &visitor_cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(visitor_write.status(), StatusCode::FORBIDDEN);
    let bodies = message_bodies(&app, &visitor, &conversation).await;
    assert_eq!(
        bodies,
        ["x", "ok"],
        "the refused visitor write stored nothing"
    );
}

/// The bodies of a conversation's messages as its visitor sees them, oldest first.
async fn message_bodies(
    app: &TestApp,
    visitor: &crate::support::Visitor,
    conversation: &str,
) -> Vec<String> {
    app.visitor_messages(visitor, conversation)
        .await
        .iter()
        .map(|m| m["body"].as_str().unwrap().to_owned())
        .collect()
}

async fn only_admins_create_agents(app: TestApp) {
    let agent = app.agent("plain@example.jp").await;
    let workspace = app.workspace_id.clone();
    let admin = app
        .agent_in(&workspace, "boss@example.jp", Role::Admin)
        .await;
    let new_agent = json!({"email": "new@example.jp", "password": "long enough pw", "name": "新人", "role": "agent"});
    let refused = app
        .post("/api/v1/agents", &new_agent)
        .bearer_auth(&agent.token)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let refused_login = app
        .post(
            "/api/v1/auth/login",
            &json!({"email": "new@example.jp", "password": "long enough pw"}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(
        refused_login.status(),
        StatusCode::UNAUTHORIZED,
        "the refused request created no agent"
    );
    let created = app
        .post("/api/v1/agents", &new_agent)
        .bearer_auth(&admin.token)
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    let duplicate = app
        .post("/api/v1/agents", &new_agent)
        .bearer_auth(&admin.token)
        .send()
        .await
        .unwrap();
    assert_eq!(duplicate.status(), StatusCode::CONFLICT);
    let short = json!({"email": "x@example.jp", "password": "short", "name": "x", "role": "agent"});
    let short = app
        .post("/api/v1/agents", &short)
        .bearer_auth(&admin.token)
        .send()
        .await
        .unwrap();
    assert_eq!(short.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let login = app
        .post(
            "/api/v1/auth/login",
            &json!({"email": "new@example.jp", "password": "long enough pw"}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), StatusCode::OK);
    let events = app.store.audit_events(&workspace).await.unwrap();
    assert!(
        events.iter().any(|e| e.action == "agent.created"),
        "agent creation is audited"
    );
    assert_eq!(
        app.store
            .verify_audit_chain(&workspace)
            .await
            .unwrap()
            .first_broken_seq,
        None
    );
}

async fn only_admins_change_channels_articles_and_synonyms(app: TestApp) {
    let agent = app.agent("plain@example.jp").await;
    let workspace = app.workspace_id.clone();
    let admin = app
        .agent_in(&workspace, "boss@example.jp", Role::Admin)
        .await;
    let (app, agent) = (&app, &agent);
    let get = |path: &'static str| async move {
        app.get(path)
            .bearer_auth(&agent.token)
            .send()
            .await
            .unwrap()
            .error_for_status()
            .unwrap()
            .json::<Value>()
            .await
            .unwrap()
    };
    let request = |method: reqwest::Method, path: &str, token: &str, body: &Value| {
        app.http
            .request(method, format!("{}{path}", app.url))
            .bearer_auth(token)
            .json(body)
            .send()
    };
    let article =
        json!({"title": "営業時間は？", "body": "平日9時から18時です。", "status": "published"});
    let created: Value = request(
        reqwest::Method::POST,
        "/api/v1/articles",
        &admin.token,
        &article,
    )
    .await
    .unwrap()
    .error_for_status()
    .unwrap()
    .json()
    .await
    .unwrap();
    let article_path = format!("/api/v1/articles/{}", created["id"].as_str().unwrap());
    let synonyms = json!({"groups": [["返品", "返却"]]});
    request(
        reqwest::Method::PUT,
        "/api/v1/synonyms",
        &admin.token,
        &synonyms,
    )
    .await
    .unwrap()
    .error_for_status()
    .unwrap();
    let before = (
        get("/api/v1/channels").await,
        get("/api/v1/articles").await,
        get("/api/v1/synonyms").await,
    );

    let changed = json!({"title": "書き換え", "body": "書き換え", "status": "published"});
    let attempts = [
        (
            reqwest::Method::POST,
            "/api/v1/channels".to_owned(),
            json!({"name": "裏口"}),
        ),
        (reqwest::Method::PUT, article_path.clone(), changed),
        (reqwest::Method::DELETE, article_path.clone(), json!({})),
        (
            reqwest::Method::PUT,
            "/api/v1/synonyms".to_owned(),
            json!({"groups": [["a", "b"]]}),
        ),
    ];
    for (method, path, body) in &attempts {
        let refused = request(method.clone(), path, &agent.token, body)
            .await
            .unwrap();
        assert_eq!(refused.status(), StatusCode::FORBIDDEN, "{method} {path}");
        let error: Value = refused.json().await.unwrap();
        assert_eq!(error["error"]["code"], "forbidden", "{method} {path}");
    }
    let after = (
        get("/api/v1/channels").await,
        get("/api/v1/articles").await,
        get("/api/v1/synonyms").await,
    );
    assert_eq!(before, after, "refused requests changed nothing");
    // The same requests from an admin go through (the refusals were about the role).
    for (method, path, body) in &attempts {
        let done = request(method.clone(), path, &admin.token, body)
            .await
            .unwrap();
        assert!(
            done.status().is_success(),
            "{method} {path}: {}",
            done.status()
        );
    }
}

async fn logins_are_rate_limited(app: TestApp) {
    app.agent("limit@example.jp").await; // one successful login
    let wrong = json!({"email": "limit@example.jp", "password": "wrong password"});
    let mut statuses = Vec::new();
    for _ in 0..10 {
        statuses.push(
            app.post("/api/v1/auth/login", &wrong)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16(),
        );
    }
    assert_eq!(&statuses[..9], &[401; 9]);
    assert_eq!(statuses[9], 429, "{statuses:?}");
    let body: Value = app
        .post("/api/v1/auth/login", &wrong)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body["error"]["code"], "rate_limited");
    let events = app.store.audit_events(&app.workspace_id).await.unwrap();
    assert!(
        events
            .iter()
            .filter(|e| e.action == "auth.login_failed")
            .count()
            >= 9
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websockets_are_limited_per_client_ip() {
    let mut settings = madoguchi_server::app::settings::Settings::default();
    settings.rate_limits.websockets_per_ip = 2;
    let app = TestApp::spawn_with(madoguchi_store::Backend::Sqlite, settings)
        .await
        .unwrap();
    let visitor = app.visitor().await;
    app.start(&visitor, "つながりますか").await;
    let first = app.visitor_ws(&visitor, "").await;
    let _second = app.visitor_ws(&visitor, "").await;
    let path = format!("/widget/v1/ws?visitor_token={}", visitor.token);
    assert_eq!(ws_refusal(&app, &path, &[]).await, 429);
    drop(first);
    // The slot is freed when the first socket's task ends.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let request = format!("ws://{}{path}", app.addr)
            .into_client_request()
            .unwrap();
        if tokio_tungstenite::connect_async(request).await.is_ok() {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the slot was never freed"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// A visitor socket that never reads: the server must not buffer for it without bound nor slow
/// anyone else down; once it falls behind its bounded queue it is told to resume (close 1013).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_client_is_cut_off_without_slowing_others() {
    use futures_util::StreamExt;
    use tokio_tungstenite::tungstenite::Message as WsMessage;

    let app = TestApp::spawn(madoguchi_store::Backend::Sqlite)
        .await
        .unwrap();
    let agent = app.agent("fast@example.jp").await;
    let slow = app.visitor().await;
    let slow_conversation = app.start(&slow, "slow").await;
    let mut slow_ws = app.visitor_ws(&slow, "").await; // never read until the end
    let other = app.visitor().await;
    let other_conversation = app.start(&other, "other").await;
    let mut other_ws = app.visitor_ws(&other, "").await;

    // Large replies fill the slow socket's TCP buffers, then its 64-event queue.
    let big = "あ".repeat(9_000);
    for _ in 0..1000 {
        app.reply(&agent, &slow_conversation, &big, false).await;
    }
    // Every reply above was acknowledged although one socket never read; someone else is
    // still served: their next frame is this reply (next_message fails after 10 s).
    app.reply(&agent, &other_conversation, "すぐ届く", false)
        .await;
    let frame = crate::support::next_message(&mut other_ws).await;
    assert_eq!(frame["message"]["body"], "すぐ届く");

    // Draining the slow socket now ends with the server's "lagging; resume" close.
    let mut closed_with = None;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while std::time::Instant::now() < deadline {
        match tokio::time::timeout(std::time::Duration::from_secs(10), slow_ws.next()).await {
            Ok(Some(Ok(WsMessage::Close(frame)))) => {
                closed_with = frame.map(|f| u16::from(f.code));
                break;
            }
            Ok(Some(Ok(_))) => continue,
            _ => break,
        }
    }
    assert_eq!(
        closed_with,
        Some(1013),
        "a lagging client is told to reconnect and resume"
    );
}

/// New visitors per client IP and minute are limited; a returning visitor (with a token) is not
/// a new one, and nothing is created for a refused request.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_visitor_sessions_are_limited_per_client_ip() {
    let mut settings = madoguchi_server::app::settings::Settings::default();
    settings.rate_limits.visitor_sessions_per_minute = 3;
    let app = TestApp::spawn_with(madoguchi_store::Backend::Sqlite, settings)
        .await
        .unwrap();
    let session = |token: Option<&str>| {
        let mut body = json!({"channel_key": app.channel_key});
        if let Some(token) = token {
            body["visitor_token"] = json!(token);
        }
        app.post("/widget/v1/session", &body).send()
    };
    let mut tokens = Vec::new();
    for _ in 0..3 {
        let created: Value = session(None)
            .await
            .unwrap()
            .error_for_status()
            .unwrap()
            .json()
            .await
            .unwrap();
        tokens.push(created["visitor_token"].as_str().unwrap().to_owned());
    }
    let refused = session(None).await.unwrap();
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["error"]["code"], "rate_limited");
    let contacts: i64 = app
        .store
        .count_unchecked("SELECT COUNT(*) FROM contacts")
        .await
        .unwrap();
    assert_eq!(contacts, 0, "a new visitor's session stores nothing");
    let returning = session(Some(&tokens[0])).await.unwrap();
    assert_eq!(
        returning.status(),
        StatusCode::OK,
        "a returning visitor is not a new session"
    );
}

/// Teaching an article a customer's wording (from the bot review) changes the knowledge base:
/// the admin role, the article's own limits, and an audit event.
async fn only_admins_teach_the_bot_and_it_is_audited(app: TestApp) {
    let agent = app.agent("plain@example.jp").await;
    let workspace = app.workspace_id.clone();
    let admin = app
        .agent_in(&workspace, "boss@example.jp", Role::Admin)
        .await;
    let article: Value = app
        .post(
            "/api/v1/articles",
            &json!({"title": "送料はいくらですか", "body": "全国一律500円です。", "status": "published"}),
        )
        .bearer_auth(&admin.token)
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap()
        .json()
        .await
        .unwrap();
    let article_id = article["id"].as_str().unwrap().to_owned();
    let visitor = app.visitor().await;
    app.start(&visitor, "こんにちは").await;
    app.start(&visitor, &"長い質問".repeat(60)).await;
    let turns: Value = app
        .get("/api/v1/bot/turns")
        .bearer_auth(&agent.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let turn_of = |query: &str| {
        turns["turns"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["query"].as_str().unwrap().starts_with(query))
            .unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let (short, long) = (turn_of("こんにちは"), turn_of("長い質問"));
    let review = |token: &str, turn: &str, body: Value| {
        app.patch(&format!("/api/v1/bot/turns/{turn}"), &body)
            .bearer_auth(token)
            .send()
    };
    let teach = json!({"review": "wrong", "correct_article_id": article_id});
    let alternatives = || async {
        let a: Value = app
            .get(&format!("/api/v1/articles/{article_id}"))
            .bearer_auth(&admin.token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        a["alternatives"].clone()
    };

    let refused = review(&agent.token, &short, teach.clone()).await.unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        alternatives().await,
        json!([]),
        "the refused teach changed nothing"
    );
    let marked = review(&agent.token, &short, json!({"review": "wrong"}))
        .await
        .unwrap();
    assert_eq!(
        marked.status(),
        StatusCode::OK,
        "agents still review answers"
    );

    let too_long = review(&admin.token, &long, teach.clone()).await.unwrap();
    assert_eq!(too_long.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(alternatives().await, json!([]));

    let taught = review(&admin.token, &short, teach).await.unwrap();
    assert_eq!(taught.status(), StatusCode::OK);
    assert_eq!(alternatives().await, json!(["こんにちは"]));
    let events = app.store.audit_events(&workspace).await.unwrap();
    let actions: Vec<&str> = events.iter().map(|e| e.action.as_str()).collect();
    assert!(
        actions.contains(&"article.created") && actions.contains(&"article.taught"),
        "{actions:?}"
    );
}

/// Behind https (`public_url`), every cookie carries `Secure`; on plain http none can.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cookies_are_secure_when_served_over_https() {
    for (public_url, secure) in [(Some("https://support.shop.example"), true), (None, false)] {
        let settings = madoguchi_server::app::settings::Settings {
            public_url: public_url.map(str::to_owned),
            ..Default::default()
        };
        let app = TestApp::spawn_with(madoguchi_store::Backend::Sqlite, settings)
            .await
            .unwrap();
        let agent = app.agent("secure@example.jp").await;
        let login = app
            .post(
                "/api/v1/auth/login",
                &json!({"email": "secure@example.jp", "password": "password-123"}),
            )
            .send()
            .await
            .unwrap();
        let session = app
            .post(
                "/widget/v1/session",
                &json!({"channel_key": app.channel_key}),
            )
            .send()
            .await
            .unwrap();
        let logout = app
            .post("/api/v1/auth/logout", &json!({}))
            .bearer_auth(&agent.token)
            .send()
            .await
            .unwrap();
        for response in [&login, &session, &logout] {
            let cookie = response.headers()["set-cookie"].to_str().unwrap();
            assert_eq!(
                cookie.ends_with("; Secure"),
                secure,
                "{public_url:?}: {cookie}"
            );
            assert!(cookie.contains("HttpOnly"), "{cookie}");
        }
    }
}

/// An unknown e-mail takes the same path as a wrong password (a password hash is checked
/// either way) and gets the same answer; another workspace's addresses are not revealed.
async fn logins_reveal_no_accounts(app: TestApp) {
    app.agent("known@example.jp").await;
    let checks = || async {
        let metrics = app
            .get("/metrics")
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        metrics
            .lines()
            .find_map(|l| l.strip_prefix("madoguchi_password_checks_total "))
            .unwrap()
            .parse::<u64>()
            .unwrap()
    };
    let mut answers = Vec::new();
    for email in ["known@example.jp", "nobody@example.jp"] {
        let before = checks().await;
        let response = app
            .post(
                "/api/v1/auth/login",
                &json!({"email": email, "password": "not the password"}),
            )
            .send()
            .await
            .unwrap();
        let status = response.status();
        answers.push((status, response.text().await.unwrap()));
        assert_eq!(checks().await, before + 1, "{email}: one password check");
    }
    assert_eq!(answers[0], answers[1], "the same answer for both");
    assert_eq!(answers[0].0, StatusCode::UNAUTHORIZED);

    let (other, _) = app.other_workspace().await;
    let boss = app
        .agent_in(&other, "boss@other.example", Role::Admin)
        .await;
    let taken = app
        .post(
            "/api/v1/agents",
            &json!({"email": "known@example.jp", "password": "long enough pw", "name": "x", "role": "agent"}),
        )
        .bearer_auth(&boss.token)
        .send()
        .await
        .unwrap();
    assert_eq!(taken.status(), StatusCode::CONFLICT);
    let body = taken.text().await.unwrap();
    assert!(
        !body.contains("known@example.jp") && !body.contains("exists"),
        "{body}"
    );
}

/// One visitor can start only so many conversations an hour and send so many messages a
/// minute: past that, 429 with `Retry-After`, and nothing is stored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_visitor_past_the_write_limits_gets_429() {
    let mut settings = madoguchi_server::app::settings::Settings::default();
    settings.rate_limits.visitor_conversations_per_hour = 2;
    settings.rate_limits.visitor_messages_per_minute = 5;
    let app = TestApp::spawn_with(madoguchi_store::Backend::Sqlite, settings)
        .await
        .unwrap();
    let visitor = app.visitor().await;
    let first = app.start(&visitor, "一件目").await;
    app.start(&visitor, "二件目").await;
    let start = app
        .post("/widget/v1/conversations", &json!({"body": "三件目"}))
        .header("x-visitor-token", &visitor.token)
        .send()
        .await
        .unwrap();
    assert_eq!(start.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = start.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=3600).contains(&retry), "{retry}");
    let send = || {
        app.post(
            &format!("/widget/v1/conversations/{first}/messages"),
            &json!({"body": "続き"}),
        )
        .header("x-visitor-token", &visitor.token)
        .send()
    };
    let statuses = [
        send().await.unwrap().status(),
        send().await.unwrap().status(),
        send().await.unwrap().status(),
        send().await.unwrap().status(),
    ];
    assert_eq!(
        statuses.map(|s| s.as_u16()),
        [201, 201, 201, 429],
        "five messages a minute (the two first ones included)"
    );
    let listed: Value = app
        .get("/widget/v1/conversations")
        .header("x-visitor-token", &visitor.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed["conversations"].as_array().unwrap().len(), 2);
    assert_eq!(app.visitor_messages(&visitor, &first).await.len(), 4);
    // Another visitor is not held back.
    let other = app.visitor().await;
    app.start(&other, "別のお客様").await;
}

/// Logins are limited per account as well as per address: guessing from a second address
/// does not start afresh, while other accounts are not locked out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logins_are_limited_per_account_too() {
    let app = TestApp::spawn(madoguchi_store::Backend::Sqlite)
        .await
        .unwrap();
    app.agent("target@example.jp").await;
    app.agent("bystander@example.jp").await;
    let wrong = |email: &str| json!({"email": email, "password": "guess"});
    let from = |last: u8| {
        reqwest::Client::builder()
            .local_address(std::net::IpAddr::from([127, 0, 0, last]))
            .build()
            .unwrap()
    };
    // Nine guesses from one address (below its own limit): with the agent's own login, ten
    // attempts on this account.
    let first = from(3);
    for _ in 0..9 {
        let guessed = first
            .post(format!("{}/api/v1/auth/login", app.url))
            .json(&wrong("target@example.jp"))
            .send()
            .await
            .unwrap();
        assert_eq!(guessed.status(), StatusCode::UNAUTHORIZED);
    }
    let elsewhere = from(2);
    let login = |email: &str| {
        elsewhere
            .post(format!("{}/api/v1/auth/login", app.url))
            .json(&wrong(email))
            .send()
    };
    let refused = login("target@example.jp").await.unwrap();
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(refused.headers().contains_key("retry-after"));
    assert_eq!(
        login("bystander@example.jp").await.unwrap().status(),
        StatusCode::UNAUTHORIZED,
        "another account from the second address is only told the password is wrong"
    );
}

/// `/metrics` wants its token when one is set; a token in the query string counts only on the
/// WebSocket routes, never on another route (even with an `Upgrade` header).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_and_query_tokens_are_fenced() {
    let settings = madoguchi_server::app::settings::Settings {
        metrics_token: Some("prom-s3cret".into()),
        ..Default::default()
    };
    let app = TestApp::spawn_with(madoguchi_store::Backend::Sqlite, settings)
        .await
        .unwrap();
    let metrics = |token: Option<&str>| {
        let request = app.get("/metrics");
        match token {
            Some(token) => request.bearer_auth(token),
            None => request,
        }
        .send()
    };
    assert_eq!(
        metrics(None).await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        metrics(Some("guess")).await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
    let ok = metrics(Some("prom-s3cret")).await.unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
    assert!(ok
        .text()
        .await
        .unwrap()
        .contains("madoguchi_messages_created_total"));

    let agent = app.agent("query@example.jp").await;
    let smuggled = app
        .get(&format!("/api/v1/me?access_token={}", agent.token))
        .header("connection", "upgrade")
        .header("upgrade", "websocket")
        .send()
        .await
        .unwrap();
    assert_eq!(smuggled.status(), StatusCode::UNAUTHORIZED);
    let mut socket = app.agent_ws(&agent, "").await; // the WebSocket route still takes it
    socket.close(None).await.ok();
}

/// Behind a trusted proxy each client is counted under its own forwarded address; from anyone
/// else a forged `X-Forwarded-For` is ignored (the limit stays on the real peer).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forwarded_addresses_are_believed_only_from_trusted_proxies() {
    for (trusted, third_from_another_client) in [
        (true, StatusCode::OK),
        (false, StatusCode::TOO_MANY_REQUESTS),
    ] {
        let mut settings = madoguchi_server::app::settings::Settings::default();
        settings.rate_limits.visitor_sessions_per_minute = 2;
        if trusted {
            settings.trusted_proxies =
                vec![madoguchi_server::http::client_ip::ProxyRange::parse("127.0.0.1").unwrap()];
        }
        let app = TestApp::spawn_with(madoguchi_store::Backend::Sqlite, settings)
            .await
            .unwrap();
        let session = |client: &'static str| {
            app.post(
                "/widget/v1/session",
                &json!({"channel_key": app.channel_key}),
            )
            .header("x-forwarded-for", client)
            .send()
        };
        for _ in 0..2 {
            assert_eq!(
                session("203.0.113.5").await.unwrap().status(),
                StatusCode::OK
            );
        }
        assert_eq!(
            session("203.0.113.5").await.unwrap().status(),
            StatusCode::TOO_MANY_REQUESTS,
            "trusted {trusted}: the same client is limited"
        );
        assert_eq!(
            session("198.51.100.7").await.unwrap().status(),
            third_from_another_client,
            "trusted {trusted}: another client behind the proxy"
        );
    }
}

/// Logging out ends the session's open WebSockets at once (close 1008), not only its HTTP
/// requests; another session of the same agent keeps its socket.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logout_closes_the_sessions_open_sockets() {
    let app = TestApp::spawn(madoguchi_store::Backend::Sqlite)
        .await
        .unwrap();
    let agent = app.agent("leaving@example.jp").await;
    let second: Value = app
        .post(
            "/api/v1/auth/login",
            &json!({"email": "leaving@example.jp", "password": "password-123"}),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let other_session = crate::support::Agent {
        id: agent.id.clone(),
        token: second["token"].as_str().unwrap().to_owned(),
        csrf: second["csrf_token"].as_str().unwrap().to_owned(),
    };
    let mut socket = app.agent_ws(&agent, "").await;
    let mut other_socket = app.agent_ws(&other_session, "").await;
    let logout = app
        .post("/api/v1/auth/logout", &json!({}))
        .bearer_auth(&agent.token)
        .send()
        .await
        .unwrap();
    assert_eq!(logout.status(), StatusCode::NO_CONTENT);
    assert_eq!(crate::support::close_code(&mut socket).await, Some(1008));
    // The other session still gets the workspace's events.
    let visitor = app.visitor().await;
    app.start(&visitor, "まだ見えますか").await;
    crate::support::assert_next_message(&mut other_socket, "まだ見えますか").await;
}
