//! An agent's lifecycle: disabled, re-enabled, deleted (their conversations stay), a changed
//! password ending the other sessions, log-out everywhere, idle sessions expiring. Every ended
//! credential closes its open WebSockets at once.

use madoguchi_core::agent::Role;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::support::{close_code, Agent, TestApp};

async fn login(app: &TestApp, email: &str, password: &str) -> reqwest::Response {
    app.post(
        "/api/v1/auth/login",
        &json!({"email": email, "password": password}),
    )
    .send()
    .await
    .unwrap()
}

async fn me(app: &TestApp, agent: &Agent) -> StatusCode {
    app.get("/api/v1/me")
        .bearer_auth(&agent.token)
        .send()
        .await
        .unwrap()
        .status()
}

async fn post(app: &TestApp, token: &str, path: &str, body: Value) -> reqwest::Response {
    app.post(path, &body)
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disabled_and_deleted_agents_are_cut_off() {
    let app = TestApp::spawn(madoguchi_store::Backend::Sqlite)
        .await
        .unwrap();
    let workspace = app.workspace_id.clone();
    let admin = app
        .agent_in(&workspace, "owner@example.jp", Role::Admin)
        .await;
    let agent = app.agent("part-time@example.jp").await;
    let mut socket = app.agent_ws(&agent, "").await;

    let disable = format!("/api/v1/agents/{}/disable", agent.id);
    assert_eq!(
        post(&app, &agent.token, &disable, json!({})).await.status(),
        403
    );
    let own = format!("/api/v1/agents/{}/disable", admin.id);
    assert_eq!(
        post(&app, &admin.token, &own, json!({})).await.status(),
        409,
        "not oneself"
    );
    let disabled: Value = post(&app, &admin.token, &disable, json!({}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(disabled["disabled"], true);
    assert_eq!(
        close_code(&mut socket).await,
        Some(1008),
        "the open socket closes"
    );
    assert_eq!(me(&app, &agent).await, StatusCode::UNAUTHORIZED);
    let refused = login(&app, "part-time@example.jp", "password-123").await;
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    let body: Value = refused.json().await.unwrap();
    assert_eq!(
        body["error"]["code"], "invalid_credentials",
        "nothing more is told"
    );

    let enable = format!("/api/v1/agents/{}/enable", agent.id);
    assert_eq!(
        post(&app, &admin.token, &enable, json!({})).await.status(),
        200
    );
    let back = app
        .login("part-time@example.jp", "password-123", &agent.id)
        .await;
    assert_eq!(me(&app, &back).await, StatusCode::OK);

    // Deleted: their assigned conversation and reply stay, under 「削除された担当者」.
    let visitor = app.visitor().await;
    let conversation = app.start(&visitor, "配送について").await;
    app.patch(
        &format!("/api/v1/conversations/{conversation}"),
        &json!({"assignee_id": agent.id}),
    )
    .bearer_auth(&admin.token)
    .send()
    .await
    .unwrap()
    .error_for_status()
    .unwrap();
    app.reply(&back, &conversation, "明日お届けします", false)
        .await;
    let mut socket = app.agent_ws(&back, "").await;
    let deleted = app
        .http
        .delete(format!("{}/api/v1/agents/{}", app.url, agent.id))
        .bearer_auth(&admin.token)
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    assert_eq!(close_code(&mut socket).await, Some(1008));
    assert_eq!(me(&app, &back).await, StatusCode::UNAUTHORIZED);
    let agents: Value = app
        .get("/api/v1/agents")
        .bearer_auth(&admin.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let gone = agents["agents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["id"] == agent.id.as_str())
        .unwrap();
    assert_eq!(
        (gone["name"].as_str(), gone["disabled"].as_bool()),
        (Some("削除された担当者"), Some(true))
    );
    assert!(!gone["email"].as_str().unwrap().contains("part-time"));
    let kept: Value = app
        .get(&format!("/api/v1/conversations/{conversation}"))
        .bearer_auth(&admin.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(kept["assignee_id"], agent.id.as_str());
    assert_eq!(app.visitor_messages(&visitor, &conversation).await.len(), 2);
    // The address is free again.
    let again = post(
        &app,
        &admin.token,
        "/api/v1/agents",
        json!({"email": "part-time@example.jp", "name": "新しい人", "password": "password-456", "role": "agent"}),
    )
    .await;
    assert_eq!(again.status(), StatusCode::CREATED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn password_changes_and_logout_everywhere_end_sessions() {
    let app = TestApp::spawn(madoguchi_store::Backend::Sqlite)
        .await
        .unwrap();
    let here = app.agent("sato@example.jp").await;
    let laptop = app.login("sato@example.jp", "password-123", &here.id).await;
    let mut laptop_socket = app.agent_ws(&laptop, "").await;

    let change = |current: &'static str, new: &'static str| {
        post(
            &app,
            &here.token,
            "/api/v1/me/password",
            json!({"current_password": current, "new_password": new}),
        )
    };
    assert_eq!(
        change("wrong-password", "a-new-password").await.status(),
        401
    );
    assert_eq!(change("password-123", "short").await.status(), 422);
    assert_eq!(change("password-123", "a-new-password").await.status(), 204);
    assert_eq!(
        close_code(&mut laptop_socket).await,
        Some(1008),
        "the other session ends"
    );
    assert_eq!(me(&app, &laptop).await, StatusCode::UNAUTHORIZED);
    assert_eq!(me(&app, &here).await, StatusCode::OK, "this one stays");
    assert_eq!(
        login(&app, "sato@example.jp", "password-123")
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
    let phone = app
        .login("sato@example.jp", "a-new-password", &here.id)
        .await;
    let mut phone_socket = app.agent_ws(&phone, "").await;

    let everywhere = post(
        &app,
        &here.token,
        "/api/v1/auth/logout-everywhere",
        json!({}),
    )
    .await;
    assert_eq!(everywhere.status(), StatusCode::NO_CONTENT);
    assert_eq!(close_code(&mut phone_socket).await, Some(1008));
    assert_eq!(me(&app, &phone).await, StatusCode::UNAUTHORIZED);
    assert_eq!(me(&app, &here).await, StatusCode::UNAUTHORIZED);
    let audit: i64 = app
        .store
        .count_unchecked(
            "SELECT COUNT(*) FROM audit_events WHERE action IN ('auth.password_changed', 'auth.logout_everywhere')",
        )
        .await
        .unwrap();
    assert_eq!(audit, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_sessions_expire() {
    let mut settings = madoguchi_server::app::settings::Settings::default();
    settings.sessions.idle_hours = 2;
    let app = TestApp::spawn_with(madoguchi_store::Backend::Sqlite, settings)
        .await
        .unwrap();
    let agent = app.agent("idle@example.jp").await;
    app.clock.advance_secs(3600);
    assert_eq!(
        me(&app, &agent).await,
        StatusCode::OK,
        "used within the window"
    );
    app.clock.advance_secs(3600 + 600);
    assert_eq!(
        me(&app, &agent).await,
        StatusCode::OK,
        "its last use counts, not its login"
    );
    app.clock.advance_secs(2 * 3600 + 60);
    assert_eq!(
        me(&app, &agent).await,
        StatusCode::UNAUTHORIZED,
        "idle for two hours"
    );
}
