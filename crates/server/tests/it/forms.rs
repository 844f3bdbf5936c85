//! Web forms over HTTP: the page may be framed by the shop's site; a person's submission (with
//! the signed time token, some seconds later) becomes a conversation listing the answers from
//! the contact with the form's e-mail address; a bot — too fast, an old or forged token, the
//! honeypot filled — is dropped without a word; a missing answer comes back with the answers
//! kept; the JSON twin does the same; each address has a limit; and an agent's reply reaches
//! the customer by e-mail from the shop's support address (a real SMTP server).

use madoguchi_core::agent::Role;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::notifications::{mailbox, start_smtp, text_of};
use crate::support::{Agent, TestApp};

/// The form page's time token.
fn token_in(page: &str) -> String {
    let at = page.find("name=\"token\" value=\"").unwrap() + "name=\"token\" value=\"".len();
    page[at..].split('"').next().unwrap().to_owned()
}

async fn post_form(app: &TestApp, key: &str, fields: &[(&str, &str)]) -> (StatusCode, String) {
    let response = app
        .http
        .post(format!("{}/forms/{key}", app.url))
        .form(fields)
        .send()
        .await
        .unwrap();
    (response.status(), response.text().await.unwrap())
}

async fn conversations(app: &TestApp, admin: &Agent) -> Vec<Value> {
    app.get_json(admin, "/api/v1/conversations?status=&limit=50")
        .await["conversations"]
        .as_array()
        .unwrap()
        .clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_contact_form_becomes_a_conversation_answered_by_mail() {
    let maildir = std::env::temp_dir().join(format!("mdg-mail-{}", madoguchi_store::new_id()));
    let Some(smtp) = start_smtp(&maildir).await else {
        return;
    };
    let mut settings = madoguchi_server::app::settings::Settings::default();
    settings.smtp.url = Some(format!("smtp://127.0.0.1:{}", smtp.port));
    settings.rate_limits.visitor_conversations_per_hour = 2;
    let app = TestApp::spawn_with(madoguchi_store::Backend::Sqlite, settings)
        .await
        .unwrap();
    let workspace = app.workspace_id.clone();
    let admin = app
        .agent_in(&workspace, "lead@example.jp", Role::Admin)
        .await;
    for channel in [
        json!({"kind": "email", "name": "サポート", "email_address": "support@shop.example"}),
        json!({"kind": "form", "name": "お問い合わせフォーム"}),
    ] {
        let response = app
            .post("/api/v1/channels", &channel)
            .bearer_auth(&admin.token)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::CREATED);
    }
    let channels = app.get_json(&admin, "/api/v1/channels").await;
    let form = channels["channels"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["kind"] == "form")
        .unwrap()
        .clone();
    assert_eq!(
        form["form"]["fields"][1]["type"], "email",
        "the default fields: {form}"
    );
    let key = form["public_key"].as_str().unwrap().to_owned();
    let bad = app
        .http
        .put(format!(
            "{}/api/v1/channels/{}/form",
            app.url,
            form["id"].as_str().unwrap()
        ))
        .bearer_auth(&admin.token)
        .json(
            &json!({"title": "x", "fields": [{"key": "name", "label": "お名前", "type": "text"}]}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(
        bad.status(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "a form without an e-mail field"
    );

    // The page: framable by the shop's site, nothing else loaded.
    let response = app.get(&format!("/forms/{key}")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let csp = response.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        csp.contains("frame-ancestors *") && csp.contains("default-src 'none'"),
        "{csp}"
    );
    assert!(response.headers().get("x-frame-options").is_none());
    let page = response.text().await.unwrap();
    assert!(
        page.contains("お問い合わせの種類") && page.contains("name=\"website\""),
        "{page}"
    );
    let token = token_in(&page);
    let person = [
        ("token", token.as_str()),
        ("website", ""),
        ("name", "山田 花子"),
        ("email", "hanako@example.jp"),
        ("order", "A-1029"),
        ("category", "返品・交換"),
        (
            "message",
            "届いた商品が壊れていました。\n交換をお願いします。",
        ),
    ];

    // Too fast: a bot. Dropped, with the same thanks.
    let (status, thanks) = post_form(&app, &key, &person).await;
    assert_eq!(status, StatusCode::OK);
    assert!(thanks.contains("受け付けました"), "{thanks}");
    assert!(conversations(&app, &admin).await.is_empty());
    // The honeypot filled: a bot.
    app.clock.advance_secs(5);
    let mut trapped = person;
    trapped[1] = ("website", "http://spam.example");
    post_form(&app, &key, &trapped).await;
    // A forged token: a bot.
    let mut forged = person;
    forged[0] = ("token", "1795654800000.00ff");
    post_form(&app, &key, &forged).await;
    assert!(
        conversations(&app, &admin).await.is_empty(),
        "bots leave nothing"
    );

    // A missing answer: the page again, saying which, with the answers kept.
    let mut missing = person;
    missing[6] = ("message", "");
    let (status, again) = post_form(&app, &key, &missing).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        again.contains("「お問い合わせ内容」を入力してください") && again.contains("A-1029"),
        "{again}"
    );

    // A person: one conversation, its first message listing the answers.
    let (_, thanks) = post_form(&app, &key, &person).await;
    assert!(thanks.contains("受け付けました"));
    let list = conversations(&app, &admin).await;
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["contact_name"], "山田 花子");
    assert_eq!(list[0]["contact_email"], "hanako@example.jp");
    let conversation = list[0]["id"].as_str().unwrap().to_owned();
    let messages = app
        .get_json(
            &admin,
            &format!("/api/v1/conversations/{conversation}/messages"),
        )
        .await;
    let first = messages["messages"][0]["body"].as_str().unwrap().to_owned();
    assert!(
        first.contains("【注文番号】A-1029")
            && first.contains("【お問い合わせの種類】返品・交換")
            && first.contains("【お問い合わせ内容】\n届いた商品が壊れていました。"),
        "{first}"
    );

    // The JSON twin: the same checks.
    let definition: Value = app
        .get(&format!("/forms/{key}/definition"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(definition["title"], "お問い合わせ");
    app.clock.advance_secs(5);
    let answers = json!({"name": "佐藤", "email": "sato@example.jp", "category": "その他", "message": "JSONから"});
    let sent = app
        .post(
            &format!("/forms/{key}/submissions"),
            &json!({"fields": answers, "token": definition["token"]}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(sent.status(), StatusCode::ACCEPTED);
    let wrong = app
        .post(
            &format!("/forms/{key}/submissions"),
            &json!({"fields": {"name": "佐藤"}, "token": definition["token"]}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let error: Value = wrong.json().await.unwrap();
    assert!(
        error["error"]["message"]
            .as_str()
            .unwrap()
            .contains("メールアドレス"),
        "{error}"
    );
    assert_eq!(conversations(&app, &admin).await.len(), 2);
    // The address's limit (2 an hour here): the next one is refused.
    let over = app
        .post(
            &format!("/forms/{key}/submissions"),
            &json!({"fields": answers, "token": definition["token"]}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(over.status(), StatusCode::TOO_MANY_REQUESTS);

    // The agent's reply goes out by e-mail from the support address, threaded back.
    app.reply(
        &admin,
        &conversation,
        "ご不便をおかけしました。交換品をお送りします。",
        false,
    )
    .await;
    app.run_jobs().await;
    let mails = mailbox(&maildir);
    let mail = mails
        .iter()
        .find(|m| text_of(m).1.contains("交換品をお送りします"))
        .unwrap_or_else(|| panic!("the reply mail among {}", mails.len()));
    let parsed = mail_parser::MessageParser::default().parse(mail).unwrap();
    assert_eq!(
        parsed.to().unwrap().first().unwrap().address(),
        Some("hanako@example.jp")
    );
    assert_eq!(
        parsed.from().unwrap().first().unwrap().address(),
        Some("support@shop.example")
    );
    let reply_to = parsed
        .reply_to()
        .unwrap()
        .first()
        .unwrap()
        .address()
        .unwrap()
        .to_owned();
    assert_eq!(reply_to, format!("support+{conversation}@shop.example"));
}
