//! Accounts by mailed link, through a real SMTP server (aiosmtpd): an admin invites someone
//! who chooses their own password from the link (once, within 72 hours; only owners invite
//! owners), and a forgotten password is reset from a link (once, within an hour; every
//! session ends; an unknown address gets the same answer and no mail).

use madoguchi_core::agent::Role;
use madoguchi_server::app::settings::Settings;
use madoguchi_store::Backend;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::notifications::{link_in, mailbox, start_smtp, text_of};
use crate::support::TestApp;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invitations_and_resets_go_by_single_use_links_sqlite() {
    invitations_and_resets_go_by_single_use_links(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invitations_and_resets_go_by_single_use_links_postgres() {
    invitations_and_resets_go_by_single_use_links(Backend::Postgres).await;
}

/// The subject and text of the one mail whose raw form holds `needle` (the maildir's order is
/// not the order of arrival).
fn mail_about(maildir: &std::path::Path, needle: &str) -> (String, String) {
    let found: Vec<(String, String)> = mailbox(maildir)
        .iter()
        .filter(|raw| {
            let (subject, body) = text_of(raw);
            String::from_utf8_lossy(raw).contains(needle)
                || subject.contains(needle)
                || body.contains(needle)
        })
        .map(|raw| text_of(raw))
        .collect();
    assert_eq!(found.len(), 1, "one mail about {needle}");
    found.into_iter().next().unwrap()
}

/// The id and signature in a mailed link.
fn link_parts(link: &str) -> (String, String) {
    let url = url::Url::parse(link).unwrap();
    let get = |name: &str| {
        url.query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
            .unwrap()
    };
    (get("id"), get("sig"))
}

async fn login(app: &TestApp, email: &str, password: &str) -> reqwest::Response {
    app.post(
        "/api/v1/auth/login",
        &json!({"email": email, "password": password}),
    )
    .send()
    .await
    .unwrap()
}

async fn accept(app: &TestApp, id: &str, sig: &str, password: &str) -> reqwest::Response {
    app.post(
        "/api/v1/auth/accept",
        &json!({"id": id, "sig": sig, "password": password}),
    )
    .send()
    .await
    .unwrap()
}

async fn invitations_and_resets_go_by_single_use_links(backend: Backend) {
    let maildir = std::env::temp_dir().join(format!("mdg-accounts-{}", madoguchi_store::new_id()));
    let Some(smtp) = start_smtp(&maildir).await else {
        return;
    };
    let mut settings = Settings::default();
    settings.smtp.url = Some(format!("smtp://127.0.0.1:{}", smtp.port));
    // Links, resets and logins share the per-client login budget; this test makes many.
    settings.rate_limits.logins_per_minute = 100;
    let Some(app) = TestApp::spawn_with(backend, settings).await else {
        return;
    };
    let ws = app.workspace_id.clone();
    let owner = app.agent_in(&ws, "owner@example.jp", Role::Owner).await;
    let admin = app.agent_in(&ws, "admin@example.jp", Role::Admin).await;
    let agent = app.agent_in(&ws, "agent@example.jp", Role::Agent).await;
    let invite = |by: &crate::support::Agent, email: &str, role: &str| {
        app.post(
            "/api/v1/agents/invitations",
            &json!({"email": email, "name": "新人 太郎", "role": role}),
        )
        .bearer_auth(&by.token)
        .send()
    };
    assert_eq!(
        invite(&agent, "x@example.jp", "agent")
            .await
            .unwrap()
            .status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        invite(&admin, "x@example.jp", "owner")
            .await
            .unwrap()
            .status(),
        StatusCode::FORBIDDEN,
        "only owners invite owners"
    );
    assert_eq!(
        invite(&admin, "agent@example.jp", "agent")
            .await
            .unwrap()
            .status(),
        StatusCode::CONFLICT,
        "an address in use"
    );
    let invited = invite(&admin, "new@example.jp", "supervisor")
        .await
        .unwrap();
    assert_eq!(invited.status(), StatusCode::CREATED);
    assert!(app.run_jobs().await >= 1);
    let mails = mailbox(&maildir);
    assert_eq!(mails.len(), 1);
    let (subject, body) = text_of(&mails[0]);
    assert!(subject.contains("招待"), "{subject}");
    assert!(String::from_utf8_lossy(&mails[0]).contains("new@example.jp"));
    let link = link_in(&body, "/account?");
    let listed = app.get_json(&owner, "/api/v1/agents/invitations").await;
    assert_eq!(listed["invitations"][0]["email"], "new@example.jp");

    // The page behind the link; then the link itself decides.
    let page = app.http.get(&link).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.text().await.unwrap().contains("account.js"));
    let (id, sig) = link_parts(&link);
    let last = if sig.ends_with('0') { '1' } else { '0' };
    let forged = format!("{}{last}", &sig[..sig.len() - 1]);
    assert_eq!(
        accept(&app, &id, &forged, "password-456").await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        accept(&app, &id, &sig, "short").await.status(),
        StatusCode::UNPROCESSABLE_ENTITY
    );
    let accepted: Value = accept(&app, &id, &sig, "password-456")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(accepted["kind"], "invite");
    assert_eq!(accepted["agent"]["role"], "supervisor");
    assert_eq!(accepted["agent"]["name"], "新人 太郎");
    assert_eq!(
        accept(&app, &id, &sig, "password-789").await.status(),
        StatusCode::CONFLICT,
        "once"
    );
    let session = login(&app, "new@example.jp", "password-456").await;
    assert_eq!(session.status(), StatusCode::OK);
    let session: Value = session.json().await.unwrap();
    let old_token = session["token"].as_str().unwrap().to_owned();
    let listed = app.get_json(&owner, "/api/v1/agents/invitations").await;
    assert_eq!(listed["invitations"], json!([]));

    // A reset: the same answer for an unknown address, a mail only for the known one.
    for email in ["new@example.jp", "nobody@example.jp"] {
        let asked = app
            .post("/api/v1/auth/password-reset", &json!({"email": email}))
            .send()
            .await
            .unwrap();
        assert_eq!(asked.status(), StatusCode::ACCEPTED, "{email}");
    }
    app.run_jobs().await;
    assert_eq!(mailbox(&maildir).len(), 2, "no mail for an unknown address");
    let (_, body) = mail_about(&maildir, "再設定");
    let (id, sig) = link_parts(&link_in(&body, "/account?"));
    let reset: Value = accept(&app, &id, &sig, "brand-new-pass")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(reset["kind"], "reset", "{reset}");
    let me = app
        .get("/api/v1/me")
        .bearer_auth(&old_token)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), StatusCode::UNAUTHORIZED, "sessions end");
    assert_eq!(
        login(&app, "new@example.jp", "password-456").await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        login(&app, "new@example.jp", "brand-new-pass")
            .await
            .status(),
        StatusCode::OK
    );
    let events = app.store.audit_events(&ws).await.unwrap();
    for action in ["agent.invited", "agent.created", "auth.password_reset"] {
        assert!(events.iter().any(|e| e.action == action), "{action}");
    }
    assert!(events.iter().all(|e| !e.detail.contains(&sig)));

    // An invitation not taken up in 72 hours has expired.
    let late = invite(&owner, "late@example.jp", "analyst").await.unwrap();
    assert_eq!(late.status(), StatusCode::CREATED);
    app.run_jobs().await;
    let (_, body) = mail_about(&maildir, "late@example.jp");
    let (id, sig) = link_parts(&link_in(&body, "/account?"));
    app.clock.advance_secs(73 * 3600);
    assert_eq!(
        accept(&app, &id, &sig, "password-456").await.status(),
        StatusCode::CONFLICT
    );
    drop(smtp);
}
