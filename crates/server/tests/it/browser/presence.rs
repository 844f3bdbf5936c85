//! Both sides see each other in a real browser: the inbox row counts unread messages, the
//! customer sees 既読 once the agent opened the conversation, the agent's typing and name, and
//! a reply arriving while the widget is closed shows as a card above the launcher; the agent
//! snoozes the conversation until a time.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_side_sees_the_other() {
    let Some(driver) = start_chromedriver().await else {
        return;
    };
    let app = TestApp::spawn(madoguchi_store::Backend::Sqlite)
        .await
        .unwrap();
    app.agent("tanaka@example.jp").await;
    let shop = shop_site(&app).await;
    let profiles = std::env::temp_dir().join(format!("mdg-presence-{}", std::process::id()));
    let visitor = browser(&driver, &profiles.join("visitor")).await;
    visitor.goto(&shop).await.unwrap();
    click_widget(&visitor, "button.launcher").await;
    click_widget(&visitor, "button.new").await;
    widget(&visitor, "textarea")
        .await
        .unwrap()
        .send_keys("サイズ交換はできますか")
        .await
        .unwrap();
    click_widget(&visitor, "button.send").await;
    eventually("the message is confirmed", || async {
        widget(&visitor, ".msg.contact[data-seq='1']")
            .await
            .is_some()
    })
    .await;
    assert!(
        !widget_text(&visitor).await.contains("既読"),
        "nobody read it yet"
    );

    let agent = browser(&driver, &profiles.join("agent")).await;
    log_in(&agent, &app, "tanaka@example.jp").await;
    eventually("an unread badge on the row", || async {
        rows(&agent, "#conversation-list .item .unread").await == ["1 "]
    })
    .await;
    agent
        .find(Locator::Css("#conversation-list .item"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    eventually("the customer sees 既読", || async {
        widget_text(&visitor).await.contains("既読")
    })
    .await;
    eventually("the badge is gone", || async {
        rows(&agent, "#conversation-list .item .unread")
            .await
            .is_empty()
    })
    .await;

    // The agent types: the customer sees who; then the reply carries the agent's name.
    let reply = agent.find(Locator::Css("#reply")).await.unwrap();
    reply.send_keys("はい、").await.unwrap();
    eventually("the customer sees the agent typing", || async {
        widget_text(&visitor).await.contains("テスト担当が入力中…")
    })
    .await;
    reply.send_keys("交換できます。").await.unwrap();
    agent
        .find(Locator::Css("#send"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    eventually("the reply, with the agent's name", || async {
        seen(&visitor, true, ".msg.agent .who")
            .await
            .concat()
            .contains("テスト担当")
    })
    .await;
    assert!(
        !widget_text(&visitor).await.contains("入力中"),
        "typing ends with the reply"
    );
    std::fs::write(
        screenshot_dir().join("widget-read-and-name.png"),
        visitor.screenshot().await.unwrap(),
    )
    .unwrap();

    // Closed widget: the next reply shows as a card; clicking it opens the conversation.
    click_widget(&visitor, "button.close").await;
    let reply = agent.find(Locator::Css("#reply")).await.unwrap();
    reply.send_keys("発送は明日です。").await.unwrap();
    agent
        .find(Locator::Css("#send"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    eventually("the card above the launcher", || async {
        seen(&visitor, true, ".peek")
            .await
            .concat()
            .contains("発送は明日です。")
    })
    .await;
    std::fs::write(
        screenshot_dir().join("widget-closed-card.png"),
        visitor.screenshot().await.unwrap(),
    )
    .unwrap();
    click_widget(&visitor, ".peek").await;
    eventually("the conversation opens on the reply", || async {
        seen(&visitor, true, ".msg.agent")
            .await
            .concat()
            .contains("発送は明日です。")
    })
    .await;
    std::fs::write(
        screenshot_dir().join("inbox-read.png"),
        agent.screenshot().await.unwrap(),
    )
    .unwrap();

    // Snooze until tomorrow 9:00 (the form proposes it), from the side panel.
    agent
        .find(Locator::Css("#status"))
        .await
        .unwrap()
        .select_by_value("snoozed")
        .await
        .unwrap();
    agent
        .wait()
        .for_element(Locator::Css("#snooze-save"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    eventually("the snooze shows with its time", || async {
        page_text(&agent, ".snoozed").await.contains("に再開します")
    })
    .await;
    let snoozed: i64 = app
        .store
        .count_unchecked("SELECT COUNT(*) FROM conversations WHERE status = 'snoozed' AND snoozed_until IS NOT NULL")
        .await
        .unwrap();
    assert_eq!(snoozed, 1);
    visitor.close().await.unwrap();
    agent.close().await.unwrap();
    std::fs::remove_dir_all(&profiles).ok();
}
