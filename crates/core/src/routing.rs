//! Routing rules and assignment: a [`Rule`] is conditions on a new conversation or a customer
//! message (channel, words, business hours, language, category, the harassment and complaint
//! checks, the customer's address) and actions (a team, an agent or the team's next free agent, a priority,
//! tags, a template reply). [`pick`] chooses the agent within a team: round robin or least
//! busy, never past an agent's capacity, never someone away or offline.

use serde::{Deserialize, Serialize};

use crate::conversation::Priority;
use crate::{string_enum, InvalidValue};

string_enum!(
    /// When a rule is looked at: a conversation's first message (`created`), or every
    /// customer message, the first included (`customer_message`).
    Trigger, "when", {
        Created => "created",
        CustomerMessage => "customer_message",
    }
);

string_enum!(
    /// How a team's conversation finds its agent.
    AssignMethod, "assign", {
        RoundRobin => "round_robin",
        LeastBusy => "least_busy",
    }
);

/// Conditions, all of which must hold; an empty list or `None` holds always.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Conditions {
    /// The conversation came in on one of these channels.
    pub channel_ids: Vec<String>,
    /// The message contains one of these words (folded: width, case, katakana/hiragana).
    pub words: Vec<String>,
    /// Written in business hours (`true`) or out of them (`false`).
    pub in_hours: Option<bool>,
    /// The conversation's language, `ja` or `en`.
    pub language: Option<String>,
    /// The conversation was classified into one of these categories.
    pub categories: Vec<String>,
    /// The message was flagged as harassment.
    pub flagged: Option<bool>,
    /// The message reads as a complaint.
    pub complaint: Option<bool>,
    /// The customer left an e-mail address.
    pub contact_has_email: Option<bool>,
}

/// What a rule does; unset fields leave the conversation as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Actions {
    pub team_id: Option<String>,
    /// Hand the conversation to the team's next agent this way.
    pub assign: Option<AssignMethod>,
    pub agent_id: Option<String>,
    pub priority: Option<Priority>,
    pub tags: Vec<String>,
    /// A template sent to the customer as the team's reply.
    pub template_id: Option<String>,
    /// An SLA policy the conversation runs under from now on.
    pub sla_policy_id: Option<String>,
}

/// One routing rule, as stored and as the API takes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    pub when: Trigger,
    #[serde(default)]
    pub conditions: Conditions,
    pub actions: Actions,
}

/// What is known about a message when its rules are looked at.
pub struct Facts<'a> {
    pub channel_id: &'a str,
    /// Whether the message contains a word (the caller folds both sides alike).
    pub contains: &'a (dyn Fn(&str) -> bool + Sync),
    pub in_hours: bool,
    pub language: Option<&'a str>,
    pub category: Option<&'a str>,
    pub flagged: bool,
    pub complaint: bool,
    pub contact_has_email: bool,
}

impl Rule {
    pub fn validate(&self) -> Result<(), InvalidValue> {
        let c = &self.conditions;
        if c.words.len() > 100
            || c.words
                .iter()
                .any(|w| w.trim().is_empty() || w.chars().count() > 50)
        {
            return Err(InvalidValue::new(
                "words",
                "at most 100 words of 1-50 characters",
            ));
        }
        if c.language
            .as_deref()
            .is_some_and(|l| !matches!(l, "ja" | "en"))
        {
            return Err(InvalidValue::new("language", "must be ja or en"));
        }
        let a = &self.actions;
        if a.assign.is_some() && a.team_id.is_none() {
            return Err(InvalidValue::new(
                "assign",
                "needs a team_id to assign within",
            ));
        }
        if a.assign.is_some() && a.agent_id.is_some() {
            return Err(InvalidValue::new(
                "assign",
                "either an agent or a team's next agent, not both",
            ));
        }
        if a.tags.len() > 20
            || a.tags
                .iter()
                .any(|t| t.trim().is_empty() || t.chars().count() > 50)
        {
            return Err(InvalidValue::new(
                "tags",
                "at most 20 tags of 1-50 characters",
            ));
        }
        if *a == Actions::default() {
            return Err(InvalidValue::new("actions", "a rule must do something"));
        }
        Ok(())
    }

    /// Whether the rule fires for a message with these facts, at this `trigger`.
    pub fn matches(&self, trigger: Trigger, facts: &Facts<'_>) -> bool {
        let c = &self.conditions;
        let when = self.when == trigger
            || (self.when == Trigger::CustomerMessage && trigger == Trigger::Created);
        let holds = |want: Option<bool>, is: bool| want.is_none_or(|w| w == is);
        when && (c.channel_ids.is_empty() || c.channel_ids.iter().any(|id| id == facts.channel_id))
            && (c.words.is_empty() || c.words.iter().any(|w| (facts.contains)(w)))
            && holds(c.in_hours, facts.in_hours)
            && c.language
                .as_deref()
                .is_none_or(|l| facts.language == Some(l))
            && (c.categories.is_empty()
                || facts
                    .category
                    .is_some_and(|k| c.categories.iter().any(|w| w == k)))
            && holds(c.flagged, facts.flagged)
            && holds(c.complaint, facts.complaint)
            && holds(c.contact_has_email, facts.contact_has_email)
    }
}

