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

    let tag: Value = app
        .post("/api/v1/tags", &json!({"name": "返品"}))
        .bearer_auth(&admin.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let empty = app
        .post("/api/v1/tags", &json!({"name": " "}))
        .bearer_auth(&admin.token)
        .send()
        .await
        .unwrap();
    assert_eq!(empty.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let tags: Value = app
        .get("/api/v1/tags")
        .bearer_auth(&agent.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(tags["tags"][0]["name"], "返品");
    let path = format!("{}/api/v1/tags/{}", app.url, tag["id"].as_str().unwrap());
    assert_eq!(
        app.http
            .delete(&path)
            .bearer_auth(&admin.token)
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::NO_CONTENT
    );
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
    assert_eq!(
        app.get("/assets/../Cargo.toml")
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.get("/assets/secret.txt").send().await.unwrap().status(),
        StatusCode::NOT_FOUND
    );
}
