//! Crash safety: the real binary is SIGKILLed while clients send; every message that got a 2xx
//! is there after a restart.

use std::sync::{Arc, Mutex};
use std::time::Duration;

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

async fn acknowledged_messages_survive_sigkill(db: TestDatabase) {
    let mut server = start_server(&db, &[]).await;
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

    let acknowledged = Arc::new(Mutex::new(vec!["start".to_owned()]));
    let mut senders = Vec::new();
    for writer in 0..4 {
        let (http, path, token, acknowledged) = (
            http.clone(),
            path.clone(),
            token.clone(),
            acknowledged.clone(),
        );
        senders.push(tokio::spawn(async move {
            for i in 0.. {
                let client_id = format!("w{writer}-{i}");
                let sent = http
                    .post(&path)
                    .header("x-visitor-token", &token)
                    .json(
                        &json!({"body": format!("メッセージ {client_id}"), "client_id": client_id}),
                    )
                    .timeout(Duration::from_secs(5))
                    .send()
                    .await;
                match sent {
                    Ok(response) if response.status().is_success() => {
                        acknowledged.lock().unwrap().push(client_id)
                    }
                    _ => break,
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(700)).await;
    server.child.start_kill().unwrap(); // SIGKILL: no shutdown, no flush
    server.child.wait().await.unwrap();
    for sender in senders {
        sender.await.unwrap();
    }
    let acknowledged = acknowledged.lock().unwrap().clone();
    assert!(
        acknowledged.len() > 10,
        "the test must send under load; only {} acknowledged",
        acknowledged.len()
    );

    let restarted = start_server(&db, &[]).await;
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
    let lost: Vec<&String> = acknowledged
        .iter()
        .filter(|id| !stored.contains(&id.as_str()))
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
}
