//! KPI reports end to end: a hand-built history driven by the test clock through the real
//! API (the clock starts Thursday 2026-11-26 10:00 JST, in hours), the report's values worked
//! out by hand, the CSV equal to the JSON, drill-down listing exactly what is counted, the
//! workspace's days in its time zone, and transcripts.

use madoguchi_core::agent::Role;
use madoguchi_store::Backend;
use serde_json::{json, Value};

use crate::support::{Agent, TestApp, Visitor};

async fn say(app: &TestApp, visitor: &Visitor, conversation: &str, body: &str) {
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

async fn change(app: &TestApp, agent: &Agent, conversation: &str, patch: Value) {
    app.patch(&format!("/api/v1/conversations/{conversation}"), &patch)
        .bearer_auth(&agent.token)
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap();
}

async fn rate(app: &TestApp, visitor: &Visitor, conversation: &str, score: i64) {
    let rated = app
        .post(
            &format!("/widget/v1/conversations/{conversation}/rating"),
            &json!({"score": score}),
        )
        .header("x-visitor-token", &visitor.token)
        .send()
        .await
        .unwrap();
    assert_eq!(rated.status(), 204);
}

async fn report(app: &TestApp, agent: &Agent, query: &str) -> Value {
    app.get_json(agent, &format!("/api/v1/reports/kpis?{query}"))
        .await
}

async fn drill(app: &TestApp, agent: &Agent, query: &str) -> Vec<(String, bool)> {
    let list = app
        .get_json(
            agent,
            &format!("/api/v1/reports/kpis/conversations?{query}"),
        )
        .await;
    let mut counted: Vec<(String, bool)> = list["conversations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["id"].as_str().unwrap().to_owned(),
                c["hit"].as_bool().unwrap(),
            )
        })
        .collect();
    counted.sort();
    counted
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_kpi_of_a_hand_built_day_on_sqlite() {
    every_kpi_of_a_hand_built_day(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_kpi_of_a_hand_built_day_on_postgres() {
    every_kpi_of_a_hand_built_day(Backend::Postgres).await;
}

async fn every_kpi_of_a_hand_built_day(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let workspace = app.workspace_id.clone();
    let lead = app
        .agent_in(&workspace, "lead@example.jp", Role::Admin)
        .await;
    let agent = app.agent("staff@example.jp").await;
    let (va, vb, vc, vd, ve) = (
        app.visitor().await,
        app.visitor().await,
        app.visitor().await,
        app.visitor().await,
        app.visitor().await,
    );
    // t = 0 s. A: answered after 30 s, resolved 270 s later, rated 5.
    let a = app.start(&va, "A: 注文の確認").await;
    app.clock.advance_secs(30);
    app.reply(&agent, &a, "確認します", false).await;
    app.clock.advance_secs(270);
    change(&app, &agent, &a, json!({"status": "resolved"})).await;
    rate(&app, &va, &a, 5).await;
    // t = 300. B: answered after 90 s, the customer writes again, resolved at 500 (handle
    // 500 − 390 = 110 s), rated 2, tagged complaint (its words are one, too).
    let b = app.start(&vb, "B: 届かない").await;
    app.clock.advance_secs(90);
    app.reply(&agent, &b, "お調べします", false).await;
    app.clock.advance_secs(10);
    say(&app, &vb, &b, "まだですか").await;
    app.clock.advance_secs(100);
    change(
        &app,
        &agent,
        &b,
        json!({"status": "resolved", "tags": ["complaint"]}),
    )
    .await;
    rate(&app, &vb, &b, 2).await;
    // t = 500. C: only the automatic expectation message answers; never a person.
    let c = app.start(&vc, "C: 誰かいますか").await;
    app.clock.advance_secs(61);
    app.run_jobs().await;
    assert!(
        !app.system_messages(&vc, &c).await.is_empty(),
        "the auto-reply went out"
    );
    // t = 561 → 600. D: answered after 60 s, resolved at 700, reopened by the customer at 710,
    // resolved again at 720 (handle 720 − 660 = 60 s).
    app.clock.advance_secs(39);
    let d = app.start(&vd, "D: サイズの相談").await;
    app.clock.advance_secs(60);
    app.reply(&agent, &d, "承知しました", false).await;
    app.clock.advance_secs(40);
    change(&app, &agent, &d, json!({"status": "resolved"})).await;
    app.clock.advance_secs(10);
    say(&app, &vd, &d, "やっぱり質問が").await;
    app.clock.advance_secs(10);
    change(&app, &agent, &d, json!({"status": "resolved"})).await;
    // t = 720 → 800. E: answered after 20 s, resolved at 830 (handle 10 s); the same customer
    // comes back at 900 with F (a re-contact), which nobody answers.
    app.clock.advance_secs(80);
    let e = app.start(&ve, "E: 支払い方法").await;
    app.clock.advance_secs(20);
    app.reply(&agent, &e, "カードが使えます", false).await;
    app.clock.advance_secs(10);
    change(&app, &agent, &e, json!({"status": "resolved"})).await;
    app.clock.advance_secs(70);
    let f = app.start(&ve, "F: もう一つ").await;
    // A day later: C and F, silent for over 24 h without an answer, are abandoned.
    app.clock.advance_secs(25 * 3600);

    let day = report(&app, &lead, "from=2026-11-26&to=2026-11-26").await;
    let t = &day["totals"];
    assert_eq!(day["time_zone"], "Asia/Tokyo");
    assert_eq!(t["conversations"], 6);
    // First responses [20, 30, 60, 90]: p50 by nearest rank is the 2nd, p90 the 4th; all in
    // business hours, so the business p50 is the same.
    assert_eq!(t["first_response_p50_s"], 30);
    assert_eq!(t["first_response_p90_s"], 90);
    assert_eq!(t["first_response_business_p50_s"], 30);
    // Handle times 270, 110, 60, 10 → 450 / 4 = 112 (whole seconds).
    assert_eq!(t["handle_time_avg_s"], 112);
    // FCR: of A, B, D, E only A (B written again, D reopened, E re-contacted).
    assert_eq!(t["fcr_rate"], 0.25);
    assert_eq!(
        (t["csat_rate"].clone(), t["csat_responses"].clone()),
        (json!(0.5), json!(2))
    );
    assert_eq!(
        (t["nps"].clone(), t["nps_responses"].clone()),
        (Value::Null, json!(0))
    );
    // Abandoned: C and F of the 6 where the customer wrote.
    assert_eq!(t["abandonment_rate"], 2.0 / 6.0);
    // Re-contact: E of the 4 resolved.
    assert_eq!(t["recontact_rate"], 0.25);
    assert_eq!(t["complaint_rate"], 1.0 / 6.0);
    // C and F wait on us, both far past the 60 s target.
    assert_eq!(
        (t["backlog"].clone(), t["missed"].clone()),
        (json!(2), json!(2))
    );
    assert_eq!(t["self_resolution_rate"], 0.0);

    // Numbers stay exact as conversations change: a late rating, a removed tag.
    rate(&app, &ve, &e, 4).await;
    change(&app, &agent, &b, json!({"tags": []})).await;
    let later = report(&app, &lead, "from=2026-11-26&to=2026-11-26").await;
    // Ratings 5, 2, 4 → 2 of 3; no complaint left.
    assert_eq!(later["totals"]["csat_rate"], 2.0 / 3.0);
    assert_eq!(later["totals"]["complaint_rate"], 0.0);
    change(&app, &agent, &b, json!({"tags": ["complaint"]})).await;

    // Drill-down lists exactly what each number counts.
    let sorted = |ids: &[(&String, bool)]| {
        let mut ids: Vec<(String, bool)> =
            ids.iter().map(|(id, hit)| ((*id).clone(), *hit)).collect();
        ids.sort();
        ids
    };
    let range = "from=2026-11-26&to=2026-11-26";
    assert_eq!(
        drill(&app, &lead, &format!("{range}&kpi=fcr_rate")).await,
        sorted(&[(&a, true), (&b, false), (&d, false), (&e, false)])
    );
    assert_eq!(
        drill(&app, &lead, &format!("{range}&kpi=missed")).await,
        sorted(&[(&c, true), (&f, true)])
    );
    assert_eq!(
        drill(&app, &lead, &format!("{range}&kpi=csat_rate")).await,
        sorted(&[(&a, true), (&b, false), (&e, true)])
    );
    let unknown = app
        .get(&format!(
            "/api/v1/reports/kpis/conversations?{range}&kpi=happiness"
        ))
        .bearer_auth(&lead.token)
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 422);

    // The CSV carries the same numbers as the JSON.
    let csv = app
        .get(&format!("/api/v1/reports/kpis?{range}&group_by=channel"))
        .header("accept", "text/csv")
        .bearer_auth(&lead.token)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let json = report(&app, &lead, &format!("{range}&group_by=channel")).await;
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    assert_eq!(header[0], "key");
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    assert_eq!(rows.len(), 1 + json["groups"].as_array().unwrap().len());
    for (row, values) in rows
        .iter()
        .zip(std::iter::once(&json["totals"]).chain(json["groups"].as_array().unwrap().iter()))
    {
        for (name, cell) in header.iter().zip(row.iter()).skip(1) {
            let expected = match &values[*name] {
                Value::Null => String::new(),
                v => v.to_string(),
            };
            assert_eq!(*cell, expected, "{name}");
        }
    }

    // Reports are for admins; a transcript is for any agent of the workspace.
    let refused = app
        .get("/api/v1/reports/kpis")
        .bearer_auth(&agent.token)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 403);
    let transcript = app
        .get(&format!("/api/v1/conversations/{b}/transcript"))
        .bearer_auth(&agent.token)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        transcript.contains("[2026-11-26 10:05:00] contact")
            && transcript.contains("[2026-11-26 10:06:30] agent テスト担当: お調べします"),
        "{transcript}"
    );
    let transcript_csv = app
        .get(&format!("/api/v1/conversations/{b}/transcript?format=csv"))
        .bearer_auth(&agent.token)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(transcript_csv
        .starts_with("seq,time,sender_kind,sender,private,body\n1,2026-11-26 10:05:00,contact,"));
    let unknown_format = app
        .get(&format!("/api/v1/conversations/{b}/transcript?format=pdf"))
        .bearer_auth(&agent.token)
        .send()
        .await
        .unwrap();
    assert_eq!(unknown_format.status(), 422);
}

