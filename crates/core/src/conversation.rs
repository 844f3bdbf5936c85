//! Conversation statuses and priorities.

use crate::string_enum;

string_enum!(
    /// Where a conversation stands. A customer message on a resolved or snoozed conversation
    /// opens it again.
    ConversationStatus, "status", {
        Open => "open",
        Pending => "pending",
        Snoozed => "snoozed",
        Resolved => "resolved",
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
    /// The status after the customer writes: anything but `open` and `pending` reopens.
    pub fn after_customer_message(self) -> Self {
        match self {
            ConversationStatus::Pending => ConversationStatus::Pending,
            _ => ConversationStatus::Open,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
