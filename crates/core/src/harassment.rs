//! A workspace's harassment (カスハラ) policy and what the check leaves on a message: the
//! [`Flag`] (why it was flagged, by the check or an agent's report), the supervisor's
//! [`Decision`] on it, and the kinds of senders that can be blocked.

use serde::{Deserialize, Serialize};

use crate::automation::ReplyText;
use crate::{string_enum, InvalidValue};

/// The tag a conversation ended for harassment carries (it gets no satisfaction survey).
pub const HARASSMENT_TAG: &str = "harassment";

/// What a workspace does with abusive messages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Policy {
    /// Hide flagged messages from agents until one reveals it on purpose (logged).
    pub mask: bool,
    /// The bot answers a flagged message with the guideline reply.
    pub reply: ReplyText,
    /// Severity (1–3) at which one message ends the conversation and escalates; 0: never.
    pub end_at_severity: u8,
    /// Flagged messages in one conversation that end it and escalate; 0: never.
    pub end_after: u32,
    /// When a conversation ends for harassment, block its sender this many days; 0: no block.
    pub block_days: u32,
    /// Extra abusive terms, and terms never to flag, for this workspace.
    pub add_terms: Vec<String>,
    pub suppress_terms: Vec<String>,
    /// The workspace's own harassment guideline (plain text), shown to agents.
    pub guideline: String,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            mask: true,
            reply: ReplyText::new(
                "恐れ入りますが、暴言・脅迫・過度な要求など、スタッフの尊厳を傷つけるご発言はお控えください。\
                 続く場合はお問い合わせへの対応を終了させていただくことがあります。",
                "Please refrain from abusive, threatening or demeaning language towards our staff. \
                 If it continues, we may end this conversation.",
            ),
            end_at_severity: 3,
            end_after: 3,
            block_days: 0,
            add_terms: Vec::new(),
            suppress_terms: Vec::new(),
            guideline: String::new(),
        }
    }
}

/// Most terms a workspace list holds, and the longest a term or the guideline may be.
const MAX_TERMS: usize = 500;
const MAX_TERM_CHARS: usize = 50;
const MAX_GUIDELINE_CHARS: usize = 20_000;

impl Policy {
    pub fn validate(&self) -> Result<(), InvalidValue> {
        if self.end_at_severity > 3 {
            return Err(InvalidValue::new("end_at_severity", "must be 0-3"));
        }
        if self.end_after > 100 || self.block_days > 3650 {
            return Err(InvalidValue::new(
                "end_after",
                "end_after is at most 100 and block_days at most 3650",
            ));
        }
        for terms in [&self.add_terms, &self.suppress_terms] {
            if terms.len() > MAX_TERMS
                || terms
                    .iter()
                    .any(|t| t.trim().is_empty() || t.chars().count() > MAX_TERM_CHARS)
            {
                return Err(InvalidValue::new(
                    "terms",
                    format!("at most {MAX_TERMS} terms of 1-{MAX_TERM_CHARS} characters"),
                ));
            }
        }
        if self.guideline.chars().count() > MAX_GUIDELINE_CHARS
            || self.reply.ja.chars().count() > 1000
            || self.reply.en.chars().count() > 1000
        {
            return Err(InvalidValue::new(
                "guideline",
                "the guideline is at most 20000 characters, the reply at most 1000",
            ));
        }
        Ok(())
    }

    /// Whether a message of `severity`, the `flagged`-th flagged one of its conversation, ends
    /// the conversation.
    pub fn ends_conversation(&self, severity: u8, flagged: u32) -> bool {
        (self.end_at_severity > 0 && severity >= self.end_at_severity)
            || (self.end_after > 0 && flagged >= self.end_after)
    }
}

string_enum!(
    /// Who flagged a message.
    FlagSource, "source", {
        Check => "check",
        Report => "report",
    }
);

/// Why a message was flagged, as stored with it (JSON).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Flag {
    pub source: FlagSource,
    /// 1 (rude) to 3 (threat to a person); a report counts as 2.
    pub severity: u8,
    /// The categories found (`insult`, `threat`…), or `reported`.
    pub categories: Vec<String>,
    /// The words or patterns that triggered it (the check), or the reporter's reason.
    pub reasons: Vec<String>,
    /// The agent who reported it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reported_by: Option<String>,
}

string_enum!(
    /// A supervisor's decision on a flagged message: `dismissed` unmasks it.
    Decision, "decision", {
        Confirmed => "confirmed",
        Dismissed => "dismissed",
    }
);

string_enum!(
    /// What a block matches: a contact, a widget visitor token, an IP range (CIDR) or an
    /// e-mail address.
    BlockKind, "kind", {
        Contact => "contact",
        Visitor => "visitor",
        Ip => "ip",
        Email => "email",
    }
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn severe_or_repeated_abuse_ends_a_conversation_as_configured() {
        let policy = Policy::default();
        assert!(policy.ends_conversation(3, 1));
        assert!(!policy.ends_conversation(2, 2));
        assert!(policy.ends_conversation(1, 3));
        let never = Policy {
            end_at_severity: 0,
            end_after: 0,
            ..Policy::default()
        };
        assert!(!never.ends_conversation(3, 50));
    }

    #[test]
    fn a_policy_with_empty_or_long_terms_is_refused() {
        let mut policy = Policy::default();
        assert!(policy.validate().is_ok());
        policy.add_terms = vec![" ".into()];
        assert_eq!(policy.validate().unwrap_err().field, "terms");
        policy.add_terms = vec!["x".repeat(51)];
        assert!(policy.validate().is_err());
        policy.add_terms = vec![];
        policy.end_at_severity = 4;
        assert_eq!(policy.validate().unwrap_err().field, "end_at_severity");
    }

    #[test]
    fn a_flag_reads_back_as_written() {
        let flag = Flag {
            source: FlagSource::Check,
            severity: 3,
            categories: vec!["threat".into()],
            reasons: vec!["殺す".into()],
            reported_by: None,
        };
        let json = serde_json::to_string(&flag).unwrap();
        assert!(!json.contains("reported_by"));
        assert_eq!(serde_json::from_str::<Flag>(&json).unwrap(), flag);
    }
}
