//! `madoguchi bench store`, `bench realtime` and `bench kpis`: figures, not tests.
//!
//! `kpis` seeds a scratch database once with a synthetic history (see `cli::demo`) and times
//! the 30-day KPI report, all KPIs grouped by day, as the API computes it.
//! `store` measures durable single-message commits per second of the store itself (the limit to
//! compare the server against). `realtime` is a load generator in its own process: it starts a
//! server (or targets `--url`), opens visitor and agent WebSockets, sends visitor messages at a
//! fixed rate (and one agent reply for every ten) over HTTP, and measures how long each takes to
//! reach an agent socket (visitor → agent) or the visitor's socket (agent → visitor). Loopback
//! only, bounded in time.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use futures_util::StreamExt;
use madoguchi_core::message::{MessageBody, SenderKind};
use madoguchi_store::conversations::NewConversation;
use madoguchi_store::jobs::NO_JOBS;
use madoguchi_store::messages::NewMessage;
use madoguchi_store::Store;
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, BufReader};

/// Raises the open-file limit to its hard maximum; returns the limit in force.
fn raise_fd_limit() -> u64 {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit read and write the struct we pass, nothing else.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) == 0 {
            limit.rlim_cur = limit.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
            libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit);
        }
    }
    limit.rlim_cur
}

pub(crate) fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn temp_dir(name: &str) -> anyhow::Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!(
        "madoguchi-bench-{name}-{}",
        madoguchi_store::new_id()
    ));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

/// Sequential durable commits of one message each, for `duration` seconds.
pub async fn store(
    database_url: Option<String>,
    duration: u64,
    as_json: bool,
) -> anyhow::Result<()> {
    let dir = temp_dir("store")?;
    let url = database_url
        .unwrap_or_else(|| format!("sqlite://{}?mode=rwc", dir.join("bench.db").display()));
    let store = Store::connect(&url).await?;
    let workspace = store.create_workspace("bench").await?;
    let channel = store
        .create_channel(&workspace.id, "widget", "bench")
        .await?;
    let contact = store
        .identified_contact(
            &workspace.id,
            madoguchi_store::contacts::IDENTITY_VISITOR,
            &madoguchi_store::new_id(),
        )
        .await?;
    let body = MessageBody::parse("ベンチマーク")?;
    let conversation = store
        .start_conversation(NewConversation {
            id: &madoguchi_store::new_id(),
            workspace_id: &workspace.id,
            channel_id: &channel.id,
            contact_id: &contact.id,
            body: &body,
            client_id: None,
            handed_over: false,
            locale: None,
            subject: None,
            meta: None,
            status: madoguchi_core::conversation::ConversationStatus::Open,
            agent: None,
            jobs: &NO_JOBS,
            at: madoguchi_store::now_ms(),
        })
        .await?
        .conversation;
    let mut latencies = Vec::new();
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(duration) {
        let one = Instant::now();
        store
            .append_message(&NewMessage {
                workspace_id: &workspace.id,
                conversation_id: &conversation.id,
                sender_kind: SenderKind::Contact,
                sender_id: &contact.id,
                body: &body,
                private: false,
                client_id: None,
                meta: None,
                sender_name: None,
                jobs: &NO_JOBS,
                at: madoguchi_store::now_ms(),
            })
            .await?;
        latencies.push(one.elapsed().as_secs_f64() * 1000.0);
    }
    let seconds = started.elapsed().as_secs_f64();
    latencies.sort_by(f64::total_cmp);
    let rate = latencies.len() as f64 / seconds;
    let (p50, p99) = (percentile(&latencies, 50.0), percentile(&latencies, 99.0));
    if as_json {
        println!(
            "{}",
            json!({"backend": format!("{:?}", store.backend()), "commits": latencies.len(), "duration_s": seconds,
            "commits_per_s": rate, "latency_ms": {"p50": p50, "p99": p99}})
        );
    } else {
        println!("store {:?}: {} durable commits in {seconds:.1} s = {rate:.0}/s (p50 {p50:.2} ms, p99 {p99:.2} ms)", store.backend(), latencies.len());
    }
    store.close().await;
    std::fs::remove_dir_all(&dir).ok();
    Ok(())
}

