//! Health, metrics, and the OpenAPI document.

use madoguchi_store::Backend;
use serde_json::Value;

use crate::support::{both_backends, TestApp};

both_backends!(health_metrics_and_openapi);

async fn health_metrics_and_openapi(app: TestApp) {
    let health: Value = app
        .get("/healthz")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(health["status"], "ok");
    assert!(health["search"]["documents"].is_u64(), "{health}");

    let visitor = app.visitor().await;
    app.start(&visitor, "metrics").await;
    // The search index reports itself caught up.
    let mut ready = Value::Null;
    for _ in 0..100 {
        let health: Value = app
            .get("/healthz")
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        ready = health["search"]["ready"].clone();
        if ready == true {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(ready, true);
    let metrics = app
        .get("/metrics")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("# TYPE madoguchi_messages_created_total counter"),
        "{metrics}"
    );
    assert!(
        metrics.contains("madoguchi_messages_created_total 1\n"),
        "{metrics}"
    );
    // SQLite's group committer reports its figures: the conversation and its first message
    // were one grouped write at least.
    let grouped = metrics
        .lines()
        .find_map(|l| l.strip_prefix("madoguchi_store_grouped_writes_total "))
        .map(|v| v.parse::<u64>().unwrap());
    match app.store.backend() {
        Backend::Sqlite => assert!(grouped.unwrap() >= 1, "{metrics}"),
        Backend::Postgres => assert_eq!(grouped, None, "{metrics}"),
    }

    let openapi: Value = app
        .get("/api/openapi.json")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(openapi["openapi"].as_str().unwrap().starts_with("3."));
    let paths = openapi["paths"].as_object().unwrap();
    let expected = [
        ("/widget/v1/session", "post"),
        ("/widget/v1/conversations", "get"),
        ("/widget/v1/conversations", "post"),
        ("/widget/v1/conversations/{id}/messages", "get"),
        ("/widget/v1/conversations/{id}/messages", "post"),
        ("/widget/v1/contact", "patch"),
        ("/widget/v1/ws", "get"),
        ("/api/v1/auth/login", "post"),
        ("/api/v1/auth/logout", "post"),
        ("/api/v1/me", "get"),
        ("/api/v1/conversations", "get"),
        ("/api/v1/conversations", "post"),
        ("/api/v1/reports/kpis", "get"),
        ("/api/v1/reports/kpis/conversations", "get"),
        ("/api/v1/reports/targets", "get"),
        ("/api/v1/reports/targets", "put"),
        ("/api/v1/conversations/{id}/transcript", "get"),
        ("/api/v1/conversations/{id}", "get"),
        ("/api/v1/conversations/{id}", "patch"),
        ("/api/v1/conversations/{id}/messages", "get"),
        ("/api/v1/conversations/{id}/messages", "post"),
        ("/api/v1/contacts/{id}", "get"),
        ("/api/v1/contacts/{id}", "patch"),
        ("/api/v1/contacts/{id}", "delete"),
        ("/api/v1/contacts/{id}/export", "get"),
        ("/api/v1/agents", "get"),
        ("/api/v1/agents", "post"),
        ("/api/v1/channels", "get"),
        ("/api/v1/channels", "post"),
        ("/api/v1/ws", "get"),
        ("/api/v1/me", "patch"),
        ("/api/v1/channels/{id}", "patch"),
        ("/api/v1/templates", "get"),
        ("/api/v1/templates", "post"),
        ("/api/v1/templates/{id}", "delete"),
        ("/api/v1/tags", "get"),
        ("/api/v1/tags", "post"),
        ("/api/v1/tags/{id}", "delete"),
        ("/widget/v1/channels/{key}", "get"),
        ("/widget/v1/resume", "get"),
        ("/widget/v1/unsubscribe", "get"),
        ("/widget/v1/unsubscribe", "post"),
        ("/api/v1/channels/{id}/automation", "get"),
        ("/api/v1/channels/{id}/automation", "put"),
        ("/widget/v1/conversations/{id}/bot-feedback", "post"),
        ("/widget/v1/conversations/{id}/rating", "post"),
        ("/widget/v1/channels/{key}/scenario/{node}", "post"),
        ("/api/v1/channels/{id}/scenario", "get"),
        ("/api/v1/channels/{id}/scenario", "put"),
        ("/api/v1/channels/{id}/scenario/clicks", "get"),
        ("/api/v1/articles", "get"),
        ("/api/v1/articles", "post"),
        ("/api/v1/articles/{id}", "get"),
        ("/api/v1/articles/{id}", "put"),
        ("/api/v1/articles/{id}", "delete"),
        ("/api/v1/articles/search", "get"),
        ("/api/v1/synonyms", "get"),
        ("/api/v1/synonyms", "put"),
        ("/api/v1/bot/turns", "get"),
        ("/api/v1/bot/turns/{id}", "patch"),
        ("/api/v1/bot/rates", "get"),
        ("/api/v1/channels/{id}/identity-secret", "post"),
        ("/api/v1/channels/{id}/identity-secret", "delete"),
        ("/api/v1/channels/{id}/imap", "put"),
        ("/api/v1/channels/{id}/imap", "delete"),
        ("/widget/v1/conversations/{id}/attachments", "post"),
        ("/widget/v1/conversations/{id}/nps", "post"),
        ("/widget/v1/survey", "get"),
        ("/widget/v1/survey", "post"),
        ("/api/v1/conversations/{id}/attachments", "post"),
        ("/widget/v1/attachments/{id}", "get"),
        ("/api/v1/attachments/{id}", "get"),
        ("/api/v1/workspace", "get"),
        ("/api/v1/workspace", "patch"),
        ("/api/v1/workspace/logo", "put"),
        ("/api/v1/brands", "get"),
        ("/api/v1/brands", "post"),
        ("/api/v1/brands/{id}", "put"),
        ("/api/v1/brands/{id}", "delete"),
        ("/api/v1/brands/{id}/logo", "put"),
        ("/api/v1/channels/{id}/brand", "put"),
        ("/api/v1/channels/{id}/form", "put"),
        ("/api/v1/agents/{id}", "patch"),
        ("/api/v1/templates/{id}", "patch"),
        ("/api/v1/conversations/{id}/read", "post"),
        ("/widget/v1/conversations/{id}/read", "post"),
        ("/api/v1/agents/{id}", "delete"),
        ("/api/v1/agents/{id}/disable", "post"),
        ("/api/v1/agents/{id}/enable", "post"),
        ("/api/v1/agents/{id}/brands", "put"),
        ("/api/v1/me/password", "post"),
        ("/api/v1/auth/logout-everywhere", "post"),
        ("/api/v1/harassment/policy", "get"),
        ("/api/v1/harassment/policy", "put"),
        ("/api/v1/messages/{id}/reveal", "post"),
        ("/api/v1/messages/{id}/report", "post"),
        ("/api/v1/harassment/reviews", "get"),
        ("/api/v1/harassment/reviews/{id}", "post"),
        ("/api/v1/harassment/blocks", "get"),
        ("/api/v1/harassment/blocks", "post"),
        ("/api/v1/harassment/blocks/{id}", "delete"),
        ("/api/v1/harassment/stats", "get"),
        ("/api/v1/conversations/{id}/evidence", "get"),
        ("/api/v1/teams", "get"),
        ("/api/v1/teams", "post"),
        ("/api/v1/teams/{id}", "put"),
        ("/api/v1/teams/{id}", "delete"),
        ("/api/v1/routing/settings", "get"),
        ("/api/v1/routing/settings", "put"),
        ("/api/v1/classification", "get"),
        ("/api/v1/classification", "put"),
        ("/api/v1/search", "get"),
        ("/api/v1/privacy/masking", "get"),
        ("/api/v1/privacy/masking", "put"),
        ("/api/v1/webhooks", "get"),
        ("/api/v1/webhooks", "post"),
        ("/api/v1/webhooks/{id}", "put"),
        ("/api/v1/webhooks/{id}", "delete"),
        ("/api/v1/webhooks/{id}/attempts", "get"),
        ("/api/v1/agents/{id}/routing", "get"),
        ("/api/v1/agents/{id}/routing", "put"),
        ("/api/v1/routing/rules", "get"),
        ("/api/v1/routing/rules", "post"),
        ("/api/v1/routing/rules/{id}", "put"),
        ("/api/v1/routing/rules/{id}", "delete"),
        ("/api/v1/sla/policies", "get"),
        ("/api/v1/sla/policies", "post"),
        ("/api/v1/sla/policies/{id}", "put"),
        ("/api/v1/audit", "get"),
        ("/channel/v1/contacts/{external_id}", "put"),
        ("/channel/v1/conversations", "post"),
        ("/channel/v1/contacts/{external_id}/orders", "put"),
        ("/hooks/line/{channel_key}", "post"),
        ("/hooks/instagram/{channel_key}", "get"),
        ("/hooks/instagram/{channel_key}", "post"),
        ("/channel/v1/conversations/{id}/messages", "get"),
        ("/channel/v1/conversations/{id}/messages", "post"),
        ("/api/v1/agents/invitations", "get"),
        ("/api/v1/agents/invitations", "post"),
        ("/api/v1/auth/password-reset", "post"),
        ("/api/v1/auth/accept", "post"),
        ("/api/v1/me/totp", "post"),
        ("/api/v1/me/totp/enable", "post"),
        ("/api/v1/me/totp/disable", "post"),
        ("/api/v1/privacy/retention", "get"),
        ("/api/v1/privacy/retention", "put"),
        ("/healthz", "get"),
        ("/metrics", "get"),
    ];
    // Every agent route has its permission in the access table, and the table names no other.
    let agent_routes: Vec<(String, String)> = paths
        .iter()
        .filter(|(path, _)| path.starts_with("/api/v1/"))
        .flat_map(|(path, ops)| {
            ops.as_object()
                .unwrap()
                .keys()
                .map(|m| (m.to_uppercase(), path.clone()))
                .collect::<Vec<_>>()
        })
        .collect();
    let table = madoguchi_server::app::access::ROUTES;
    for (method, path) in &agent_routes {
        assert!(
            table.iter().any(|(m, p, _)| m == method && p == path),
            "{method} {path} has no permission in app::access::ROUTES"
        );
    }
    let unserved: Vec<_> = table
        .iter()
        .filter(|(m, p, _)| {
            !agent_routes
                .iter()
                .any(|(method, path)| method == m && path == p)
        })
        .collect();
    assert!(
        unserved.is_empty(),
        "in the table, not served: {unserved:?}"
    );
    for (path, method) in expected {
        assert!(
            paths.get(path).and_then(|p| p.get(method)).is_some(),
            "{method} {path} missing from the OpenAPI document"
        );
    }
    assert_eq!(
        paths
            .values()
            .map(|p| p.as_object().unwrap().len())
            .sum::<usize>(),
        expected.len(),
        "undocumented or unexpected operations"
    );
    assert!(openapi["components"]["schemas"]["ErrorBody"].is_object());
}

/// `madoguchi audit verify` passes on a database with activity and, once a row of
/// `audit_events` is edited or the whole table rewritten without the key file, fails naming the
/// first event that does not match.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_verify_names_the_first_tampered_event() {
    let db = madoguchi_store::testing::TestDatabase::create(Backend::Sqlite)
        .await
        .unwrap();
    let cli = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_madoguchi"))
            .args(args)
            .arg("--data-dir")
            .arg(db.dir())
            .output()
            .unwrap()
    };
    let mut server = crate::support::start_server(&db, &[]).await;
    for email in ["one@example.jp", "two@example.jp"] {
        let created = cli(&[
            "agent",
            "create",
            "--email",
            email,
            "--password",
            "password-123",
            "--role",
            "agent",
        ]);
        assert!(created.status.success());
    }
    for email in ["one@example.jp", "two@example.jp", "one@example.jp"] {
        let wrong = serde_json::json!({"email": email, "password": "wrong password"});
        let refused = reqwest::Client::new()
            .post(format!("{}/api/v1/auth/login", server.url))
            .json(&wrong)
            .send()
            .await
            .unwrap();
        assert_eq!(refused.status(), 401);
    }
    server.child.start_kill().unwrap();
    server.child.wait().await.unwrap();

    let intact = cli(&["audit", "verify"]);
    let stdout = String::from_utf8_lossy(&intact.stdout);
    assert!(intact.status.success(), "{stdout}");
    // Two agents made on the command line, three failed logins.
    assert!(stdout.contains("5 events, chain intact"), "{stdout}");

    let store = db.store().await;
    store
        .execute_unchecked("UPDATE audit_events SET actor = 'someone else' WHERE seq = 4")
        .await
        .unwrap();
    let broken = cli(&["audit", "verify"]);
    let stderr = String::from_utf8_lossy(&broken.stderr);
    assert!(!broken.status.success());
    assert!(
        stderr.contains("audit event #4 (auth.login_failed") && stderr.contains("was altered"),
        "{stderr}"
    );

    // A consistent rewrite by someone who can write the database but has not the key file in
    // the data folder: every plain hash recomputed, the head updated. Still detected.
    assert!(db.dir().join("audit.key").exists());
    store
        .execute_unchecked("DELETE FROM audit_events")
        .await
        .unwrap();
    store
        .execute_unchecked("UPDATE workspaces SET audit_seq = 0, audit_head = ''")
        .await
        .unwrap();
    let workspace = store.workspace_ids().await.unwrap().remove(0);
    for _ in 0..3 {
        store
            .record_audit(&madoguchi_store::audit::AuditEntry {
                workspace_id: &workspace,
                actor: "anonymous",
                action: "auth.login_failed",
                target: "nobody@example.jp",
                detail: &serde_json::json!({}),
            })
            .await
            .unwrap();
    }
    let rewritten = cli(&["audit", "verify"]);
    let stderr = String::from_utf8_lossy(&rewritten.stderr);
    assert!(!rewritten.status.success());
    assert!(
        stderr.contains("audit event #1 (auth.login_failed"),
        "{stderr}"
    );

    // A node with another key file refuses to write to a log sealed with this one.
    store
        .execute_unchecked("DELETE FROM audit_events")
        .await
        .unwrap();
    store
        .execute_unchecked("UPDATE workspaces SET audit_seq = 0, audit_head = ''")
        .await
        .unwrap();
    let sealed = cli(&[
        "agent",
        "create",
        "--email",
        "three@example.jp",
        "--password",
        "password-123",
        "--role",
        "agent",
    ]);
    assert!(
        sealed.status.success(),
        "{}",
        String::from_utf8_lossy(&sealed.stderr)
    );
    let other_key = db.dir().join("other.key");
    let refused = std::process::Command::new(env!("CARGO_BIN_EXE_madoguchi"))
        .args([
            "agent",
            "create",
            "--email",
            "four@example.jp",
            "--password",
            "password-123",
            "--role",
            "agent",
        ])
        .arg("--data-dir")
        .arg(db.dir())
        .env("MADOGUCHI_AUDIT_KEY_FILE", &other_key)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success());
    assert!(stderr.contains("holds another key"), "{stderr}");
}

