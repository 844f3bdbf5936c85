//! Photos both ways in a real browser: a visitor's image shows in the agent's inbox, and the
//! agent's image shows in the widget.

use super::*;
use crate::attachments::PNG;

/// Whether an `<img>` matching `css` has loaded (in the widget when `in_widget`).
async fn image_loaded(client: &Client, in_widget: bool, css: &str) -> bool {
    let loaded = client
        .execute(
            "const [w, css] = arguments; const h = document.querySelector('#madoguchi-widget'); \
             const root = w ? h.shadowRoot : document; const img = root.querySelector(css); \
             return !!img && img.complete && img.naturalWidth > 0;",
            vec![json!(in_widget), json!(css)],
        )
        .await
        .unwrap();
    loaded == json!(true)
}

/// Puts `path` into a file input (shown for that moment: a hidden input takes no keys).
async fn choose_file(client: &Client, input: Element, path: &std::path::Path) {
    client
        .execute(
            "arguments[0].hidden = false;",
            vec![serde_json::to_value(&input).unwrap()],
        )
        .await
        .unwrap();
    input.send_keys(path.to_str().unwrap()).await.unwrap();
    client
        .execute(
            "arguments[0].hidden = true;",
            vec![serde_json::to_value(&input).unwrap()],
        )
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn photos_go_both_ways() {
    let Some(driver) = start_chromedriver().await else {
        return;
    };
    let app = TestApp::spawn(madoguchi_store::Backend::Sqlite)
        .await
        .unwrap();
    app.agent("files@example.jp").await;
    let profiles = std::env::temp_dir().join(format!("mdg-files-{}", std::process::id()));
    std::fs::create_dir_all(&profiles).unwrap();
    let photo = profiles.join("破損した箱.png");
    std::fs::write(&photo, PNG).unwrap();
    let shop = shop_site(&app).await;

    let visitor = browser(&driver, &profiles.join("visitor")).await;
    visitor.goto(&shop).await.unwrap();
    click_widget(&visitor, "button.launcher").await;
    click_widget(&visitor, "button.new").await;
    widget(&visitor, "textarea")
        .await
        .unwrap()
        .send_keys("箱が潰れて届きました")
        .await
        .unwrap();
    click_widget(&visitor, "button.send").await;
    eventually("the first message is confirmed", || async {
        widget(&visitor, ".msg.contact[data-seq='1']")
            .await
            .is_some()
    })
    .await;
    let input = widget(&visitor, "input[type=file]").await.unwrap();
    choose_file(&visitor, input, &photo).await;
    eventually("the photo shows in the widget", || async {
        image_loaded(&visitor, true, ".msg.contact .files img").await
    })
    .await;

    let agent = browser(&driver, &profiles.join("agent")).await;
    log_in(&agent, &app, "files@example.jp").await;
    agent
        .wait()
        .for_element(Locator::Css("#conversation-list .item"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    eventually("the visitor's photo shows in the inbox", || async {
        image_loaded(&agent, false, "#messages .msg.contact .files img").await
    })
    .await;
    let alt = agent
        .find(Locator::Css("#messages .files img"))
        .await
        .unwrap()
        .attr("alt")
        .await
        .unwrap();
    assert_eq!(alt.as_deref(), Some("破損した箱.png"));
    let input = agent.find(Locator::Css("#attach-file")).await.unwrap();
    choose_file(&agent, input, &photo).await;
    eventually("the agent's photo shows in the widget", || async {
        image_loaded(&visitor, true, ".msg.agent .files img").await
    })
    .await;
    std::fs::write(
        screenshot_dir().join("inbox-photo.png"),
        agent.screenshot().await.unwrap(),
    )
    .unwrap();
    std::fs::write(
        screenshot_dir().join("widget-photo.png"),
        visitor.screenshot().await.unwrap(),
    )
    .unwrap();
    visitor.close().await.unwrap();
    agent.close().await.unwrap();
    std::fs::remove_dir_all(&profiles).ok();
}
