//! WCAG 2.1 A/AA checks with axe-core in Chromium on every page a person uses: login, inbox
//! (with a conversation open), admin, help center, the hosted chat page and the widget on a
//! shop's page (list and thread). axe-core comes from npm at test time (`.ci/run` installs it;
//! `MADOGUCHI_TEST_AXE` names `axe.min.js`), never from a CDN. No critical or serious
//! violation is allowed.

use super::*;

fn axe_source() -> Option<String> {
    let path = std::env::var("MADOGUCHI_TEST_AXE").unwrap_or_else(|_| {
        format!(
            "{}/.cache/madoguchi-axe/node_modules/axe-core/axe.min.js",
            std::env::var("HOME").unwrap_or_default()
        )
    });
    match std::fs::read_to_string(&path) {
        Ok(source) => Some(source),
        Err(_) => {
            madoguchi_store::testing::skip(&format!(
                "{path} not found (npm install --prefix ~/.cache/madoguchi-axe axe-core@4.14.1)"
            ));
            None
        }
    }
}

/// The critical and serious WCAG A/AA violations on the current page, as `rule: targets`.
/// Fails when axe checked nothing (so a page that did not load cannot pass).
async fn violations(client: &Client, axe: &str) -> Vec<String> {
    client.execute(axe, vec![]).await.unwrap();
    let found = client
        .execute_async(
            "const done = arguments[arguments.length - 1]; \
             axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}}) \
               .then(r => done({passes: r.passes.length, bad: r.violations.filter(v => v.impact === 'critical' || v.impact === 'serious') \
                 .map(v => v.id + ': ' + v.nodes.map(n => JSON.stringify(n.target)).join(' '))})) \
               .catch(e => done({passes: 0, bad: ['axe failed: ' + e]}));",
            vec![],
        )
        .await
        .unwrap();
    assert!(
        found["passes"].as_u64().unwrap() > 5,
        "axe checked nothing: {found}"
    );
    serde_json::from_value(found["bad"].clone()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_passes_axe() {
    let Some(axe) = axe_source() else {
        return;
    };
    let Some(driver) = start_chromedriver().await else {
        return;
    };
    let app = TestApp::spawn(madoguchi_store::Backend::Sqlite)
        .await
        .unwrap();
    let workspace = app.workspace_id.clone();
    let admin = app
        .agent_in(&workspace, "a11y@example.jp", Role::Admin)
        .await;
    let created: Value = app
        .post(
            "/api/v1/articles",
            &json!({"title": "返品したい", "body": "商品到着から7日以内なら返品できます。", "status": "published"}),
        )
        .bearer_auth(&admin.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let article = created["id"].as_str().unwrap().to_owned();
    let visitor = app.visitor().await;
    app.start(&visitor, "送料を教えてください").await;
    let profiles = std::env::temp_dir().join(format!("mdg-a11y-{}", std::process::id()));
    let client = browser(&driver, &profiles.join("a11y")).await;
    let mut report = Vec::new();

    client.goto(&format!("{}/login", app.url)).await.unwrap();
    client
        .wait()
        .for_element(Locator::Css("#email"))
        .await
        .unwrap();
    report.push(("login", violations(&client, &axe).await));
    log_in(&client, &app, "a11y@example.jp").await;
    client
        .wait()
        .for_element(Locator::Css("#conversation-list .item"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    eventually("the conversation opens", || async {
        page_text(&client, "#messages")
            .await
            .contains("送料を教えてください")
    })
    .await;
    report.push(("inbox", violations(&client, &axe).await));
    // The template picker with nothing matching.
    client
        .find(Locator::Css("#reply"))
        .await
        .unwrap()
        .send_keys("/該当なし")
        .await
        .unwrap();
    client
        .wait()
        .for_element(Locator::Css("#templates"))
        .await
        .unwrap();
    report.push(("inbox, template picker", violations(&client, &axe).await));
    // The empty state of a list (no resolved conversation yet) and the template picker.
    client
        .find(Locator::Css("button[data-status=resolved]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    eventually("the empty list", || async {
        rows(&client, "#conversation-list .item").await.is_empty()
    })
    .await;
    report.push(("inbox, empty list", violations(&client, &axe).await));
    // Search hits over all history.
    client
        .find(Locator::Id("search"))
        .await
        .unwrap()
        .send_keys("送料\u{E007}")
        .await
        .unwrap();
    eventually("the search hits", || async {
        !rows(&client, "#conversation-list .result").await.is_empty()
    })
    .await;
    report.push(("inbox, search hits", violations(&client, &axe).await));
    for area in [
        "general",
        "brands",
        "agents",
        "channels",
        "hours",
        "bot",
        "knowledge",
        "review",
        "replies",
        "routing",
        "harassment",
        "privacy",
        "webhooks",
        "audit",
    ] {
        client
            .goto(&format!("{}/admin#{area}", app.url))
            .await
            .unwrap();
        client.refresh().await.unwrap();
        client
            .wait()
            .for_element(Locator::Css("#page-title"))
            .await
            .unwrap();
        // Each page draws its forms from API answers: wait until its cards are filled.
        eventually("the admin page's content", || async {
            !page_text(&client, ".admin-page .card")
                .await
                .trim()
                .is_empty()
        })
        .await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        let found = violations(&client, &axe).await;
        report.push((area, found));
    }
    client.goto(&format!("{}/reports", app.url)).await.unwrap();
    client
        .wait()
        .for_element(Locator::Css(".tile .kpi-chart"))
        .await
        .unwrap();
    report.push(("reports", violations(&client, &axe).await));
    client
        .goto(&format!("{}/guideline", app.url))
        .await
        .unwrap();
    client
        .wait()
        .for_element(Locator::Css(".guideline"))
        .await
        .unwrap();
    report.push(("guideline", violations(&client, &axe).await));
    let help = format!("{}/help/{}", app.url, app.channel_key);
    client.goto(&help).await.unwrap();
    report.push(("help center", violations(&client, &axe).await));
    client
        .goto(&format!("{help}/articles/{article}"))
        .await
        .unwrap();
    report.push(("help article", violations(&client, &axe).await));

    let shop = shop_site(&app).await;
    client.goto(&shop).await.unwrap();
    click_widget(&client, "button.launcher").await;
    eventually("the widget's list", || async {
        widget(&client, "button.new").await.is_some()
    })
    .await;
    report.push(("widget list", violations(&client, &axe).await));
    // A dialog a keyboard user can use: focus moves into it, Escape closes it and gives focus
    // back to the launcher.
    let focus = "const r = document.querySelector('#madoguchi-widget').shadowRoot; \
                 const a = r.activeElement; return a ? (a.closest('.panel') ? 'panel' : a.className) : 'none';";
    assert_eq!(client.execute(focus, vec![]).await.unwrap(), json!("panel"));
    client
        .execute(
            "document.querySelector('#madoguchi-widget').shadowRoot.activeElement \
             .dispatchEvent(new KeyboardEvent('keydown', {key: 'Escape', bubbles: true, composed: true}));",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(
        client.execute(focus, vec![]).await.unwrap(),
        json!("launcher")
    );
    assert!(
        widget_text(&client).await.trim().is_empty()
            || !widget_text(&client).await.contains("新しい問い合わせ")
    );
    click_widget(&client, "button.launcher").await;
    eventually("the widget's list again", || async {
        widget_text(&client).await.contains("新しい問い合わせ")
    })
    .await;
    click_widget(&client, "button.new").await;
    report.push(("widget, new conversation", violations(&client, &axe).await));
    widget(&client, "textarea")
        .await
        .unwrap()
        .send_keys("在庫はありますか")
        .await
        .unwrap();
    click_widget(&client, "button.send").await;
    eventually("the message is confirmed", || async {
        widget(&client, ".msg.contact[data-seq='1']")
            .await
            .is_some()
    })
    .await;
    report.push(("widget thread", violations(&client, &axe).await));
    // The harness sees a violation when there is one: an image without a text alternative.
    client
        .execute(
            "const i = document.createElement('img'); i.id = 'axe-probe'; i.src = 'data:,'; document.body.appendChild(i);",
            vec![],
        )
        .await
        .unwrap();
    let probe = violations(&client, &axe).await;
    assert!(
        probe.iter().any(|v| v.starts_with("image-alt")),
        "{probe:?}"
    );
    client
        .execute("document.getElementById('axe-probe').remove();", vec![])
        .await
        .unwrap();
    client
        .goto(&format!("{}/chat/{}", app.url, app.channel_key))
        .await
        .unwrap();
    client
        .wait()
        .for_element(Locator::Css("#madoguchi-widget"))
        .await
        .unwrap();
    report.push(("chat page", violations(&client, &axe).await));

    client.close().await.unwrap();
    std::fs::remove_dir_all(&profiles).ok();
    let failing: Vec<_> = report.iter().filter(|(_, v)| !v.is_empty()).collect();
    assert!(
        failing.is_empty(),
        "axe found critical/serious violations: {failing:#?}"
    );
}
