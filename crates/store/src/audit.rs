//! The audit log: security-relevant actions, chained per workspace so that editing, deleting or
//! rewriting an event is detectable. Each event's hash covers the previous event's hash. With an
//! [`AuditKey`] (a file kept outside the database) the hash is an HMAC, so whoever can write the
//! database but does not hold the key cannot rewrite the chain consistently. Events written
//! before a key existed keep a plain SHA-256 hash; they are accepted only at the chain's start
//! and dated before the key was made.

use std::io::Write;
use std::path::Path;

use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::{Digest, Sha256};
use sqlx::{AnyConnection, Row};

use crate::{now_ms, Result, Store};

pub struct AuditEntry<'a> {
    pub workspace_id: &'a str,
    /// Who acted: `agent:<id>`, `contact:<id>`, `system`, or `anonymous`.
    pub actor: &'a str,
    pub action: &'a str,
    pub target: &'a str,
    pub detail: &'a serde_json::Value,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AuditEvent {
    pub seq: i64,
    pub actor: String,
    pub action: String,
    pub target: String,
    pub detail: String,
    pub created_at: i64,
    pub prev_hash: String,
    pub hash: String,
}

impl AuditEvent {
    pub(crate) fn from_row(row: &sqlx::any::AnyRow) -> Result<Self> {
        Ok(Self {
            seq: row.try_get("seq")?,
            actor: row.try_get("actor")?,
            action: row.try_get("action")?,
            target: row.try_get("target")?,
            detail: row.try_get("detail")?,
            created_at: row.try_get("created_at")?,
            prev_hash: row.try_get("prev_hash")?,
            hash: row.try_get("hash")?,
        })
    }
}

/// Which audit events a page shows: those whose fields hold these texts (`None`: any).
#[derive(Debug, Clone, Copy, Default)]
pub struct AuditFilter<'a> {
    pub actor: Option<&'a str>,
    pub action: Option<&'a str>,
    pub target: Option<&'a str>,
}

/// The outcome of checking a workspace's chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainCheck {
    pub events: usize,
    /// The first event whose hash or link does not match, or `Some(-1)` when the newest events
    /// were removed.
    pub first_broken_seq: Option<i64>,
    /// The key id the broken event is sealed with, when that is not the key checked against.
    pub foreign_key: Option<String>,
    /// Events at the chain's start that predate the key (plain SHA-256).
    pub unkeyed: usize,
}

/// The detail of an event redacted by an erasure: the hash it was sealed with is vouched for by
/// the erasure's tombstone (`contact.erased`, detail `{"redacted": [[seq, hash], …]}`), itself
/// sealed like every event, so the chain still verifies without the erased detail.
pub const ERASED_DETAIL: &str = r#"{"erased":true}"#;

/// The actions of the tombstones that vouch for redacted events: a contact's erasure and a
/// run of the retention policy.
pub(crate) const ERASURE_TOMBSTONE: &str = "contact.erased";
pub(crate) const RETENTION_TOMBSTONE: &str = "retention.applied";

/// The `(seq, hash)` pairs the tombstones among `events` vouch for.
fn vouched_for(events: &[AuditEvent]) -> std::collections::HashMap<i64, String> {
    #[derive(serde::Deserialize)]
    struct Tombstone {
        redacted: Vec<(i64, String)>,
    }
    events
        .iter()
        .filter(|e| e.action == ERASURE_TOMBSTONE || e.action == RETENTION_TOMBSTONE)
        .filter_map(|e| serde_json::from_str::<Tombstone>(&e.detail).ok())
        .flat_map(|t| t.redacted)
        .collect()
}

/// How a keyed hash starts: `hmac:{key id}:{hex}`.
const KEYED: &str = "hmac:";

/// The secret that seals the audit chain, with an id (not secret) to tell keys apart.
pub struct AuditKey {
    secret: [u8; 32],
    id: String,
    created_at: i64,
}

