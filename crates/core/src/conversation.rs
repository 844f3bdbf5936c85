//! Conversation statuses and priorities, and when the bot may answer in a conversation.

use crate::string_enum;

string_enum!(
    /// Where a conversation stands. A customer message on a resolved or snoozed conversation
    /// opens it again; `spam` (mail flagged as spam or phishing) stays apart until an agent
    /// releases it; `blocked` (a blocked sender's) stays apart until the block is lifted.
    ConversationStatus, "status", {
        Open => "open",
        Pending => "pending",
        Snoozed => "snoozed",
        Resolved => "resolved",
        Spam => "spam",
        Blocked => "blocked",
    }
);

string_enum!(
    /// How urgently a conversation needs attention.
    Priority, "priority", {
        Low => "low",
        Normal => "normal",
        High => "high",
        Urgent => "urgent",
    }
);

impl ConversationStatus {
    /// The status after the customer writes: anything but `open`, `pending` and `spam` reopens.
    pub fn after_customer_message(self) -> Self {
        match self {
            ConversationStatus::Pending => ConversationStatus::Pending,
            ConversationStatus::Spam => ConversationStatus::Spam,
            _ => ConversationStatus::Open,
        }
    }
}

/// Whether a person is, or was asked to be, in a conversation.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Involvement {
    /// An agent has replied (a note does not count).
    pub human_replied: bool,
    /// The conversation is assigned to an agent.
    pub assigned: bool,
    /// The customer asked for a person: 「いいえ」 to the bot, "talk to a person", or a
    /// scenario's hand-over node.
    pub handed_over: bool,
}

impl Involvement {
    /// The bot answers only while no person is involved. Once one is, it stays out of this
    /// conversation for good, even after it is resolved and reopened; a new conversation starts
    /// afresh.
    pub fn bot_may_answer(self) -> bool {
        !(self.human_replied || self.assigned || self.handed_over)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bot_answers_only_while_no_person_is_involved() {
        assert!(
            Involvement::default().bot_may_answer(),
            "a new conversation"
        );
        for involved in [
            Involvement {
                human_replied: true,
                ..Default::default()
            },
            Involvement {
                assigned: true,
                ..Default::default()
            },
            Involvement {
                handed_over: true,
                ..Default::default()
            },
            Involvement {
                human_replied: true,
                assigned: true,
                handed_over: true,
            },
        ] {
            assert!(!involved.bot_may_answer(), "{involved:?}");
        }
    }

    #[test]
    fn statuses_round_trip_and_reject_unknown() {
        for status in ConversationStatus::ALL {
            assert_eq!(ConversationStatus::parse(status.as_str()), Ok(*status));
        }
        let err = ConversationStatus::parse("closed").unwrap_err();
        assert_eq!(err.field, "status");
        assert!(err.reason.contains("resolved"));
    }

    #[test]
    fn customer_message_reopens_resolved_and_snoozed() {
        assert_eq!(
            ConversationStatus::Resolved.after_customer_message(),
            ConversationStatus::Open
        );
        assert_eq!(
            ConversationStatus::Snoozed.after_customer_message(),
            ConversationStatus::Open
        );
        assert_eq!(
            ConversationStatus::Pending.after_customer_message(),
            ConversationStatus::Pending
        );
    }

    #[test]
    fn priorities_parse() {
        assert_eq!(Priority::parse("urgent"), Ok(Priority::Urgent));
        assert!(Priority::parse("URGENT").is_err());
    }
}
