//! Messages: who sent them, their bodies, and the client ids that make sending idempotent.

use crate::{string_enum, InvalidValue};

string_enum!(
    /// Who wrote a message. Only `agent` messages count as a human response.
    SenderKind, "sender_kind", {
        Contact => "contact",
        Agent => "agent",
        Bot => "bot",
        System => "system",
    }
);

/// Longest message body accepted, in characters (not bytes, so Japanese is not penalised).
pub const MAX_BODY_CHARS: usize = 10_000;

/// A non-empty message body of at most [`MAX_BODY_CHARS`] characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageBody(String);

impl MessageBody {
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        if raw.trim().is_empty() {
            return Err(InvalidValue::new("body", "must not be empty"));
        }
        let chars = raw.chars().count();
        if chars > MAX_BODY_CHARS {
            return Err(InvalidValue::new(
                "body",
                format!("is {chars} characters long; the limit is {MAX_BODY_CHARS}"),
            ));
        }
        crate::text::check_visible("body", raw, true)?;
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The sender's own id for a message (1–64 of `A-Z a-z 0-9 - _ .`): sending the same id twice
/// yields the same message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientId(String);

impl ClientId {
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        let valid_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.');
        if raw.is_empty() || raw.len() > 64 || !raw.chars().all(valid_char) {
            return Err(InvalidValue::new(
                "client_id",
                "must be 1-64 characters of A-Z, a-z, 0-9, '-', '_' or '.'",
            ));
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_limits_count_characters_not_bytes() {
        let japanese = "あ".repeat(MAX_BODY_CHARS);
        assert!(MessageBody::parse(&japanese).is_ok());
        let too_long = "あ".repeat(MAX_BODY_CHARS + 1);
        assert_eq!(MessageBody::parse(&too_long).unwrap_err().field, "body");
    }

    #[test]
    fn body_rejects_blank_and_nul() {
        assert!(MessageBody::parse("   \n").is_err());
        assert!(MessageBody::parse("a\0b").is_err());
        assert_eq!(
            MessageBody::parse("こんにちは").unwrap().as_str(),
            "こんにちは"
        );
    }

    #[test]
    fn client_id_charset_and_length() {
        assert!(ClientId::parse("0192-abc_DEF.1").is_ok());
        assert!(ClientId::parse("").is_err());
        assert!(ClientId::parse(&"a".repeat(65)).is_err());
        assert!(ClientId::parse("a b").is_err());
        assert!(ClientId::parse("ｱ").is_err());
    }
}