impl AuditKey {
    pub fn new(secret: [u8; 32], created_at: i64) -> Self {
        let mut mac = Self::mac_over(&secret);
        mac.update(b"madoguchi audit key id");
        let id = hex::encode(&mac.finalize().into_bytes()[..6]);
        Self {
            secret,
            id,
            created_at,
        }
    }

    /// A public name of this key, stored beside each hash it made.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Reads the key file at `path`; `None` when there is none.
    pub fn load(path: &Path) -> std::io::Result<Option<Self>> {
        match std::fs::read_to_string(path) {
            Ok(text) => Self::parse(&text).map(Some).ok_or_else(|| {
                std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!("{} is not a Madoguchi audit key file", path.display()),
                )
            }),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(err) => Err(err),
        }
    }

    /// Reads the key file at `path`, first writing a new key there (readable by its owner only)
    /// when there is none.
    pub fn load_or_create(path: &Path) -> std::io::Result<Self> {
        if let Some(key) = Self::load(path)? {
            return Ok(key);
        }
        let mut secret = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut secret);
        let key = Self::new(secret, now_ms());
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        match options.open(path) {
            Ok(mut file) => {
                write!(
                    file,
                    "# The key of Madoguchi's audit log. Keep it, and keep it apart from database backups.\n\
                     created_at={}\nsecret={}\n",
                    key.created_at,
                    hex::encode(key.secret)
                )?;
                file.sync_all()?;
                Ok(key)
            }
            // Another process made it first: use theirs.
            Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => Self::load(path)?
                .ok_or_else(|| std::io::Error::other("the audit key file vanished")),
            Err(err) => Err(err),
        }
    }

    fn parse(text: &str) -> Option<Self> {
        let mut created_at = None;
        let mut secret = None;
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            match line.split_once('=')? {
                ("created_at", value) => created_at = value.trim().parse().ok(),
                ("secret", value) => {
                    secret = hex::decode(value.trim())
                        .ok()
                        .and_then(|bytes| <[u8; 32]>::try_from(bytes).ok())
                }
                _ => return None,
            }
        }
        Some(Self::new(secret?, created_at?))
    }

    fn mac_over(secret: &[u8; 32]) -> Hmac<Sha256> {
        // HMAC takes a key of any length.
        match Hmac::<Sha256>::new_from_slice(secret) {
            Ok(mac) => mac,
            Err(_) => unreachable!("HMAC accepts 32-byte keys"),
        }
    }
}

/// The key id inside a keyed hash.
fn key_id_of(hash: &str) -> Option<&str> {
    hash.strip_prefix(KEYED)?.split_once(':').map(|(id, _)| id)
}

/// The hash of one event: an HMAC under `key`, or plain SHA-256 without one.
fn chain_hash(key: Option<&AuditKey>, prev: &str, event: [&str; 6]) -> String {
    fn feed(digest: &mut impl sha2::digest::Update, fields: [&str; 7]) {
        for field in fields {
            digest.update(&(field.len() as u64).to_be_bytes());
            digest.update(field.as_bytes());
        }
    }
    let [seq, actor, action, target, detail, at] = event;
    let fields = [prev, seq, actor, action, target, detail, at];
    match key {
        Some(key) => {
            let mut mac = AuditKey::mac_over(&key.secret);
            feed(&mut mac, fields);
            let tag = hex::encode(mac.finalize().into_bytes());
            format!("{KEYED}{}:{tag}", key.id)
        }
        None => {
            let mut hasher = Sha256::new();
            feed(&mut hasher, fields);
            hex::encode(hasher.finalize())
        }
    }
}

impl Store {
    /// Records an audit event in its own transaction.
    pub async fn record_audit(&self, entry: &AuditEntry<'_>) -> Result<()> {
        let mut w = self.begin_write().await?;
        Self::append_audit_in(&mut w.tx, self.audit_key.as_deref(), entry, now_ms()).await?;
        w.commit().await
    }

