//! What a shop sets up about itself and its people: the workspace's name and logo (shown in the
//! help center, with search and the chat link on every page), readers' 「役に立ちましたか？」
//! counted per article, and agents and templates edited after they were made.

use madoguchi_core::agent::Role;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::attachments::PNG;
use crate::support::{both_backends, TestApp};

both_backends!(
    name_logo_and_helpful_answers_in_the_help_center,
    agents_and_templates_are_edited,
    every_settings_change_is_audited
);

async fn name_logo_and_helpful_answers_in_the_help_center(app: TestApp) {
    let workspace = app.workspace_id.clone();
    let admin = app
        .agent_in(&workspace, "owner@example.jp", Role::Admin)
        .await;
    let agent = app.agent("staff@example.jp").await;
    let rename = |token: &str, name: &str| {
        app.patch("/api/v1/workspace", &json!({ "name": name }))
            .bearer_auth(token)
            .send()
    };
    assert_eq!(
        rename(&agent.token, "乗っ取り").await.unwrap().status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        rename(&admin.token, " ").await.unwrap().status(),
        StatusCode::UNPROCESSABLE_ENTITY
    );
    let renamed: Value = rename(&admin.token, "窓口雑貨店")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        (renamed["name"].as_str(), renamed["has_logo"].as_bool()),
        (Some("窓口雑貨店"), Some(false))
    );
    let logo = |body: Vec<u8>| {
        app.http
            .put(format!("{}/api/v1/workspace/logo", app.url))
            .bearer_auth(&admin.token)
            .body(body)
            .send()
    };
    assert_eq!(
        logo(b"%PDF-1.4".to_vec()).await.unwrap().status(),
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "a logo is an image"
    );
    assert_eq!(
        logo(PNG.to_vec()).await.unwrap().status(),
        StatusCode::NO_CONTENT
    );

    let created: Value = app
        .post(
            "/api/v1/articles",
            &json!({"title": "返品したい", "body": "7日以内なら返品できます。", "status": "published"}),
        )
        .bearer_auth(&admin.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let article = created["id"].as_str().unwrap().to_owned();
    let key = &app.channel_key;
    let page = app
        .get(&format!("/help/{key}/articles/{article}"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for expected in [
        "<title>返品したい | 窓口雑貨店</title>".to_owned(),
        format!("<img src=\"/help/{key}/logo\""),
        format!("action=\"/help/{key}\" role=\"search\""),
        format!("href=\"/chat/{key}\""),
        "この記事は役に立ちましたか？".to_owned(),
    ] {
        assert!(page.contains(&expected), "{expected} missing: {page}");
    }
    let served = app.get(&format!("/help/{key}/logo")).send().await.unwrap();
    assert_eq!(served.headers()["content-type"], "image/png");
    assert_eq!(served.bytes().await.unwrap().as_ref(), PNG);

    // Readers answer; the answers are counted per article and in the help center's rate.
    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let vote = |answer: &'static str, id: String| {
        no_redirects
            .post(format!("{}/help/{key}/articles/{id}/feedback", app.url))
            .form(&[("helpful", answer)])
            .send()
    };
    for answer in ["yes", "yes", "no"] {
        let answered = vote(answer, article.clone()).await.unwrap();
        assert_eq!(answered.status(), StatusCode::SEE_OTHER);
        assert_eq!(
            answered.headers()["location"],
            format!("/help/{key}/articles/{article}?voted={answer}#helpful").as_str()
        );
    }
    assert_eq!(
        vote("maybe", article.clone()).await.unwrap().status(),
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(
        vote("yes", "0190c5f4-0000-7000-8000-000000000000".into())
            .await
            .unwrap()
            .status(),
        StatusCode::NOT_FOUND
    );
    let thanks = app
        .get(&format!("/help/{key}/articles/{article}?voted=no"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(thanks.contains("担当者がお答えします") && !thanks.contains("<form method=\"post\""));
    let rates: Value = app
        .get("/api/v1/bot/rates")
        .bearer_auth(&agent.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        rates["articles"],
        json!([{"article_id": article, "helpful": 2, "not_helpful": 1}])
    );
    let helpful = rates["helpful"].as_f64().unwrap();
    assert!((helpful - 2.0 / 3.0).abs() < 1e-9, "{helpful}");
}

async fn agents_and_templates_are_edited(app: TestApp) {
    let workspace = app.workspace_id.clone();
    let admin = app
        .agent_in(&workspace, "owner@example.jp", Role::Admin)
        .await;
    let agent = app.agent("staff@example.jp").await;
    let edit_agent = |token: &str, id: &str, body: Value| {
        app.patch(&format!("/api/v1/agents/{id}"), &body)
            .bearer_auth(token)
            .send()
    };
    let promoted: Value = edit_agent(
        &admin.token,
        &agent.id,
        json!({"name": "佐藤 花", "role": "admin"}),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(
        (promoted["name"].as_str(), promoted["role"].as_str()),
        (Some("佐藤 花"), Some("admin"))
    );
    // Back to agent; then the last admin cannot step down.
    edit_agent(
        &admin.token,
        &agent.id,
        json!({"name": "佐藤 花", "role": "agent"}),
    )
    .await
    .unwrap()
    .error_for_status()
    .unwrap();
    let last = edit_agent(
        &admin.token,
        &admin.id,
        json!({"name": "店長", "role": "agent"}),
    )
    .await
    .unwrap();
    assert_eq!(last.status(), StatusCode::CONFLICT);
    assert_eq!(
        edit_agent(
            &agent.token,
            &admin.id,
            json!({"name": "x", "role": "agent"})
        )
        .await
        .unwrap()
        .status(),
        StatusCode::FORBIDDEN
    );
    let (other_ws, _) = app.other_workspace().await;
    let outsider = app.agent_in(&other_ws, "out@example.jp", Role::Admin).await;
    assert_eq!(
        edit_agent(
            &outsider.token,
            &agent.id,
            json!({"name": "x", "role": "admin"})
        )
        .await
        .unwrap()
        .status(),
        StatusCode::NOT_FOUND
    );

    let created: Value = app
        .post(
            "/api/v1/templates",
            &json!({"name": "お礼", "body": "ありがとうございます"}),
        )
        .bearer_auth(&admin.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    app.post(
        "/api/v1/templates",
        &json!({"name": "お詫び", "body": "申し訳ありません"}),
    )
    .bearer_auth(&admin.token)
    .send()
    .await
    .unwrap()
    .error_for_status()
    .unwrap();
    let path = format!("/api/v1/templates/{}", created["id"].as_str().unwrap());
    let edited: Value = app
        .patch(
            &path,
            &json!({"name": "お礼", "body": "{{contact.name}}様、ありがとうございます"}),
        )
        .bearer_auth(&admin.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(edited["body"], "{{contact.name}}様、ありがとうございます");
    let taken = app
        .patch(&path, &json!({"name": "お詫び", "body": "x"}))
        .bearer_auth(&admin.token)
        .send()
        .await
        .unwrap();
    assert_eq!(taken.status(), StatusCode::CONFLICT);
}

async fn every_settings_change_is_audited(app: TestApp) {
    let workspace = app.workspace_id.clone();
    let admin = app
        .agent_in(&workspace, "owner@example.jp", Role::Admin)
        .await;
    let channel = app.store.channel_by_key(&app.channel_key).await.unwrap().id;
    let send = |method: reqwest::Method, path: String, body: Value| {
        app.http
            .request(method, format!("{}{path}", app.url))
            .bearer_auth(&admin.token)
            .json(&body)
            .send()
    };
    use reqwest::Method;
    let created: Value = send(
        Method::POST,
        "/api/v1/channels".into(),
        json!({"name": "LP"}),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let lp = created["id"].as_str().unwrap().to_owned();
    let template: Value = send(
        Method::POST,
        "/api/v1/templates".into(),
        json!({"name": "a", "body": "b"}),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let template = template["id"].as_str().unwrap().to_owned();
    let tag: Value = send(Method::POST, "/api/v1/tags".into(), json!({"name": "vip"}))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let tag = tag["id"].as_str().unwrap().to_owned();
    for (method, path, body) in [
        (
            Method::PATCH,
            format!("/api/v1/channels/{lp}"),
            json!({"name": "LP2"}),
        ),
        (
            Method::PUT,
            format!("/api/v1/channels/{channel}/automation"),
            json!({"bot": false}),
        ),
        (
            Method::PUT,
            format!("/api/v1/channels/{channel}/scenario"),
            json!({"nodes": []}),
        ),
        (
            Method::PATCH,
            format!("/api/v1/templates/{template}"),
            json!({"name": "a", "body": "c"}),
        ),
        (
            Method::DELETE,
            format!("/api/v1/templates/{template}"),
            json!({}),
        ),
        (Method::DELETE, format!("/api/v1/tags/{tag}"), json!({})),
        (
            Method::PUT,
            "/api/v1/synonyms".into(),
            json!({"groups": [["返品", "返却"]]}),
        ),
        (
            Method::PATCH,
            "/api/v1/workspace".into(),
            json!({"name": "窓口雑貨店"}),
        ),
        (Method::POST, "/api/v1/auth/logout".into(), json!({})),
    ] {
        let answer = send(method.clone(), path.clone(), body).await.unwrap();
        assert!(
            answer.status().is_success(),
            "{method} {path}: {}",
            answer.status()
        );
    }
    let missing: Vec<String> = {
        let mut found = Vec::new();
        for action in [
            "channel.created",
            "channel.updated",
            "channel.automation_updated",
            "channel.scenario_updated",
            "template.created",
            "template.updated",
            "template.deleted",
            "tag.created",
            "tag.deleted",
            "synonyms.replaced",
            "workspace.renamed",
            "auth.logout",
        ] {
            let n = app
                .store
                .count_unchecked(&format!(
                    "SELECT COUNT(*) FROM audit_events WHERE action = '{action}'"
                ))
                .await
                .unwrap();
            if n == 0 {
                found.push(action.to_owned());
            }
        }
        found
    };
    assert!(missing.is_empty(), "not audited: {missing:?}");
}
