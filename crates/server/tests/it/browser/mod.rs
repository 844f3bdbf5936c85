//! The widget and the inbox in a real browser: Debian's Chromium driven through chromedriver.
//! Skipped (with a note) where chromedriver is not installed, unless `CI` is set: CI installs it.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::elements::{Element, ElementRef};
use fantoccini::key::Key;
use fantoccini::{Client, ClientBuilder, Locator};
use madoguchi_core::agent::Role;
use serde_json::{json, Value};

use crate::support::TestApp;

mod accessibility;
mod admin;
mod brands;
mod files;
mod forms;
mod harassment;
mod identity;
mod line;
mod mail;
mod presence;
mod reports;
mod routing;
mod search;

const XSS: &str = "<img src=x onerror=alert(1)>";

struct ChromeDriver {
    child: Child,
    url: String,
}

impl Drop for ChromeDriver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn chromedriver_path() -> Option<PathBuf> {
    let path = PathBuf::from(
        std::env::var("MADOGUCHI_TEST_CHROMEDRIVER")
            .unwrap_or_else(|_| "/usr/bin/chromedriver".into()),
    );
    if path.exists() {
        return Some(path);
    }
    madoguchi_store::testing::skip(&format!(
        "{} not found (apt-get install chromium chromium-driver)",
        path.display()
    ));
    None
}

async fn start_chromedriver() -> Option<ChromeDriver> {
    let path = chromedriver_path()?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(path)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let driver = ChromeDriver {
        child,
        url: format!("http://127.0.0.1:{port}"),
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    while reqwest::get(format!("{}/status", driver.url))
        .await
        .is_err()
    {
        assert!(Instant::now() < deadline, "chromedriver did not start");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Some(driver)
}

async fn browser(driver: &ChromeDriver, profile: &std::path::Path) -> Client {
    browser_with(driver, profile, json!({})).await
}

/// A browser with Chromium preferences, e.g. one that blocks cookies and site storage.
async fn browser_with(driver: &ChromeDriver, profile: &std::path::Path, prefs: Value) -> Client {
    let binary =
        std::env::var("MADOGUCHI_TEST_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    let args = [
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--window-size=1280,900",
        "--lang=ja",
        "--accept-lang=ja-JP",
    ];
    let mut args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    args.push(format!("--user-data-dir={}", profile.display()));
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({"binary": binary, "args": args, "prefs": prefs}),
    );
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&driver.url)
        .await
        .unwrap()
}

/// An element inside the widget's shadow root.
async fn widget(client: &Client, selector: &str) -> Option<Element> {
    let found = client
        .execute(
            "const h = document.querySelector('#madoguchi-widget'); return h ? h.shadowRoot.querySelector(arguments[0]) : null;",
            vec![json!(selector)],
        )
        .await
        .unwrap();
    let id = found.as_object()?.values().next()?.as_str()?.to_owned();
    Some(Element::from_element_id(
        client.clone(),
        ElementRef::from(id),
    ))
}

/// What a person sees, as text: for each element matching `css` (the whole page or widget when
/// `css` is empty), the text of those of its text nodes whose element has a size, is not hidden
/// or transparent, lies inside the viewport and inside every scrolling ancestor, and is the
/// topmost element at the centre of its visible part. Text in the DOM that is hidden, scrolled
/// away or covered does not count.
const SEEN_JS: &str = r#"
const [inWidget, css] = arguments;
const host = document.querySelector('#madoguchi-widget');
const root = inWidget ? (host && host.shadowRoot) : document;
if (!root) return [];
const up = (n) => n.parentElement || (n.getRootNode() instanceof ShadowRoot ? n.getRootNode().host : null);
const shown = (el) => {
  const r = el.getBoundingClientRect();
  if (r.width < 1 || r.height < 1) return false;
  let box = {l: Math.max(r.left, 0), t: Math.max(r.top, 0), r: Math.min(r.right, innerWidth), b: Math.min(r.bottom, innerHeight)};
  for (let a = el; a; a = up(a)) {
    const st = getComputedStyle(a);
    if (st.visibility === 'hidden' || st.display === 'none' || st.opacity === '0') return false;
    if (a !== el && (st.overflowX !== 'visible' || st.overflowY !== 'visible')) {
      const c = a.getBoundingClientRect();
      box = {l: Math.max(box.l, c.left), t: Math.max(box.t, c.top), r: Math.min(box.r, c.right), b: Math.min(box.b, c.bottom)};
    }
  }
  if (box.r - box.l < 1 || box.b - box.t < 1) return false;
  const hit = root.elementFromPoint((box.l + box.r) / 2, (box.t + box.b) / 2);
  return !!hit && (hit === el || el.contains(hit) || hit.contains(el));
};
const text = (scope) => {
  const walker = document.createTreeWalker(scope, NodeFilter.SHOW_TEXT);
  let out = '';
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    if (n.textContent.trim() && n.parentElement && shown(n.parentElement)) out += n.textContent + ' ';
  }
  return out;
};
if (!css) return [text(root)];
return Array.from(root.querySelectorAll(css)).map(text);
"#;