    /// Appends an event inside a write transaction, sealed with `key`. Bumping the workspace's
    /// counter first locks the workspace row on PostgreSQL, so concurrent appends form one chain.
    pub(crate) async fn append_audit_in(
        conn: &mut AnyConnection,
        key: Option<&AuditKey>,
        entry: &AuditEntry<'_>,
        now: i64,
    ) -> Result<()> {
        let row = sqlx::query(
            "UPDATE workspaces SET audit_seq = audit_seq + 1 WHERE id = $1 RETURNING audit_seq, audit_head",
        )
        .bind(entry.workspace_id)
        .fetch_one(&mut *conn)
        .await?;
        let seq: i64 = row.try_get("audit_seq")?;
        let prev: String = row.try_get("audit_head")?;
        let detail = entry.detail.to_string();
        let hash = chain_hash(
            key,
            &prev,
            [
                &seq.to_string(),
                entry.actor,
                entry.action,
                entry.target,
                &detail,
                &now.to_string(),
            ],
        );
        sqlx::query(
            "INSERT INTO audit_events (workspace_id, seq, actor, action, target, detail, created_at, prev_hash, hash) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(entry.workspace_id)
        .bind(seq)
        .bind(entry.actor)
        .bind(entry.action)
        .bind(entry.target)
        .bind(&detail)
        .bind(now)
        .bind(&prev)
        .bind(&hash)
        .execute(&mut *conn)
        .await?;
        sqlx::query("UPDATE workspaces SET audit_head = $2 WHERE id = $1")
            .bind(entry.workspace_id)
            .bind(&hash)
            .execute(&mut *conn)
            .await?;
        Ok(())
    }

    /// A workspace's audit events, oldest first.
    pub async fn audit_events(&self, workspace_id: &str) -> Result<Vec<AuditEvent>> {
        let rows = sqlx::query(
            "SELECT seq, actor, action, target, detail, created_at, prev_hash, hash FROM audit_events \
             WHERE workspace_id = $1 ORDER BY seq",
        )
        .bind(workspace_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(AuditEvent::from_row).collect()
    }

    /// A workspace's audit events, newest first, `limit` at a time before `before_seq` (all
    /// when `None`), whose actor, action and target hold the filter's texts (`agent:` for
    /// every agent's, `contact.` for every contact event).
    pub async fn audit_page(
        &self,
        workspace_id: &str,
        filter: &AuditFilter<'_>,
        before_seq: Option<i64>,
        limit: i64,
    ) -> Result<Vec<AuditEvent>> {
        let rows = sqlx::query(
            "SELECT seq, actor, action, target, detail, created_at, prev_hash, hash FROM audit_events \
             WHERE workspace_id = $1 AND seq < $2 AND ($3 IS NULL OR actor LIKE $3 ESCAPE '\\') \
             AND ($4 IS NULL OR target LIKE $4 ESCAPE '\\') AND ($5 IS NULL OR action LIKE $5 ESCAPE '\\') \
             ORDER BY seq DESC LIMIT $6",
        )
        .bind(workspace_id)
        .bind(before_seq.unwrap_or(i64::MAX))
        .bind(filter.actor.map(crate::conversations::like_pattern))
        .bind(filter.target.map(crate::conversations::like_pattern))
        .bind(filter.action.map(crate::conversations::like_pattern))
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(AuditEvent::from_row).collect()
    }

    /// The ids of the keys that sealed the newest event of some workspace, other than this
    /// handle's key: a node started with the wrong key file finds out before writing.
    pub async fn foreign_audit_keys(&self) -> Result<Vec<String>> {
        let rows = sqlx::query(
            "SELECT DISTINCT audit_head FROM workspaces WHERE audit_head LIKE 'hmac:%'",
        )
        .fetch_all(self.pool())
        .await?;
        let mut ids = Vec::new();
        for row in rows {
            let head: String = row.try_get("audit_head")?;
            if let Some(id) = key_id_of(&head) {
                if Some(id) != self.audit_key.as_deref().map(AuditKey::id)
                    && !ids.iter().any(|known| known == id)
                {
                    ids.push(id.to_owned());
                }
            }
        }
        Ok(ids)
    }

    /// Recomputes the chain of a workspace with this handle's key and says where it breaks, if
    /// anywhere.
    pub async fn verify_audit_chain(&self, workspace_id: &str) -> Result<ChainCheck> {
        let key = self.audit_key.as_deref();
        let events = self.audit_events(workspace_id).await?;
        let mut check = ChainCheck {
            events: events.len(),
            first_broken_seq: None,
            foreign_key: None,
            unkeyed: 0,
        };
        // A forged tombstone breaks the chain where it stands, like any rewritten event.
        let vouched = vouched_for(&events);
        let mut prev = String::new();
        for (index, event) in events.iter().enumerate() {
            let sealed_with = key_id_of(&event.hash);
            let key_for_event = match sealed_with {
                Some(id) if key.map(AuditKey::id) == Some(id) => key,
                Some(id) => {
                    check.first_broken_seq = Some(event.seq);
                    check.foreign_key = Some(id.to_owned());
                    return Ok(check);
                }
                // Plain hashes only before the first keyed one, and from before the key.
                None if index == check.unkeyed
                    && key.is_none_or(|key| event.created_at < key.created_at) =>
                {
                    check.unkeyed += 1;
                    None
                }
                None => {
                    check.first_broken_seq = Some(event.seq);
                    return Ok(check);
                }
            };
            let erased = event.detail == ERASED_DETAIL
                && vouched
                    .get(&event.seq)
                    .is_some_and(|hash| *hash == event.hash);
            let expected = match erased {
                true => event.hash.clone(),
                false => chain_hash(
                    key_for_event,
                    &prev,
                    [
                        &event.seq.to_string(),
                        &event.actor,
                        &event.action,
                        &event.target,
                        &event.detail,
                        &event.created_at.to_string(),
                    ],
                ),
            };
            if event.seq != index as i64 + 1 || event.prev_hash != prev || event.hash != expected {
                check.first_broken_seq = Some(event.seq);
                return Ok(check);
            }
            prev = expected;
        }
        let head: String = sqlx::query("SELECT audit_head FROM workspaces WHERE id = $1")
            .bind(workspace_id)
            .fetch_one(self.pool())
            .await?
            .try_get("audit_head")?;
        check.first_broken_seq = (head != prev).then_some(-1);
        Ok(check)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_file_is_made_once_private_and_read_back() {
        let dir = std::env::temp_dir().join(format!("madoguchi-audit-key-{}", crate::new_id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("audit.key");
        assert!(AuditKey::load(&path).unwrap().is_none());
        let made = AuditKey::load_or_create(&path).unwrap();
        let again = AuditKey::load_or_create(&path).unwrap();
        assert_eq!((made.id(), made.created_at), (again.id(), again.created_at));
        assert_eq!(made.secret, again.secret);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o077, 0, "readable by others: {mode:o}");
        }
        std::fs::write(&path, "secret=abcd\n").unwrap();
        assert!(AuditKey::load(&path).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_keyed_hash_names_its_key_and_differs_per_key() {
        let fields = ["1", "system", "auth.login", "x", "{}", "5"];
        let one = AuditKey::new([1; 32], 0);
        let two = AuditKey::new([2; 32], 0);
        let sealed = chain_hash(Some(&one), "", fields);
        assert_eq!(key_id_of(&sealed), Some(one.id()));
        assert_ne!(sealed, chain_hash(Some(&two), "", fields));
        assert_eq!(key_id_of(&chain_hash(None, "", fields)), None);
    }
}
