//! Brands in a real browser: an admin creates two brands, puts the second widget in one, limits
//! an agent to it; the inbox shows each conversation's brand and filters by it; the brand's
//! help center wears its name and colour; the reports compare the brands.

use super::*;

/// Creates a brand through the admin form.
async fn add_brand(client: &Client, name: &str, slug: &str, sender: &str) {
    client
        .wait()
        .for_element(Locator::Css("#brand-form"))
        .await
        .unwrap();
    let inputs = client
        .find_all(Locator::Css("#brand-form input:not([type=color])"))
        .await
        .unwrap();
    for (input, text) in inputs.iter().zip([name, slug, "", sender]) {
        input.clear().await.unwrap();
        if !text.is_empty() {
            input.send_keys(text).await.unwrap();
        }
    }
    client
        .find(Locator::Css("#brand-form button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    eventually("the brand is listed", || async {
        page_text(client, ".admin-page table").await.contains(name)
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_sets_up_two_brands_and_the_inbox_tells_them_apart() {
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
    app.agent_in(&workspace, "kaede@example.jp", Role::Supervisor)
        .await;
    let second = app
        .post("/api/v1/channels", &json!({"name": "かえで屋 Web"}))
        .bearer_auth(&admin.token)
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    let key_b = second["public_key"].as_str().unwrap().to_owned();

    let profiles = std::env::temp_dir().join(format!("mdg-brands-{}", std::process::id()));
    let client = browser(&driver, &profiles.join("owner")).await;
    log_in_to_inbox(&client, &app, "owner@example.jp").await;
    open_area(&client, &app, "brands").await;
    eventually("the empty state", || async {
        page_text(&client, ".admin-page .empty")
            .await
            .contains("ブランドはまだありません")
    })
    .await;
    add_brand(&client, "さくら堂", "sakura", "support@sakura.example.jp").await;
    add_brand(&client, "かえで屋", "kaede", "support@kaede.example.jp").await;
    let brands: Value = app.get_json(&admin, "/api/v1/brands").await;
    let brand_b = brands
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["slug"] == "kaede")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(brands[1]["sender_email"], "support@kaede.example.jp");

    // The agent limited to かえで屋 from the brands page.
    eventually("the limits form", || async {
        client.find(Locator::Css("#brand-limits")).await.is_ok()
    })
    .await;
    let who = client
        .find(Locator::Css("#brand-limits select"))
        .await
        .unwrap();
    who.select_by_label("テスト担当 (kaede@example.jp)")
        .await
        .unwrap();
    client
        .find(Locator::XPath(
            "//form[@id='brand-limits']//label[.='かえで屋']",
        ))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    client
        .find(Locator::Css("#brand-limits button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    eventually("the limit is stored", || async {
        let brands = app.get_json(&admin, "/api/v1/brands").await;
        brands
            .as_array()
            .unwrap()
            .iter()
            .any(|b| b["id"] == brand_b.as_str() && b["agent_ids"].as_array().unwrap().len() == 1)
    })
    .await;
    eventually("the limits table names the brand", || async {
        rows(&client, "#brand-limits ~ div tr")
            .await
            .iter()
            .any(|r| r.contains("kaede@example.jp") && r.contains("かえで屋"))
    })
    .await;
    save_screenshot(&client, "admin-brands").await;

    // The second widget goes to かえで屋 from the channels page.
    open_area(&client, &app, "channels").await;
    let pick = client
        .wait()
        .for_element(Locator::Css("#channel-pick"))
        .await
        .unwrap();
    pick.select_by_label("かえで屋 Web").await.unwrap();
    let brand_pick = client
        .wait()
        .for_element(Locator::Css("#channel-brand select"))
        .await
        .unwrap();
    brand_pick.select_by_label("かえで屋").await.unwrap();
    client
        .find(Locator::Css("#channel-brand button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    eventually("the channel is in the brand", || async {
        app.store
            .channel_by_key(&key_b)
            .await
            .unwrap()
            .brand_id
            .as_deref()
            == Some(brand_b.as_str())
    })
    .await;

    // Customers write on both widgets; the inbox tells the brands apart and filters.
    let visitor_a = app.visitor().await;
    app.start(&visitor_a, "さくら堂で注文した件です").await;
    let visitor_b = app.visitor_on(&key_b).await;
    app.start(&visitor_b, "かえで屋の配送について").await;
    client.goto(&format!("{}/inbox", app.url)).await.unwrap();
    eventually("both conversations, one with a badge", || async {
        rows(&client, "#conversation-list .item").await.len() == 2
            && page_text(&client, "#conversation-list .brand-badge")
                .await
                .contains("かえで屋")
    })
    .await;
    let filter = client
        .wait()
        .for_element(Locator::Css("#brand-filter"))
        .await
        .unwrap();
    filter.select_by_label("かえで屋").await.unwrap();
    eventually("only brand B's conversation", || async {
        let items = rows(&client, "#conversation-list .item").await;
        items.len() == 1 && items[0].contains("かえで屋の配送について")
    })
    .await;
    click_settled(&client, "#conversation-list .item").await;
    eventually("the brand in the details", || async {
        page_text(&client, ".brand-line").await.contains("かえで屋")
    })
    .await;
    save_screenshot(&client, "inbox-brands").await;

    // The brand's help center: its name, its colour, its chat.
    client
        .goto(&format!("{}/help/kaede", app.url))
        .await
        .unwrap();
    let header = page_text(&client, ".help-header").await;
    assert!(header.contains("かえで屋"), "{header}");
    let empty = page_text(&client, ".no-results").await;
    assert!(empty.contains("まだ記事がありません"), "{empty}");
    save_screenshot(&client, "help-brand").await;

    // Reports: the KPIs side by side per brand (the first widget was left without one).
    client.goto(&format!("{}/reports", app.url)).await.unwrap();
    eventually("the brand comparison", || async {
        scroll_to(&client, false, "#by-brand").await;
        let table = page_text(&client, "#by-brand table").await;
        table.contains("ブランドなし") && table.contains("かえで屋") && table.contains("会話数")
    })
    .await;
    save_screenshot(&client, "reports-brands").await;
}
