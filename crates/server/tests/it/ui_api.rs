//! The APIs behind the UI: widget configuration and display rules, CORS for the widget,
//! templates, tags, channel settings, the agent's language, and the pages' assets.

use madoguchi_core::agent::Role;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::support::{both_backends, TestApp};

both_backends!(
    widget_configuration_and_display_rules,
    templates_and_tags,
    agent_language_and_pages
);

async fn widget_configuration_and_display_rules(app: TestApp) {
    let workspace = app.workspace_id.clone();
    let admin = app
        .agent_in(&workspace, "admin@example.jp", Role::Admin)
        .await;
    let agent = app.agent("agent@example.jp").await;
    let config_path = |path: &str, locale: &str| {
        format!(
            "/widget/v1/channels/{}?locale={locale}&path={path}",
            app.channel_key
        )
    };
    let config: Value = app
        .get(&config_path("/", "ja"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(config["show"], true);
    assert_eq!(config["strings"]["widget.send"], "送信");
    assert!(
        config["strings"].get("inbox.send").is_none(),
        "the widget gets its own strings only"
    );
    let english: Value = app
        .get(&config_path("/", "en"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(english["strings"]["widget.send"], "Send");

    let channels: Value = app
        .get("/api/v1/channels")
        .bearer_auth(&agent.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let channel_id = channels["channels"][0]["id"].as_str().unwrap().to_owned();
    let settings = json!({"color": "#0a7d5a", "position": "left", "greeting_ja": "いらっしゃいませ", "greeting_en": "Welcome",
        "show_on": ["/shop/*"], "hide_on": ["/shop/checkout*"]});
    let path = format!("/api/v1/channels/{channel_id}");
    let refused = app
        .patch(&path, &json!({"settings": settings}))
        .bearer_auth(&agent.token)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let saved: Value = app
        .patch(&path, &json!({"settings": settings}))
        .bearer_auth(&admin.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(saved["settings"]["position"], "left");
    for (page, shown) in [
        ("/shop/item/1", true),
        ("/shop/checkout/pay", false),
        ("/blog", false),
    ] {
        let config: Value = app
            .get(&config_path(page, "ja"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(config["show"], shown, "{page}");
        assert_eq!(config["settings"]["greeting_ja"], "いらっしゃいませ");
    }
    let bad = app
        .patch(
            &path,
            &json!({"settings": {"color": "javascript:alert(1)"}}),
        )
        .bearer_auth(&admin.token)
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let unknown = app.get("/widget/v1/channels/ch_nope").send().await.unwrap();
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    let (other_ws, _) = app.other_workspace().await;
    let outsider = app.agent_in(&other_ws, "out@example.jp", Role::Admin).await;
    let foreign = app
        .patch(&path, &json!({"name": "x"}))
        .bearer_auth(&outsider.token)
        .send()
        .await
        .unwrap();
    assert_eq!(foreign.status(), StatusCode::NOT_FOUND);

    // The widget API may be called from the shop's origin, without cookies; the agent API may not.
    let preflight = app
        .http
        .request(
            reqwest::Method::OPTIONS,
            format!("{}/widget/v1/session", app.url),
        )
        .header("origin", "https://shop.example")
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "content-type, x-visitor-token",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(preflight.status(), StatusCode::NO_CONTENT);
    assert_eq!(preflight.headers()["access-control-allow-origin"], "*");
    assert!(preflight.headers()["access-control-allow-headers"]
        .to_str()
        .unwrap()
        .contains("x-visitor-token"));
    assert!(preflight
        .headers()
        .get("access-control-allow-credentials")
        .is_none());
    let api = app
        .get("/api/v1/me")
        .header("origin", "https://shop.example")
        .bearer_auth(&agent.token)
        .send()
        .await
        .unwrap();
    assert!(api.headers().get("access-control-allow-origin").is_none());
}

async fn templates_and_tags(app: TestApp) {
    let workspace = app.workspace_id.clone();
    let admin = app
        .agent_in(&workspace, "admin@example.jp", Role::Admin)
        .await;
    let agent = app.agent("agent@example.jp").await;
    let template = json!({"name": "お礼", "body": "{{contact.name}}様、ありがとうございます。"});
    let refused = app
        .post("/api/v1/templates", &template)
        .bearer_auth(&agent.token)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let created = app
        .post("/api/v1/templates", &template)
        .bearer_auth(&admin.token)
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    let created: Value = created.json().await.unwrap();
    let duplicate = app
        .post("/api/v1/templates", &template)
        .bearer_auth(&admin.token)
        .send()
        .await
        .unwrap();
    assert_eq!(duplicate.status(), StatusCode::CONFLICT);
    let listed: Value = app
        .get("/api/v1/templates")
        .bearer_auth(&agent.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        listed["templates"][0]["body"],
        "{{contact.name}}様、ありがとうございます。"
    );
    let path = format!("/api/v1/templates/{}", created["id"].as_str().unwrap());
    assert_eq!(
        app.http
            .delete(format!("{}{path}", app.url))
            .bearer_auth(&agent.token)
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.http
            .delete(format!("{}{path}", app.url))
            .bearer_auth(&admin.token)
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.http
            .delete(format!("{}{path}", app.url))
            .bearer_auth(&admin.token)
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::NOT_FOUND
    );

    let refused = app
        .post("/api/v1/tags", &json!({"name": "返品"}))
        .bearer_auth(&agent.token)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert_eq!(tag_names(&app, &agent).await, Vec::<String>::new());
    let created = app
        .post("/api/v1/tags", &json!({"name": "返品"}))
        .bearer_auth(&admin.token)
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    let tag: Value = created.json().await.unwrap();
    let empty = app
        .post("/api/v1/tags", &json!({"name": " "}))
        .bearer_auth(&admin.token)
        .send()
        .await
        .unwrap();
    assert_eq!(empty.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(tag_names(&app, &agent).await, ["返品"]);
    let path = format!("{}/api/v1/tags/{}", app.url, tag["id"].as_str().unwrap());
    let delete = |token: &str| app.http.delete(&path).bearer_auth(token).send();
    assert_eq!(
        delete(&agent.token).await.unwrap().status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        tag_names(&app, &agent).await,
        ["返品"],
        "refused delete kept it"
    );
    assert_eq!(
        delete(&admin.token).await.unwrap().status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(tag_names(&app, &agent).await, Vec::<String>::new());
}

async fn tag_names(app: &TestApp, agent: &crate::support::Agent) -> Vec<String> {
    let tags: Value = app
        .get("/api/v1/tags")
        .bearer_auth(&agent.token)
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap()
        .json()
        .await
        .unwrap();
    tags["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_owned())
        .collect()
}

async fn agent_language_and_pages(app: TestApp) {
    let agent = app.agent("lang@example.jp").await;
    let me: Value = app
        .patch("/api/v1/me", &json!({"locale": "en"}))
        .bearer_auth(&agent.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["locale"], "en");
    let me: Value = app
        .get("/api/v1/me")
        .bearer_auth(&agent.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["locale"], "en");
    let bad = app
        .patch("/api/v1/me", &json!({"locale": "fr"}))
        .bearer_auth(&agent.token)
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);

    let widget = app.get("/widget.js").send().await.unwrap();
    assert!(widget.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/javascript"));
    assert!(widget.text().await.unwrap().len() < 40 * 1024);
    for page in ["/login", "/inbox", "/admin"] {
        let response = app.get(page).send().await.unwrap();
        let csp = response.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(
            csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
            "{page}: {csp}"
        );
        let html = response.text().await.unwrap();
        assert!(
            !html.contains("<script>") && !html.contains("style="),
            "{page} has inline script or style"
        );
    }
    let locale: Value = app
        .get("/assets/en.json")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(locale["inbox.title"], "Inbox");
    for traversal in [
        "/assets/../Cargo.toml",
        "/assets/..%2fCargo.toml",
        "/assets/..%2F..%2FCargo.toml",
        "/assets/%2e%2e%2fsrc%2flib.rs",
    ] {
        let (status, body) = raw_get(&app, traversal).await;
        assert!(
            status.starts_with("HTTP/1.1 404") && !body.contains("[package]"),
            "{traversal}: {status}"
        );
    }
    assert_eq!(
        app.get("/assets/secret.txt").send().await.unwrap().status(),
        StatusCode::NOT_FOUND
    );
}

/// A GET sent byte for byte, so the path reaches the server exactly as written (an HTTP client
/// would normalise `..` away): `(status line, whole response)`.
async fn raw_get(app: &TestApp, path: &str) -> (String, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
        app.addr
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.unwrap();
    let response = String::from_utf8_lossy(&response).into_owned();
    let status = response.lines().next().unwrap_or_default().to_owned();
    (status, response)
}

/// A channel row whose stored settings no longer parse is an error that names the channel,
/// never a silent fall-back to defaults.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn corrupt_channel_settings_are_named_not_defaulted() {
    let app = TestApp::spawn(madoguchi_store::Backend::Sqlite)
        .await
        .unwrap();
    let workspace = app.workspace_id.clone();
    let admin = app
        .agent_in(&workspace, "admin@example.jp", Role::Admin)
        .await;
    let channels: Value = app
        .get("/api/v1/channels")
        .bearer_auth(&admin.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let channel = channels["channels"][0].clone();
    let id = channel["id"].as_str().unwrap();
    app.store
        .execute_unchecked(&format!(
            "UPDATE channels SET automation = '{{\"bot\": \"yes please\"', settings = '[1' WHERE id = '{id}'"
        ))
        .await
        .unwrap();
    let expect_named = |body: &Value, what: &str| {
        assert_eq!(body["error"]["code"], "corrupt_settings", "{body}");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(message.contains(id) && message.contains(what), "{message}");
    };
    let automation = app
        .get(&format!("/api/v1/channels/{id}/automation"))
        .bearer_auth(&admin.token)
        .send()
        .await
        .unwrap();
    assert_eq!(automation.status(), StatusCode::INTERNAL_SERVER_ERROR);
    expect_named(&automation.json().await.unwrap(), "automation settings");
    let listed = app
        .get("/api/v1/channels")
        .bearer_auth(&admin.token)
        .send()
        .await
        .unwrap();
    assert_eq!(listed.status(), StatusCode::INTERNAL_SERVER_ERROR);
    expect_named(&listed.json().await.unwrap(), "widget settings");
    // The rules of the channel cannot be read: a customer's send fails loudly before anything
    // is written (the widget keeps it and retries) rather than running on default rules.
    let visitor = app.visitor().await;
    let start = app
        .post("/widget/v1/conversations", &json!({"body": "こんにちは"}))
        .header("x-visitor-token", &visitor.token)
        .send()
        .await
        .unwrap();
    assert_eq!(start.status(), StatusCode::INTERNAL_SERVER_ERROR);
}