pub struct RealtimeOptions {
    pub visitors: usize,
    pub agents: usize,
    pub rate: u64,
    pub duration: u64,
    pub url: Option<String>,
    pub channel_key: Option<String>,
    pub token: Option<String>,
    pub database_url: Option<String>,
    /// 2: visitors on one server process, agents on another, sharing events over NATS.
    pub nodes: usize,
    pub nats_url: String,
    /// Knowledge-base articles to publish first (the bot then searches on every line).
    pub articles: usize,
    /// Routing rules to set up first, none of which fires.
    pub rules: usize,
    /// The fetched encoders the servers load (never fetched by a bench).
    pub models: PathBuf,
    pub as_json: bool,
}

/// Questions and answers of a small shop, for `--articles`.
const SHOP_FAQ: [(&str, &str); 8] = [
    (
        "送料はいくらですか",
        "全国一律550円です。5,000円以上のご注文で送料無料になります。",
    ),
    (
        "返品はできますか",
        "商品到着後8日以内でしたら、未使用品に限り返品を承ります。",
    ),
    (
        "注文をキャンセルしたい",
        "発送前でしたらマイページの注文履歴からキャンセルできます。",
    ),
    (
        "支払い方法を教えてください",
        "クレジットカード、コンビニ払い、代金引換がご利用いただけます。",
    ),
    (
        "届くまで何日かかりますか",
        "ご注文から通常2〜3営業日でお届けします。",
    ),
    (
        "領収書は発行できますか",
        "マイページの注文詳細から領収書をダウンロードできます。",
    ),
    ("ポイントの有効期限は", "最後のご利用から1年間有効です。"),
    (
        "サイズ交換はできますか",
        "在庫がある場合に限り、到着後8日以内に交換を承ります。",
    ),
];

/// A `serve` child process and what it printed.
struct Server {
    child: tokio::process::Child,
    url: String,
    channel_key: Option<String>,
    data_dir: PathBuf,
}

async fn start_server(
    database_url: Option<&str>,
    visitors: usize,
    nats_url: Option<&str>,
    models: &Path,
) -> anyhow::Result<Server> {
    let data_dir = temp_dir("server")?;
    let exe = std::env::current_exe()?;
    let mut command = tokio::process::Command::new(&exe);
    command
        .args(["serve", "--bind", "127.0.0.1:0", "--data-dir"])
        .arg(&data_dir);
    if let Some(url) = database_url {
        command.args(["--database-url", url]);
    }
    if let Some(url) = nats_url {
        command.args(["--nats-url", url]);
    }
    let limit = (visitors * 2 + 1000).to_string();
    command
        .env("MADOGUCHI_RATE_LIMITS__VISITOR_SESSIONS_PER_MINUTE", &limit)
        .env("MADOGUCHI_RATE_LIMITS__WEBSOCKETS_PER_IP", &limit)
        .env("MADOGUCHI_RATE_LIMITS__CONNECTIONS_PER_IP", &limit)
        // The generator is one "visitor" sending far faster than any person would.
        .env(
            "MADOGUCHI_RATE_LIMITS__VISITOR_MESSAGES_PER_MINUTE",
            "1000000",
        )
        .env("RUST_LOG", "warn")
        .env("MADOGUCHI_MODELS_DIR", models)
        .env("MADOGUCHI_FETCH_MODELS", "false")
        .stdout(Stdio::piped())
        .kill_on_drop(true);
    let mut child = command.spawn()?;
    let mut lines = BufReader::new(child.stdout.take().context("no stdout")?).lines();
    let (mut url, mut channel_key) = (None, None);
    while let Some(line) =
        tokio::time::timeout(Duration::from_secs(30), lines.next_line()).await??
    {
        if let Some(key) = line.strip_prefix("widget channel key: ") {
            channel_key = Some(key.to_owned());
        }
        if let Some(found) = line.strip_prefix("listening on ") {
            url = Some(found.to_owned());
            break;
        }
    }
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    let Some(url) = url else {
        bail!("the server did not start")
    };
    // The encoders load in the background: the run starts once they are ready (or absent).
    let http = reqwest::Client::new();
    for _ in 0..300 {
        let health: Option<Value> = match http.get(format!("{url}/healthz")).send().await {
            Ok(response) => response.json().await.ok(),
            Err(_) => None,
        };
        if health.is_some_and(|h| h["semantic"]["state"] != "loading") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    if channel_key.is_none() {
        // Another node created the workspace (and the agent) already.
        return Ok(Server {
            child,
            url,
            channel_key,
            data_dir,
        });
    }
    let created = tokio::process::Command::new(&exe)
        .args([
            "agent",
            "create",
            "--email",
            "bench@example.jp",
            "--password",
            "bench-password",
            "--role",
            "admin",
            "--data-dir",
        ])
        .arg(&data_dir)
        .args(
            database_url
                .map(|u| vec!["--database-url".to_owned(), u.to_owned()])
                .unwrap_or_default(),
        )
        .output()
        .await?;
    if !created.status.success() {
        bail!(
            "agent create failed: {}",
            String::from_utf8_lossy(&created.stderr)
        );
    }
    Ok(Server {
        child,
        url,
        channel_key,
        data_dir,
    })
}

/// RSS (MB) and CPU seconds used so far by a process, from /proc.
fn process_usage(pid: u32) -> (f64, f64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let rss_kb: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0);
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // SAFETY: sysconf only reads a configuration value.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    (rss_kb / 1024.0, (ticks(11) + ticks(12)) / hz.max(1.0))
}

