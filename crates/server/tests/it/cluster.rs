//! Two real server processes on one PostgreSQL database, sharing events through NATS: a visitor
//! on node A and an agent on node B see each other's messages; a restarted node loses nothing.
//! Runs when both `MADOGUCHI_TEST_POSTGRES_URL` and `MADOGUCHI_TEST_NATS_URL` are set (CI sets
//! them); otherwise it is skipped with a note.

use std::process::Command;

use madoguchi_server::realtime::hub::Hub;
use madoguchi_store::testing::TestDatabase;
use madoguchi_store::Backend;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::support::{next_message, start_server, Ws};

async fn socket(url: &str) -> Ws {
    let request = url.replacen("http", "ws", 1).into_client_request().unwrap();
    tokio_tungstenite::connect_async(request).await.unwrap().0
}

/// The next message frame carrying `body`, skipping others (a visitor also sees their own).
async fn message_with(ws: &mut Ws, body: &str) -> Value {
    loop {
        let frame = next_message(ws).await;
        if frame["message"]["body"] == body {
            return frame;
        }
    }
}

/// The NATS server to test against; `None` (the test is skipped) outside CI when unset.
fn nats_url() -> Option<String> {
    let url = std::env::var("MADOGUCHI_TEST_NATS_URL").ok();
    if url.is_none() {
        madoguchi_store::testing::skip("MADOGUCHI_TEST_NATS_URL is not set");
    }
    url
}

/// Reply notifications ask whether the visitor is still on the page: a widget open on another
/// node counts; so does an agent's inbox for routing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn visitor_presence_is_known_on_every_node() {
    let Some(nats) = nats_url() else {
        return;
    };
    let node_a = Hub::with_nats(&nats).await.unwrap();
    let node_b = Hub::with_nats(&nats).await.unwrap();
    let contact = format!("presence-{}", std::process::id());
    assert!(!node_b.is_visitor_online(&contact).await);
    let widget = node_a.subscribe_contact(&contact);
    assert!(node_a.is_visitor_online(&contact).await);
    assert!(
        node_b.is_visitor_online(&contact).await,
        "node B hears it from node A"
    );
    drop(widget);
    assert!(!node_b.is_visitor_online(&contact).await);
    assert!(!node_a.is_visitor_online(&contact).await);
    // Agents too: routing skips only agents with no inbox open on any node.
    let agent = format!("agent-{}", std::process::id());
    assert!(!node_b.is_agent_online(&agent).await);
    let inbox = node_a.agent_present(&agent);
    assert!(
        node_b.is_agent_online(&agent).await,
        "node B hears it from node A"
    );
    drop(inbox);
    assert!(!node_b.is_agent_online(&agent).await);
}

