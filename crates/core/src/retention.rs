//! How long a workspace keeps what customers wrote: resolved conversations' messages are
//! deleted (or emptied, keeping who wrote when) some days after they were resolved, and files
//! some days after they were sent. Nothing is set by default: nothing goes.

use serde::{Deserialize, Serialize};

use crate::InvalidValue;

/// What happens to a resolved conversation's messages once it is old enough.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Removal {
    /// The messages are deleted; the conversation stays, empty, for the reports.
    #[default]
    Delete,
    /// Each message's text and content are emptied; who wrote when stays.
    Redact,
}

/// A workspace's retention policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Retention {
    /// Days after resolution; `None`: kept for ever.
    #[serde(default)]
    pub resolved_conversations_days: Option<u32>,
    #[serde(default)]
    pub removal: Removal,
    /// Days after a file was sent; `None`: kept for ever.
    #[serde(default)]
    pub attachments_days: Option<u32>,
}

/// Longest period a policy may name: ten years.
pub const MAX_DAYS: u32 = 3650;
const DAY_MS: i64 = 86_400_000;

impl Retention {
    pub fn validate(&self) -> Result<(), InvalidValue> {
        for (field, days) in [
            (
                "resolved_conversations_days",
                self.resolved_conversations_days,
            ),
            ("attachments_days", self.attachments_days),
        ] {
            if days.is_some_and(|d| !(1..=MAX_DAYS).contains(&d)) {
                return Err(InvalidValue::new(
                    field,
                    format!("must be 1-{MAX_DAYS} days, or null to keep for ever"),
                ));
            }
        }
        Ok(())
    }

    /// Whether the policy removes anything at all.
    pub fn is_set(&self) -> bool {
        self.resolved_conversations_days.is_some() || self.attachments_days.is_some()
    }

    /// Conversations resolved before this time (Unix ms) lose their messages.
    pub fn resolved_before(&self, now: i64) -> Option<i64> {
        self.resolved_conversations_days
            .map(|d| now - i64::from(d) * DAY_MS)
    }

    /// Files sent before this time (Unix ms) are removed.
    pub fn attachments_before(&self, now: i64) -> Option<i64> {
        self.attachments_days.map(|d| now - i64::from(d) * DAY_MS)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_are_days_within_ten_years() {
        let policy: Retention = serde_json::from_str(
            r#"{"resolved_conversations_days": 365, "removal": "redact", "attachments_days": 30}"#,
        )
        .unwrap();
        assert!(policy.validate().is_ok() && policy.is_set());
        assert_eq!(policy.removal, Removal::Redact);
        assert_eq!(policy.resolved_before(400 * DAY_MS), Some(35 * DAY_MS));
        assert_eq!(policy.attachments_before(40 * DAY_MS), Some(10 * DAY_MS));
        assert!(!Retention::default().is_set());
        for bad in [0, MAX_DAYS + 1] {
            let policy = Retention {
                attachments_days: Some(bad),
                ..Retention::default()
            };
            assert!(policy.validate().is_err(), "{bad}");
        }
        assert!(serde_json::from_str::<Retention>(r#"{"days": 3}"#).is_err());
    }
}