type Pending = Arc<Mutex<HashMap<String, Instant>>>;

/// Reads a socket until it closes, recording the latency of every bench message it sees first.
fn read_socket(
    mut socket: tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >,
    pending: Pending,
    latencies: Arc<Mutex<Vec<f64>>>,
    prefix: &'static str,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        // A substring search, not a JSON parse: the generator must not be the bottleneck.
        let marker = format!("\"body\":\"{prefix}");
        while let Some(Ok(message)) = socket.next().await {
            let tokio_tungstenite::tungstenite::Message::Text(text) = message else {
                continue;
            };
            let Some(start) = text
                .find(&marker)
                .map(|at| at + marker.len() - prefix.len())
            else {
                continue;
            };
            let Some(body) = text[start..].split('"').next() else {
                continue;
            };
            let sent = pending
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .remove(body);
            if let Some(sent) = sent {
                latencies
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push(sent.elapsed().as_secs_f64() * 1000.0);
            }
        }
    })
}

pub async fn realtime(options: RealtimeOptions) -> anyhow::Result<()> {
    let fd_limit = raise_fd_limit();
    let needed = (options.visitors + options.agents) as u64 + 200;
    if fd_limit < needed {
        eprintln!("note: the open-file limit is {fd_limit}, below the {needed} sockets asked for: it limits this run");
    }
    if options.nodes > 1
        && !options
            .database_url
            .as_deref()
            .unwrap_or("")
            .starts_with("postgres")
    {
        bail!("--nodes 2 needs --database-url postgres://… (the nodes share the database)");
    }
    let nats = (options.nodes > 1).then_some(options.nats_url.as_str());
    let mut servers = Vec::new();
    if options.url.is_none() {
        for _ in 0..options.nodes.max(1) {
            let database_url = options.database_url.as_deref();
            servers
                .push(start_server(database_url, options.visitors, nats, &options.models).await?);
        }
    }
    let server = servers.first();
    let base = options
        .url
        .clone()
        .or_else(|| server.map(|s| s.url.clone()))
        .context("no server")?;
    let channel_key = options
        .channel_key
        .clone()
        .or_else(|| server.and_then(|s| s.channel_key.clone()))
        .context("--url needs --channel-key")?;
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(256)
        .build()?;
    let token = match &options.token {
        Some(token) => token.clone(),
        None => {
            let login: Value = http
                .post(format!("{base}/api/v1/auth/login"))
                .json(&json!({"email": "bench@example.jp", "password": "bench-password"}))
                .send()
                .await?
                .error_for_status()?
                .json()
                .await?;
            login["token"].as_str().context("no token")?.to_owned()
        }
    };
    for n in 0..options.articles {
        let (question, answer) = SHOP_FAQ[n % SHOP_FAQ.len()];
        http.post(format!("{base}/api/v1/articles"))
            .bearer_auth(&token)
            .json(&json!({"title": format!("{question}（{n}）"), "body": answer, "status": "published"}))
            .send()
            .await?
            .error_for_status()?;
    }
    for n in 0..options.rules {
        http.post(format!("{base}/api/v1/routing/rules"))
            .bearer_auth(&token)
            .json(
                &json!({"name": format!("rule {n}"), "rule": {"when": "customer_message",
                "conditions": {"words": [format!("該当しない語{n}"), format!("nomatch{n}")]},
                "actions": {"priority": "high"}}}),
            )
            .send()
            .await?
            .error_for_status()?;
    }
    let ws_base = base.replacen("http", "ws", 1);
    // With two nodes, agents connect to and reply through the second.
    let agent_base = servers.get(1).map_or(base.clone(), |s| s.url.clone());
    let agent_ws_base = agent_base.replacen("http", "ws", 1);
    let pending: Pending = Arc::default();
    let to_agents = Arc::new(Mutex::new(Vec::new()));
    let to_visitors = Arc::new(Mutex::new(Vec::new()));
    let errors = Arc::new(AtomicU64::new(0));
    let mut readers = Vec::new();
    for _ in 0..options.agents {
        let (socket, _) = tokio_tungstenite::connect_async(format!(
            "{agent_ws_base}/api/v1/ws?access_token={token}"
        ))
        .await?;
        readers.push(read_socket(socket, pending.clone(), to_agents.clone(), "v"));
    }
    // Visitors: a session, a conversation and a socket each.
    let mut conversations = Vec::with_capacity(options.visitors);
    let setup = Instant::now();
    let mut visitors = futures_util::stream::iter(0..options.visitors)
        .map(|i| {
            let (http, base, channel_key, ws_base) = (
                http.clone(),
                base.clone(),
                channel_key.clone(),
                ws_base.clone(),
            );
            async move {
                let session: Value = http
                    .post(format!("{base}/widget/v1/session"))
                    .json(&json!({"channel_key": channel_key}))
                    .send()
                    .await?
                    .error_for_status()?
                    .json()
                    .await?;
                let visitor = session["visitor_token"]
                    .as_str()
                    .context("no visitor token")?
                    .to_owned();
                let started: Value = http
                    .post(format!("{base}/widget/v1/conversations"))
                    .header("x-visitor-token", &visitor)
                    .json(&json!({"body": format!("hello {i}")}))
                    .send()
                    .await?
                    .error_for_status()?
                    .json()
                    .await?;
                let conversation = started["conversation"]["id"]
                    .as_str()
                    .context("no conversation")?
                    .to_owned();
                let (socket, _) = tokio_tungstenite::connect_async(format!(
                    "{ws_base}/widget/v1/ws?visitor_token={visitor}"
                ))
                .await?;
                anyhow::Ok((visitor, conversation, socket))
            }
        })
        .buffer_unordered(64);
    while let Some(visitor) = visitors.next().await {
        let (visitor, conversation, socket) = visitor?;
        readers.push(read_socket(
            socket,
            pending.clone(),
            to_visitors.clone(),
            "r",
        ));
        conversations.push((visitor, conversation));
    }
    let setup_s = setup.elapsed().as_secs_f64();
    let conversations = Arc::new(conversations);
    let pids: Vec<u32> = servers.iter().filter_map(|s| s.child.id()).collect();
    let usage = |pids: &[u32]| {
        pids.iter()
            .map(|p| process_usage(*p))
            .fold((0.0, 0.0), |a, u| (a.0 + u.0, a.1 + u.1))
    };
    let cpu_before = usage(&pids).1;

    // Send at a fixed rate; every tenth send is an agent reply.
    let interval = Duration::from_secs_f64(1.0 / options.rate.max(1) as f64);
    let total = options.rate * options.duration;
    let started = Instant::now();
    let mut sends = Vec::with_capacity(total as usize);
    let in_flight = Arc::new(tokio::sync::Semaphore::new(512));
    let newest: Newest = Arc::default();
    let prober = tokio::spawn(probe_search(
        http.clone(),
        agent_base.clone(),
        token.clone(),
        newest.clone(),
    ));
    for n in 0..total {
        let due = started + interval * n as u32;
        tokio::time::sleep_until(due.into()).await;
        let (http, base, agent_base, token, conversations, pending, errors, in_flight, newest) = (
            http.clone(),
            base.clone(),
            agent_base.clone(),
            token.clone(),
            conversations.clone(),
            pending.clone(),
            errors.clone(),
            in_flight.clone(),
            newest.clone(),
        );
        let articles = options.articles;
        sends.push(tokio::spawn(async move {
            let Ok(_permit) = in_flight.acquire().await else {
                return;
            };
            let (visitor, conversation) = &conversations[(n as usize * 7919) % conversations.len()];
            let reply = n % 10 == 9;
            let body = match (reply, articles) {
                (true, _) => format!("r{n}"),
                (false, 0) => format!("v{n}"),
                (false, _) => format!("v{n} {}", SHOP_FAQ[n as usize % SHOP_FAQ.len()].0),
            };
            pending
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(body.clone(), Instant::now());
            let path = format!(
                "{}/{}/conversations/{conversation}/messages",
                if reply { &agent_base } else { &base },
                if reply { "api/v1" } else { "widget/v1" }
            );
            let request = http.post(path).json(&json!({"body": body}));
            let request = if reply {
                request.bearer_auth(&token)
            } else {
                request.header("x-visitor-token", visitor)
            };
            let sent_at = Instant::now();
            match request.send().await {
                Ok(response) if response.status().is_success() => {
                    if !reply {
                        *newest.lock().unwrap_or_else(|p| p.into_inner()) =
                            Some((format!("v{n}"), sent_at));
                    }
                }
                _ => {
                    errors.fetch_add(1, Ordering::Relaxed);
                    pending
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .remove(&body);
                }
            }
        }));
    }
    for send in sends {
        send.await.ok();
    }
    let send_s = started.elapsed().as_secs_f64();
    newest.lock().unwrap_or_else(|p| p.into_inner()).take();
    let mut index_lags = prober.await.unwrap_or_default();
    index_lags.sort_by(f64::total_cmp);
    let drain = Instant::now();
    while !pending.lock().unwrap_or_else(|p| p.into_inner()).is_empty()
        && drain.elapsed() < Duration::from_secs(10)
    {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (rss_mb, cpu_after) = usage(&pids);
    let retrieval = retrieval_times(&http, &base).await;
    let cpu_pct = 100.0 * (cpu_after - cpu_before) / send_s.max(0.001);
    let undelivered = pending.lock().unwrap_or_else(|p| p.into_inner()).len() as u64;
    let mut agent_latencies = to_agents.lock().unwrap_or_else(|p| p.into_inner()).clone();
    let mut visitor_latencies = to_visitors
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .clone();
    agent_latencies.sort_by(f64::total_cmp);
    visitor_latencies.sort_by(f64::total_cmp);
    let delivered = (agent_latencies.len() + visitor_latencies.len()) as u64;
    let errors = errors.load(Ordering::Relaxed) + undelivered;
    let throughput = delivered as f64 / send_s;
    let summary = |l: &[f64]| json!({"p50": percentile(l, 50.0), "p90": percentile(l, 90.0), "p99": percentile(l, 99.0), "max": l.last().copied().unwrap_or(0.0)});
    if options.as_json {
        println!(
            "{}",
            json!({
                "sent": total, "delivered": delivered, "errors": errors, "duration_s": send_s,
                "throughput_msgs_per_s": throughput, "latency_ms": summary(&agent_latencies),
                "agent_to_visitor_latency_ms": summary(&visitor_latencies),
                "indexing_lag_ms": summary(&index_lags), "indexing_probes": index_lags.len(),
                "server_rss_mb": rss_mb, "server_cpu_pct": cpu_pct,
                "visitors": options.visitors, "agents": options.agents, "setup_s": setup_s, "fd_limit": fd_limit,
                "knowledge_search": retrieval,
            })
        );
    } else {
        println!(
            "visitors {} (+{} agent sockets), set up in {setup_s:.1} s; fd limit {fd_limit}",
            options.visitors, options.agents
        );
        println!("sent {total} in {send_s:.1} s, delivered {delivered}, errors {errors}: {throughput:.0} msg/s");
        for (name, l) in [
            ("visitor → agent", &agent_latencies),
            ("agent → visitor", &visitor_latencies),
        ] {
            println!(
                "{name}: p50 {:.1} ms, p90 {:.1} ms, p99 {:.1} ms, max {:.1} ms ({} messages)",
                percentile(l, 50.0),
                percentile(l, 90.0),
                percentile(l, 99.0),
                l.last().copied().unwrap_or(0.0),
                l.len()
            );
        }
        println!(
            "search: a message sent is found after p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms ({} probes)",
            percentile(&index_lags, 50.0),
            percentile(&index_lags, 99.0),
            index_lags.last().copied().unwrap_or(0.0),
            index_lags.len()
        );
        println!("server: RSS {rss_mb:.0} MB, CPU {cpu_pct:.0}% of one core while sending");
        if options.articles > 0 {
            println!("knowledge search (the bot's, embedding included): {retrieval}");
        }
    }
    for reader in readers {
        reader.abort();
    }
    for server in servers.iter_mut() {
        server.child.start_kill().ok();
        server.child.wait().await.ok();
        std::fs::remove_dir_all(&server.data_dir).ok();
    }
    Ok(())
}

/// The newest customer message acknowledged, with when it was sent (`None` once sending ends).
type Newest = Arc<Mutex<Option<(String, Instant)>>>;

/// While messages are being sent: takes the newest acknowledged one, searches for it through
/// the API until it is found, and records the time since it was sent (ms); then the next.
async fn probe_search(
    http: reqwest::Client,
    base: String,
    token: String,
    newest: Newest,
) -> Vec<f64> {
    let mut lags = Vec::new();
    let mut last = String::new();
    // The first send is at most a few seconds away.
    let waiting = Instant::now();
    loop {
        let probe = newest.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let Some((body, sent_at)) = probe else {
            if !lags.is_empty() || waiting.elapsed() > Duration::from_secs(30) {
                return lags;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
            continue;
        };
        if body == last {
            tokio::time::sleep(Duration::from_millis(5)).await;
            continue;
        }
        while sent_at.elapsed() < Duration::from_secs(10) {
            let found = http
                .get(format!("{base}/api/v1/search"))
                .query(&[("q", body.as_str()), ("limit", "1")])
                .bearer_auth(&token)
                .send()
                .await;
            let hits = match found {
                Ok(response) => response.json::<Value>().await.ok(),
                Err(_) => None,
            };
            if hits.is_some_and(|h| h["hits"].as_array().is_some_and(|a| !a.is_empty())) {
                lags.push(sent_at.elapsed().as_secs_f64() * 1e3);
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        last = body;
    }
}

pub struct KpiOptions {
    pub conversations: usize,
    pub days: i64,
    pub runs: usize,
    /// A scratch database; SQLite in the temp folder (kept, reused) when unset.
    pub database_url: Option<String>,
    pub as_json: bool,
}

/// Seeds (once) and times the 30-day report.
pub async fn kpis(options: KpiOptions) -> anyhow::Result<()> {
    let url = match options.database_url {
        Some(url) => url,
        None => {
            let dir = std::env::temp_dir().join(format!(
                "madoguchi-bench-kpis-{}-{}",
                options.conversations, options.days
            ));
            std::fs::create_dir_all(&dir)?;
            format!("sqlite://{}?mode=rwc", dir.join("bench.db").display())
        }
    };
    let store = Store::connect(&url).await?;
    let boot = crate::app::bootstrap::ensure_default_workspace(&store).await?;
    let workspace_id = boot.workspace.id.clone();
    let have = store.count_conversations(&workspace_id).await? as usize;
    let started = Instant::now();
    if have < options.conversations {
        let channel = store
            .channels(&workspace_id)
            .await?
            .into_iter()
            .find(|c| c.kind == "widget")
            .context("no widget channel")?;
        eprintln!("seeding {} conversations…", options.conversations - have);
        crate::cli::demo::seed(&store, &channel, options.conversations - have, options.days)
            .await?;
    }
    let seed_s = started.elapsed().as_secs_f64();
    let conversations = store.count_conversations(&workspace_id).await?;
    let messages = store.count_messages(&workspace_id).await?;
    let (state, _shutdown) =
        crate::app::AppState::new(store.clone(), crate::app::settings::Settings::default())?;
    let to = chrono::Utc::now()
        .with_timezone(&chrono_tz::Tz::Asia__Tokyo)
        .date_naive();
    let scope = crate::api::reports::Scope {
        from: to - chrono::Duration::days(29),
        to,
        group_by: Some(madoguchi_core::kpi::GroupBy::Day),
        channel: None,
        brands: None,
    };
    let mut counted = 0;
    let mut times = Vec::new();
    for run in 0..=options.runs {
        let began = Instant::now();
        let (report, facts) = crate::api::reports::build_report(&state, &workspace_id, &scope)
            .await
            .map_err(|err| anyhow::anyhow!(err.message))?;
        let ms = began.elapsed().as_secs_f64() * 1000.0;
        counted = facts.len();
        std::hint::black_box(report);
        // The first run warms the caches; it is not counted.
        if run > 0 {
            times.push(ms);
        }
    }
    times.sort_by(f64::total_cmp);
    // Of which: reading the facts from the store (the rest is computing the KPIs).
    let mut reads = Vec::new();
    for _ in 0..options.runs.min(5) {
        let began = Instant::now();
        let workspace = store.workspace(&workspace_id).await?;
        let (from_ms, to_ms) =
            scope.bounds_ms(crate::inbox::settings::workspace_time_zone(&workspace));
        let facts = store
            .conversation_facts(&madoguchi_store::reports::Period {
                workspace_id: &workspace_id,
                from_ms,
                to_ms,
                channel_id: None,
            })
            .await?;
        std::hint::black_box(facts);
        reads.push(began.elapsed().as_secs_f64() * 1000.0);
    }
    reads.sort_by(f64::total_cmp);
    let figures = json!({
        "backend": format!("{:?}", store.backend()).to_lowercase(),
        "conversations": conversations,
        "messages": messages,
        "in_report": counted,
        "seed_s": (seed_s * 10.0).round() / 10.0,
        "report_ms": {
            "p50": (percentile(&times, 50.0) * 10.0).round() / 10.0,
            "p99": (percentile(&times, 99.0) * 10.0).round() / 10.0,
            "max": (times.last().copied().unwrap_or(0.0) * 10.0).round() / 10.0,
        },
        "runs": times.len(),
        "facts_read_ms_p50": (percentile(&reads, 50.0) * 10.0).round() / 10.0,
    });
    if options.as_json {
        println!("{figures}");
    } else {
        println!(
            "{} conversations ({} messages, {} in the 30-day report) on {}: report p50 {} ms, p99 {} ms, max {} ms over {} runs (seeding took {:.1} s)",
            conversations, messages, counted, figures["backend"], figures["report_ms"]["p50"],
            figures["report_ms"]["p99"], figures["report_ms"]["max"], times.len(), seed_s
        );
    }
    store.close().await;
    Ok(())
}

/// The server's knowledge-search times (`madoguchi_kb_search_seconds` in `/metrics`, read
/// from loopback) as bucket bounds: p50 and p99 are at most these, and which encoders it used.
async fn retrieval_times(http: &reqwest::Client, base: &str) -> Value {
    let text = match http.get(format!("{base}/metrics")).send().await {
        Ok(response) => response.text().await.unwrap_or_default(),
        Err(_) => return Value::Null,
    };
    let buckets: Vec<(f64, f64)> = text
        .lines()
        .filter_map(|line| line.strip_prefix("madoguchi_kb_search_seconds_bucket{le=\""))
        .filter_map(|rest| {
            let (le, count) = rest.split_once("\"} ")?;
            let le = if le == "+Inf" {
                f64::INFINITY
            } else {
                le.parse().ok()?
            };
            Some((le * 1000.0, count.trim().parse().ok()?))
        })
        .collect();
    let total = buckets.last().map_or(0.0, |b| b.1);
    let bound = |p: f64| {
        buckets
            .iter()
            .find(|(_, count)| *count >= total * p)
            .map(|(le, _)| *le)
    };
    let semantic = match http.get(format!("{base}/healthz")).send().await {
        Ok(response) => response
            .json::<Value>()
            .await
            .ok()
            .map(|h| h["semantic"].clone()),
        Err(_) => None,
    };
    json!({"searches": total, "p50_ms_at_most": bound(0.5), "p99_ms_at_most": bound(0.99), "semantic": semantic})
}
