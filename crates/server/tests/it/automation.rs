//! Business hours and auto-replies, stepped with the server's manual clock.

use madoguchi_core::agent::Role;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::support::{both_backends, tokyo_ms, TestApp, Visitor};

both_backends!(
    auto_replies_follow_business_hours,
    automation_settings_api,
    snoozed_conversations_wake_up_on_time
);

/// On a server that can send e-mail (to an SMTP port nobody listens on: nothing is sent here),
/// so that replies plan a notification job.
async fn app_with_email(backend: madoguchi_store::Backend) -> Option<TestApp> {
    let mut settings = madoguchi_server::app::settings::Settings::default();
    settings.smtp.url = Some("smtp://127.0.0.1:1".into());
    TestApp::spawn_with(backend, settings).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_and_its_jobs_commit_together_sqlite() {
    let app = app_with_email(madoguchi_store::Backend::Sqlite)
        .await
        .unwrap();
    a_message_and_its_jobs_commit_together(app).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_and_its_jobs_commit_together_postgres() {
    if let Some(app) = app_with_email(madoguchi_store::Backend::Postgres).await {
        a_message_and_its_jobs_commit_together(app).await;
    }
}

async fn send(app: &TestApp, visitor: &Visitor, conversation: &str, body: &str) {
    app.post(
        &format!("/widget/v1/conversations/{conversation}/messages"),
        &json!({"body": body}),
    )
    .header("x-visitor-token", &visitor.token)
    .send()
    .await
    .unwrap()
    .error_for_status()
    .unwrap();
}

async fn auto_replies_follow_business_hours(app: TestApp) {
    let agent = app.agent("staff@example.jp").await;
    let visitor = app.visitor().await;

    // In hours: the expectation message after 60 s without a human reply, once per wait.
    let conversation = app.start(&visitor, "注文について質問です").await;
    assert!(app
        .system_messages(&visitor, &conversation)
        .await
        .is_empty());
    app.clock.advance_secs(59);
    app.run_jobs().await;
    assert!(
        app.system_messages(&visitor, &conversation)
            .await
            .is_empty(),
        "not before 60 s"
    );
    app.clock.advance_secs(2);
    assert_eq!(app.run_jobs().await, 1);
    let sent = app.system_messages(&visitor, &conversation).await;
    assert_eq!(sent.len(), 1);
    assert!(sent[0].contains("担当者が確認しています"), "{sent:?}");
    let details: Value = app
        .get(&format!("/api/v1/conversations/{conversation}"))
        .bearer_auth(&agent.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        details["first_agent_response_at"],
        Value::Null,
        "an auto-reply is not a human response"
    );

    send(&app, &visitor, &conversation, "まだですか？").await;
    app.clock.advance_secs(61);
    app.run_jobs().await;
    assert_eq!(
        app.system_messages(&visitor, &conversation).await.len(),
        1,
        "one expectation per waiting period"
    );

    // A human reply first cancels the pending expectation.
    app.reply(&agent, &conversation, "お待たせしました", false)
        .await;
    send(
        &app,
        &visitor,
        &conversation,
        "ありがとうございます。もう一点…",
    )
    .await;
    app.clock.advance_secs(30);
    app.reply(&agent, &conversation, "はい、どうぞ", false)
        .await;
    app.clock.advance_secs(40);
    app.run_jobs().await;
    assert_eq!(
        app.system_messages(&visitor, &conversation).await.len(),
        1,
        "cancelled by the human reply"
    );
    // A new wait after that reply gets its own expectation.
    send(&app, &visitor, &conversation, "追加の質問です").await;
    app.clock.advance_secs(61);
    app.run_jobs().await;
    assert_eq!(app.system_messages(&visitor, &conversation).await.len(), 2);

    // Out of hours: the away message at once, with the next opening.
    app.clock.set(tokyo_ms("2026-11-26T19:00:00"));
    let evening = app.start(&visitor, "夜分にすみません").await;
    let away = app.system_messages(&visitor, &evening).await;
    assert_eq!(away.len(), 1);
    assert!(away[0].contains("11月27日(金) 9:00"), "{away:?}");
    send(&app, &visitor, &evening, "追伸").await;
    assert_eq!(
        app.system_messages(&visitor, &evening).await.len(),
        1,
        "once per waiting period"
    );

    // Friday 17:59:59 is still in hours.
    app.clock.set(tokyo_ms("2026-11-27T17:59:59"));
    let late = app.start(&visitor, "ぎりぎりの質問").await;
    assert!(app.system_messages(&visitor, &late).await.is_empty());

    // A public holiday is out of hours (2026-09-22 国民の休日, 23rd 秋分の日).
    app.clock.set(tokyo_ms("2026-09-22T10:00:00"));
    let holiday = app.start(&visitor, "祝日ですが").await;
    let away = app.system_messages(&visitor, &holiday).await;
    assert!(
        away.len() == 1 && away[0].contains("9月24日(木) 9:00"),
        "{away:?}"
    );
}

async fn automation_settings_api(app: TestApp) {
    let workspace = app.workspace_id.clone();
    let admin = app
        .agent_in(&workspace, "admin@example.jp", Role::Admin)
        .await;
    let agent = app.agent("agent@example.jp").await;
    let channels: Value = app
        .get("/api/v1/channels")
        .bearer_auth(&agent.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let path = format!(
        "/api/v1/channels/{}/automation",
        channels["channels"][0]["id"].as_str().unwrap()
    );
    let current: Value = app
        .get(&path)
        .bearer_auth(&agent.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(current["expect_after_secs"], 60);
    assert_eq!(
        current["hours"]["weekly"][0],
        json!({"day": "mon", "start": "09:00", "end": "18:00"})
    );

    let settings = json!({
        "hours": {"weekly": [{"day": "sat", "start": "10:00", "end": "16:00"}], "closed_on_holidays": false, "closed_days": ["2026-11-28"]},
        "greeting": {"enabled": true, "ja": "ようこそ！", "en": "Welcome!"},
        "expect_after_secs": 30
    });
    let put = |token: &str| {
        app.http
            .put(format!("{}{path}", app.url))
            .bearer_auth(token.to_owned())
            .json(&settings)
    };
    assert_eq!(
        put(&agent.token).send().await.unwrap().status(),
        StatusCode::FORBIDDEN
    );
    let saved: Value = put(&admin.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        (
            saved["expect_after_secs"].as_i64(),
            saved["notify_email"].as_bool()
        ),
        (Some(30), Some(true)),
        "omitted fields take defaults"
    );
    let bad = json!({"hours": {"weekly": [{"day": "mon", "start": "18:00", "end": "09:00"}]}});
    let refused = app
        .http
        .put(format!("{}{path}", app.url))
        .bearer_auth(&admin.token)
        .json(&bad)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let unknown = app
        .http
        .put(format!("{}{path}", app.url))
        .bearer_auth(&admin.token)
        .json(&json!({"colour": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), StatusCode::UNPROCESSABLE_ENTITY);

    // The new schedule and greeting apply: Saturday 28th is a custom closed day.
    app.clock.set(tokyo_ms("2026-11-28T11:00:00"));
    let visitor = app.visitor().await;
    let conversation = app.start(&visitor, "土曜日の質問").await;
    let system = app.system_messages(&visitor, &conversation).await;
    assert_eq!(system.len(), 2, "{system:?}");
    assert_eq!(system[0], "ようこそ！");
    assert!(system[1].contains("12月5日(土) 10:00"), "{system:?}");

    // closed_on_holidays: false makes a public holiday an ordinary day (2026-09-22, 国民の休日,
    // is a Tuesday); with true (the control) the same moment is out of hours.
    for (closed_on_holidays, expected) in [(false, vec![]), (true, vec!["9月29日(火) 9:00"])] {
        let tuesdays = json!({"hours": {
            "weekly": [{"day": "tue", "start": "09:00", "end": "18:00"}],
            "closed_on_holidays": closed_on_holidays
        }});
        app.http
            .put(format!("{}{path}", app.url))
            .bearer_auth(&admin.token)
            .json(&tuesdays)
            .send()
            .await
            .unwrap()
            .error_for_status()
            .unwrap();
        app.clock.set(tokyo_ms("2026-09-22T10:00:00"));
        let visitor = app.visitor().await;
        let conversation = app.start(&visitor, "祝日の質問").await;
        let system = app.system_messages(&visitor, &conversation).await;
        assert_eq!(
            system.len(),
            expected.len(),
            "closed_on_holidays {closed_on_holidays}: {system:?}"
        );
        for (message, next_open) in system.iter().zip(&expected) {
            assert!(message.contains(next_open), "{system:?}");
        }
    }
}

/// A message and the jobs it triggers commit together: when the job cannot be written, the
/// send fails and nothing of it is stored.
async fn a_message_and_its_jobs_commit_together(app: TestApp) {
    let agent = app.agent("staff@example.jp").await;
    let visitor = app.visitor().await;
    let conversation = app.start(&visitor, "在庫はありますか").await;
    let jobs_before = app.store.pending_jobs().await.unwrap();
    assert_eq!(
        jobs_before.len(),
        1,
        "the expectation came with the message"
    );

    app.store
        .refuse_jobs_of_kind("auto_reply.expectation")
        .await
        .unwrap();
    let refused = app
        .post("/widget/v1/conversations", &json!({"body": "もう一件"}))
        .header("x-visitor-token", &visitor.token)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let listed: Value = app
        .get("/widget/v1/conversations")
        .header("x-visitor-token", &visitor.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        listed["conversations"].as_array().unwrap().len(),
        1,
        "no conversation without its job"
    );
    // A reply's notification job fails the same way: the reply is not stored either.
    app.store.refuse_jobs_of_kind("notify.reply").await.unwrap();
    let reply = app
        .post(
            &format!("/api/v1/conversations/{conversation}/messages"),
            &json!({"body": "在庫がございます"}),
        )
        .bearer_auth(&agent.token)
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let bodies: Vec<String> = app
        .visitor_messages(&visitor, &conversation)
        .await
        .iter()
        .map(|m| m["body"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(bodies, ["在庫はありますか"]);
    assert_eq!(
        app.store.pending_jobs().await.unwrap(),
        jobs_before,
        "the expectation was not cancelled by the failed reply"
    );
}

async fn snoozed_conversations_wake_up_on_time(app: TestApp) {
    use madoguchi_server::app::clock::Clock;
    let agent = app.agent("snooze@example.jp").await;
    let visitor = app.visitor().await;
    let conversation = app.start(&visitor, "来週また連絡します").await;
    let path = format!("/api/v1/conversations/{conversation}");
    let snooze = |body: Value| app.patch(&path, &body).bearer_auth(&agent.token).send();
    let now = app.clock.now_ms();
    let status = || async {
        let c: Value = app
            .get(&path)
            .bearer_auth(&agent.token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        (
            c["status"].as_str().unwrap().to_owned(),
            c["snoozed_until"].as_i64(),
        )
    };
    for bad in [
        json!({"status": "snoozed", "snoozed_until": now - 1}),
        json!({"status": "open", "snoozed_until": now + 3_600_000}),
        json!({"snoozed_until": now + 3_600_000}),
    ] {
        assert_eq!(snooze(bad.clone()).await.unwrap().status(), 422, "{bad}");
    }
    let hour = 3_600_000;
    snooze(json!({"status": "snoozed", "snoozed_until": now + hour}))
        .await
        .unwrap()
        .error_for_status()
        .unwrap();
    assert_eq!(status().await, ("snoozed".into(), Some(now + hour)));
    // Snoozed again, for two hours: the first wake-up is stale.
    snooze(json!({"status": "snoozed", "snoozed_until": now + 2 * hour}))
        .await
        .unwrap()
        .error_for_status()
        .unwrap();
    app.run_jobs().await;
    assert_eq!(status().await.0, "snoozed", "not yet");
    app.clock.advance_secs(3601);
    app.run_jobs().await;
    assert_eq!(status().await, ("snoozed".into(), Some(now + 2 * hour)));
    app.clock.advance_secs(3600);
    app.run_jobs().await;
    assert_eq!(
        status().await,
        ("open".into(), None),
        "woken at the time set"
    );

    // A customer message wakes a snoozed conversation at once; its timer then does nothing.
    let later = app.clock.now_ms() + hour;
    snooze(json!({"status": "snoozed", "snoozed_until": later}))
        .await
        .unwrap()
        .error_for_status()
        .unwrap();
    app.post(
        &format!("/widget/v1/conversations/{conversation}/messages"),
        &json!({"body": "やはり今日お願いします"}),
    )
    .header("x-visitor-token", &visitor.token)
    .send()
    .await
    .unwrap()
    .error_for_status()
    .unwrap();
    assert_eq!(status().await, ("open".into(), None));
    app.patch(&path, &json!({"status": "pending"}))
        .bearer_auth(&agent.token)
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap();
    app.clock.advance_secs(3601);
    app.run_jobs().await;
    assert_eq!(
        status().await.0,
        "pending",
        "a stale wake-up changes nothing"
    );
}
