//! A web form in a real browser: the admin sees where the form lives and edits its fields; a
//! customer fills it in (on a phone-sized screen) and it becomes a conversation; a bot that
//! fills the hidden honeypot field gets the same thanks and leaves nothing.

use super::*;

async fn count_conversations(app: &TestApp) -> i64 {
    app.store
        .count_unchecked("SELECT COUNT(*) FROM conversations")
        .await
        .unwrap()
}

async fn fill_in(client: &Client) {
    for (css, text) in [
        ("#f-name", "山田 花子"),
        ("#f-email", "hanako@example.jp"),
        ("#f-order", "A-1029"),
        (
            "#f-message",
            "届いた商品が壊れていました。交換をお願いします。",
        ),
    ] {
        client
            .find(Locator::Css(css))
            .await
            .unwrap()
            .send_keys(text)
            .await
            .unwrap();
    }
    client
        .find(Locator::Css("#f-category"))
        .await
        .unwrap()
        .select_by_label("返品・交換")
        .await
        .unwrap();
}

async fn submit(client: &Client) {
    client
        .find(Locator::Css("#contact-form button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    eventually("the thanks", || async {
        page_text(client, ".form-thanks")
            .await
            .contains("受け付けました")
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_form_submission_becomes_a_conversation_and_a_bot_is_dropped() {
    let Some(driver) = start_chromedriver().await else {
        return;
    };
    let app = TestApp::spawn(madoguchi_store::Backend::Sqlite)
        .await
        .unwrap();
    let workspace = app.workspace_id.clone();
    let admin = app
        .agent_in(&workspace, "owner@example.jp", Role::Admin)
        .await;
    let form: Value = app
        .post(
            "/api/v1/channels",
            &json!({"kind": "form", "name": "お問い合わせフォーム"}),
        )
        .bearer_auth(&admin.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let key = form["public_key"].as_str().unwrap().to_owned();
    let id = form["id"].as_str().unwrap().to_owned();

    // The admin: the embed code, and the fields as a list to edit.
    let profiles = std::env::temp_dir().join(format!("mdg-forms-{}", std::process::id()));
    let client = browser(&driver, &profiles.join("owner")).await;
    log_in_to_inbox(&client, &app, "owner@example.jp").await;
    open_area(&client, &app, "channels").await;
    client
        .wait()
        .for_element(Locator::Css("#channel-pick"))
        .await
        .unwrap()
        .select_by_label("お問い合わせフォーム")
        .await
        .unwrap();
    eventually("the embed code", || async {
        page_text(&client, "#form-embed")
            .await
            .contains(&format!("/forms/{key}"))
    })
    .await;
    let labels = client
        .find_all(Locator::Css("#form-editor .field-label-input"))
        .await
        .unwrap();
    assert_eq!(labels.len(), 5, "the default fields");
    labels[2].clear().await.unwrap();
    labels[2].send_keys("ご注文番号").await.unwrap();
    client
        .find(Locator::Css("#form-editor button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    eventually("the field is renamed", || async {
        let channel = app.store.channel(&workspace, &id).await.unwrap();
        channel.config.unwrap_or_default().contains("ご注文番号")
    })
    .await;
    save_screenshot(&client, "admin-form").await;

    // A customer on a phone fills in the form.
    client.set_window_size(390, 844).await.unwrap();
    client
        .goto(&format!("{}/forms/{key}", app.url))
        .await
        .unwrap();
    client
        .wait()
        .for_element(Locator::Css("#contact-form"))
        .await
        .unwrap();
    assert!(page_text(&client, "label[for=f-order]")
        .await
        .contains("ご注文番号"));
    fill_in(&client).await;
    save_screenshot(&client, "form-phone").await;
    app.clock.advance_secs(30);
    submit(&client).await;
    save_screenshot(&client, "form-thanks").await;
    assert_eq!(count_conversations(&app).await, 1);
    let list = app.get_json(&admin, "/api/v1/conversations").await;
    assert_eq!(list["conversations"][0]["contact_name"], "山田 花子");

    // A bot fills every field it finds, the hidden one too: thanked, and dropped.
    client
        .goto(&format!("{}/forms/{key}", app.url))
        .await
        .unwrap();
    client
        .wait()
        .for_element(Locator::Css("#contact-form"))
        .await
        .unwrap();
    fill_in(&client).await;
    client
        .execute(
            "document.getElementById('website').value = 'http://spam.example';",
            vec![],
        )
        .await
        .unwrap();
    app.clock.advance_secs(30);
    submit(&client).await;
    assert_eq!(count_conversations(&app).await, 1, "the bot left nothing");
}
