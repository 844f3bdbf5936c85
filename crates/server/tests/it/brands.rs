//! Two brands answered from one workspace: each brand's widget keeps its own hours, bot
//! scenario and articles (its help center and the bot's answers show its own and the shared
//! ones only), the inbox shows and filters by brand, and an agent limited to one brand sees
//! nothing of the other (list, counts, conversation, search, socket, reports); its customers'
//! mail comes from the brand's sender.

use std::time::Duration;

use madoguchi_core::agent::Role;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::notifications::{mailbox, start_smtp, text_of};
use crate::search::found;
use crate::support::{assert_next_message, both_backends, Agent, TestApp, Visitor};

both_backends!(each_brand_keeps_its_face_and_its_agents);

async fn send(app: &TestApp, who: &Agent, method: Method, path: &str, body: Value) -> Value {
    let response = app
        .http
        .request(method, format!("{}{path}", app.url))
        .bearer_auth(&who.token)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status();
    let answer = response.json().await.unwrap_or(Value::Null);
    assert!(status.is_success(), "{path}: {status} {answer}");
    answer
}

async fn status_of(app: &TestApp, who: &Agent, path: &str) -> StatusCode {
    app.get(path)
        .bearer_auth(&who.token)
        .send()
        .await
        .unwrap()
        .status()
}

async fn page(app: &TestApp, path: &str) -> (StatusCode, String) {
    let response = app.get(path).send().await.unwrap();
    (response.status(), response.text().await.unwrap())
}

