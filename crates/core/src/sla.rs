//! SLA policies: first-response, next-response and resolution targets per priority, counted in
//! the channel's business hours, a warning some minutes before a deadline, and whether a
//! conversation met its targets.

use serde::{Deserialize, Serialize};

use crate::conversation::Priority;
use crate::InvalidValue;

/// Targets in business minutes; `None`: no target.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Targets {
    pub first_response_mins: Option<u32>,
    /// From a customer's message that waits again after an agent answered, to the next answer.
    pub next_response_mins: Option<u32>,
    pub resolution_mins: Option<u32>,
}

/// A policy: targets per priority and how early to warn.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Policy {
    pub low: Targets,
    pub normal: Targets,
    pub high: Targets,
    pub urgent: Targets,
    /// Warn this many minutes (of wall-clock time) before a deadline; 0: no warning.
    pub warn_before_mins: u32,
    /// Also send the warning to the assigned agent by e-mail.
    pub warn_email: bool,
}

impl Policy {
    pub fn targets(&self, priority: Priority) -> Targets {
        match priority {
            Priority::Low => self.low,
            Priority::Normal => self.normal,
            Priority::High => self.high,
            Priority::Urgent => self.urgent,
        }
    }

    pub fn validate(&self) -> Result<(), InvalidValue> {
        let limit = 60 * 24 * 365;
        let all = [self.low, self.normal, self.high, self.urgent];
        let too_long = |m: Option<u32>| m.is_some_and(|m| m == 0 || m > limit);
        if all.iter().any(|t| {
            too_long(t.first_response_mins)
                || too_long(t.next_response_mins)
                || too_long(t.resolution_mins)
        }) {
            return Err(InvalidValue::new("targets", "minutes must be 1-525600"));
        }
        if self.warn_before_mins > 24 * 60 {
            return Err(InvalidValue::new("warn_before_mins", "must be 0-1440"));
        }
        Ok(())
    }
}

/// Whether one target was met: `Some(true)` done by its deadline, `Some(false)` missed (done
/// late, or not done and past due at `now`), `None` no target or not due yet.
pub fn target_met(due: Option<i64>, done_at: Option<i64>, now: i64) -> Option<bool> {
    let due = due?;
    match done_at {
        Some(at) => Some(at <= due),
        None if now >= due => Some(false),
        None => None,
    }
}

/// A conversation's SLA outcome over both targets: missed when either was missed, met when
/// every target it has was met, `None` while one is still running (or there is none).
pub fn outcome(
    first: Option<bool>,
    resolution: Option<bool>,
    has_first: bool,
    has_resolution: bool,
) -> Option<bool> {
    if first == Some(false) || resolution == Some(false) {
        return Some(false);
    }
    let settled = (!has_first || first.is_some()) && (!has_resolution || resolution.is_some());
    ((has_first || has_resolution) && settled).then_some(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_target_is_met_missed_or_still_running() {
        assert_eq!(target_met(Some(100), Some(90), 50), Some(true));
        assert_eq!(target_met(Some(100), Some(110), 200), Some(false));
        assert_eq!(target_met(Some(100), None, 150), Some(false));
        assert_eq!(target_met(Some(100), None, 50), None);
        assert_eq!(target_met(None, Some(1), 50), None);
        assert_eq!(
            outcome(Some(true), None, true, true),
            None,
            "resolution still running"
        );
        assert_eq!(outcome(Some(true), Some(true), true, true), Some(true));
        assert_eq!(outcome(Some(true), None, true, false), Some(true));
        assert_eq!(outcome(None, Some(false), true, true), Some(false));
        assert_eq!(outcome(None, None, false, false), None);
    }

    #[test]
    fn zero_minute_targets_are_refused() {
        let mut policy = Policy::default();
        assert!(policy.validate().is_ok());
        policy.high.first_response_mins = Some(0);
        assert_eq!(policy.validate().unwrap_err().field, "targets");
    }
}
