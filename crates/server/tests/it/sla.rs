//! SLA timers on the test clock: deadlines counted in business hours (a Friday-evening
//! conversation's 30-minute target falls on Monday morning, not Friday night), a warning
//! before the breach and the breach itself on the timeline, and met / breached counts with
//! the attainment rate in the KPI report; the next-response target each time the customer waits
//! again, a holiday skipped, timers that survive a restart, and the warning mailed to the
//! assignee through a real SMTP server.

use madoguchi_core::agent::Role;
use serde_json::{json, Value};

use crate::support::{both_backends, tokyo_ms, Agent, TestApp};

both_backends!(
    sla_deadlines_follow_business_hours_and_reach_the_report,
    next_response_deadlines_skip_holidays_and_survive_a_restart,
    a_new_priority_moves_the_deadlines
);

async fn notes(app: &TestApp, agent: &Agent, conversation: &str) -> Vec<String> {
    let list = app
        .get_json(
            agent,
            &format!("/api/v1/conversations/{conversation}/messages"),
        )
        .await;
    list["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["private"] == true && m["body"].as_str().unwrap().starts_with("SLA"))
        .map(|m| m["body"].as_str().unwrap().to_owned())
        .collect()
}

async fn post(app: &TestApp, who: &Agent, path: &str, body: Value) -> Value {
    let response = app
        .post(path, &body)
        .bearer_auth(&who.token)
        .send()
        .await
        .unwrap();
    let status = response.status();
    let answer: Value = response.json().await.unwrap_or(Value::Null);
    assert!(status.is_success(), "{path}: {status} {answer}");
    answer
}

async fn sla_deadlines_follow_business_hours_and_reach_the_report(app: TestApp) {
    let workspace = app.workspace_id.clone();
    let admin = app
        .agent_in(&workspace, "lead@example.jp", Role::Admin)
        .await;
    let refused = app
        .post(
            "/api/v1/sla/policies",
            &json!({"name": "x", "policy": {"normal": {"first_response_mins": 0}}}),
        )
        .bearer_auth(&admin.token)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 422);
    let policy = post(
        &app,
        &admin,
        "/api/v1/sla/policies",
        json!({"name": "標準", "policy": {
            "normal": {"first_response_mins": 30, "resolution_mins": 240},
            "warn_before_mins": 10}}),
    )
    .await;
    post(
        &app,
        &admin,
        "/api/v1/routing/rules",
        json!({"name": "SLA", "rule": {"when": "created", "actions": {"sla_policy_id": policy["id"]}}}),
    )
    .await;

    // Friday 17:50: ten open minutes left today, twenty on Monday.
    app.clock.set(tokyo_ms("2026-11-27T17:50:00"));
    let late = app.visitor().await;
    let friday = app.start(&late, "金曜の夕方の問い合わせです").await;
    let shown = app
        .get_json(&admin, &format!("/api/v1/conversations/{friday}"))
        .await;
    assert_eq!(shown["sla_first_due_at"], tokyo_ms("2026-11-30T09:20:00"));
    assert_eq!(
        shown["sla_resolution_due_at"],
        tokyo_ms("2026-11-30T12:50:00")
    );
    let timeline = notes(&app, &admin, &friday).await;
    assert!(timeline.is_empty(), "{timeline:?}");

    // Friday 18:20 (30 wall-clock minutes later) is no breach.
    app.clock.set(tokyo_ms("2026-11-27T18:20:00"));
    app.run_jobs().await;
    assert!(notes(&app, &admin, &friday).await.is_empty());
    // Monday 09:10: the warning; 09:20: the breach.
    app.clock.set(tokyo_ms("2026-11-30T09:10:00"));
    app.run_jobs().await;
    let timeline = notes(&app, &admin, &friday).await;
    assert_eq!(timeline.len(), 1, "{timeline:?}");
    assert!(
        timeline[0].starts_with("SLA 警告: 初回応答の期限"),
        "{timeline:?}"
    );
    app.clock.set(tokyo_ms("2026-11-30T09:20:00"));
    app.run_jobs().await;
    let timeline = notes(&app, &admin, &friday).await;
    assert_eq!(timeline.len(), 2, "{timeline:?}");
    assert!(
        timeline[1].starts_with("SLA 超過: 初回応答の期限"),
        "{timeline:?}"
    );

    // Monday 10:00: answered in five minutes, resolved in thirty: met, no notes.
    app.clock.set(tokyo_ms("2026-11-30T10:00:00"));
    let quick = app.visitor().await;
    let monday = app.start(&quick, "月曜の問い合わせです").await;
    app.clock.set(tokyo_ms("2026-11-30T10:05:00"));
    app.reply(&admin, &monday, "確認します", false).await;
    app.clock.set(tokyo_ms("2026-11-30T10:30:00"));
    app.patch(
        &format!("/api/v1/conversations/{monday}"),
        &json!({"status": "resolved"}),
    )
    .bearer_auth(&admin.token)
    .send()
    .await
    .unwrap()
    .error_for_status()
    .unwrap();
    app.clock.set(tokyo_ms("2026-11-30T15:00:00"));
    app.run_jobs().await;
    assert!(notes(&app, &admin, &monday).await.is_empty());

    // The inbox can put the nearest deadline first.
    let newer = app
        .start(&app.visitor().await, "午後の問い合わせです")
        .await;
    let order = |path: &'static str| {
        let app = &app;
        let admin = &admin;
        async move {
            app.get_json(admin, path).await["conversations"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["id"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(
        order("/api/v1/conversations?status=open").await,
        [newer.clone(), friday.clone()]
    );
    assert_eq!(
        order("/api/v1/conversations?status=open&sort=sla").await,
        [friday.clone(), newer.clone()]
    );
    let bad = app
        .get("/api/v1/conversations?sort=size")
        .bearer_auth(&admin.token)
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 422);

    let report = app
        .get_json(&admin, "/api/v1/reports/kpis?from=2026-11-27&to=2026-11-30")
        .await;
    let totals = &report["totals"];
    assert_eq!(totals["sla_met"], 1, "{totals}");
    assert_eq!(totals["sla_breached"], 1, "{totals}");
    assert_eq!(totals["sla_attainment_rate"], 0.5);
    let by_day = app
        .get_json(&admin, "/api/v1/reports/kpis?from=2026-11-30&to=2026-11-30")
        .await;
    assert_eq!(by_day["totals"]["sla_attainment_rate"], 1.0);
    // Per priority (here all normal), as per team and agent.
    let by_priority = app
        .get_json(
            &admin,
            "/api/v1/reports/kpis?from=2026-11-27&to=2026-11-30&group_by=priority",
        )
        .await;
    let groups = by_priority["groups"].as_array().unwrap();
    assert_eq!(groups.len(), 1, "{by_priority}");
    assert_eq!(groups[0]["key"], "normal");
    assert_eq!(
        (
            groups[0]["sla_met"].clone(),
            groups[0]["sla_breached"].clone()
        ),
        (json!(1), json!(1))
    );
}

async fn next_response_deadlines_skip_holidays_and_survive_a_restart(app: TestApp) {
    let workspace = app.workspace_id.clone();
    let admin = app
        .agent_in(&workspace, "lead@example.jp", Role::Admin)
        .await;
    let policy = post(
        &app,
        &admin,
        "/api/v1/sla/policies",
        json!({"name": "標準", "policy": {
            "normal": {"first_response_mins": 30, "next_response_mins": 60},
            "warn_before_mins": 10}}),
    )
    .await;
    assert_eq!(policy["policy"]["normal"]["next_response_mins"], 60);
    post(
        &app,
        &admin,
        "/api/v1/routing/rules",
        json!({"name": "SLA", "rule": {"when": "created", "actions": {"sla_policy_id": policy["id"]}}}),
    )
    .await;
    // Friday 20 November 17:50; Monday the 23rd is 勤労感謝の日: due Tuesday 09:20.
    app.clock.set(tokyo_ms("2026-11-20T17:50:00"));
    let before_holiday = app.start(&app.visitor().await, "連休前の問い合わせ").await;
    let shown = app
        .get_json(&admin, &format!("/api/v1/conversations/{before_holiday}"))
        .await;
    assert_eq!(shown["sla_first_due_at"], tokyo_ms("2026-11-24T09:20:00"));

    // Monday 30th: answered at 10:05, the customer writes again at 10:30: next answer by 11:30.
    app.clock.set(tokyo_ms("2026-11-30T10:00:00"));
    let visitor = app.visitor().await;
    let id = app.start(&visitor, "注文の件です").await;
    app.clock.set(tokyo_ms("2026-11-30T10:05:00"));
    app.reply(&admin, &id, "確認します", false).await;
    let answered = app
        .get_json(&admin, &format!("/api/v1/conversations/{id}"))
        .await;
    assert_eq!(answered["sla_next_due_at"], Value::Null, "nobody waits");
    app.clock.set(tokyo_ms("2026-11-30T10:30:00"));
    app.reply_as_visitor(&visitor, &id, "まだでしょうか").await;
    let waiting = app
        .get_json(&admin, &format!("/api/v1/conversations/{id}"))
        .await;
    assert_eq!(waiting["sla_next_due_at"], tokyo_ms("2026-11-30T11:30:00"));

    // The server restarts; the timers are in the database.
    let app = app.restart().await;
    let admin = app
        .login("lead@example.jp", "password-123", &admin.id)
        .await;
    app.clock.set(tokyo_ms("2026-11-24T09:20:00"));
    app.run_jobs().await;
    let holiday_notes = notes(&app, &admin, &before_holiday).await;
    assert_eq!(holiday_notes.len(), 2, "{holiday_notes:?}");
    assert!(holiday_notes[1].starts_with("SLA 超過: 初回応答の期限（11月24日(火) 9:20）"));
    app.clock.set(tokyo_ms("2026-11-30T11:20:00"));
    app.run_jobs().await;
    app.clock.set(tokyo_ms("2026-11-30T11:30:00"));
    app.run_jobs().await;
    let timeline = notes(&app, &admin, &id).await;
    assert_eq!(timeline.len(), 2, "{timeline:?}");
    assert!(
        timeline[0].starts_with("SLA 警告: 次回応答の期限（11月30日(月) 11:30）"),
        "{timeline:?}"
    );
    assert!(
        timeline[1].starts_with("SLA 超過: 次回応答"),
        "{timeline:?}"
    );

    // Answered in time the next round: no note.
    app.clock.set(tokyo_ms("2026-11-30T11:40:00"));
    app.reply(&admin, &id, "お待たせしました", false).await;
    app.clock.set(tokyo_ms("2026-11-30T12:00:00"));
    app.reply_as_visitor(&visitor, &id, "ありがとうございます、もう一点")
        .await;
    app.clock.set(tokyo_ms("2026-11-30T12:10:00"));
    app.reply(&admin, &id, "どうぞ", false).await;
    app.clock.set(tokyo_ms("2026-11-30T13:30:00"));
    app.run_jobs().await;
    assert_eq!(notes(&app, &admin, &id).await.len(), 2);
}

/// The warning goes to the assignee by e-mail when the policy asks for it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_sla_warning_is_mailed_to_the_assignee() {
    let maildir = std::env::temp_dir().join(format!("mdg-sla-mail-{}", madoguchi_store::new_id()));
    let Some(smtp) = crate::notifications::start_smtp(&maildir).await else {
        return;
    };
    let mut settings = madoguchi_server::app::settings::Settings::default();
    settings.smtp.url = Some(format!("smtp://127.0.0.1:{}", smtp.port));
    let app = TestApp::spawn_with(madoguchi_store::Backend::Sqlite, settings)
        .await
        .unwrap();
    let workspace = app.workspace_id.clone();
    let admin = app
        .agent_in(&workspace, "lead@example.jp", Role::Admin)
        .await;
    let policy = post(
        &app,
        &admin,
        "/api/v1/sla/policies",
        json!({"name": "メール", "policy": {
            "normal": {"first_response_mins": 30}, "warn_before_mins": 10, "warn_email": true}}),
    )
    .await;
    post(
        &app,
        &admin,
        "/api/v1/routing/rules",
        json!({"name": "SLA", "rule": {"when": "created",
            "actions": {"sla_policy_id": policy["id"], "agent_id": admin.id}}}),
    )
    .await;
    let id = app
        .start(&app.visitor().await, "急ぎの問い合わせです")
        .await;
    app.clock.set(tokyo_ms("2026-11-26T10:20:00"));
    app.run_jobs().await;
    let mails = crate::notifications::mailbox(&maildir);
    assert_eq!(mails.len(), 1);
    let mail = mail_parser::MessageParser::default()
        .parse(&mails[0])
        .unwrap();
    assert_eq!(
        mail.to().unwrap().first().unwrap().address(),
        Some("lead@example.jp")
    );
    assert!(mail
        .subject()
        .unwrap()
        .starts_with("SLA 警告: 初回応答の期限"));
    assert!(mail
        .body_text(0)
        .unwrap()
        .contains(&format!("/inbox#conversation={id}")));
    assert!(
        mail.header("List-Unsubscribe").is_none(),
        "staff mail is no newsletter"
    );
}

async fn a_new_priority_moves_the_deadlines(app: TestApp) {
    let workspace = app.workspace_id.clone();
    let admin = app
        .agent_in(&workspace, "lead@example.jp", Role::Admin)
        .await;
    let policy = post(
        &app,
        &admin,
        "/api/v1/sla/policies",
        json!({"name": "優先度別", "policy": {
            "normal": {"first_response_mins": 60}, "urgent": {"first_response_mins": 10}}}),
    )
    .await;
    post(
        &app,
        &admin,
        "/api/v1/routing/rules",
        json!({"name": "SLA", "rule": {"when": "created", "actions": {"sla_policy_id": policy["id"]}}}),
    )
    .await;
    let id = app.start(&app.visitor().await, "至急お願いします").await;
    let path = format!("/api/v1/conversations/{id}");
    assert_eq!(
        app.get_json(&admin, &path).await["sla_first_due_at"],
        tokyo_ms("2026-11-26T11:00:00")
    );
    let urgent: Value = app
        .patch(&path, &json!({"priority": "urgent"}))
        .bearer_auth(&admin.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(urgent["sla_first_due_at"], tokyo_ms("2026-11-26T10:10:00"));
    app.clock.set(tokyo_ms("2026-11-26T10:10:00"));
    app.run_jobs().await;
    let timeline = notes(&app, &admin, &id).await;
    assert_eq!(timeline.len(), 1, "{timeline:?}");
    assert!(timeline[0].contains("10:10"), "{timeline:?}");
    app.clock.set(tokyo_ms("2026-11-26T11:00:00"));
    app.run_jobs().await;
    assert_eq!(
        notes(&app, &admin, &id).await.len(),
        1,
        "the old deadline is gone"
    );
}
