//! A per-node memo of the automatic messages known to be posted, so that most repeats (an away
//! message for every line of a waiting customer) cost no read.

use std::collections::HashSet;
use std::sync::Mutex;

/// Automatic messages (sender kind / conversation id / client id) this node knows are posted: a posted
/// message never goes away, so a hit needs no read. Bounded: past [`PostedOnce::MAX`] keys it
/// starts again empty (a miss only costs the read).
#[derive(Default)]
pub struct PostedOnce {
    keys: Mutex<HashSet<String>>,
}

impl PostedOnce {
    const MAX: usize = 100_000;

    fn keys(&self) -> std::sync::MutexGuard<'_, HashSet<String>> {
        self.keys.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn contains(&self, key: &str) -> bool {
        self.keys().contains(key)
    }

    pub fn insert(&self, key: String) {
        let mut keys = self.keys();
        if keys.len() >= Self::MAX {
            keys.clear();
        }
        keys.insert(key);
    }
}

#[cfg(test)]
mod tests {
    use super::PostedOnce;

    #[test]
    fn posted_keys_are_remembered_and_bounded() {
        let posted = PostedOnce::default();
        posted.insert("system/c1/away-1".into());
        assert!(posted.contains("system/c1/away-1"));
        assert!(!posted.contains("system/c1/away-2"));
        for n in 0..PostedOnce::MAX {
            posted.insert(format!("system/c{n}/greeting"));
        }
        assert!(posted.keys().len() <= PostedOnce::MAX);
        assert!(!posted.contains("system/c1/away-1"), "started again empty");
    }
}
