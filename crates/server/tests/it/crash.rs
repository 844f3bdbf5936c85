//! Crash safety: the real binary is SIGKILLed while clients send; every message that got a 2xx
//! is there after a restart.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::StatusCode;

use madoguchi_store::testing::TestDatabase;
use madoguchi_store::Backend;

use crate::support::start_server;
use serde_json::{json, Value};

macro_rules! crash_test {
    ($name:ident, $backend:expr) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $name() {
            if let Some(db) = TestDatabase::create($backend).await {
                acknowledged_messages_survive_sigkill(db).await;
            }
        }
    };
}
crash_test!(
    sqlite_acknowledged_messages_survive_sigkill,
    Backend::Sqlite
);
crash_test!(
    postgres_acknowledged_messages_survive_sigkill,
    Backend::Postgres
);

/// One visitor writing as fast as the machine allows: far past a person's write limit.
const UNLIMITED: [(&str, &str); 1] = [(
    "MADOGUCHI_RATE_LIMITS__VISITOR_MESSAGES_PER_MINUTE",
    "1000000",
)];

async fn acknowledged_messages_survive_sigkill(db: TestDatabase) {
    let mut server = start_server(&db, &UNLIMITED).await;
    let http = reqwest::Client::new();
    let channel_key = server
        .channel_key
        .clone()
        .expect("a fresh database prints its channel key");
    let session: Value = http
        .post(format!("{}/widget/v1/session", server.url))
        .json(&json!({"channel_key": channel_key}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = session["visitor_token"].as_str().unwrap().to_owned();
    let started: Value = http
        .post(format!("{}/widget/v1/conversations", server.url))
        .header("x-visitor-token", &token)
        .json(&json!({"body": "start", "client_id": "start"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let conversation = started["conversation"]["id"].as_str().unwrap().to_owned();
    let path = format!(
        "{}/widget/v1/conversations/{conversation}/messages",
        server.url
    );

    // client_id → the message id the server acknowledged it with.
    let acknowledged = Arc::new(Mutex::new(Vec::<(String, String)>::new()));
    let killed = Arc::new(AtomicBool::new(false));
    let failures = Arc::new(Mutex::new(Vec::<String>::new()));
    let mut senders = Vec::new();
    for writer in 0..4 {
        let (http, path, token, acknowledged, killed, failures) = (
            http.clone(),
            path.clone(),
            token.clone(),
            acknowledged.clone(),
            killed.clone(),
            failures.clone(),
        );
        senders.push(tokio::spawn(async move {
            for i in 0.. {
                let client_id = format!("w{writer}-{i}");
                let sent = send(&http, &path, &token, &client_id).await;
                match sent {
                    Ok((status, id)) if status.is_success() => {
                        acknowledged.lock().unwrap().push((client_id, id))
                    }
                    // After the kill every request fails; before it, none may.
                    _ if killed.load(Ordering::SeqCst) => break,
                    outcome => {
                        failures
                            .lock()
                            .unwrap()
                            .push(format!("{client_id}: {outcome:?}"));
                        break;
                    }
                }
            }
        }));
    }
    // Kill once the writers are well under way (a condition, not a guess at the machine's speed).
    let deadline = Instant::now() + Duration::from_secs(60);
    while acknowledged.lock().unwrap().len() < 200 {
        assert!(Instant::now() < deadline, "the writers never got going");
        assert!(failures.lock().unwrap().is_empty(), "{failures:?}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    killed.store(true, Ordering::SeqCst);
    server.child.start_kill().unwrap(); // SIGKILL: no shutdown, no flush
    server.child.wait().await.unwrap();
    for sender in senders {
        sender.await.unwrap();
    }
    let failures = failures.lock().unwrap().clone();
    assert!(failures.is_empty(), "non-2xx before the kill: {failures:?}");
    let acknowledged = acknowledged.lock().unwrap().clone();

    let restarted = start_server(&db, &UNLIMITED).await;
    // Every stored message, page by page.
    let mut messages: Vec<Value> = Vec::new();
    loop {
        let after = messages.last().map_or(0, |m| m["seq"].as_i64().unwrap());
        let page: Value = http
            .get(format!(
                "{}/widget/v1/conversations/{conversation}/messages?after_seq={after}&limit=1000",
                restarted.url
            ))
            .header("x-visitor-token", &token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let page = page["messages"].as_array().unwrap().clone();
        if page.is_empty() {
            break;
        }
        messages.extend(page);
    }
    // Auto-replies (out of hours on the real clock) are there too, without a client id.
    let stored: Vec<&str> = messages
        .iter()
        .filter_map(|m| m["client_id"].as_str())
        .collect();
    let lost: Vec<&str> = std::iter::once("start")
        .chain(acknowledged.iter().map(|(client_id, _)| client_id.as_str()))
        .filter(|id| !stored.contains(id))
        .collect();
    assert!(
        lost.is_empty(),
        "acknowledged but lost after SIGKILL: {lost:?}"
    );
    let seqs: Vec<i64> = messages
        .iter()
        .map(|m| m["seq"].as_i64().unwrap())
        .collect();
    assert_eq!(
        seqs,
        (1..=seqs.len() as i64).collect::<Vec<_>>(),
        "seq stays gapless"
    );
    let distinct: std::collections::HashSet<&str> = stored.iter().copied().collect();
    assert_eq!(stored.len(), distinct.len(), "one row per client_id");

    // Resending what was acknowledged is a replay: 200, the same message, no new row.
    let path = path.replace(&server.url, &restarted.url);
    for (client_id, id) in &acknowledged {
        let (status, replayed) = send(&http, &path, &token, client_id).await.unwrap();
        assert_eq!(
            (status, replayed.as_str()),
            (StatusCode::OK, id.as_str()),
            "{client_id}"
        );
    }
    let count: Value = http
        .get(format!(
            "{}/widget/v1/conversations/{conversation}/messages?after_seq={}&limit=1000",
            restarted.url,
            seqs.len()
        ))
        .header("x-visitor-token", &token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(count["messages"], json!([]), "replays stored nothing new");
}

/// Sends one visitor message: `(status, message id)`.
async fn send(
    http: &reqwest::Client,
    path: &str,
    token: &str,
    client_id: &str,
) -> reqwest::Result<(StatusCode, String)> {
    let response = http
        .post(path)
        .header("x-visitor-token", token)
        .json(&json!({"body": format!("メッセージ {client_id}"), "client_id": client_id}))
        .timeout(Duration::from_secs(10))
        .send()
        .await?;
    let status = response.status();
    let body: Value = response.json().await?;
    Ok((
        status,
        body["message"]["id"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
    ))
}

/// Acknowledged means committed with its jobs: a customer's expectation and a reply's
/// notification are there after a SIGKILL that follows the 2xx at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jobs_acknowledged_with_their_messages_survive_sigkill() {
    let db = TestDatabase::create(Backend::Sqlite).await.unwrap();
    // E-mail configured, so that a reply plans a notification (due in 60 s: never sent here).
    let mut server = start_server(&db, &[("MADOGUCHI_SMTP__URL", "smtp://127.0.0.1:1")]).await;
    let channel_key = server.channel_key.clone().unwrap();
    let created = std::process::Command::new(env!("CARGO_BIN_EXE_madoguchi"))
        .args(["agent", "create", "--email", "ops@example.jp", "--password"])
        .args(["password-123", "--role", "admin", "--data-dir"])
        .arg(db.dir())
        .output()
        .unwrap();
    assert!(created.status.success());
    let http = reqwest::Client::new();
    let url = |path: &str| format!("{}{path}", server.url);
    let login: Value = http
        .post(url("/api/v1/auth/login"))
        .json(&json!({"email": "ops@example.jp", "password": "password-123"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = login["token"].as_str().unwrap().to_owned();
    let channels: Value = http
        .get(url("/api/v1/channels"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    // Open around the clock (the server runs on the real clock): customers get expectations.
    let always: Vec<Value> = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
        .iter()
        .map(|day| json!({"day": day, "start": "00:00", "end": "24:00"}))
        .collect();
    let automation = json!({"hours": {"weekly": always, "closed_on_holidays": false}});
    http.put(url(&format!(
        "/api/v1/channels/{}/automation",
        channels["channels"][0]["id"].as_str().unwrap()
    )))
    .bearer_auth(&token)
    .json(&automation)
    .send()
    .await
    .unwrap()
    .error_for_status()
    .unwrap();

    let mut conversations = Vec::new();
    for body in ["一件目", "二件目"] {
        let session: Value = http
            .post(url("/widget/v1/session"))
            .json(&json!({"channel_key": channel_key}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let started = http
            .post(url("/widget/v1/conversations"))
            .header(
                "x-visitor-token",
                session["visitor_token"].as_str().unwrap(),
            )
            .json(&json!({"body": body}))
            .send()
            .await
            .unwrap();
        assert_eq!(started.status(), StatusCode::CREATED);
        let started: Value = started.json().await.unwrap();
        conversations.push(started["conversation"]["id"].as_str().unwrap().to_owned());
    }
    let reply = http
        .post(url(&format!(
            "/api/v1/conversations/{}/messages",
            conversations[1]
        )))
        .bearer_auth(&token)
        .json(&json!({"body": "承知しました"}))
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), StatusCode::CREATED);
    server.child.start_kill().unwrap(); // right after the 2xx
    server.child.wait().await.unwrap();

    let store = db.store().await;
    let mut pending: Vec<(String, String)> = store
        .pending_jobs()
        .await
        .unwrap()
        .into_iter()
        .map(|job| {
            let payload: Value = serde_json::from_str(&job.payload).unwrap();
            (
                job.kind,
                payload["conversation_id"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    pending.sort();
    assert_eq!(
        pending,
        [
            ("auto_reply.expectation".to_owned(), conversations[0].clone()),
            ("notify.reply".to_owned(), conversations[1].clone()),
        ],
        "the first customer's expectation, and the reply's notification (the reply cancelled the second expectation)"
    );
    let replies = store
        .messages_after(&conversations[1], 0, true, 10)
        .await
        .unwrap();
    assert_eq!(replies.len(), 2, "the customer's message and the reply");
}