/// A conversation at 23:59 JST belongs to that JST day; one at 00:01 to the next. Targets
/// are the workspace's own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn days_end_at_midnight_in_the_workspace_s_time_zone() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let workspace = app.workspace_id.clone();
    let lead = app
        .agent_in(&workspace, "lead@example.jp", Role::Admin)
        .await;
    let visitor = app.visitor().await;
    // 10:00 → 23:59 JST on 2026-11-26, then 00:01 JST on 11-27.
    app.clock.advance_secs(13 * 3600 + 59 * 60);
    let late = app.start(&visitor, "夜遅くにすみません").await;
    app.clock.advance_secs(120);
    let early = app.start(&visitor, "日付が変わりました").await;
    let days = report(&app, &lead, "from=2026-11-25&to=2026-11-27&group_by=day").await;
    let groups: Vec<(String, i64)> = days["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            (
                g["key"].as_str().unwrap().to_owned(),
                g["conversations"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        groups,
        [
            ("2026-11-25".into(), 0),
            ("2026-11-26".into(), 1),
            ("2026-11-27".into(), 1)
        ]
    );
    let by_day = |key: &str| {
        format!("from=2026-11-25&to=2026-11-27&group_by=day&key={key}&kpi=conversations")
    };
    assert_eq!(
        drill(&app, &lead, &by_day("2026-11-26")).await,
        [(late, true)]
    );
    assert_eq!(
        drill(&app, &lead, &by_day("2026-11-27")).await,
        [(early, true)]
    );

    let targets = json!({"first_response_s": 120, "fcr_rate": 0.8});
    let saved = app
        .http
        .put(format!("{}/api/v1/reports/targets", app.url))
        .bearer_auth(&lead.token)
        .json(&targets)
        .send()
        .await
        .unwrap();
    assert_eq!(saved.status(), 200);
    let report = report(&app, &lead, "").await;
    assert_eq!(report["targets"]["first_response_s"], 120);
    assert_eq!(
        report["targets"]["csat_rate"], 0.8,
        "unset targets keep their defaults"
    );
    let bad = app
        .http
        .put(format!("{}/api/v1/reports/targets", app.url))
        .bearer_auth(&lead.token)
        .json(&json!({"fcr_rate": 1.5}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 422);
}

/// The demo history (what `demo seed`, `serve --demo` and `bench kpis` write) reads as a
/// plausible shop: every KPI has a value in its range.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_history_gives_plausible_kpis() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let workspace = app.workspace_id.clone();
    let lead = app
        .agent_in(&workspace, "lead@example.jp", Role::Admin)
        .await;
    let channel = app.store.channel_by_key(&app.channel_key).await.unwrap();
    let seeded = madoguchi_server::cli::demo::seed(&app.store, &channel, 400, 20)
        .await
        .unwrap();
    assert_eq!(seeded.conversations, 400);
    assert!(seeded.messages >= 800, "{seeded:?}");
    let to = chrono::Utc::now().date_naive();
    let from = to - chrono::Duration::days(25);
    let range = format!(
        "from={from}&to={}&group_by=day",
        to + chrono::Duration::days(1)
    );
    let report = report(&app, &lead, &range).await;
    let t = &report["totals"];
    assert_eq!(t["conversations"], 400);
    let rate = |name: &str| t[name].as_f64().unwrap_or_else(|| panic!("{name}: {t}"));
    for name in [
        "fcr_rate",
        "csat_rate",
        "abandonment_rate",
        "recontact_rate",
        "complaint_rate",
        "self_resolution_rate",
    ] {
        let value = rate(name);
        assert!(
            (0.0..=1.0).contains(&value) && value > 0.0,
            "{name} = {value}"
        );
    }
    let p50 = t["first_response_p50_s"].as_i64().unwrap();
    assert!((20..=620).contains(&p50), "{p50}");
    assert!(t["csat_responses"].as_i64().unwrap() > 100);
    // The busiest hours are business hours: most days have conversations.
    let busy = report["groups"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|g| g["conversations"].as_i64().unwrap() > 0)
        .count();
    assert!(busy >= 18, "{busy} days with conversations");
}