/// `agent create` without `--password` reads it from standard input (so it is not in `ps` or
/// the shell history); a short one is still refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agent_create_reads_the_password_from_stdin() {
    use std::io::Write;
    let db = madoguchi_store::testing::TestDatabase::create(Backend::Sqlite)
        .await
        .unwrap();
    let create = |email: &str, password: &str| {
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_madoguchi"))
            .args([
                "agent",
                "create",
                "--email",
                email,
                "--role",
                "admin",
                "--data-dir",
            ])
            .arg(db.dir())
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        writeln!(child.stdin.take().unwrap(), "{password}").unwrap();
        child.wait_with_output().unwrap()
    };
    let short = create("short@example.jp", "short");
    assert!(!short.status.success());
    let created = create("stdin@example.jp", "a long password from stdin");
    assert!(
        created.status.success(),
        "{}",
        String::from_utf8_lossy(&created.stderr)
    );
    let server = crate::support::start_server(&db, &[]).await;
    let login = reqwest::Client::new()
        .post(format!("{}/api/v1/auth/login", server.url))
        .json(&serde_json::json!({"email": "stdin@example.jp", "password": "a long password from stdin"}))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 200);
}

/// `serve` logs one line per request without query strings (they carry tokens) and, when its
/// output is not a terminal, without colour codes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_are_logged_without_secrets_or_colour() {
    use tokio::io::{AsyncBufReadExt, BufReader};
    let dir = std::env::temp_dir().join(format!("mdg-access-{}", std::process::id()));
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_madoguchi"))
        .args(["serve", "--bind", "127.0.0.1:0", "--data-dir"])
        .arg(&dir)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap()).lines();
    let url = loop {
        let line = out.next_line().await.unwrap().expect("serve exited");
        if let Some(url) = line.strip_prefix("listening on ") {
            break url.to_owned();
        }
    };
    tokio::spawn(async move { while let Ok(Some(_)) = out.next_line().await {} });
    let http = reqwest::Client::new();
    http.get(format!(
        "{url}/api/v1/conversations?access_token=SECRET-IN-QUERY"
    ))
    .send()
    .await
    .unwrap();
    http.get(format!("{url}/healthz")).send().await.unwrap();
    let mut err = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut seen = Vec::new();
    let found = tokio::time::timeout(std::time::Duration::from_secs(10), async {
        while let Some(line) = err.next_line().await.unwrap() {
            let done = line.contains("path=/healthz") && line.contains("status=200");
            seen.push(line);
            if done {
                return;
            }
        }
    })
    .await;
    assert!(found.is_ok(), "no access line for /healthz in {seen:#?}");
    let log = seen.join("\n");
    assert!(
        log.contains("method=GET")
            && log.contains("path=/api/v1/conversations")
            && log.contains("status=401"),
        "{log}"
    );
    assert!(
        !log.contains("SECRET-IN-QUERY"),
        "query strings stay out of the log: {log}"
    );
    assert!(
        !log.contains('\u{1b}'),
        "no colour codes when not a terminal: {log}"
    );
    child.kill().await.ok();
    std::fs::remove_dir_all(&dir).ok();
}
