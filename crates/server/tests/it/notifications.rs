//! Reply notifications to visitors who left: e-mail through a real SMTP server (Python's
//! aiosmtpd), SMS through a local HTTP receiver, retries, unsubscribing, and a SIGKILL between
//! enqueue and send.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use madoguchi_core::agent::Role;
use madoguchi_server::app::settings::Settings;
use madoguchi_store::testing::TestDatabase;
use madoguchi_store::Backend;
use serde_json::{json, Value};

use crate::support::{start_server, TestApp};

/// A real SMTP server that stores each message as a file in `dir/new`.
pub(crate) struct SmtpServer {
    child: Child,
    pub(crate) port: u16,
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub(crate) async fn start_smtp(dir: &Path) -> Option<SmtpServer> {
    let available = Command::new("python3")
        .args(["-c", "import aiosmtpd"])
        .status()
        .is_ok_and(|s| s.success());
    if !available {
        madoguchi_store::testing::skip(
            "python3 -m aiosmtpd is not installed (pip install aiosmtpd)",
        );
        return None;
    }
    let port = free_port();
    let child = Command::new("python3")
        .args([
            "-m",
            "aiosmtpd",
            "-n",
            "-l",
            &format!("127.0.0.1:{port}"),
            "-c",
            "aiosmtpd.handlers.Mailbox",
        ])
        .arg(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_err()
    {
        assert!(Instant::now() < deadline, "aiosmtpd did not start");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Some(SmtpServer { child, port })
}

/// The raw messages the SMTP server received so far.
pub(crate) fn mailbox(dir: &Path) -> Vec<Vec<u8>> {
    let mut files: Vec<_> = std::fs::read_dir(dir.join("new"))
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    files.sort();
    files.iter().map(|f| std::fs::read(f).unwrap()).collect()
}

/// One POST the SMS receiver got: its `Authorization` header and form fields.
type SmsRequest = (Option<String>, Vec<(String, String)>);

/// A fake-free SMS provider: a local HTTP endpoint that records each form POST and answers
/// with the next status of `script` (then 200).
#[derive(Clone, Default)]
struct SmsReceiver {
    received: Arc<Mutex<Vec<SmsRequest>>>,
    script: Arc<Mutex<Vec<u16>>>,
    /// How long each answer takes (a slow provider).
    delay_ms: Arc<std::sync::atomic::AtomicU64>,
}

async fn receive(
    State(receiver): State<SmsReceiver>,
    headers: HeaderMap,
    body: String,
) -> StatusCode {
    let form: Vec<(String, String)> = url::form_urlencoded::parse(body.as_bytes())
        .into_owned()
        .collect();
    let auth = headers
        .get("authorization")
        .map(|v| v.to_str().unwrap().to_owned());
    receiver.received.lock().unwrap().push((auth, form));
    let status = {
        let mut script = receiver.script.lock().unwrap();
        if script.is_empty() {
            200
        } else {
            script.remove(0)
        }
    };
    let delay = receiver.delay_ms.load(std::sync::atomic::Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(delay)).await;
    StatusCode::from_u16(status).unwrap()
}

async fn start_sms(script: Vec<u16>) -> (String, SmsReceiver) {
    let receiver = SmsReceiver {
        script: Arc::new(Mutex::new(script)),
        ..Default::default()
    };
    let router = axum::Router::new()
        .route("/sms", axum::routing::post(receive))
        .with_state(receiver.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/sms", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await });
    (url, receiver)
}

pub(crate) fn text_of(raw: &[u8]) -> (String, String) {
    let message = mail_parser::MessageParser::default().parse(raw).unwrap();
    (
        message.subject().unwrap_or_default().to_owned(),
        message.body_text(0).unwrap_or_default().into_owned(),
    )
}

pub(crate) fn link_in(body: &str, path: &str) -> String {
    body.split_whitespace()
        .find(|w| w.contains(path))
        .unwrap_or_else(|| panic!("no {path} link in {body}"))
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replies_reach_a_visitor_who_left_by_email() {
    let maildir = std::env::temp_dir().join(format!("mdg-mail-{}", madoguchi_store::new_id()));
    let Some(smtp) = start_smtp(&maildir).await else {
        return;
    };
    let mut settings = Settings::default();
    settings.smtp.url = Some(format!("smtp://127.0.0.1:{}", smtp.port));
    settings.smtp.from = "窓口サポート <support@shop.example>".into();
    let app = TestApp::spawn_with(Backend::Sqlite, settings)
        .await
        .unwrap();
    let agent = app.agent("staff@example.jp").await;
    let visitor = app.visitor().await;
    let conversation = app.start(&visitor, "配送状況を教えてください").await;
    app.patch(
        "/widget/v1/contact",
        &json!({"name": "山田 花子", "email": "hanako@example.jp"}),
    )
    .header("x-visitor-token", &visitor.token)
    .send()
    .await
    .unwrap()
    .error_for_status()
    .unwrap();

    // Two replies within the window go out as one e-mail.
    app.reply(
        &agent,
        &conversation,
        "ご注文の商品は本日発送いたしました。",
        false,
    )
    .await;
    app.reply(&agent, &conversation, "社内メモ", true).await;
    app.clock.advance_secs(20);
    app.reply(&agent, &conversation, "追跡番号は 1234-5678 です。", false)
        .await;
    app.clock.advance_secs(39);
    app.run_jobs().await;
    let early = mailbox(&maildir);
    assert!(
        early.is_empty(),
        "not before the window ends: {:?}",
        early.iter().map(|m| text_of(m)).collect::<Vec<_>>()
    );
    app.clock.advance_secs(2);
    app.run_jobs().await;
    let mails = mailbox(&maildir);
    assert_eq!(mails.len(), 1);
    let (subject, body) = text_of(&mails[0]);
    assert_eq!(subject, "【Default】お問い合わせへの返信があります");
    assert!(
        body.contains("ご注文の商品は本日発送いたしました。")
            && body.contains("追跡番号は 1234-5678 です。"),
        "{body}"
    );
    assert!(!body.contains("社内メモ"), "notes never leave the inbox");
    let raw = String::from_utf8_lossy(&mails[0]);
    assert!(
        raw.contains("hanako@example.jp") && raw.contains("=?utf-8?"),
        "Japanese headers are encoded: {raw}"
    );

    // The link reopens the conversation for this browser.
    let link = link_in(&body, "/widget/v1/resume");
    let no_redirect = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let opened = no_redirect.get(&link).send().await.unwrap();
    assert_eq!(opened.status(), StatusCode::SEE_OTHER);
    let cookie = opened.headers()["set-cookie"].to_str().unwrap().to_owned();
    let token = cookie
        .split(';')
        .next()
        .unwrap()
        .split_once('=')
        .unwrap()
        .1
        .to_owned();
    let location = opened.headers()["location"].to_str().unwrap().to_owned();
    assert!(location.starts_with(&format!(
        "/chat/{}?conversation={conversation}",
        app.channel_key
    )));
    let list: Value = app
        .get("/widget/v1/conversations")
        .header("x-visitor-token", &token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list["conversations"][0]["id"], conversation.as_str());
    let page = app.get(&location).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.text().await.unwrap().contains("data-open=\"auto\""));
    // Opened again (a mail scanner, another tab): the same token, no new identity.
    let identities = || async {
        app.store
            .count_unchecked("SELECT COUNT(*) FROM contact_identities WHERE kind = 'visitor'")
            .await
            .unwrap()
    };
    let before = identities().await;
    let again = no_redirect.get(&link).send().await.unwrap();
    assert_eq!(again.status(), StatusCode::SEE_OTHER);
    assert_eq!(again.headers()["set-cookie"].to_str().unwrap(), cookie);
    assert_eq!(identities().await, before, "a replay mints nothing");
    let forged = link.replace("expires=", "expires=9");
    assert_eq!(
        no_redirect.get(&forged).send().await.unwrap().status(),
        StatusCode::FORBIDDEN
    );
    app.clock.advance_secs(31 * 24 * 3600);
    assert_eq!(
        no_redirect.get(&link).send().await.unwrap().status(),
        StatusCode::FORBIDDEN,
        "expired"
    );
    // A month later the agent's session has expired as well: they log in again.
    let agent = app
        .login("staff@example.jp", "password-123", &agent.id)
        .await;

    // A visitor who is on the page sees replies live: no e-mail.
    let ws = app.visitor_ws(&visitor, "").await;
    app.reply(&agent, &conversation, "ライブで見えています", false)
        .await;
    app.clock.advance_secs(61);
    app.run_jobs().await;
    assert_eq!(mailbox(&maildir).len(), 1);
    drop(ws);
    let deadline = Instant::now() + Duration::from_secs(10);
    while app
        .state
        .hub
        .is_visitor_online(&app.contact_of(&visitor).await)
        .await
    {
        assert!(
            Instant::now() < deadline,
            "the closed widget still counts as online"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // Gone again: the next reply is mailed (the control for the unsubscribe below).
    app.reply(&agent, &conversation, "ページを離れた後の返信", false)
        .await;
    app.clock.advance_secs(61);
    app.run_jobs().await;
    let mails = mailbox(&maildir);
    assert_eq!(mails.len(), 2, "a visitor who left gets mail again");
    // (Maildir file names do not sort by arrival: look at every mail.)
    assert!(mails
        .iter()
        .any(|m| text_of(m).1.contains("ページを離れた後の返信")));

    // The mail offers one-click unsubscribing (RFC 8058) to mail clients.
    let raw = String::from_utf8_lossy(&mails[1]).replace("\r\n ", " ");
    let unsubscribe = link_in(&body, "/widget/v1/unsubscribe");
    assert!(
        raw.contains(&format!("List-Unsubscribe: <{unsubscribe}>"))
            && raw.contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click"),
        "{raw}"
    );
    // A tampered link is refused; opening the real one (as a mail scanner would) only asks.
    let tampered = unsubscribe.replace("signature=", "signature=0");
    assert_eq!(
        reqwest::get(&tampered).await.unwrap().status(),
        StatusCode::FORBIDDEN
    );
    let http = reqwest::Client::new();
    assert_eq!(
        http.post(&tampered).send().await.unwrap().status(),
        StatusCode::FORBIDDEN
    );
    let page = reqwest::get(&unsubscribe).await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let page = page.text().await.unwrap();
    assert!(
        page.contains("停止しますか") && page.contains("<form method=\"post\">"),
        "{page}"
    );
    app.reply(&agent, &conversation, "改ざんリンクの後の返信", false)
        .await;
    app.clock.advance_secs(61);
    app.run_jobs().await;
    assert_eq!(mailbox(&maildir).len(), 3, "still subscribed");

    // Unsubscribing (the one-click POST a mail client sends) stops the e-mails.
    let done = http
        .post(&unsubscribe)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("List-Unsubscribe=One-Click")
        .send()
        .await
        .unwrap();
    assert_eq!(done.status(), StatusCode::OK);
    assert!(done.text().await.unwrap().contains("配信を停止しました"));
    app.reply(&agent, &conversation, "配信停止後の返信", false)
        .await;
    app.clock.advance_secs(61);
    assert!(app.run_jobs().await > 0, "the notification job ran");
    assert_eq!(mailbox(&maildir).len(), 3, "no mail after unsubscribing");
    drop(smtp);
    std::fs::remove_dir_all(&maildir).ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sms_provider_failures_are_retried_with_backoff() {
    let (url, receiver) = start_sms(vec![500, 503]).await;
    let mut settings = Settings::default();
    settings.sms.url = Some(url);
    settings.sms.from = "+81300000000".into();
    settings.sms.user = Some("account".into());
    settings.sms.password = Some("secret".into());
    let app = TestApp::spawn_with(Backend::Sqlite, settings)
        .await
        .unwrap();
    let workspace = app.workspace_id.clone();
    let admin = app
        .agent_in(&workspace, "admin@example.jp", Role::Admin)
        .await;
    let channels: Value = app
        .get("/api/v1/channels")
        .bearer_auth(&admin.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let path = format!(
        "{}/api/v1/channels/{}/automation",
        app.url,
        channels["channels"][0]["id"].as_str().unwrap()
    );
    let sms_only = json!({"notify_email": false, "notify_sms": true, "notify_after_secs": 30});
    app.http
        .put(&path)
        .bearer_auth(&admin.token)
        .json(&sms_only)
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap();

    let visitor = app.visitor().await;
    let conversation = app.start(&visitor, "電話番号で連絡ください").await;
    app.patch("/widget/v1/contact", &json!({"phone": "090-1234-5678"}))
        .header("x-visitor-token", &visitor.token)
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap();
    app.reply(
        &admin,
        &conversation,
        "承知しました。明日お電話します。",
        false,
    )
    .await;
    app.clock.advance_secs(31);
    app.run_jobs().await;
    assert_eq!(receiver.received.lock().unwrap().len(), 1, "first try: 500");
    app.run_jobs().await;
    assert_eq!(
        receiver.received.lock().unwrap().len(),
        1,
        "the retry waits for its backoff"
    );
    app.clock.advance_secs(5);
    app.run_jobs().await;
    assert_eq!(
        receiver.received.lock().unwrap().len(),
        2,
        "second try after 5 s: 503"
    );
    app.clock.advance_secs(9);
    app.run_jobs().await;
    assert_eq!(
        receiver.received.lock().unwrap().len(),
        2,
        "backoff doubled to 10 s"
    );
    app.clock.advance_secs(1);
    app.run_jobs().await;
    app.clock.advance_secs(3600);
    app.run_jobs().await;
    let received = receiver.received.lock().unwrap().clone();
    assert_eq!(
        received.len(),
        3,
        "delivered on the third try, and only once"
    );
    let (auth, form) = &received[2];
    assert_eq!(auth.as_deref(), Some("Basic YWNjb3VudDpzZWNyZXQ="));
    let field = |name: &str| {
        form.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap()
    };
    assert_eq!(field("To"), "09012345678");
    assert_eq!(field("From"), "+81300000000");
    assert!(
        field("Body").contains("承知しました。明日お電話します。")
            && field("Body").contains("/widget/v1/resume?"),
        "{}",
        field("Body")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_notification_enqueued_before_a_sigkill_is_sent_once_after_restart() {
    let (sms_url, receiver) = start_sms(vec![]).await;
    let db = TestDatabase::create(Backend::Sqlite).await.unwrap();
    let env = [
        ("MADOGUCHI_SMS__URL", sms_url.as_str()),
        ("MADOGUCHI_SMS__FROM", "+81300000000"),
    ];
    let mut server = server_with_a_reply_to_notify(&db, &env, 3).await;
    server.child.start_kill().unwrap(); // the job is enqueued, due in 3 s: nothing sent yet
    server.child.wait().await.unwrap();
    assert!(receiver.received.lock().unwrap().is_empty());

    let _restarted = start_server(&db, &env).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    while receiver.received.lock().unwrap().is_empty() {
        assert!(Instant::now() < deadline, "the notification was lost");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Once the job is marked done it can never run again: then count what was sent.
    let store = db.store().await;
    while !store.pending_jobs().await.unwrap().is_empty() {
        assert!(
            Instant::now() < deadline,
            "the notification job never finished"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        receiver.received.lock().unwrap().len(),
        1,
        "sent exactly once"
    );
}

/// SIGTERM while a notification is being sent: the server finishes that job and records it
/// before it closes the store, so it is neither lost nor sent again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_waits_for_the_job_in_hand() {
    let (sms_url, receiver) = start_sms(vec![]).await;
    receiver
        .delay_ms
        .store(3_000, std::sync::atomic::Ordering::SeqCst);
    let db = TestDatabase::create(Backend::Sqlite).await.unwrap();
    let env = [
        ("MADOGUCHI_SMS__URL", sms_url.as_str()),
        ("MADOGUCHI_SMS__FROM", "+81300000000"),
    ];
    let mut server = server_with_a_reply_to_notify(&db, &env, 1).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    while receiver.received.lock().unwrap().is_empty() {
        assert!(Instant::now() < deadline, "the notification never started");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // The provider holds its answer for 3 s: the job is in hand now.
    let pid = server.child.id().unwrap().to_string();
    let term = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(term.success());
    let exited = tokio::time::timeout(Duration::from_secs(30), server.child.wait())
        .await
        .expect("the server did not stop")
        .unwrap();
    assert!(exited.success(), "{exited}");
    let store = db.store().await;
    assert_eq!(
        store.pending_jobs().await.unwrap(),
        vec![],
        "the job in hand was finished and recorded"
    );
    assert_eq!(receiver.received.lock().unwrap().len(), 1);
}

/// `madoguchi serve` on `db` with an admin, SMS notifications after `after_secs`, and a
/// visitor with a phone number who has just got a reply: its notification job is queued.
async fn server_with_a_reply_to_notify(
    db: &TestDatabase,
    env: &[(&str, &str)],
    after_secs: u32,
) -> crate::support::Server {
    let server = start_server(db, env).await;
    let channel_key = server.channel_key.clone().unwrap();
    let created = Command::new(env!("CARGO_BIN_EXE_madoguchi"))
        .args([
            "agent",
            "create",
            "--email",
            "ops@example.jp",
            "--password",
            "password-123",
            "--role",
            "admin",
            "--data-dir",
        ])
        .arg(db.dir())
        .output()
        .unwrap();
    assert!(
        created.status.success(),
        "{}",
        String::from_utf8_lossy(&created.stderr)
    );
    let http = reqwest::Client::new();
    let login: Value = http
        .post(format!("{}/api/v1/auth/login", server.url))
        .json(&json!({"email": "ops@example.jp", "password": "password-123"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = login["token"].as_str().unwrap().to_owned();
    let channels: Value = http
        .get(format!("{}/api/v1/channels", server.url))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let automation = format!(
        "{}/api/v1/channels/{}/automation",
        server.url,
        channels["channels"][0]["id"].as_str().unwrap()
    );
    let settings =
        json!({"notify_email": false, "notify_sms": true, "notify_after_secs": after_secs});
    http.put(&automation)
        .bearer_auth(&token)
        .json(&settings)
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap();

    let session: Value = http
        .post(format!("{}/widget/v1/session", server.url))
        .json(&json!({"channel_key": channel_key}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let visitor = session["visitor_token"].as_str().unwrap().to_owned();
    let started: Value = http
        .post(format!("{}/widget/v1/conversations", server.url))
        .header("x-visitor-token", &visitor)
        .json(&json!({"body": "折り返しお願いします"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let conversation = started["conversation"]["id"].as_str().unwrap().to_owned();
    http.patch(format!("{}/widget/v1/contact", server.url))
        .header("x-visitor-token", &visitor)
        .json(&json!({"phone": "09012345678"}))
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap();
    http.post(format!(
        "{}/api/v1/conversations/{conversation}/messages",
        server.url
    ))
    .bearer_auth(&token)
    .json(&json!({"body": "お電話いたします"}))
    .send()
    .await
    .unwrap()
    .error_for_status()
    .unwrap();
    server
}

/// Replies are promised only when they can be delivered: without SMTP or SMS nothing is offered
/// or planned; with SMTP but no address from the customer, the agents are told on the
/// conversation (a note the visitor never sees).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notifications_are_offered_only_when_they_can_be_delivered() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let config: Value = app
        .get(&format!("/widget/v1/channels/{}", app.channel_key))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(config["notify"], json!({"email": false, "sms": false}));
    let agent = app.agent("staff@example.jp").await;
    let visitor = app.visitor().await;
    let conversation = app.start(&visitor, "返信はどこに届きますか").await;
    app.reply(&agent, &conversation, "こちらでお答えします", false)
        .await;
    let kinds: Vec<String> = app
        .store
        .pending_jobs()
        .await
        .unwrap()
        .into_iter()
        .map(|j| j.kind)
        .collect();
    assert!(
        !kinds.iter().any(|k| k == "notify.reply"),
        "no notification planned that cannot be sent: {kinds:?}"
    );

    let maildir = std::env::temp_dir().join(format!("mdg-mail-{}", madoguchi_store::new_id()));
    let Some(smtp) = start_smtp(&maildir).await else {
        return;
    };
    let mut settings = Settings::default();
    settings.smtp.url = Some(format!("smtp://127.0.0.1:{}", smtp.port));
    let app = TestApp::spawn_with(Backend::Sqlite, settings)
        .await
        .unwrap();
    let config: Value = app
        .get(&format!("/widget/v1/channels/{}", app.channel_key))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(config["notify"], json!({"email": true, "sms": false}));
    let agent = app.agent("staff@example.jp").await;
    let visitor = app.visitor().await;
    let conversation = app.start(&visitor, "メールは登録していません").await;
    app.reply(&agent, &conversation, "承知しました", false)
        .await;
    app.clock.advance_secs(61);
    assert!(app.run_jobs().await > 0);
    assert!(mailbox(&maildir).is_empty());
    let inbox: Value = app
        .get(&format!("/api/v1/conversations/{conversation}/messages"))
        .bearer_auth(&agent.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let note = inbox["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["private"] == true && m["sender_kind"] == "system")
        .unwrap_or_else(|| panic!("no note for the agents: {inbox}"));
    assert!(note["body"]
        .as_str()
        .unwrap()
        .contains("通知できませんでした"));
    assert!(
        app.visitor_messages(&visitor, &conversation)
            .await
            .iter()
            .all(|m| m["sender_kind"] != "system"),
        "the visitor never sees it"
    );
    drop(smtp);
    std::fs::remove_dir_all(&maildir).ok();
}
