//! Agents: roles and the e-mail addresses they log in with.

use crate::{string_enum, InvalidValue};

string_enum!(
    /// What an agent may do (see [`crate::permissions`]): owners everything; admins all but
    /// owners' accounts; supervisors the floor (harassment cases, reports, knowledge, audit);
    /// agents answer; analysts read and report, never write.
    Role, "role", {
        Owner => "owner",
        Admin => "admin",
        Supervisor => "supervisor",
        Agent => "agent",
        Analyst => "analyst",
    }
);

/// A lower-cased e-mail address with one `@`, a non-empty local part and a dotted domain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        let email = raw.trim().to_lowercase();
        let invalid = || InvalidValue::new("email", "is not a valid e-mail address");
        let (local, domain) = email.split_once('@').ok_or_else(invalid)?;
        let domain_ok = domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains('@');
        if local.is_empty()
            || !domain_ok
            || email.len() > 254
            || email.chars().any(char::is_whitespace)
        {
            return Err(invalid());
        }
        Ok(Self(email))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Shortest password accepted for an agent.
pub const MIN_PASSWORD_CHARS: usize = 8;

/// Checks an agent's new password against the minimum length.
pub fn check_password(password: &str) -> Result<(), InvalidValue> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(InvalidValue::new(
            "password",
            format!("must be at least {MIN_PASSWORD_CHARS} characters"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_is_normalised_and_checked() {
        assert_eq!(
            Email::parse(" Hanako@Example.JP ").unwrap().as_str(),
            "hanako@example.jp"
        );
        for bad in [
            "", "a", "a@b", "@b.jp", "a@.jp", "a@b.jp.", "a b@c.jp", "a@b@c.jp",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn passwords_need_eight_characters() {
        assert!(check_password("short").is_err());
        assert!(check_password("パスワード長いです").is_ok());
    }
}
