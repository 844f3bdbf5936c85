//! Who the widget's visitor is, in a real browser: page views of a cookie-less browser store
//! nothing, the pre-chat form asks for a name and e-mail address, and a customer signed in on
//! the shop's site is one contact on two browsers while a forged signature is ignored.

use super::*;
use crate::identity::user_hash;

async fn contacts(app: &TestApp) -> i64 {
    app.store
        .count_unchecked("SELECT COUNT(*) FROM contacts")
        .await
        .unwrap()
}

/// Waits until the widget's launcher is on the page (its session exists).
async fn widget_ready(client: &Client) {
    eventually("the widget's launcher", || async {
        widget(client, "button.launcher").await.is_some()
    })
    .await;
}

/// Opens the widget's panel on its list of conversations.
async fn open_widget(client: &Client) {
    click_widget(client, "button.launcher").await;
    eventually("the conversation list", || async {
        !seen(client, true, "button.new")
            .await
            .concat()
            .trim()
            .is_empty()
    })
    .await;
}

/// From the open list: a new conversation with its first message.
async fn write_first_message(client: &Client, text: &str) {
    click_widget(client, "button.new").await;
    widget(client, "textarea")
        .await
        .unwrap()
        .send_keys(text)
        .await
        .unwrap();
    click_widget(client, "button.send").await;
}

/// The channel's id and an admin's token.
async fn channel_admin(app: &TestApp) -> (String, String) {
    let workspace = app.workspace_id.clone();
    let admin = app
        .agent_in(&workspace, "owner@example.jp", Role::Admin)
        .await;
    let channel = app.store.channel_by_key(&app.channel_key).await.unwrap();
    (channel.id, admin.token)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cookieless_page_views_store_nothing_and_the_prechat_form_asks() {
    let Some(driver) = start_chromedriver().await else {
        return;
    };
    let app = TestApp::spawn(madoguchi_store::Backend::Sqlite)
        .await
        .unwrap();
    let (channel, admin) = channel_admin(&app).await;
    app.patch(
        &format!("/api/v1/channels/{channel}"),
        &json!({"settings": {"prechat": "required"}}),
    )
    .bearer_auth(&admin)
    .send()
    .await
    .unwrap()
    .error_for_status()
    .unwrap();
    let shop = shop_site(&app).await;
    let profiles = std::env::temp_dir().join(format!("mdg-cookieless-{}", std::process::id()));
    let blocked = json!({"profile.default_content_setting_values.cookies": 2});
    let visitor = browser_with(&driver, &profiles.join("visitor"), blocked).await;
    for _ in 0..20 {
        visitor.goto(&shop).await.unwrap();
        widget_ready(&visitor).await;
    }
    let stored = visitor
        .execute(
            "try { return localStorage.length; } catch (e) { return 'blocked'; }",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(stored, json!("blocked"), "the browser keeps no site data");
    assert_eq!(contacts(&app).await, 0, "20 page views, 0 contacts");

    // The pre-chat form: an e-mail address is required before the first message goes out.
    open_widget(&visitor).await;
    write_first_message(&visitor, "配送日を変更できますか").await;
    eventually("the form asks for the e-mail address", || async {
        widget_text(&visitor)
            .await
            .contains("メールアドレスを入力してください。")
    })
    .await;
    assert_eq!(contacts(&app).await, 0, "nothing was sent");
    std::fs::write(
        screenshot_dir().join("widget-prechat.png"),
        visitor.screenshot().await.unwrap(),
    )
    .unwrap();
    widget(&visitor, "input.prechat-name")
        .await
        .unwrap()
        .send_keys("佐藤 次郎")
        .await
        .unwrap();
    widget(&visitor, "input.prechat-email")
        .await
        .unwrap()
        .send_keys("jiro@example.jp")
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
        seen(&visitor, true, ".prechat")
            .await
            .concat()
            .trim()
            .is_empty(),
        "the form goes once the conversation exists"
    );
    let list: Value = app
        .get("/api/v1/conversations")
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(contacts(&app).await, 1);
    assert_eq!(list["conversations"][0]["contact_name"], "佐藤 次郎");
    assert_eq!(list["conversations"][0]["contact_email"], "jiro@example.jp");
    visitor.close().await.unwrap();
    std::fs::remove_dir_all(&profiles).ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_verified_customer_is_one_contact_on_two_browsers() {
    let Some(driver) = start_chromedriver().await else {
        return;
    };
    let app = TestApp::spawn(madoguchi_store::Backend::Sqlite)
        .await
        .unwrap();
    let (channel, admin) = channel_admin(&app).await;
    let secret: Value = app
        .post(
            &format!("/api/v1/channels/{channel}/identity-secret"),
            &json!({}),
        )
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let secret = secret["secret"].as_str().unwrap();
    let signed_in = |hash: &str| {
        format!("data-user-id=\"member-7\" data-user-hash=\"{hash}\" data-user-name=\"高橋 三郎\" data-user-email=\"saburo@example.jp\"")
    };
    let real = shop_page(&app, &signed_in(&user_hash(secret, "member-7"))).await;
    let forged = shop_page(&app, &signed_in(&"ab".repeat(32))).await;
    let profiles = std::env::temp_dir().join(format!("mdg-verified-{}", std::process::id()));

    let phone = browser(&driver, &profiles.join("phone")).await;
    phone.goto(&real).await.unwrap();
    open_widget(&phone).await;
    write_first_message(&phone, "スマホから問い合わせます").await;
    eventually("the message is confirmed", || async {
        widget(&phone, ".msg.contact[data-seq='1']").await.is_some()
    })
    .await;
    assert_eq!(contacts(&app).await, 1);

    // Another browser, no shared cookie: the same customer, the same conversation.
    let laptop = browser(&driver, &profiles.join("laptop")).await;
    laptop.goto(&real).await.unwrap();
    open_widget(&laptop).await;
    eventually("the phone's conversation is listed", || async {
        rows_in_widget(&laptop, "button.conv").await.len() == 1
    })
    .await;
    click_widget(&laptop, "button.conv").await;
    eventually("its message shows", || async {
        widget_text(&laptop)
            .await
            .contains("スマホから問い合わせます")
    })
    .await;

    // A page with a forged signature: an anonymous visitor who sees nothing of it.
    let stranger = browser(&driver, &profiles.join("stranger")).await;
    stranger.goto(&forged).await.unwrap();
    open_widget(&stranger).await;
    eventually("an empty list", || async {
        widget_text(&stranger)
            .await
            .contains("まだ問い合わせはありません")
    })
    .await;
    assert!(rows_in_widget(&stranger, "button.conv").await.is_empty());
    write_first_message(&stranger, "なりすまし").await;
    eventually("the stranger's message is confirmed", || async {
        widget(&stranger, ".msg.contact[data-seq='1']")
            .await
            .is_some()
    })
    .await;
    assert_eq!(contacts(&app).await, 2, "the forged id joined no one");
    let list: Value = app
        .get("/api/v1/conversations")
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let names: Vec<&str> = list["conversations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["contact_name"].as_str().unwrap_or(""))
        .collect();
    let mut names = names;
    names.sort();
    assert_eq!(
        names,
        ["", "高橋 三郎"],
        "the shop's details go only with a verified id"
    );
    for client in [phone, laptop, stranger] {
        client.close().await.unwrap();
    }
    std::fs::remove_dir_all(&profiles).ok();
}

/// The seen text of every element matching `css` in the widget.
async fn rows_in_widget(client: &Client, css: &str) -> Vec<String> {
    seen(client, true, css).await
}