/// An agent a team could hand a conversation to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub agent_id: String,
    /// Open or pending conversations assigned to them now.
    pub open: i64,
    /// The most they take at once; `None`: no limit.
    pub capacity: Option<i64>,
    /// Online and not away.
    pub available: bool,
}

/// The agent to hand the next conversation to: among those available and under capacity, the
/// one after `last` in `candidates`' order (round robin) or the one with the fewest open
/// conversations (least busy, ties in order). `None` when nobody can take it.
pub fn pick<'a>(
    method: AssignMethod,
    candidates: &'a [Candidate],
    last: Option<&str>,
) -> Option<&'a str> {
    let free = |c: &&Candidate| c.available && c.capacity.is_none_or(|cap| c.open < cap);
    match method {
        AssignMethod::LeastBusy => candidates.iter().filter(free).min_by_key(|c| c.open),
        AssignMethod::RoundRobin => {
            let after = last
                .and_then(|last| candidates.iter().position(|c| c.agent_id == last))
                .map_or(0, |i| i + 1);
            let n = candidates.len();
            (0..n).map(|k| &candidates[(after + k) % n]).find(free)
        }
    }
    .map(|c| c.agent_id.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn candidate(id: &str, open: i64, capacity: Option<i64>, available: bool) -> Candidate {
        Candidate {
            agent_id: id.into(),
            open,
            capacity,
            available,
        }
    }

    #[test]
    fn round_robin_goes_on_after_the_last_and_skips_the_full_and_the_absent() {
        let team = [
            candidate("a", 0, None, true),
            candidate("b", 2, Some(2), true),
            candidate("c", 0, None, false),
            candidate("d", 1, Some(3), true),
        ];
        let rr = AssignMethod::RoundRobin;
        assert_eq!(pick(rr, &team, None), Some("a"));
        assert_eq!(
            pick(rr, &team, Some("a")),
            Some("d"),
            "b is full, c is away"
        );
        assert_eq!(pick(rr, &team, Some("d")), Some("a"));
        assert_eq!(pick(rr, &team, Some("gone")), Some("a"));
        let nobody = [
            candidate("b", 2, Some(2), true),
            candidate("c", 0, None, false),
        ];
        assert_eq!(pick(rr, &nobody, None), None);
        assert_eq!(pick(AssignMethod::LeastBusy, &team, None), Some("a"));
        let busy = [
            candidate("a", 4, None, true),
            candidate("d", 1, Some(3), true),
        ];
        assert_eq!(pick(AssignMethod::LeastBusy, &busy, None), Some("d"));
    }

    #[test]
    fn a_rule_fires_only_when_every_condition_holds() {
        let rule: Rule = serde_json::from_value(serde_json::json!({
            "when": "created",
            "conditions": {"words": ["返品"], "in_hours": true, "language": "ja"},
            "actions": {"priority": "high"}
        }))
        .unwrap();
        assert!(rule.validate().is_ok());
        let text = "返品したいです";
        let contains = |w: &str| text.contains(w);
        let mut facts = Facts {
            channel_id: "c1",
            contains: &contains,
            in_hours: true,
            language: Some("ja"),
            category: Some("返品・交換"),
            flagged: false,
            complaint: false,
            contact_has_email: false,
        };
        assert!(rule.matches(Trigger::Created, &facts));
        assert!(
            !rule.matches(Trigger::CustomerMessage, &facts),
            "only on a new conversation"
        );
        facts.in_hours = false;
        assert!(!rule.matches(Trigger::Created, &facts));
        facts.in_hours = true;
        let by_category: Rule = serde_json::from_value(serde_json::json!({
            "when": "created",
            "conditions": {"categories": ["支払い", "返品・交換"]},
            "actions": {"priority": "high"}
        }))
        .unwrap();
        assert!(by_category.matches(Trigger::Created, &facts));
        facts.category = None;
        assert!(
            !by_category.matches(Trigger::Created, &facts),
            "unclassified"
        );
        let other = |w: &str| "配送について".contains(w);
        facts.in_hours = true;
        facts.contains = &other;
        assert!(!rule.matches(Trigger::Created, &facts));
    }

    #[test]
    fn a_rule_that_does_nothing_or_assigns_without_a_team_is_refused() {
        let empty: Rule =
            serde_json::from_value(serde_json::json!({"when": "created", "actions": {}})).unwrap();
        assert_eq!(empty.validate().unwrap_err().field, "actions");
        let lost: Rule = serde_json::from_value(
            serde_json::json!({"when": "created", "actions": {"assign": "round_robin"}}),
        )
        .unwrap();
        assert_eq!(lost.validate().unwrap_err().field, "assign");
        assert!(serde_json::from_value::<Rule>(
            serde_json::json!({"when": "created", "actions": {"colour": "red"}})
        )
        .is_err());
    }
}