async fn seen(client: &Client, in_widget: bool, css: &str) -> Vec<String> {
    let texts = client
        .execute(SEEN_JS, vec![json!(in_widget), json!(css)])
        .await
        .unwrap();
    serde_json::from_value(texts).unwrap_or_default()
}

/// The widget's text that the visitor sees.
async fn widget_text(client: &Client) -> String {
    seen(client, true, "").await.concat()
}

/// The seen text of every element matching `css` on the page, one string each.
async fn rows(client: &Client, css: &str) -> Vec<String> {
    seen(client, false, css).await
}

/// The seen text of the elements matching `css` on the page, together.
async fn page_text(client: &Client, css: &str) -> String {
    rows(client, css).await.concat()
}

/// Scrolls the first element matching `css` into view, as a person scrolling back would.
async fn scroll_to(client: &Client, in_widget: bool, css: &str) {
    client
        .execute(
            "const [w, css] = arguments; const h = document.querySelector('#madoguchi-widget'); \
             const root = w ? h.shadowRoot : document; const el = root.querySelector(css); \
             if (el) el.scrollIntoView({block: 'nearest'});",
            vec![json!(in_widget), json!(css)],
        )
        .await
        .unwrap();
}

/// Polls `check` until it holds, failing after 30 s with `what`.
async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(30);
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Clicks the element matching `css`; the inbox redraws its filters and list as answers and
/// live events arrive, so a click on a node just replaced is tried again.
async fn click_settled(client: &Client, css: &str) {
    eventually(css, || async {
        match client.find(Locator::Css(css)).await {
            Ok(node) => node.click().await.is_ok(),
            Err(_) => false,
        }
    })
    .await;
}