/// With NPS on for the channel, the rating card is followed by the 0–10 question; the answer
/// counts in the report and can be changed for 7 days.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nps_is_asked_after_the_rating_and_counted() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let workspace = app.workspace_id.clone();
    let lead = app
        .agent_in(&workspace, "lead@example.jp", Role::Admin)
        .await;
    let channel = app.store.channel_by_key(&app.channel_key).await.unwrap();
    app.change_automation(&lead, &channel.id, |a| a["nps"] = json!(true))
        .await;
    let visitor = app.visitor().await;
    let id = app.start(&visitor, "ポイントの使い方は？").await;
    app.reply(&lead, &id, "お会計画面でお使いいただけます", false)
        .await;
    change(&app, &lead, &id, json!({"status": "resolved"})).await;
    app.run_jobs().await;
    let cards: Vec<String> = app
        .visitor_messages(&visitor, &id)
        .await
        .iter()
        .filter_map(|m| m["meta"]["kind"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(cards, ["rating", "nps"]);
    let answer = |score: i64| {
        app.post(
            &format!("/widget/v1/conversations/{id}/nps"),
            &json!({"score": score}),
        )
        .header("x-visitor-token", &visitor.token)
        .send()
    };
    assert_eq!(answer(11).await.unwrap().status(), 422);
    assert_eq!(answer(9).await.unwrap().status(), 204);
    let today = "from=2026-11-26&to=2026-11-26";
    let t = report(&app, &lead, today).await["totals"].clone();
    assert_eq!(
        (t["nps"].clone(), t["nps_responses"].clone()),
        (json!(100.0), json!(1))
    );
    app.clock.advance_secs(6 * 24 * 3600);
    assert_eq!(
        answer(3).await.unwrap().status(),
        204,
        "changed within 7 days"
    );
    assert_eq!(report(&app, &lead, today).await["totals"]["nps"], -100.0);
    app.clock.advance_secs(2 * 24 * 3600);
    assert_eq!(answer(10).await.unwrap().status(), 409, "not after 7 days");
}
