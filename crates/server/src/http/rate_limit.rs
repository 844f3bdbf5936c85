//! Fixed-window rate limits kept in memory, keyed by a string (an IP address, an e-mail…), and
//! limits on open connections per client IP.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::http::error::{AppError, ErrorCode};

/// At most `limit` hits per key in each `window`.
pub struct RateLimiter {
    limit: u32,
    window: Duration,
    hits: Mutex<HashMap<String, (Instant, u32)>>,
}

/// Keys kept before stale windows are swept.
const SWEEP_AT: usize = 10_000;

impl RateLimiter {
    pub fn new(limit: u32, window: Duration) -> Self {
        Self {
            limit,
            window,
            hits: Mutex::new(HashMap::new()),
        }
    }

    /// Counts a hit for `key`; refuses it with `429 rate_limited` past the limit.
    pub fn check(&self, key: &str) -> Result<(), AppError> {
        self.check_at(key, Instant::now())
    }

    fn check_at(&self, key: &str, now: Instant) -> Result<(), AppError> {
        let mut hits = self
            .hits
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if hits.len() >= SWEEP_AT {
            hits.retain(|_, (start, _)| now.duration_since(*start) < self.window);
        }
        let entry = hits.entry(key.to_owned()).or_insert((now, 0));
        if now.duration_since(entry.0) >= self.window {
            *entry = (now, 0);
        }
        entry.1 += 1;
        if entry.1 > self.limit {
            let left = self.window.saturating_sub(now.duration_since(entry.0));
            return Err(AppError::new(
                ErrorCode::RateLimited,
                "too many requests; try again later",
            )
            .retry_after(left.as_secs_f64().ceil().max(1.0) as u64));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_past_the_limit_per_key_and_resets_with_the_window() {
        let limiter = RateLimiter::new(2, Duration::from_secs(60));
        let start = Instant::now();
        let at = |secs: u64| start + Duration::from_secs(secs);
        assert!(limiter.check_at("a", at(0)).is_ok());
        assert!(limiter.check_at("a", at(1)).is_ok());
        let refused = limiter.check_at("a", at(59)).unwrap_err();
        assert_eq!(refused.code, ErrorCode::RateLimited);
        assert_eq!(refused.retry_after, Some(1), "the window ends in a second");
        let early = limiter.check_at("a", at(2)).unwrap_err();
        assert_eq!(early.retry_after, Some(58));
        assert!(
            limiter.check_at("b", at(59)).is_ok(),
            "keys are counted apart"
        );
        assert!(limiter.check_at("a", at(60)).is_ok(), "a new window");
        assert!(limiter.check_at("a", at(61)).is_ok());
        assert!(limiter.check_at("a", at(62)).is_err());
    }
}

/// At most `limit` open connections per client IP; a [`ConnectionSlot`] holds one until dropped.
pub struct ConnectionLimit {
    limit: usize,
    open: Arc<Mutex<HashMap<IpAddr, usize>>>,
}

pub struct ConnectionSlot {
    ip: IpAddr,
    open: Arc<Mutex<HashMap<IpAddr, usize>>>,
}

impl ConnectionLimit {
    pub fn new(limit: u32) -> Self {
        Self {
            limit: limit as usize,
            open: Arc::default(),
        }
    }

    /// Takes a slot for `ip`, or refuses with `429 rate_limited` when it has `limit` open.
    pub fn acquire(&self, ip: IpAddr) -> Result<ConnectionSlot, AppError> {
        let mut open = self
            .open
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let count = open.entry(ip).or_default();
        if *count >= self.limit {
            return Err(AppError::new(
                ErrorCode::RateLimited,
                "too many open connections from this address",
            ));
        }
        *count += 1;
        Ok(ConnectionSlot {
            ip,
            open: self.open.clone(),
        })
    }
}

impl Drop for ConnectionSlot {
    fn drop(&mut self) {
        let mut open = self
            .open
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(count) = open.get_mut(&self.ip) {
            *count -= 1;
            if *count == 0 {
                open.remove(&self.ip);
            }
        }
    }
}

#[cfg(test)]
mod connection_tests {
    use super::*;

    #[test]
    fn slots_are_limited_per_ip_and_freed_on_drop() {
        let limit = ConnectionLimit::new(2);
        let ip: IpAddr = [127, 0, 0, 1].into();
        let other: IpAddr = [127, 0, 0, 2].into();
        let a = limit.acquire(ip).unwrap();
        let _b = limit.acquire(ip).unwrap();
        assert!(limit.acquire(ip).is_err());
        assert!(limit.acquire(other).is_ok());
        drop(a);
        assert!(limit.acquire(ip).is_ok());
    }
}