/// Clicks the widget element matching `selector` once it exists (again, when the widget
/// redrew it between finding and clicking).
async fn click_widget(client: &Client, selector: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(element) = widget(client, selector).await {
            match element.click().await {
                Ok(()) => return,
                Err(fantoccini::error::CmdError::Standard(e))
                    if e.error == fantoccini::error::ErrorStatus::StaleElementReference => {}
                Err(other) => panic!("clicking {selector}: {other}"),
            }
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for widget element {selector}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn resolved_count(app: &TestApp, token: &str) -> usize {
    let list: Value = app
        .get("/api/v1/conversations?status=resolved")
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    list["conversations"].as_array().unwrap().len()
}

fn screenshot_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Saves what `client` shows as `target/screenshots/{name}.png`, to look at.
async fn save_screenshot(client: &Client, name: &str) {
    std::fs::write(
        screenshot_dir().join(format!("{name}.png")),
        client.screenshot().await.unwrap(),
    )
    .unwrap();
}

/// Logs an agent in through the login page (password of the test harness).
async fn log_in(client: &Client, app: &TestApp, email: &str) {
    client.goto(&format!("{}/login", app.url)).await.unwrap();
    client
        .wait()
        .for_element(Locator::Css("#email"))
        .await
        .unwrap()
        .send_keys(email)
        .await
        .unwrap();
    client
        .find(Locator::Css("#password"))
        .await
        .unwrap()
        .send_keys("password-123")
        .await
        .unwrap();
    client
        .find(Locator::Css("#login-form button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}

/// Logs in and waits for the inbox.
async fn log_in_to_inbox(client: &Client, app: &TestApp, email: &str) {
    log_in(client, app, email).await;
    client
        .wait()
        .for_element(Locator::Css("#conversation-list"))
        .await
        .unwrap();
}

/// Opens one admin area afresh (the page drawn from the API's current answers).
async fn open_area(client: &Client, app: &TestApp, area: &str) {
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
}

/// A shop's page that embeds the widget, served from another origin than Madoguchi.
async fn shop_site(app: &TestApp) -> String {
    shop_page(app, "").await
}

/// A shop's page whose widget tag carries `attributes` too (e.g. a signed-in customer's).
async fn shop_page(app: &TestApp, attributes: &str) -> String {
    let page = format!(
        "<!doctype html><html lang=\"ja\"><head><meta charset=\"utf-8\"><title>Shop</title></head>\
         <body><h1>窓口ショップ</h1><script src=\"{}/widget.js\" data-channel=\"{}\" {attributes} async></script></body></html>",
        app.url, app.channel_key
    );
    let router = axum::Router::new().route(
        "/",
        axum::routing::get(move || async move { axum::response::Html(page.clone()) }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await });
    url
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn widget_and_inbox_in_a_real_browser() {
    let Some(driver) = start_chromedriver().await else {
        return;
    };
    let app = TestApp::spawn(madoguchi_store::Backend::Sqlite)
        .await
        .unwrap();
    let workspace = app.workspace_id.clone();
    let admin = app
        .agent_in(&workspace, "tanaka@example.jp", Role::Admin)
        .await;
    let template = json!({"name": "お詫び", "body": "{{contact.name}}様、ご連絡ありがとうございます。担当の{{agent.name}}です。"});
    app.post("/api/v1/templates", &template)
        .bearer_auth(&admin.token)
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap();
    // A greeting, to see how automatic messages are labelled.
    let channels: Value = app
        .get("/api/v1/channels")
        .bearer_auth(&admin.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    app.http
        .put(format!(
            "{}/api/v1/channels/{}/automation",
            app.url,
            channels["channels"][0]["id"].as_str().unwrap()
        ))
        .bearer_auth(&admin.token)
        .json(&json!({"greeting": {"enabled": true, "ja": "いらっしゃいませ。", "en": "Welcome."}}))
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap();
    let shop = shop_site(&app).await;
    let profiles = std::env::temp_dir().join(format!("mdg-browser-{}", std::process::id()));

    // The agent logs in and keeps the inbox open.
    let agent = browser(&driver, &profiles.join("agent")).await;
    log_in(&agent, &app, "tanaka@example.jp").await;
    agent
        .wait()
        .for_element(Locator::Css("#conversation-list"))
        .await
        .unwrap();

    // The visitor opens the widget on the shop's page and writes in Japanese.
    let visitor = browser(&driver, &profiles.join("visitor")).await;
    visitor.goto(&shop).await.unwrap();
    click_widget(&visitor, "button.launcher").await;
    click_widget(&visitor, "button.new").await;
    let input = widget(&visitor, "textarea").await.unwrap();
    input
        .send_keys("注文した商品がまだ届きません。")
        .await
        .unwrap();
    widget(&visitor, "button.send")
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    eventually("the visitor's message is confirmed", || async {
        widget(&visitor, ".msg.contact[data-seq='1']")
            .await
            .is_some()
    })
    .await;
    // The greeting is labelled as automatic, never as a member of staff; the launcher's icon
    // is drawn (no emoji that shows as an empty box without an emoji font).
    eventually("the greeting, labelled automatic", || async {
        seen(&visitor, true, ".msg.system .who").await == ["自動メッセージ "]
    })
    .await;
    let launcher = visitor
        .execute(
            "const b = document.querySelector('#madoguchi-widget').shadowRoot.querySelector('button.launcher'); \
             return [!!b.querySelector('svg'), b.getAttribute('aria-expanded'), b.firstChild.nodeType];",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(launcher, json!([true, "true", 1]), "an SVG icon, expanded");
    assert!(
        !widget_text(&visitor).await.contains("メール・SMS"),
        "no e-mail/SMS offer on a server that cannot send either"
    );
    let token = visitor
        .execute(
            "return localStorage.getItem(arguments[0])",
            vec![json!(format!("mdg_visitor_{}", app.channel_key))],
        )
        .await
        .unwrap();
    let token = token.as_str().unwrap().to_owned();
    app.patch("/widget/v1/contact", &json!({"name": "山田"}))
        .header("x-visitor-token", &token)
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap();

    // It arrives live in the agent's inbox.
    eventually("the conversation appears in the inbox", || async {
        let rows = rows(&agent, "#conversation-list .item").await;
        rows.len() == 1 && rows[0].contains("対応中")
    })
    .await;
    agent
        .find(Locator::Css("#conversation-list .item"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    eventually("the message shows in the conversation", || async {
        page_text(&agent, "#messages")
            .await
            .contains("注文した商品がまだ届きません。")
    })
    .await;
    let labels = rows(&agent, "#messages .msg.system .who").await;
    assert!(
        labels.len() == 1 && labels[0].starts_with("自動メッセージ · "),
        "the greeting is labelled in words, not by its sender kind: {labels:?}"
    );

    // Reply with the template through the "/" shortcut, then add a private note.
    let reply = agent.find(Locator::Css("#reply")).await.unwrap();
    reply.send_keys("/お詫び").await.unwrap();
    agent
        .wait()
        .for_element(Locator::Css("#templates button[data-name='お詫び']"))
        .await
        .unwrap();
    reply
        .send_keys(&char::from(Key::Enter).to_string())
        .await
        .unwrap();
    let rendered = reply.prop("value").await.unwrap().unwrap_or_default();
    assert_eq!(
        rendered,
        "山田様、ご連絡ありがとうございます。担当のテスト担当です。"
    );
    agent
        .find(Locator::Css("#send"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    eventually("the reply shows in the inbox", || async {
        page_text(&agent, "#messages .msg.agent")
            .await
            .contains("担当のテスト担当です")
    })
    .await;
    agent
        .find(Locator::Css("#mode-note"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    reply.send_keys("社内メモ: 配送業者に確認中").await.unwrap();
    agent
        .find(Locator::Css("#send"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    eventually("the note shows in the inbox", || async {
        page_text(&agent, "#messages .msg.note")
            .await
            .contains("配送業者に確認中")
    })
    .await;

    // The visitor sees the reply live, never the note.
    eventually("the reply reaches the widget", || async {
        widget_text(&visitor).await.contains("担当のテスト担当です")
    })
    .await;

    // Markup in messages is shown as text in both UIs.
    let input = widget(&visitor, "textarea").await.unwrap();
    input.send_keys(XSS).await.unwrap();
    widget(&visitor, "button.send")
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    eventually("the markup arrives in the inbox as text", || async {
        page_text(&agent, "#messages").await.contains(XSS)
    })
    .await;
    let images = agent
        .execute(
            "return document.querySelectorAll('#messages img').length",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(images, json!(0));
    agent
        .find(Locator::Css("#mode-reply"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let reply = agent.find(Locator::Css("#reply")).await.unwrap();
    reply.send_keys(XSS).await.unwrap();
    agent
        .find(Locator::Css("#send"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    eventually("the markup reaches the widget as text", || async {
        widget_text(&visitor).await.matches(XSS).count() >= 2
    })
    .await;
    // This reply was sent after the note: had the note leaked, it would be there by now.
    let dom = visitor
        .execute(
            "return document.querySelector('#madoguchi-widget').shadowRoot.textContent",
            vec![],
        )
        .await
        .unwrap();
    assert!(
        !dom.as_str().unwrap().contains("配送業者"),
        "a private note reached the visitor"
    );
    let images = visitor
        .execute("return document.querySelector('#madoguchi-widget').shadowRoot.querySelectorAll('img').length", vec![])
        .await
        .unwrap();
    assert_eq!(images, json!(0));
    std::fs::write(
        screenshot_dir().join("widget.png"),
        visitor.screenshot().await.unwrap(),
    )
    .unwrap();
    std::fs::write(
        screenshot_dir().join("inbox.png"),
        agent.screenshot().await.unwrap(),
    )
    .unwrap();

    // The visitor comes back later: the history is there.
    visitor.refresh().await.unwrap();
    click_widget(&visitor, "button.launcher").await;
    click_widget(&visitor, "button.conv").await;
    eventually("the latest reply after a reload", || async {
        widget_text(&visitor).await.matches(XSS).count() >= 2
    })
    .await;
    eventually("the history after a reload, scrolled back", || async {
        scroll_to(&visitor, true, ".msg[data-seq='1']").await;
        let text = widget_text(&visitor).await;
        text.contains("注文した商品がまだ届きません。") && text.contains("担当のテスト担当です")
    })
    .await;
    assert!(!widget_text(&visitor).await.contains("配送業者"));

    // The agent resolves the conversation from the keyboard.
    agent
        .find(Locator::Css("body"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    agent
        .execute("document.activeElement.blur()", vec![])
        .await
        .unwrap();
    agent
        .find(Locator::Css("body"))
        .await
        .unwrap()
        .send_keys("e")
        .await
        .unwrap();
    eventually("the conversation is resolved", || async {
        resolved_count(&app, &admin.token).await == 1
    })
    .await;

    // Pages forbid inline scripts.
    let inbox = app.get("/inbox").send().await.unwrap();
    let csp = inbox.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
        "{csp}"
    );

    agent.close().await.unwrap();
    visitor.close().await.unwrap();
    std::fs::remove_dir_all(&profiles).ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bot_answers_in_the_widget_and_hands_over_to_the_inbox() {
    let Some(driver) = start_chromedriver().await else {
        return;
    };
    let app = TestApp::spawn(madoguchi_store::Backend::Sqlite)
        .await
        .unwrap();
    let workspace = app.workspace_id.clone();
    let admin = app.agent_in(&workspace, "kb@example.jp", Role::Admin).await;
    for (title, body) in [
        (
            "返品・交換について",
            "商品到着から7日以内でしたら、マイページの注文履歴から返品を申し込めます。",
        ),
        (
            "送料はいくらですか",
            "全国一律500円です。5,000円以上のご注文で送料無料になります。",
        ),
    ] {
        let article = json!({"title": title, "body": body, "status": "published"});
        app.post("/api/v1/articles", &article)
            .bearer_auth(&admin.token)
            .send()
            .await
            .unwrap()
            .error_for_status()
            .unwrap();
    }
    let channels: Value = app
        .get("/api/v1/channels")
        .bearer_auth(&admin.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let scenario = json!({"nodes": [
        {"id": "root", "text_ja": "ご用件をお選びください", "choices": [{"label_ja": "注文について", "next": "orders"}]},
        {"id": "orders", "text_ja": "ご質問をご入力ください。記事からお答えします。"}
    ]});
    app.http
        .put(format!(
            "{}/api/v1/channels/{}/scenario",
            app.url,
            channels["channels"][0]["id"].as_str().unwrap()
        ))
        .bearer_auth(&admin.token)
        .json(&scenario)
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap();
    let shop = shop_site(&app).await;
    let profiles = std::env::temp_dir().join(format!("mdg-bot-{}", std::process::id()));
    let visitor = browser(&driver, &profiles.join("visitor")).await;
    visitor.goto(&shop).await.unwrap();
    click_widget(&visitor, "button.launcher").await;
    click_widget(&visitor, "button.new").await;
    eventually("the scenario's first question", || async {
        widget_text(&visitor)
            .await
            .contains("ご用件をお選びください")
    })
    .await;
    click_widget(&visitor, "button.choice[data-next='orders']").await;
    eventually("the chosen branch", || async {
        widget_text(&visitor).await.contains("記事からお答えします")
    })
    .await;
    widget(&visitor, "textarea")
        .await
        .unwrap()
        .send_keys("返品したいのですが、どうすればいいですか")
        .await
        .unwrap();
    widget(&visitor, "button.send")
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    eventually("the bot shows the right article", || async {
        let text = widget_text(&visitor).await;
        text.contains("返品・交換について") && text.contains("解決しましたか？")
    })
    .await;
    std::fs::write(
        screenshot_dir().join("bot.png"),
        visitor.screenshot().await.unwrap(),
    )
    .unwrap();
    click_widget(&visitor, "button.choice[data-value='no']").await;
    eventually("the bot hands over", || async {
        widget_text(&visitor)
            .await
            .contains("担当者におつなぎします")
    })
    .await;

    // Handed over: the bot stays out of what the visitor writes next.
    widget(&visitor, "textarea")
        .await
        .unwrap()
        .send_keys("送料はいくらですか")
        .await
        .unwrap();
    widget(&visitor, "button.send")
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    // Confirmed by the server (a bubble with its seq): any bot answer was written before that.
    eventually("the follow-up question is confirmed", || async {
        let confirmed = visitor
            .execute(
                "return document.querySelector('#madoguchi-widget').shadowRoot.querySelectorAll('.msg.contact[data-seq]').length",
                vec![],
            )
            .await
            .unwrap();
        confirmed == json!(2)
    })
    .await;
    let conversations: Value = app
        .get("/api/v1/conversations")
        .bearer_auth(&admin.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = conversations["conversations"][0]["id"].as_str().unwrap();
    let messages: Value = app
        .get(&format!("/api/v1/conversations/{id}/messages"))
        .bearer_auth(&admin.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let kinds: Vec<&str> = messages["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["sender_kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds.last(),
        Some(&"contact"),
        "no bot answer after the hand-over: {kinds:?}"
    );

    // After a reload the answered 「はい／いいえ」 stay answered: no buttons come back.
    visitor.refresh().await.unwrap();
    click_widget(&visitor, "button.launcher").await;
    click_widget(&visitor, "button.conv").await;
    eventually("the bot's answer after a reload", || async {
        widget_text(&visitor).await.contains("解決しましたか？")
    })
    .await;
    assert!(
        widget(&visitor, "button.choice[data-value='yes']")
            .await
            .is_none(),
        "the answered buttons came back"
    );

    // The conversation now waits for a person in the inbox.
    let agent = browser(&driver, &profiles.join("agent")).await;
    log_in(&agent, &app, "kb@example.jp").await;
    eventually(
        "the handed-over conversation is in the open list",
        || async {
            let rows = rows(&agent, "#conversation-list .item").await;
            rows.len() == 1 && rows[0].contains("対応中")
        },
    )
    .await;
    agent
        .find(Locator::Css("#conversation-list .item"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    eventually(
        "the agent sees the question and the bot's answer",
        || async {
            let text = page_text(&agent, "#messages").await;
            text.contains("返品したいのですが") && text.contains("担当者におつなぎします")
        },
    )
    .await;
    let turns: Value = app
        .get("/api/v1/bot/turns")
        .bearer_auth(&admin.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(turns["turns"][0]["outcome"], "not_resolved");
    agent.close().await.unwrap();
    visitor.close().await.unwrap();
    std::fs::remove_dir_all(&profiles).ok();
}

/// A long conversation on a 1366×768 laptop: the page itself does not scroll, the newest
/// message is in view and the reply box with its 送信 button stays on screen.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_conversation_keeps_the_reply_box_and_newest_message_in_view() {
    let Some(driver) = start_chromedriver().await else {
        return;
    };
    let app = TestApp::spawn(madoguchi_store::Backend::Sqlite)
        .await
        .unwrap();
    let workspace = app.workspace_id.clone();
    let admin = app
        .agent_in(&workspace, "long@example.jp", Role::Admin)
        .await;
    let visitor = app.visitor().await;
    let conversation = app.start(&visitor, "最初の質問です").await;
    for n in 1..60 {
        app.reply(&admin, &conversation, &format!("返信その{n}"), false)
            .await;
    }
    let profiles = std::env::temp_dir().join(format!("mdg-long-{}", std::process::id()));
    let agent = browser(&driver, &profiles.join("agent")).await;
    agent.set_window_size(1366, 768).await.unwrap();
    log_in(&agent, &app, "long@example.jp").await;
    eventually("the conversation in the list", || async {
        rows(&agent, "#conversation-list .item").await.len() == 1
    })
    .await;
    agent
        .find(Locator::Css("#conversation-list .item"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    eventually("the newest message, in view", || async {
        page_text(&agent, "#messages").await.contains("返信その59")
    })
    .await;
    assert!(
        !page_text(&agent, "#messages")
            .await
            .contains("最初の質問です"),
        "the oldest message is scrolled away, not squeezed in"
    );
    assert_eq!(
        rows(&agent, "#send").await,
        ["送信 "],
        "the send button is on screen"
    );
    let scrolls = agent
        .execute(
            "return document.scrollingElement.scrollHeight > window.innerHeight + 1",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(scrolls, json!(false), "only the message pane scrolls");
    std::fs::write(
        screenshot_dir().join("inbox-long-1366x768.png"),
        agent.screenshot().await.unwrap(),
    )
    .unwrap();
    agent.close().await.unwrap();
    std::fs::remove_dir_all(&profiles).ok();
}

/// Switching quickly between two customers' conversations: every customer message is labelled
/// with its own conversation's customer, never the previous one's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn customer_names_follow_their_conversation() {
    let Some(driver) = start_chromedriver().await else {
        return;
    };
    let app = TestApp::spawn(madoguchi_store::Backend::Sqlite)
        .await
        .unwrap();
    let workspace = app.workspace_id.clone();
    app.agent_in(&workspace, "names@example.jp", Role::Admin)
        .await;
    for (name, text) in [
        ("山田 花子", "山田です。注文の件で"),
        ("佐藤 一郎", "佐藤です。返品の件で"),
    ] {
        let visitor = app.visitor().await;
        app.patch("/widget/v1/contact", &json!({ "name": name }))
            .header("x-visitor-token", &visitor.token)
            .send()
            .await
            .unwrap()
            .error_for_status()
            .unwrap();
        app.start(&visitor, text).await;
    }
    let profiles = std::env::temp_dir().join(format!("mdg-names-{}", std::process::id()));
    let agent = browser(&driver, &profiles.join("agent")).await;
    log_in(&agent, &app, "names@example.jp").await;
    eventually("both conversations listed", || async {
        rows(&agent, "#conversation-list .item").await.len() == 2
    })
    .await;
    // Each row names its customer, counts the unread message and shows the newest one.
    let mut listed = rows(&agent, "#conversation-list .item").await;
    listed.sort();
    assert!(
        listed[0].starts_with("佐藤 一郎 1 佐藤です。返品の件で")
            && listed[1].starts_with("山田 花子 1 山田です。注文の件で"),
        "{listed:?}"
    );
    for _ in 0..3 {
        // Open one and, before it has loaded, the other.
        agent
            .execute(
                "const items = document.querySelectorAll('#conversation-list .item'); items[0].click(); items[1].click();",
                vec![],
            )
            .await
            .unwrap();
        eventually("the second conversation is shown", || async {
            rows(&agent, "#messages .msg.contact").await.len() == 1
        })
        .await;
        let shown = rows(&agent, "#messages .msg.contact").await.concat();
        let name = if shown.contains("山田です") {
            "山田 花子"
        } else {
            "佐藤 一郎"
        };
        assert!(
            shown.starts_with(name),
            "the message is labelled with its own customer: {shown}"
        );
    }
    agent.close().await.unwrap();
    std::fs::remove_dir_all(&profiles).ok();
}

/// On a phone (390×844) the open widget fills the screen, its input is 16 px (no iOS zoom),
/// the list screen shows no message box, and the launcher does not cover the send button.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_widget_fills_a_phone_screen() {
    let Some(driver) = start_chromedriver().await else {
        return;
    };
    let app = TestApp::spawn(madoguchi_store::Backend::Sqlite)
        .await
        .unwrap();
    let shop = shop_site(&app).await;
    let profiles = std::env::temp_dir().join(format!("mdg-phone-{}", std::process::id()));
    let visitor = browser(&driver, &profiles.join("visitor")).await;
    visitor.set_window_size(390, 844).await.unwrap();
    visitor.goto(&shop).await.unwrap();
    click_widget(&visitor, "button.launcher").await;
    eventually("the conversation list", || async {
        widget(&visitor, "button.new").await.is_some()
    })
    .await;
    assert!(
        seen(&visitor, true, "form.composer")
            .await
            .concat()
            .trim()
            .is_empty(),
        "no message box on the list screen"
    );
    click_widget(&visitor, "button.new").await;
    let layout = visitor
        .execute(
            "const r = document.querySelector('#madoguchi-widget').shadowRoot; \
             const p = r.querySelector('.panel').getBoundingClientRect(); \
             const t = r.querySelector('textarea'); \
             return [Math.round(p.left), Math.round(p.top), Math.round(p.width) === innerWidth, Math.round(p.height) === innerHeight, getComputedStyle(t).fontSize];",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(layout, json!([0, 0, true, true, "16px"]), "full screen");
    assert_eq!(
        seen(&visitor, true, "button.send").await,
        ["送信 "],
        "the send button is visible, not under the launcher"
    );
    std::fs::write(
        screenshot_dir().join("widget-phone-390x844.png"),
        visitor.screenshot().await.unwrap(),
    )
    .unwrap();
    visitor.close().await.unwrap();
    std::fs::remove_dir_all(&profiles).ok();
}
