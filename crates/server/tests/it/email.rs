//! The e-mail channel end to end: mail arrives through the built-in SMTP receiver over TCP,
//! replies leave through a real SMTP server (aiosmtpd), and customers' answers thread back.

use std::sync::Arc;
use std::time::Duration;

use lettre::address::Envelope;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use madoguchi_core::agent::Role;
use madoguchi_server::app::settings::Settings;
use madoguchi_server::automation::mail_intake::Inbound;
use madoguchi_server::channels::email::receiver::{self, Bounds};
use madoguchi_store::Backend;
use serde_json::{json, Value};

use crate::notifications::{mailbox, start_smtp};
use crate::support::{Agent, TestApp};

const JAPANESE_MAIL: &[u8] = include_bytes!("../fixtures/mail/iso2022jp_pdf.eml");
const PHISHING_MAIL: &[u8] = include_bytes!("../fixtures/mail/phishing.eml");

/// Sends a raw mail to the receiver on `port` as a mail server would.
async fn deliver(port: u16, from: &str, to: &str, raw: &[u8]) -> Result<(), String> {
    let transport = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous("127.0.0.1")
        .port(port)
        .timeout(Some(Duration::from_secs(10)))
        .build();
    let envelope = Envelope::new(Some(from.parse().unwrap()), vec![to.parse().unwrap()]).unwrap();
    transport
        .send_raw(&envelope, raw)
        .await
        .map(|_| ())
        .map_err(|err| err.to_string())
}

/// Hands a mail for support@shop.example to the intake, as a mail source would.
async fn receive_for_support(app: &TestApp, raw: &[u8]) {
    madoguchi_server::automation::mail_intake::receive(
        &app.state,
        raw,
        &["support@shop.example".to_owned()],
    )
    .await
    .unwrap();
}

async fn start_receiver(app: &TestApp) -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let bounds = Bounds {
        max_message_bytes: 64 * 1024,
        read_timeout: Duration::from_secs(10),
    };
    tokio::spawn(receiver::serve(
        listener,
        Arc::new(Inbound(app.state.clone())),
        bounds,
    ));
    port
}

/// An admin of the app's workspace adds an e-mail channel: the API's answer.
async fn add_email_channel(
    app: &TestApp,
    admin: &Agent,
    name: &str,
    address: &str,
) -> reqwest::Response {
    app.post(
        "/api/v1/channels",
        &json!({"name": name, "kind": "email", "email_address": address}),
    )
    .bearer_auth(&admin.token)
    .send()
    .await
    .unwrap()
}

async fn conversations(app: &TestApp, agent: &Agent, status: &str) -> Vec<Value> {
    app.get_json(agent, &format!("/api/v1/conversations?status={status}"))
        .await["conversations"]
        .as_array()
        .unwrap()
        .clone()
}

async fn messages(app: &TestApp, agent: &Agent, conversation: &str) -> Vec<Value> {
    app.get_json(
        agent,
        &format!("/api/v1/conversations/{conversation}/messages"),
    )
    .await["messages"]
        .as_array()
        .unwrap()
        .clone()
}

fn header<'a>(raw: &'a str, name: &str) -> Option<&'a str> {
    raw.lines()
        .find(|l| {
            l.to_lowercase()
                .starts_with(&format!("{}:", name.to_lowercase()))
        })
        .map(|l| l[name.len() + 1..].trim())
}

/// A shop answering mail: the app sending through a real SMTP server (whose mailbox is
/// `maildir`), an admin, and an e-mail channel for `address`.
struct MailDesk {
    app: TestApp,
    admin: Agent,
    channel: Value,
    maildir: std::path::PathBuf,
    _smtp: crate::notifications::SmtpServer,
}