fn ids(list: &Value) -> Vec<String> {
    list["conversations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_owned())
        .collect()
}

async fn bot_articles(app: &TestApp, visitor: &Visitor, conversation: &str) -> Vec<String> {
    app.visitor_messages(visitor, conversation)
        .await
        .iter()
        .filter(|m| m["sender_kind"] == "bot")
        .flat_map(|m| {
            m["meta"]["articles"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .map(|a| a["id"].as_str().unwrap().to_owned())
        .collect()
}

/// A new visitor on the widget `key` asks about shipping: the bot answers with `own`, never
/// with `other`. The visitor and the conversation.
async fn ask_the_bot(app: &TestApp, key: &str, own: &str, other: &str) -> (Visitor, String) {
    let visitor = app.visitor_on(key).await;
    let asked = app.start(&visitor, "送料はいくらかかりますか？").await;
    let answered = bot_articles(app, &visitor, &asked).await;
    assert_eq!(
        answered.first().map(String::as_str),
        Some(own),
        "{answered:?}"
    );
    assert!(!answered.iter().any(|id| id == other), "{answered:?}");
    (visitor, asked)
}

/// The groups of `who`'s KPI report by brand.
async fn report_brands(app: &TestApp, who: &Agent) -> Vec<String> {
    let report = app
        .get_json(who, "/api/v1/reports/kpis?group_by=brand")
        .await;
    report["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["key"].as_str().unwrap().to_owned())
        .collect()
}

async fn each_brand_keeps_its_face_and_its_agents(app: TestApp) {
    let workspace = app.workspace_id.clone();
    let admin = app
        .agent_in(&workspace, "lead@example.jp", Role::Admin)
        .await;
    let brand = |slug: &str, name: &str, color: &str| json!({"slug": slug, "name": name, "color": color, "sender_name": format!("{name} サポート"), "sender_email": format!("support@{slug}.example.jp")});
    let a = send(
        &app,
        &admin,
        Method::POST,
        "/api/v1/brands",
        brand("sakura", "さくら堂", "#c0392b"),
    )
    .await;
    let b = send(
        &app,
        &admin,
        Method::POST,
        "/api/v1/brands",
        brand("kaede", "かえで屋", "#1e6b52"),
    )
    .await;
    let (a_id, b_id) = (a["id"].as_str().unwrap(), b["id"].as_str().unwrap());
    // Bad input is refused plainly; a slug is one brand's.
    for bad in [
        json!({"slug": "Bad Slug", "name": "x"}),
        json!({"slug": "ok-slug", "name": "x", "color": "red;}"}),
        json!({"slug": "ok-slug", "name": "x", "sender_email": "not an address"}),
    ] {
        let response = app
            .post("/api/v1/brands", &bad)
            .bearer_auth(&admin.token)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
    }
    let taken = app
        .post("/api/v1/brands", &brand("sakura", "二つ目", "#000000"))
        .bearer_auth(&admin.token)
        .send()
        .await
        .unwrap();
    assert_eq!(taken.status(), StatusCode::CONFLICT);

    // The default widget becomes brand A's; a second widget is brand B's.
    let channels = app.get_json(&admin, "/api/v1/channels").await;
    let channel_a = channels["channels"][0]["id"].as_str().unwrap().to_owned();
    let key_a = app.channel_key.clone();
    let created = send(
        &app,
        &admin,
        Method::POST,
        "/api/v1/channels",
        json!({"name": "かえで屋 Web"}),
    )
    .await;
    let (channel_b, key_b) = (
        created["id"].as_str().unwrap().to_owned(),
        created["public_key"].as_str().unwrap().to_owned(),
    );
    for (channel, brand) in [(&channel_a, a_id), (&channel_b, b_id)] {
        send(
            &app,
            &admin,
            Method::PUT,
            &format!("/api/v1/channels/{channel}/brand"),
            json!({"brand_id": brand}),
        )
        .await;
    }
    let channels = app.get_json(&admin, "/api/v1/channels").await;
    assert!(channels["channels"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["id"] == channel_b.as_str() && c["brand_id"] == b_id));

    // Brand B keeps Saturday hours with its own away message; brand A the default hours (open
    // now, Thursday morning). Brand B's bot has a scenario of its own.
    app.change_automation(&admin, &channel_b, |automation| {
        automation["hours"] = json!({"weekly": [{"day": "sat", "start": "10:00", "end": "16:00"}], "closed_on_holidays": false});
        automation["away"]["ja"] = json!("かえで屋は土曜のみの営業です。");
    })
    .await;
    send(&app, &admin, Method::PUT, &format!("/api/v1/channels/{channel_b}/scenario"), json!({"nodes": [
        {"id": "root", "text_ja": "かえで屋のご案内です", "choices": [{"label_ja": "担当者と話す", "next": "human"}]},
        {"id": "human", "text_ja": "メッセージをどうぞ。", "handover": true}
    ]}))
    .await;

    // The same question has an answer per brand, and a shared article serves both.
    let article = |title: &str, body: &str, brand: Option<&str>| json!({"title": title, "body": body, "status": "published", "category": "ご注文", "brand_id": brand});
    let shipping_a = send(
        &app,
        &admin,
        Method::POST,
        "/api/v1/articles",
        article(
            "送料はいくらですか",
            "さくら堂の送料は全国一律500円です。",
            Some(a_id),
        ),
    )
    .await;
    let shipping_b = send(
        &app,
        &admin,
        Method::POST,
        "/api/v1/articles",
        article(
            "送料はいくらですか",
            "かえで屋の送料は800円です。",
            Some(b_id),
        ),
    )
    .await;
    let shared = send(
        &app,
        &admin,
        Method::POST,
        "/api/v1/articles",
        article(
            "個人情報の取り扱い",
            "お預かりした情報は法令に従い管理します。",
            None,
        ),
    )
    .await;
    let (shipping_a, shipping_b, shared) = (
        shipping_a["id"].as_str().unwrap(),
        shipping_b["id"].as_str().unwrap(),
        shared["id"].as_str().unwrap(),
    );
    let unknown_brand = app
        .post(
            "/api/v1/articles",
            &article("x", "y", Some("0190aaaa-0000-7000-8000-000000000000")),
        )
        .bearer_auth(&admin.token)
        .send()
        .await
        .unwrap();
    assert_eq!(unknown_brand.status(), StatusCode::UNPROCESSABLE_ENTITY);

    // Widgets: each brand's visitor meets only their brand's bot, articles and hours.
    let config_a: Value = app
        .get(&format!("/widget/v1/channels/{key_a}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        !config_a.to_string().contains("かえで屋"),
        "brand A's widget shows nothing of brand B: {config_a}"
    );
    let config_b: Value = app
        .get(&format!("/widget/v1/channels/{key_b}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(config_b["scenario"][0]["text"], "かえで屋のご案内です");

    let (visitor_a, asked_a) = ask_the_bot(&app, &key_a, shipping_a, shipping_b).await;
    let (visitor_b, asked_b) = ask_the_bot(&app, &key_b, shipping_b, shipping_a).await;

    let hello_a = app.start(&visitor_a, "こんにちは、相談があります").await;
    let hello_b = app.start(&visitor_b, "こんにちは、相談があります").await;
    let away_a = app.system_messages(&visitor_a, &hello_a).await;
    assert!(
        away_a
            .iter()
            .all(|m| !m.contains("営業時間外") && !m.contains("土曜")),
        "brand A is open: {away_a:?}"
    );
    let away_b = app.system_messages(&visitor_b, &hello_b).await;
    assert!(
        away_b
            .iter()
            .any(|m| m.contains("かえで屋は土曜のみの営業です。")),
        "brand B is closed: {away_b:?}"
    );

    // Help centers: by brand address or by channel key, each brand's name and articles only.
    for (key, name, own, other) in [
        ("sakura", "さくら堂", shipping_a, shipping_b),
        (key_a.as_str(), "さくら堂", shipping_a, shipping_b),
        ("kaede", "かえで屋", shipping_b, shipping_a),
    ] {
        let (status, index) = page(&app, &format!("/help/{key}")).await;
        assert_eq!(status, StatusCode::OK);
        assert!(index.contains(name), "{key}: {index}");
        assert!(
            index.contains(own) && index.contains(shared) && !index.contains(other),
            "{key}: {index}"
        );
        assert!(
            index.contains(&format!("/help/{key}/theme.css")),
            "{key}: the brand's colour"
        );
        let (status, _) = page(&app, &format!("/help/{key}/articles/{other}")).await;
        assert_eq!(
            status,
            StatusCode::NOT_FOUND,
            "{key} never shows the other brand's article"
        );
        let (_, results) = page(&app, &format!("/help/{key}?q=送料")).await;
        assert!(
            results.contains(own) && !results.contains(other),
            "{key}: {results}"
        );
    }
    let (_, theme) = page(&app, "/help/kaede/theme.css").await;
    assert!(
        theme.contains("#1e6b52") && !theme.contains("#c0392b"),
        "{theme}"
    );
    let (_, kaede) = page(&app, "/help/kaede").await;
    assert!(
        kaede.contains(&format!("/chat/{key_b}")),
        "brand B's help center opens brand B's chat"
    );

    // The inbox shows the brand on every conversation and filters by it.
    let all = app.get_json(&admin, "/api/v1/conversations").await;
    assert_eq!(ids(&all).len(), 4);
    for c in all["conversations"].as_array().unwrap() {
        let expected = if [asked_a.as_str(), hello_a.as_str()].contains(&c["id"].as_str().unwrap())
        {
            a_id
        } else {
            b_id
        };
        assert_eq!(c["brand_id"], expected, "{c}");
    }
    let only_b = app
        .get_json(&admin, &format!("/api/v1/conversations?brand={b_id}"))
        .await;
    let mut expected_b = vec![asked_b.clone(), hello_b.clone()];
    let mut listed_b = ids(&only_b);
    expected_b.sort();
    listed_b.sort();
    assert_eq!(listed_b, expected_b);

    // KPIs per brand.
    let mut wanted = vec![a_id.to_owned(), b_id.to_owned()];
    wanted.sort();
    assert_eq!(report_brands(&app, &admin).await, wanted);

    // An agent limited to brand B sees nothing of brand A.
    let limited = app
        .agent_in(&workspace, "kaede@example.jp", Role::Supervisor)
        .await;
    send(
        &app,
        &admin,
        Method::PUT,
        &format!("/api/v1/agents/{}/brands", limited.id),
        json!({"brand_ids": [b_id]}),
    )
    .await;
    let brands = app.get_json(&admin, "/api/v1/brands").await;
    let listed = brands
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["id"] == b_id)
        .unwrap();
    assert_eq!(listed["agent_ids"], json!([limited.id]));
    let mut visible = ids(&app.get_json(&limited, "/api/v1/conversations").await);
    visible.sort();
    assert_eq!(visible, expected_b);
    let list = app.get_json(&limited, "/api/v1/conversations").await;
    let counted: i64 = ["open", "pending", "snoozed", "resolved", "spam", "blocked"]
        .iter()
        .map(|s| list["counts"][s].as_i64().unwrap())
        .sum();
    assert_eq!(
        counted, 2,
        "counts are of their brand too: {}",
        list["counts"]
    );
    for path in [
        format!("/api/v1/conversations/{asked_a}"),
        format!("/api/v1/conversations/{asked_a}/messages"),
        format!("/api/v1/conversations/{asked_a}/transcript"),
    ] {
        assert_eq!(
            status_of(&app, &limited, &path).await,
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }
    let contact_a = app
        .get_json(&admin, &format!("/api/v1/conversations/{asked_a}"))
        .await["contact_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let profile = app
        .get_json(&limited, &format!("/api/v1/contacts/{contact_a}"))
        .await;
    assert!(
        profile["conversations"].as_array().unwrap().is_empty(),
        "{profile}"
    );
    let hits = found(&app, &admin, "相談", 2, Duration::from_secs(10)).await;
    assert_eq!(hits.len(), 2, "the admin finds both brands' messages");
    let (_, limited_hits) = crate::search::search(&app, &limited, "相談").await;
    let seen: Vec<&str> = limited_hits["hits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["conversation_id"].as_str().unwrap())
        .collect();
    assert_eq!(seen, [hello_b.as_str()], "{limited_hits}");
    assert_eq!(
        report_brands(&app, &limited).await,
        [b_id],
        "their reports are of their brand"
    );

    // Live events: brand A's messages never reach the limited agent's socket; brand B's do.
    let mut socket = app.agent_ws(&limited, "").await;
    app.reply_as_visitor(&visitor_a, &hello_a, "さくら堂への追伸")
        .await;
    app.reply_as_visitor(&visitor_b, &hello_b, "かえで屋への追伸")
        .await;
    assert_next_message(&mut socket, "かえで屋への追伸").await;

    // Without the limit they see both again; a deleted brand's conversations are everyone's.
    send(
        &app,
        &admin,
        Method::PUT,
        &format!("/api/v1/agents/{}/brands", limited.id),
        json!({"brand_ids": []}),
    )
    .await;
    assert_eq!(
        ids(&app.get_json(&limited, "/api/v1/conversations").await).len(),
        4
    );
    let response = app
        .http
        .delete(format!("{}/api/v1/brands/{a_id}", app.url))
        .bearer_auth(&admin.token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let after = app
        .get_json(&admin, &format!("/api/v1/conversations/{asked_a}"))
        .await;
    assert_eq!(after["brand_id"], Value::Null);
}

/// A brand's customer hears from the brand: the reply notification is sent from the brand's
/// sender address and name, with the brand's name in the subject (a real SMTP server).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_brands_reply_mail_comes_from_its_sender() {
    let maildir = std::env::temp_dir().join(format!("mdg-mail-{}", madoguchi_store::new_id()));
    let Some(smtp) = start_smtp(&maildir).await else {
        return;
    };
    let mut settings = madoguchi_server::app::settings::Settings::default();
    settings.smtp.url = Some(format!("smtp://127.0.0.1:{}", smtp.port));
    settings.smtp.from = "窓口サポート <support@shop.example>".into();
    let app = TestApp::spawn_with(madoguchi_store::Backend::Sqlite, settings)
        .await
        .unwrap();
    let workspace = app.workspace_id.clone();
    let admin = app
        .agent_in(&workspace, "lead@example.jp", Role::Admin)
        .await;
    let brand = send(
        &app,
        &admin,
        Method::POST,
        "/api/v1/brands",
        json!({"slug": "sakura", "name": "さくら堂", "sender_email": "hello@sakura.example.jp"}),
    )
    .await;
    let channels = app.get_json(&admin, "/api/v1/channels").await;
    let channel = channels["channels"][0]["id"].as_str().unwrap();
    send(
        &app,
        &admin,
        Method::PUT,
        &format!("/api/v1/channels/{channel}/brand"),
        json!({"brand_id": brand["id"]}),
    )
    .await;
    let visitor = app.visitor().await;
    let conversation = app.start(&visitor, "配送状況を教えてください").await;
    app.patch("/widget/v1/contact", &json!({"email": "hanako@example.jp"}))
        .header("x-visitor-token", &visitor.token)
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap();
    app.reply(&admin, &conversation, "本日発送いたしました。", false)
        .await;
    app.clock.advance_secs(61);
    app.run_jobs().await;
    let mails = mailbox(&maildir);
    assert_eq!(mails.len(), 1);
    let (subject, _) = text_of(&mails[0]);
    assert_eq!(subject, "【さくら堂】お問い合わせへの返信があります");
    let parsed = mail_parser::MessageParser::default()
        .parse(&mails[0])
        .unwrap();
    let from = parsed.from().unwrap().first().unwrap();
    assert_eq!(from.address(), Some("hello@sakura.example.jp"));
    assert_eq!(
        from.name(),
        Some("さくら堂"),
        "the brand's name when no sender name is set"
    );
}
