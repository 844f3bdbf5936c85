//! The admin area in a real browser: one page per area behind a navigation, a visual weekly
//! hours editor with several periods a day, the bot's on/off switch and scenario tree, values
//! in words, and a clear Japanese message for an agent who is not an admin.

use super::*;

async fn automation(app: &TestApp, token: &str, channel: &str) -> Value {
    app.get(&format!("/api/v1/channels/{channel}/automation"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

async fn shot(client: &Client, name: &str) {
    save_screenshot(client, &format!("admin-{name}")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_pages_a_shop_can_use() {
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
    app.agent("staff@example.jp").await;
    let channel = app.store.channel_by_key(&app.channel_key).await.unwrap().id;
    let profiles = std::env::temp_dir().join(format!("mdg-admin-{}", std::process::id()));
    let client = browser(&driver, &profiles.join("owner")).await;
    log_in(&client, &app, "owner@example.jp").await;
    client
        .wait()
        .for_element(Locator::Css("#conversation-list"))
        .await
        .unwrap();

    // A navigation with one entry per area; the general page sets the shop's name.
    open_area(&client, &app, "general").await;
    let menu = rows(&client, ".admin-nav a").await;
    assert_eq!(
        menu.iter().map(|m| m.trim()).collect::<Vec<_>>(),
        [
            "基本設定",
            "ブランド",
            "担当者",
            "チャネル・ウィジェット",
            "営業時間・自動返信",
            "ボット",
            "ナレッジベース",
            "回答レビュー",
            "タグ・テンプレート",
            "チーム・振り分け",
            "カスハラ対策",
            "個人情報の保護",
            "連携（Webhook）",
            "監査ログ"
        ]
    );
    let name = client
        .wait()
        .for_element(Locator::Css("#workspace-form input"))
        .await
        .unwrap();
    name.clear().await.unwrap();
    name.send_keys("窓口雑貨店").await.unwrap();
    client
        .find(Locator::Css("#workspace-form button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    eventually("the shop is renamed", || async {
        app.store.workspace(&app.workspace_id).await.unwrap().name == "窓口雑貨店"
    })
    .await;
    shot(&client, "general").await;

    // Agents: a table with headers and roles in words.
    open_area(&client, &app, "agents").await;
    eventually("the agents table", || async {
        page_text(&client, ".admin-page table")
            .await
            .contains("staff@example.jp")
    })
    .await;
    let headers = rows(&client, ".admin-page th").await;
    assert!(headers.iter().any(|h| h.contains("権限")), "{headers:?}");
    let table = page_text(&client, ".admin-page table").await;
    assert!(
        table.contains("管理者") && table.contains("担当者") && !table.contains("admin "),
        "{table}"
    );
    // Disable the part-timer from their row.
    client
        .find(Locator::XPath(
            "//tr[contains(., 'staff@example.jp')]//button[contains(., '無効にする')]",
        ))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    eventually("the agent is disabled", || async {
        page_text(&client, ".admin-page table")
            .await
            .contains("担当者 · 無効")
    })
    .await;
    let staff = app
        .store
        .agent_by_email(&madoguchi_core::agent::Email::parse("staff@example.jp").unwrap())
        .await
        .unwrap();
    assert!(staff.disabled_at.is_some());
    client
        .find(Locator::XPath(
            "//tr[contains(., 'staff@example.jp')]//button[contains(., '有効にする')]",
        ))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    eventually("enabled again", || async {
        !page_text(&client, ".admin-page table")
            .await
            .contains("担当者 · 無効")
    })
    .await;
    shot(&client, "agents").await;

    // Hours: Monday gets a second period; the grid saves what it shows.
    open_area(&client, &app, "hours").await;
    let add = client
        .wait()
        .for_element(Locator::Css(".day[data-day=mon] button.add-period"))
        .await
        .unwrap();
    add.click().await.unwrap();
    client
        .find(Locator::Css("form[data-automation] button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    eventually("two Monday periods are saved", || async {
        let a = automation(&app, &admin.token, &channel).await;
        a["hours"]["weekly"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|s| s["day"] == "mon")
            .count()
            == 2
    })
    .await;
    scroll_to(&client, false, ".day[data-day=sat]").await;
    assert!(page_text(&client, ".days").await.contains("土曜"));
    shot(&client, "hours").await;

    // Bot: off with one switch; a scenario built from buttons, not JSON.
    open_area(&client, &app, "bot").await;
    client
        .wait()
        .for_element(Locator::Css(".field.check input"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    eventually("the bot is off", || async {
        automation(&app, &admin.token, &channel).await["bot"] == false
    })
    .await;
    let start = client
        .find(Locator::XPath("//button[contains(., 'シナリオを作る')]"))
        .await;
    if let Ok(start) = start {
        start.click().await.unwrap();
    }
    client
        .find(Locator::XPath("//button[contains(., 'ボタンを追加')]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    client
        .find(Locator::Css("button.save-scenario"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    eventually("the scenario has a second step", || async {
        let s: Value = app
            .get(&format!("/api/v1/channels/{channel}/scenario"))
            .bearer_auth(&admin.token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        s["nodes"].as_array().map_or(0, |n| n.len()) >= 2
            && s["nodes"][0]["choices"].as_array().map_or(0, |c| c.len()) >= 1
    })
    .await;
    shot(&client, "bot").await;

    for area in ["channels", "knowledge", "review", "replies"] {
        open_area(&client, &app, area).await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        shot(&client, area).await;
    }
    client.set_window_size(390, 844).await.unwrap();
    open_area(&client, &app, "hours").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let overflow = client
        .execute(
            "return document.documentElement.scrollWidth <= innerWidth + 1;",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(overflow, json!(true), "no sideways scrolling on a phone");
    shot(&client, "hours-phone").await;
    client.close().await.unwrap();

    // An agent without the admin role gets a message in their language, not an English error.
    let staff = browser(&driver, &profiles.join("staff")).await;
    log_in(&staff, &app, "staff@example.jp").await;
    staff
        .wait()
        .for_element(Locator::Css("#conversation-list"))
        .await
        .unwrap();
    staff.goto(&format!("{}/admin", app.url)).await.unwrap();
    eventually("the admins-only message", || async {
        page_text(&staff, "main")
            .await
            .contains("管理者とオーナーだけが使えます")
    })
    .await;
    staff.close().await.unwrap();
    std::fs::remove_dir_all(&profiles).ok();
}

/// The webhooks area: an admin adds one, sees its secret once, and a webhook that switched
/// itself off is announced with the reason. Then the audit log, searched by actor.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_are_set_up_and_a_disabled_one_is_announced() {
    let Some(driver) = start_chromedriver().await else {
        return;
    };
    let app = TestApp::spawn(madoguchi_store::Backend::Sqlite)
        .await
        .unwrap();
    let workspace = app.workspace_id.clone();
    app.agent_in(&workspace, "lead@example.jp", Role::Admin)
        .await;
    let stopped = app
        .store
        .create_webhook(
            &workspace,
            &madoguchi_store::webhooks::WebhookSettings {
                url: "https://old.example.jp/hook",
                events: &["message.created".to_owned()],
                include_private: false,
                enabled: true,
            },
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        )
        .await
        .unwrap();
    let attempt = madoguchi_store::webhooks::Attempt {
        message_id: "msg_1".into(),
        event_type: "message.created".into(),
        status_code: Some(500),
        error: Some("HTTP 500".into()),
        ok: false,
        duration_ms: 12,
        created_at: madoguchi_store::now_ms(),
    };
    app.store
        .record_webhook_attempt(&stopped.id, &attempt, 1, "1 failed attempts in a row")
        .await
        .unwrap();
    let profiles = std::env::temp_dir().join(format!("mdg-webhooks-{}", std::process::id()));
    let client = browser(&driver, &profiles.join("lead")).await;
    log_in(&client, &app, "lead@example.jp").await;
    client
        .wait()
        .for_element(Locator::Css("#conversation-list"))
        .await
        .unwrap();
    open_area(&client, &app, "webhooks").await;
    eventually("the disabled webhook is announced", || async {
        page_text(&client, ".admin-page")
            .await
            .contains("停止しました")
    })
    .await;
    client
        .find(Locator::Css("#webhook-form input[type=url]"))
        .await
        .unwrap()
        .send_keys("https://shop.example.jp/hooks/madoguchi")
        .await
        .unwrap();
    click_settled(&client, "#webhook-form button[type=submit]").await;
    eventually("the secret is shown once", || async {
        scroll_to(&client, false, "#webhook-secret").await;
        page_text(&client, "#webhook-secret")
            .await
            .contains("whsec_")
    })
    .await;
    click_settled(&client, ".admin-page table button").await;
    eventually("the delivery log", || async {
        scroll_to(&client, false, "#webhook-log").await;
        page_text(&client, "#webhook-log")
            .await
            .contains("HTTP 500")
    })
    .await;
    save_screenshot(&client, "admin-webhooks").await;
    assert_eq!(app.store.webhooks(&workspace).await.unwrap().len(), 2);

    // The audit log: the chain checked, the login just made, a filter by action.
    open_area(&client, &app, "audit").await;
    eventually("the chain is checked", || async {
        page_text(&client, "#audit-chain")
            .await
            .contains("改ざんなし")
    })
    .await;
    client
        .find(Locator::Css("#audit-form input"))
        .await
        .unwrap()
        .send_keys("agent:")
        .await
        .unwrap();
    click_settled(&client, "#audit-form button[type=submit]").await;
    eventually("the login in the log", || async {
        let text = page_text(&client, ".admin-page table").await;
        text.contains("auth.login") && !text.contains("system")
    })
    .await;
    save_screenshot(&client, "admin-audit").await;

    // The privacy area: a retention period is saved (and applied by the server).
    open_area(&client, &app, "privacy").await;
    let days = client
        .wait()
        .for_element(Locator::Css("#retention-form input[type=number]"))
        .await
        .unwrap();
    days.send_keys("365").await.unwrap();
    click_settled(&client, "#retention-form button[type=submit]").await;
    eventually("the policy is saved", || async {
        let stored = app.store.workspace(&workspace).await.unwrap().retention;
        stored.is_some_and(|r| r.contains("365"))
    })
    .await;
    save_screenshot(&client, "admin-privacy").await;

    // An API channel for the shop's own systems: its token is shown once.
    open_area(&client, &app, "channels").await;
    client
        .wait()
        .for_element(Locator::Css("#channel-create input"))
        .await
        .unwrap()
        .send_keys("注文システム")
        .await
        .unwrap();
    client
        .execute(
            "const k = document.getElementById('channel-kind'); k.value = 'api'; k.dispatchEvent(new Event('change'));",
            vec![],
        )
        .await
        .unwrap();
    click_settled(&client, "#channel-create button[type=submit]").await;
    eventually("the token is shown once", || async {
        scroll_to(&client, false, "#api-token").await;
        page_text(&client, "#api-token").await.starts_with("mdc_")
    })
    .await;
    save_screenshot(&client, "admin-api-channel").await;

    // A forgotten password: the page asks for the address and says the same for any.
    client.goto(&format!("{}/account", app.url)).await.unwrap();
    client
        .wait()
        .for_element(Locator::Css("#account-form input[type=email]"))
        .await
        .unwrap()
        .send_keys("lead@example.jp")
        .await
        .unwrap();
    click_settled(&client, "#account-form button[type=submit]").await;
    eventually("the reset is promised", || async {
        page_text(&client, "#account-status")
            .await
            .contains("メールで送りました")
    })
    .await;
    save_screenshot(&client, "account-forgot").await;

    // Two-factor sign-in: set up from the app's key, then asked for at the next sign-in.
    client
        .goto(&format!("{}/account?security", app.url))
        .await
        .unwrap();
    click_settled(&client, "#totp-start").await;
    let key = client
        .wait()
        .for_element(Locator::Css("#totp-secret"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let secret = madoguchi_core::totp::from_base32(&key).unwrap();
    let now = || madoguchi_server::app::clock::Clock::now_ms(&*app.clock) / 1000;
    client
        .find(Locator::Css("#totp-code"))
        .await
        .unwrap()
        .send_keys(&madoguchi_core::totp::code(&secret, now()))
        .await
        .unwrap();
    click_settled(&client, "#account-form button[type=submit]").await;
    eventually("the recovery codes", || async {
        rows(&client, "#recovery-codes li").await.len() == 10
    })
    .await;
    save_screenshot(&client, "account-two-factor").await;
    app.clock.advance_secs(30);
    log_in(&client, &app, "lead@example.jp").await;
    let code = client
        .wait()
        .for_element(Locator::Css("#totp:not([hidden])"))
        .await
        .unwrap();
    save_screenshot(&client, "login-code").await;
    code.send_keys(&madoguchi_core::totp::code(&secret, now()))
        .await
        .unwrap();
    click_settled(&client, "#login-form button[type=submit]").await;
    client
        .wait()
        .for_element(Locator::Css("#conversation-list"))
        .await
        .unwrap();
    client.close().await.unwrap();
}

/// A customer's data from their profile: the export links, then erasure after a confirmation;
/// the conversation stays, empty, and the profile has nothing left.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_customer_is_erased_from_their_profile() {
    let Some(driver) = start_chromedriver().await else {
        return;
    };
    let app = TestApp::spawn(madoguchi_store::Backend::Sqlite)
        .await
        .unwrap();
    let workspace = app.workspace_id.clone();
    app.agent_in(&workspace, "lead@example.jp", Role::Admin)
        .await;
    let visitor = app.visitor().await;
    let conversation = app
        .start(&visitor, "退会したいので私のデータを消してください")
        .await;
    let contact = app.contact_of(&visitor).await;
    let profiles = std::env::temp_dir().join(format!("mdg-erase-{}", std::process::id()));
    let client = browser(&driver, &profiles.join("lead")).await;
    log_in(&client, &app, "lead@example.jp").await;
    click_settled(&client, "#conversation-list .item").await;
    // Read afresh each time: the panel is drawn again as the conversation refreshes.
    let wanted = format!("/api/v1/contacts/{contact}/export");
    eventually("the export link", || async {
        let href = client
            .execute(
                "const a = document.querySelector('#data-rights a'); return a ? a.getAttribute('href') : null;",
                vec![],
            )
            .await
            .unwrap();
        href.as_str() == Some(wanted.as_str())
    })
    .await;
    scroll_to(&client, false, "#erase-contact").await;
    save_screenshot(&client, "inbox-data-rights").await;
    click_settled(&client, "#erase-contact").await;
    client.accept_alert().await.unwrap();
    eventually("the contact is erased", || async {
        app.store
            .contact(&workspace, &contact)
            .await
            .unwrap()
            .erased_at
            .is_some()
    })
    .await;
    assert!(app
        .store
        .all_messages(&conversation)
        .await
        .unwrap()
        .is_empty());
    eventually("the profile no longer offers it", || async {
        rows(&client, "#erase-contact").await.is_empty()
    })
    .await;
    client.close().await.unwrap();
}