async fn mail_desk(backend: Backend, name: &str, address: &str) -> Option<MailDesk> {
    let maildir = std::env::temp_dir().join(format!("mdg-mail-{}", madoguchi_store::new_id()));
    let smtp = start_smtp(&maildir).await?;
    let mut settings = Settings::default();
    settings.smtp.url = Some(format!("smtp://127.0.0.1:{}", smtp.port));
    let app = TestApp::spawn_with(backend, settings).await?;
    let workspace = app.workspace_id.clone();
    let admin = app
        .agent_in(&workspace, "admin@shop.example", Role::Admin)
        .await;
    let created = add_email_channel(&app, &admin, name, address).await;
    assert_eq!(created.status(), 201);
    let channel: Value = created.json().await.unwrap();
    Some(MailDesk {
        app,
        admin,
        channel,
        maildir,
        _smtp: smtp,
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mail_arrives_is_answered_and_threads_back_on_sqlite() {
    mail_arrives_is_answered_and_threads_back(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mail_arrives_is_answered_and_threads_back_on_postgres() {
    mail_arrives_is_answered_and_threads_back(Backend::Postgres).await;
}

async fn mail_arrives_is_answered_and_threads_back(backend: Backend) {
    let Some(MailDesk {
        app,
        admin,
        channel,
        maildir,
        _smtp,
    }) = mail_desk(backend, "サポート窓口", "Support@Shop.example").await
    else {
        return;
    };
    assert_eq!(channel["email_address"], "support@shop.example");
    let port = start_receiver(&app).await;

    // Unknown recipients are refused at RCPT time.
    let refused = deliver(port, "taro@example.jp", "sales@shop.example", JAPANESE_MAIL).await;
    assert!(refused.unwrap_err().contains("550"), "refused before DATA");

    // An ISO-2022-JP mail with a PDF: one conversation with subject, text and the file.
    deliver(
        port,
        "taro@example.jp",
        "support@shop.example",
        JAPANESE_MAIL,
    )
    .await
    .unwrap();
    let open = conversations(&app, &admin, "open").await;
    assert_eq!(open.len(), 1, "{open:?}");
    let conversation = open[0]["id"].as_str().unwrap().to_owned();
    assert_eq!(open[0]["subject"], "注文が届かない");
    assert_eq!(open[0]["contact_email"], "taro@example.jp");
    assert_eq!(open[0]["contact_name"], "山田 太郎");
    let thread = messages(&app, &admin, &conversation).await;
    assert_eq!(thread.len(), 2, "{thread:?}");
    assert_eq!(
        thread[0]["body"],
        "注文した商品がまだ届きません。\n注文番号は A-1024 です。"
    );
    let file = &thread[1]["meta"]["attachments"][0];
    assert_eq!(file["name"], "receipt.pdf");
    assert_eq!(file["content_type"], "application/pdf");
    let served = app
        .get(&format!(
            "/api/v1/attachments/{}",
            file["id"].as_str().unwrap()
        ))
        .bearer_auth(&admin.token)
        .send()
        .await
        .unwrap();
    assert_eq!(served.status(), 200);
    assert!(served.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .starts_with("attachment"));
    assert!(served.bytes().await.unwrap().starts_with(b"%PDF-"));

    // The same mail again (a retry, or fetched a second way): still one message.
    deliver(
        port,
        "taro@example.jp",
        "support@shop.example",
        JAPANESE_MAIL,
    )
    .await
    .unwrap();
    assert_eq!(messages(&app, &admin, &conversation).await.len(), 2);

    // The agent's reply goes out threaded, in UTF-8, and nothing else is mailed.
    app.reply(
        &admin,
        &conversation,
        "ご不便をおかけしております。本日発送いたしました。",
        false,
    )
    .await;
    app.reply(&admin, &conversation, "社内メモ: 倉庫に確認済み", true)
        .await;
    app.clock.advance_secs(120);
    app.run_jobs().await;
    let sent = mailbox(&maildir);
    assert_eq!(sent.len(), 1, "one reply, no notification, no note");
    let raw = String::from_utf8_lossy(&sent[0]).into_owned();
    let parsed = mail_parser::MessageParser::default()
        .parse(&sent[0])
        .unwrap();
    assert_eq!(parsed.subject(), Some("Re: 注文が届かない"));
    assert!(
        header(&raw, "Subject").unwrap().contains("=?utf-8?"),
        "{raw}"
    );
    assert!(parsed
        .body_text(0)
        .unwrap()
        .contains("本日発送いたしました"));
    assert_eq!(header(&raw, "In-Reply-To"), Some("<first-1@example.jp>"));
    assert_eq!(header(&raw, "References"), Some("<first-1@example.jp>"));
    assert_eq!(
        parsed.reply_to().unwrap().first().unwrap().address(),
        Some(format!("support+{conversation}@shop.example").as_str())
    );
    assert_eq!(
        parsed.from().unwrap().first().unwrap().address(),
        Some("support@shop.example")
    );
    assert_eq!(
        parsed.to().unwrap().first().unwrap().address(),
        Some("taro@example.jp")
    );
    let reply_id = parsed.message_id().unwrap().to_owned();

    // The customer answers from a client that keeps only In-Reply-To, under a new subject.
    let answer = format!(
        "From: Taro <taro@example.jp>\r\nTo: support@shop.example\r\nSubject: 追加の質問\r\n\
         Message-ID: <second-2@example.jp>\r\nIn-Reply-To: <{reply_id}>\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\n届きました。ありがとうございます。\r\n"
    );
    deliver(
        port,
        "taro@example.jp",
        "support@shop.example",
        answer.as_bytes(),
    )
    .await
    .unwrap();
    let thread = messages(&app, &admin, &conversation).await;
    assert_eq!(
        thread.last().unwrap()["body"],
        "届きました。ありがとうございます。"
    );
    // A reply through the plus address alone (no threading headers) threads too…
    let by_address = format!(
        "From: taro@example.jp\r\nTo: support+{conversation}@shop.example\r\nSubject: もう一つ\r\n\
         Message-ID: <third-3@example.jp>\r\n\r\n領収書も再発行できますか。\r\n"
    );
    deliver(
        port,
        "taro@example.jp",
        &format!("support+{conversation}@shop.example"),
        by_address.as_bytes(),
    )
    .await
    .unwrap();
    // …but someone else naming the same ids gets a conversation of their own.
    let stranger = format!(
        "From: jiro@example.jp\r\nTo: support@shop.example\r\nSubject: Re: 注文が届かない\r\n\
         Message-ID: <other-1@example.jp>\r\nReferences: <first-1@example.jp> <{reply_id}>\r\n\r\n私も届いていません。\r\n"
    );
    deliver(
        port,
        "jiro@example.jp",
        &format!("support+{conversation}@shop.example"),
        stranger.as_bytes(),
    )
    .await
    .unwrap();
    let thread = messages(&app, &admin, &conversation).await;
    let bodies: Vec<&str> = thread.iter().map(|m| m["body"].as_str().unwrap()).collect();
    assert!(bodies.contains(&"領収書も再発行できますか。"), "{bodies:?}");
    assert!(!bodies.contains(&"私も届いていません。"), "{bodies:?}");
    assert_eq!(conversations(&app, &admin, "open").await.len(), 2);

    // The answers waiting in hours get the expectation auto-reply, by mail.
    app.clock.advance_secs(120);
    app.run_jobs().await;
    let automatic = |id: String| {
        let app = &app;
        let admin = &admin;
        async move {
            messages(app, admin, &id)
                .await
                .into_iter()
                .filter(|m| m["sender_kind"] == "system" || m["sender_kind"] == "bot")
                .count()
        }
    };
    let before = mailbox(&maildir).len();
    let answered_before = automatic(conversation.clone()).await;
    assert_eq!(answered_before, 1, "one expectation while the answers wait");

    // An out-of-office answer lands in the thread but gets no automatic answer (no loop).
    let out_of_office = format!(
        "From: taro@example.jp\r\nTo: support@shop.example\r\nSubject: 自動応答: Re: 注文が届かない\r\n\
         Auto-Submitted: auto-replied\r\nMessage-ID: <ooo-1@example.jp>\r\nIn-Reply-To: <{reply_id}>\r\n\r\n12月3日まで不在にしております。\r\n"
    );
    app.reply(
        &admin,
        &conversation,
        "ほかにご不明な点はございますか。",
        false,
    )
    .await;
    app.run_jobs().await;
    let before = before + 1;
    assert_eq!(mailbox(&maildir).len(), before);
    deliver(
        port,
        "taro@example.jp",
        "support@shop.example",
        out_of_office.as_bytes(),
    )
    .await
    .unwrap();
    // A phishing mail: kept apart as spam, with its reasons, and never answered.
    deliver(
        port,
        "info@amaz0n-jp.com",
        "support@shop.example",
        PHISHING_MAIL,
    )
    .await
    .unwrap();
    let spam = conversations(&app, &admin, "spam").await;
    assert_eq!(spam.len(), 1, "{spam:?}");
    let spam_id = spam[0]["id"].as_str().unwrap().to_owned();
    let flagged = messages(&app, &admin, &spam_id).await;
    let codes: Vec<&str> = flagged[0]["meta"]["email"]["flags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_str().unwrap())
        .collect();
    assert!(
        codes.contains(&"lookalike_domain") && codes.contains(&"link_mismatch"),
        "{codes:?}"
    );
    // Its original HTML is kept, and opens only sandboxed: no script, nothing remote.
    let html = flagged
        .iter()
        .find(|m| m["meta"]["attachments"][0]["name"] == "message.html")
        .expect("the original HTML is kept");
    let served = app
        .get(&format!(
            "/api/v1/attachments/{}",
            html["meta"]["attachments"][0]["id"].as_str().unwrap()
        ))
        .bearer_auth(&admin.token)
        .send()
        .await
        .unwrap();
    assert_eq!(served.headers()["content-type"], "text/html; charset=utf-8");
    let policy = served.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        policy.starts_with("sandbox;") && policy.contains("default-src 'none'"),
        "{policy}"
    );
    assert!(served
        .text()
        .await
        .unwrap()
        .contains("href=\"http://amaz0n-jp.com/login\""));
    app.clock.advance_secs(600);
    app.run_jobs().await;
    assert_eq!(
        mailbox(&maildir).len(),
        before,
        "no auto-reply to machines or spam"
    );
    assert_eq!(automatic(conversation.clone()).await, answered_before);
    assert_eq!(automatic(spam_id.clone()).await, 0);
    let thread = messages(&app, &admin, &conversation).await;
    assert_eq!(
        thread.last().unwrap()["body"],
        "12月3日まで不在にしております。"
    );
    // An agent releases it from spam.
    let released = app
        .patch(
            &format!("/api/v1/conversations/{spam_id}"),
            &json!({"status": "open"}),
        )
        .bearer_auth(&admin.token)
        .send()
        .await
        .unwrap();
    assert_eq!(released.status(), 200);
    assert!(conversations(&app, &admin, "spam").await.is_empty());
}

/// A mail over the size bound is refused, and the session goes on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_mail_is_refused() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let workspace = app.workspace_id.clone();
    let admin = app
        .agent_in(&workspace, "admin@shop.example", Role::Admin)
        .await;
    let created = add_email_channel(&app, &admin, "Mail", "help@shop.example").await;
    assert_eq!(created.status(), 201);
    let taken = add_email_channel(&app, &admin, "Again", "help@shop.example").await;
    assert_eq!(taken.status(), 409);
    let port = start_receiver(&app).await;
    let big = format!(
        "From: a@example.jp\r\nSubject: big\r\n\r\n{}\r\n",
        "x".repeat(70 * 1024)
    );
    let refused = deliver(port, "a@example.jp", "help@shop.example", big.as_bytes()).await;
    assert!(refused.unwrap_err().contains("552"));
    assert!(conversations(&app, &admin, "open").await.is_empty());
}

/// `madoguchi serve` with `smtp_inbound.bind` receives mail for its e-mail channels.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_receives_mail_when_smtp_inbound_is_set() {
    let db = madoguchi_store::testing::TestDatabase::create(Backend::Sqlite)
        .await
        .unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let bind = format!("127.0.0.1:{port}");
    let mut server =
        crate::support::start_server(&db, &[("MADOGUCHI_SMTP_INBOUND__BIND", &bind)]).await;
    let store = db.store().await;
    let workspace = store.workspace_ids().await.unwrap().remove(0);
    let channel = store
        .create_channel(&workspace, "email", "Mail")
        .await
        .unwrap();
    store
        .set_channel_field(
            &workspace,
            &channel.id,
            madoguchi_store::workspaces::ChannelField::EmailAddress,
            Some("support@shop.example"),
        )
        .await
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while let Err(err) = deliver(
        port,
        "taro@example.jp",
        "support@shop.example",
        JAPANESE_MAIL,
    )
    .await
    {
        assert!(std::time::Instant::now() < deadline, "{err}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let subjects = store
        .count_unchecked("SELECT COUNT(*) FROM conversations WHERE subject = '注文が届かない'")
        .await
        .unwrap();
    assert_eq!(subjects, 1);
    server.child.start_kill().unwrap();
    server.child.wait().await.unwrap();
}

/// An agent writes to a customer first; the mail goes out as such (no `Re:`), and the
/// customer's answer threads into that conversation.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_writes_first_and_the_answer_threads() {
    let Some(MailDesk {
        app,
        admin,
        channel,
        maildir,
        _smtp,
    }) = mail_desk(Backend::Sqlite, "Mail", "support@shop.example").await
    else {
        return;
    };
    let port = start_receiver(&app).await;
    let write = |channel_id: &str| {
        app.post(
            "/api/v1/conversations",
            &json!({"channel_id": channel_id, "to": "Hanako@Example.jp", "name": "山田 花子",
                    "subject": "ご注文の確認", "body": "ご注文の色をお知らせください。"}),
        )
        .bearer_auth(&admin.token)
        .send()
    };
    let widget = app.store.channel_by_key(&app.channel_key).await.unwrap();
    assert_eq!(write(&widget.id).await.unwrap().status(), 422);
    let started = write(channel["id"].as_str().unwrap()).await.unwrap();
    assert_eq!(started.status(), 201);
    let started: Value = started.json().await.unwrap();
    let conversation = started["conversation"]["id"].as_str().unwrap().to_owned();
    assert_eq!(started["conversation"]["subject"], "ご注文の確認");
    assert_eq!(started["message"]["sender_kind"], "agent");
    app.run_jobs().await;
    let sent = mailbox(&maildir);
    assert_eq!(sent.len(), 1);
    let parsed = mail_parser::MessageParser::default()
        .parse(&sent[0])
        .unwrap();
    assert_eq!(parsed.subject(), Some("ご注文の確認"));
    assert_eq!(
        parsed.to().unwrap().first().unwrap().address(),
        Some("hanako@example.jp")
    );
    assert!(header(&String::from_utf8_lossy(&sent[0]), "In-Reply-To").is_none());
    let ours = parsed.message_id().unwrap().to_owned();

    let answer = format!(
        "From: hanako@example.jp\r\nTo: support@shop.example\r\nSubject: Re: ご注文の確認\r\n\
         Message-ID: <hanako-1@example.jp>\r\nIn-Reply-To: <{ours}>\r\nReferences: <{ours}>\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\n青でお願いします。\r\n"
    );
    deliver(
        port,
        "hanako@example.jp",
        "support@shop.example",
        answer.as_bytes(),
    )
    .await
    .unwrap();
    let thread = messages(&app, &admin, &conversation).await;
    assert_eq!(thread.len(), 2, "{thread:?}");
    assert_eq!(thread[1]["body"], "青でお願いします。");
    assert_eq!(conversations(&app, &admin, "open").await.len(), 1);
}

/// A widget visitor who left their address and later writes by mail is one contact with both
/// conversations; the mail's files are for agents, not for the visitor's widget.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_visitor_who_left_an_address_is_the_same_contact_by_mail() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let workspace = app.workspace_id.clone();
    let admin = app
        .agent_in(&workspace, "admin@shop.example", Role::Admin)
        .await;
    add_email_channel(&app, &admin, "Mail", "support@shop.example").await;
    let visitor = app.visitor().await;
    app.start(&visitor, "チャットで質問です").await;
    app.patch("/widget/v1/contact", &json!({"email": "taro@example.jp"}))
        .header("x-visitor-token", &visitor.token)
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap();
    receive_for_support(&app, JAPANESE_MAIL).await;
    let contact = app.contact_of(&visitor).await;
    let profile = app
        .get_json(&admin, &format!("/api/v1/contacts/{contact}"))
        .await;
    let subjects: Vec<Value> = profile["conversations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["subject"].clone())
        .collect();
    assert_eq!(subjects.len(), 2, "{profile}");
    assert!(subjects.contains(&json!("注文が届かない")));
    let mail_conversation = profile["conversations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["subject"] == "注文が届かない")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let thread = messages(&app, &admin, &mail_conversation).await;
    let pdf = thread[1]["meta"]["attachments"][0]["id"].as_str().unwrap();
    let by_visitor = app
        .get(&format!("/widget/v1/attachments/{pdf}"))
        .header("x-visitor-token", &visitor.token)
        .send()
        .await
        .unwrap();
    assert_eq!(by_visitor.status(), 404);
}

/// An e-mail conversation's survey goes out as a link (no rating buttons mailed as text); the
/// page asks without recording, the form records the rating and NPS; an old link is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_survey_goes_out_by_mail_and_counts() {
    let Some(MailDesk {
        app,
        admin,
        channel,
        maildir,
        _smtp,
    }) = mail_desk(Backend::Sqlite, "Mail", "support@shop.example").await
    else {
        return;
    };
    app.change_automation(&admin, channel["id"].as_str().unwrap(), |a| {
        a["nps"] = json!(true)
    })
    .await;
    receive_for_support(&app, JAPANESE_MAIL).await;
    let conversation = conversations(&app, &admin, "open").await[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.reply(&admin, &conversation, "本日発送しました。", false)
        .await;
    app.patch(
        &format!("/api/v1/conversations/{conversation}"),
        &json!({"status": "resolved"}),
    )
    .bearer_auth(&admin.token)
    .send()
    .await
    .unwrap()
    .error_for_status()
    .unwrap();
    app.run_jobs().await;
    let mails: Vec<(String, String)> = mailbox(&maildir)
        .iter()
        .map(|raw| {
            let parsed = mail_parser::MessageParser::default().parse(raw).unwrap();
            (
                parsed.subject().unwrap_or_default().to_owned(),
                parsed.body_text(0).unwrap_or_default().into_owned(),
            )
        })
        .collect();
    assert_eq!(mails.len(), 2, "the reply and the survey: {mails:?}");
    assert!(mails
        .iter()
        .all(|(_, body)| !body.contains("満足度をお選びください")));
    // The two mails go out in one run of the jobs, in no fixed order.
    let (_, body) = mails
        .iter()
        .find(|(subject, _)| subject.contains("アンケート"))
        .expect("the survey mail");
    let link = body
        .split_whitespace()
        .find(|w| w.contains("/widget/v1/survey?"))
        .unwrap()
        .to_owned();
    let page = reqwest::get(&link).await.unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(
        html.contains("満足度") && html.contains("name=\"nps\""),
        "{html}"
    );
    let answered = reqwest::Client::new()
        .post(&link)
        .form(&[("rating", "4"), ("nps", "9"), ("comment", "早い対応でした")])
        .send()
        .await
        .unwrap();
    assert_eq!(answered.status(), 200);
    assert!(answered
        .text()
        .await
        .unwrap()
        .contains("ありがとうございました"));
    let report = app
        .get_json(&admin, "/api/v1/reports/kpis?from=2026-11-26&to=2026-11-26")
        .await;
    assert_eq!(report["totals"]["csat_rate"], 1.0);
    assert_eq!(report["totals"]["nps"], 100.0);
    let forged = link.replace("signature=", "signature=00");
    assert_eq!(reqwest::get(&forged).await.unwrap().status(), 403);
    app.clock.advance_secs(8 * 24 * 3600);
    assert_eq!(reqwest::get(&link).await.unwrap().status(), 403, "expired");
}
