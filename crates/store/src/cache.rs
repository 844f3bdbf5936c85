//! Read caches for rows nearly every message needs and that seldom change: channels,
//! workspaces, contacts by identity (each widget request), the knowledge base's version and
//! synonyms, and each workspace's routing rules and blocks. A write through this [`Store`] clears the matching cache at once; a write by
//! another process (another node) is seen within [`TTL`] ([`CONTACT_TTL`] for contacts, whose
//! identities never move to another contact; notifications read the contact afresh).
//!
//! [`Store`]: crate::Store

use std::collections::HashMap;
use std::future::Future;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::contacts::Contact;
use crate::harassment::Block;
use crate::knowledge::KnowledgeVersion;
use crate::teams::StoredRule;
use crate::workspaces::{Channel, Workspace};
use crate::Result;

/// How long a cached row is trusted before it is read again.
pub const TTL: Duration = Duration::from_secs(2);
/// The same for contacts: a visitor writes every few seconds at most, so a shorter time would
/// read them again nearly every time.
pub const CONTACT_TTL: Duration = Duration::from_secs(60);
/// Entries one cache holds before it drops the stale ones (and, if that is not enough, all).
const MAX_ENTRIES: usize = 100_000;

/// One cache: values by key, each with the time it was read.
pub(crate) struct ReadCache<V> {
    state: Mutex<Entries<V>>,
    ttl: Duration,
}

struct Entries<V> {
    values: HashMap<String, (Instant, V)>,
    /// Bumped by every clear, so that a read that raced a write does not store the old row.
    generation: u64,
}

impl<V: Clone> Default for ReadCache<V> {
    fn default() -> Self {
        Self::with_ttl(TTL)
    }
}

impl<V: Clone> ReadCache<V> {
    pub(crate) fn with_ttl(ttl: Duration) -> Self {
        Self {
            state: Mutex::new(Entries {
                values: HashMap::new(),
                generation: 0,
            }),
            ttl,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Entries<V>> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The cached value of `key` if it is fresh, else what `load` reads (cached when found).
    pub(crate) async fn get_or_load<F, Fut>(&self, key: &str, load: F) -> Result<V>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<V>>,
    {
        let generation = {
            let entries = self.lock();
            if let Some((read_at, value)) = entries.values.get(key) {
                if read_at.elapsed() < self.ttl {
                    return Ok(value.clone());
                }
            }
            entries.generation
        };
        let read_at = Instant::now();
        let value = load().await?;
        let mut entries = self.lock();
        if entries.generation == generation {
            if entries.values.len() >= MAX_ENTRIES {
                let ttl = self.ttl;
                entries.values.retain(|_, (at, _)| at.elapsed() < ttl);
                if entries.values.len() >= MAX_ENTRIES {
                    entries.values.clear();
                }
            }
            entries
                .values
                .insert(key.to_owned(), (read_at, value.clone()));
        }
        Ok(value)
    }

    /// Forgets everything (after a write).
    pub(crate) fn clear(&self) {
        self.forget(|_| true);
    }

    /// Forgets the values `stale` picks (after a write that changed them).
    pub(crate) fn forget(&self, stale: impl Fn(&V) -> bool) {
        let mut entries = self.lock();
        entries.values.retain(|_, (_, value)| !stale(value));
        entries.generation += 1;
    }
}

/// The store's caches.
pub(crate) struct Caches {
    /// By public key and by `workspace_id/id`.
    pub(crate) channels: ReadCache<Channel>,
    pub(crate) workspaces: ReadCache<Workspace>,
    /// By `workspace_id`, identity kind and value.
    pub(crate) contacts: ReadCache<Contact>,
    /// By workspace id.
    pub(crate) knowledge: ReadCache<KnowledgeVersion>,
    /// Routing rules and blocks not lifted, by workspace id: every customer message reads both.
    pub(crate) rules: ReadCache<Vec<StoredRule>>,
    pub(crate) blocks: ReadCache<Vec<Block>>,
}

impl Default for Caches {
    fn default() -> Self {
        Self {
            channels: ReadCache::default(),
            workspaces: ReadCache::default(),
            contacts: ReadCache::with_ttl(CONTACT_TTL),
            knowledge: ReadCache::default(),
            rules: ReadCache::default(),
            blocks: ReadCache::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::ReadCache;

    #[tokio::test]
    async fn serves_fresh_values_and_reads_again_after_a_clear() {
        let cache: ReadCache<String> = ReadCache::default();
        let reads = AtomicUsize::new(0);
        let load = || async {
            reads.fetch_add(1, Ordering::Relaxed);
            Ok(format!("row {}", reads.load(Ordering::Relaxed)))
        };
        assert_eq!(cache.get_or_load("a", load).await.unwrap(), "row 1");
        assert_eq!(cache.get_or_load("a", load).await.unwrap(), "row 1");
        assert_eq!(reads.load(Ordering::Relaxed), 1);
        cache.clear();
        assert_eq!(cache.get_or_load("a", load).await.unwrap(), "row 2");
        cache.forget(|row| row == "row 1");
        assert_eq!(cache.get_or_load("a", load).await.unwrap(), "row 2");
        cache.forget(|row| row == "row 2");
        assert_eq!(cache.get_or_load("a", load).await.unwrap(), "row 3");
        // A failed read is not cached.
        let failing = || async { Err(crate::StoreError::NotFound) };
        assert!(cache.get_or_load("b", failing).await.is_err());
        assert_eq!(cache.get_or_load("b", load).await.unwrap(), "row 4");
    }

    #[tokio::test]
    async fn a_read_that_raced_a_clear_is_not_kept() {
        let cache: ReadCache<&'static str> = ReadCache::default();
        let stale = cache
            .get_or_load("a", || async {
                cache.clear();
                Ok("old")
            })
            .await
            .unwrap();
        assert_eq!(stale, "old");
        assert_eq!(
            cache
                .get_or_load("a", || async { Ok("new") })
                .await
                .unwrap(),
            "new"
        );
    }
}
