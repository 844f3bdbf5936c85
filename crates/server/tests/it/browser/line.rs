//! LINE in a real browser: an admin connects a LINE account from the channels page and is shown
//! the webhook URL to paste into LINE's console; in the inbox a LINE customer's message is
//! answered, and each reply says whether LINE has it (sent) or why not (the monthly quota).

use super::*;
use crate::line::{deliver, event, sign, start_fake_line, SECRET, TOKEN};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_line_account_is_connected_and_replies_show_their_delivery() {
    let Some(driver) = start_chromedriver().await else {
        return;
    };
    let app = crate::webhooks::allowing_private(madoguchi_store::Backend::Sqlite)
        .await
        .unwrap();
    let (line, base) = start_fake_line().await;
    let workspace = app.workspace_id.clone();
    let admin = app
        .agent_in(&workspace, "owner@example.jp", Role::Admin)
        .await;
    let profiles = std::env::temp_dir().join(format!("mdg-line-{}", std::process::id()));
    let client = browser(&driver, &profiles.join("owner")).await;
    log_in_to_inbox(&client, &app, "owner@example.jp").await;

    // Connecting from the channels page shows the webhook URL.
    open_area(&client, &app, "channels").await;
    let name = client
        .wait()
        .for_element(Locator::Css("#channel-create input"))
        .await
        .unwrap();
    name.send_keys("LINE公式アカウント").await.unwrap();
    client
        .find(Locator::Css("#channel-kind"))
        .await
        .unwrap()
        .select_by_value("line")
        .await
        .unwrap();
    client
        .find(Locator::Css("#line-secret"))
        .await
        .unwrap()
        .send_keys("console-secret")
        .await
        .unwrap();
    client
        .find(Locator::Css("#line-token"))
        .await
        .unwrap()
        .send_keys("console-token")
        .await
        .unwrap();
    client
        .find(Locator::Css("#channel-create button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    eventually("the webhook URL", || async {
        page_text(&client, "#line-webhook")
            .await
            .contains("/hooks/line/ch_")
    })
    .await;
    save_screenshot(&client, "admin-line").await;

    // A second LINE channel pointed at the stand-in, and a customer who writes.
    let channel: Value = app
        .post(
            "/api/v1/channels",
            &json!({"kind": "line", "name": "LINE", "line": {"channel_secret": SECRET, "channel_access_token": TOKEN, "api_base": base}}),
        )
        .bearer_auth(&admin.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let hook = channel["line"]["webhook_url"]
        .as_str()
        .unwrap()
        .trim_start_matches(&app.url)
        .to_owned();
    let body = event(
        "01HXLINEBROWSER0000000000A1",
        "rt-browser",
        json!({"id": "b1", "type": "text", "text": "LINEから失礼します。注文の確認をお願いします"}),
        false,
    );
    assert_eq!(
        deliver(&app, &hook, &body, Some(&sign(&body))).await,
        reqwest::StatusCode::OK
    );
    app.run_jobs().await;

    client.goto(&format!("{}/inbox", app.url)).await.unwrap();
    click_settled(&client, "#conversation-list .item").await;
    let send = |text: &'static str| {
        let client = client.clone();
        async move {
            let reply = client.find(Locator::Css("#reply")).await.unwrap();
            reply.send_keys(text).await.unwrap();
            client
                .find(Locator::Css("#send"))
                .await
                .unwrap()
                .click()
                .await
                .unwrap();
        }
    };
    send("確認いたします。").await;
    eventually("the reply is stored", || async {
        page_text(&client, ".msg.agent")
            .await
            .contains("確認いたします。")
    })
    .await;
    app.run_jobs().await;
    eventually("sent to LINE", || async {
        page_text(&client, ".msg .delivery.sent")
            .await
            .contains("LINEに送信済み")
    })
    .await;
    // Much later, with the month's quota used up: the push is refused, and the agent sees why.
    *line.push_script.lock().unwrap() = vec![429];
    app.clock.advance_secs(600);
    send("本日発送いたしました。").await;
    eventually("the second reply is stored", || async {
        page_text(&client, ".msg.agent")
            .await
            .contains("本日発送いたしました。")
    })
    .await;
    app.run_jobs().await;
    eventually("the refusal, plainly", || async {
        let failed = page_text(&client, ".msg .delivery.failed").await;
        failed.contains("LINEに送信できませんでした") && failed.contains("monthly")
    })
    .await;
    save_screenshot(&client, "inbox-line").await;
}
