//! The support lead's dashboard in a real browser: a tile per KPI with its target, charts that
//! are drawn, a drill-down from a number to its conversations, on a desktop and a phone.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_shows_kpis_charts_and_drill_down() {
    let Some(driver) = start_chromedriver().await else {
        return;
    };
    let app = TestApp::spawn(madoguchi_store::Backend::Sqlite)
        .await
        .unwrap();
    let workspace = app.workspace_id.clone();
    let lead = app
        .agent_in(&workspace, "lead@example.jp", Role::Admin)
        .await;
    // Three days: each a conversation answered after 40 s and resolved, and one left waiting.
    for day in 0..3 {
        let visitor = app.visitor().await;
        let id = app.start(&visitor, &format!("{day}日目の質問です")).await;
        app.clock.advance_secs(40);
        app.reply(&lead, &id, "お答えします", false).await;
        app.clock.advance_secs(300);
        app.patch(
            &format!("/api/v1/conversations/{id}"),
            &json!({"status": "resolved"}),
        )
        .bearer_auth(&lead.token)
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap();
        app.clock.advance_secs(24 * 3600);
    }
    let visitor = app.visitor().await;
    app.start(&visitor, "まだ返事がありません").await;
    app.clock.advance_secs(600);

    let profiles = std::env::temp_dir().join(format!("mdg-reports-{}", std::process::id()));
    let client = browser(&driver, &profiles.join("lead")).await;
    log_in(&client, &app, "lead@example.jp").await;
    client
        .wait()
        .for_element(Locator::Css("#conversation-list"))
        .await
        .unwrap();
    client.goto(&format!("{}/reports", app.url)).await.unwrap();
    eventually("the tiles show the period's numbers", || async {
        page_text(&client, ".tile[data-kpi=conversations] .value")
            .await
            .trim()
            == "4"
    })
    .await;
    assert_eq!(
        page_text(&client, ".tile[data-kpi=first_response_p50_s] .value")
            .await
            .trim(),
        "40秒"
    );
    assert_eq!(
        page_text(&client, ".tile[data-kpi=fcr_rate] .value")
            .await
            .trim(),
        "100%"
    );
    scroll_to(&client, false, ".tile[data-kpi=missed]").await;
    let missed = page_text(&client, ".tile[data-kpi=missed]").await;
    assert!(missed.contains("未達"), "{missed}");
    let lines = client
        .execute(
            "return document.querySelectorAll('.tile[data-kpi=first_response_p50_s] svg path.line').length",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(lines, json!(1), "the chart is drawn");
    save_screenshot(&client, "reports").await;

    client
        .find(Locator::Css(".tile[data-kpi=missed] .value"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    eventually("the drill-down lists the waiting conversation", || async {
        rows(&client, "#drill .drill-list li").await.len() == 1
    })
    .await;
    save_screenshot(&client, "reports-drill-down").await;

    // A stricter target: 40 s no longer meets a 30 s first-response target.
    client
        .find(Locator::Css("#targets summary"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let target = client
        .wait()
        .for_element(Locator::Css("#targets-form input[name=first_response_s]"))
        .await
        .unwrap();
    target.clear().await.unwrap();
    target.send_keys("30").await.unwrap();
    client
        .find(Locator::Css("#targets-form button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    scroll_to(&client, false, ".tile[data-kpi=first_response_p50_s]").await;
    eventually("the tile follows the new target", || async {
        page_text(&client, ".tile[data-kpi=first_response_p50_s] .target")
            .await
            .contains("≤ 30秒 · 未達")
    })
    .await;
    client.set_window_size(390, 844).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let overflow = client
        .execute(
            "return document.documentElement.scrollWidth > window.innerWidth",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(overflow, json!(false), "no sideways scrolling on a phone");
    save_screenshot(&client, "reports-phone").await;
    client.close().await.unwrap();
    std::fs::remove_dir_all(&profiles).ok();
}