/// A session revoked on one node closes its sockets on the others: the revocation reaches
/// every node (and the one it was made on) over NATS.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revocations_reach_every_node() {
    let Some(nats) = nats_url() else {
        return;
    };
    let node_a = Hub::with_nats(&nats).await.unwrap();
    let node_b = Hub::with_nats(&nats).await.unwrap();
    let (mut on_a, mut on_b) = (
        node_a.subscribe_revocations(),
        node_b.subscribe_revocations(),
    );
    let hash = format!("revoked-{}", std::process::id());
    // NATS delivers at most once, and the other cluster tests flood the same server: a
    // revocation is sent again (it is idempotent) until both nodes have it, five tries at most.
    let (mut seen_a, mut seen_b) = (false, false);
    for _ in 0..5 {
        node_a.revoke(&hash).await;
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(1);
        while !(seen_a && seen_b) {
            let next = tokio::time::timeout_at(deadline, async {
                tokio::select! {
                    got = on_a.recv() => (true, got),
                    got = on_b.recv() => (false, got),
                }
            })
            .await;
            let Ok((from_a, Ok(revoked))) = next else {
                break;
            };
            if *revoked == *hash {
                if from_a {
                    seen_a = true;
                } else {
                    seen_b = true;
                }
            }
        }
        if seen_a && seen_b {
            break;
        }
    }
    assert!(
        seen_a && seen_b,
        "the revocation did not arrive (node A {seen_a}, node B {seen_b})"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_share_events_over_nats() {
    let Some(nats) = nats_url() else {
        return;
    };
    let Some(db) = TestDatabase::create(Backend::Postgres).await else {
        return;
    };
    let env = [("MADOGUCHI_NATS_URL", nats.as_str())];
    let mut node_a = start_server(&db, &env).await;
    // The nodes share a data folder (and so the audit key); each keeps its own search index.
    let search_b = db.dir().join("search-b");
    let env_b = [
        ("MADOGUCHI_NATS_URL", nats.as_str()),
        ("MADOGUCHI_SEARCH_DIR", search_b.to_str().unwrap()),
    ];
    let node_b = start_server(&db, &env_b).await;
    let channel_key = node_a
        .channel_key
        .clone()
        .expect("the first node creates the workspace");
    let created = Command::new(env!("CARGO_BIN_EXE_madoguchi"))
        .args([
            "agent",
            "create",
            "--email",
            "nodes@example.jp",
            "--password",
            "password-123",
            "--role",
            "agent",
            "--database-url",
            &db.url,
        ])
        .output()
        .unwrap();
    assert!(
        created.status.success(),
        "{}",
        String::from_utf8_lossy(&created.stderr)
    );
    let http = reqwest::Client::new();
    let login: Value = http
        .post(format!("{}/api/v1/auth/login", node_b.url))
        .json(&json!({"email": "nodes@example.jp", "password": "password-123"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = login["token"].as_str().unwrap().to_owned();

    // The agent listens on node B; the visitor writes on node A.
    let mut agent_ws = socket(&format!("{}/api/v1/ws?access_token={token}", node_b.url)).await;
    let session: Value = http
        .post(format!("{}/widget/v1/session", node_a.url))
        .json(&json!({"channel_key": channel_key}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let visitor = session["visitor_token"].as_str().unwrap().to_owned();
    let started: Value = http
        .post(format!("{}/widget/v1/conversations", node_a.url))
        .header("x-visitor-token", &visitor)
        .json(&json!({"body": "ノードAから"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut visitor_ws = socket(&format!(
        "{}/widget/v1/ws?visitor_token={visitor}",
        node_a.url
    ))
    .await;
    let conversation = started["conversation"]["id"].as_str().unwrap().to_owned();
    let seen = next_message(&mut agent_ws).await;
    assert_eq!(seen["message"]["body"], "ノードAから");
    // Node B's own index has it too (fed from the event over NATS).
    let found = search_until(&http, &node_b.url, &token, |hits| !hits.is_empty(), 100).await;
    assert_eq!(
        found["hits"][0]["conversation_id"],
        conversation.as_str(),
        "{found}"
    );
    assert!(
        search_b.join("meta.json").exists(),
        "node B's index is on disk"
    );

    // The agent replies on node B; the visitor's socket on node A gets it.
    let reply = |body: &'static str| {
        http.post(format!(
            "{}/api/v1/conversations/{conversation}/messages",
            node_b.url
        ))
        .bearer_auth(&token)
        .json(&json!({"body": body}))
        .send()
    };
    reply("ノードBから返信")
        .await
        .unwrap()
        .error_for_status()
        .unwrap();
    let got = message_with(&mut visitor_ws, "ノードBから返信").await;
    let last_seq = got["seq"].as_i64().unwrap();

    // Node A goes down; replies continue on B; the visitor comes back to a restarted A.
    node_a.child.start_kill().unwrap();
    node_a.child.wait().await.unwrap();
    drop(visitor_ws);
    reply("一通目").await.unwrap().error_for_status().unwrap();
    reply("二通目").await.unwrap().error_for_status().unwrap();
    let restarted = start_server(&db, &env).await;
    let mut resumed = socket(&format!("{}/widget/v1/ws?visitor_token={visitor}&conversation_id={conversation}&after_seq={last_seq}", restarted.url)).await;
    let first = next_message(&mut resumed).await;
    let second = next_message(&mut resumed).await;
    assert_eq!(
        (
            first["message"]["body"].as_str(),
            second["message"]["body"].as_str()
        ),
        (Some("一通目"), Some("二通目"))
    );
    assert!(second["seq"].as_i64() > first["seq"].as_i64());
    // And live events from B keep reaching the restarted A.
    reply("再開後").await.unwrap().error_for_status().unwrap();
    assert_eq!(
        next_message(&mut resumed).await["message"]["body"],
        "再開後"
    );

    // An admin erases the customer on node A: node B's index forgets them within a second.
    let made = Command::new(env!("CARGO_BIN_EXE_madoguchi"))
        .args([
            "agent",
            "create",
            "--email",
            "dpo@example.jp",
            "--password",
            "password-123",
            "--role",
            "admin",
            "--database-url",
            &db.url,
            "--data-dir",
            db.dir().to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let admin: Value = http
        .post(format!("{}/api/v1/auth/login", restarted.url))
        .json(&json!({"email": "dpo@example.jp", "password": "password-123"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let shown: Value = http
        .get(format!(
            "{}/api/v1/conversations/{conversation}",
            node_b.url
        ))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let contact = shown["contact_id"]
        .as_str()
        .expect("the conversation's contact");
    http.delete(format!("{}/api/v1/contacts/{contact}", restarted.url))
        .bearer_auth(admin["token"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap();
    let left = search_until(&http, &node_b.url, &token, |hits| hits.is_empty(), 20).await;
    assert_eq!(left["hits"], json!([]), "{left}");
}

/// A node's answer to a search for ノード, asked every 50 ms until `done` holds of its hits (at
/// most `tries` times).
async fn search_until(
    http: &reqwest::Client,
    node: &str,
    token: &str,
    done: impl Fn(&[Value]) -> bool,
    tries: usize,
) -> Value {
    let mut answer = Value::Null;
    for _ in 0..tries {
        answer = http
            .get(format!("{node}/api/v1/search"))
            .query(&[("q", "ノード")])
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if answer["hits"].as_array().is_some_and(|h| done(h)) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    answer
}
