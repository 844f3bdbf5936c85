//! Domain types and rules of Madoguchi, free of IO.
//!
//! Values from the outside world (request bodies, CLI flags) are parsed here into types that
//! cannot hold invalid data; the store and the server trust them afterwards.
//!
//! # Layout
//! - [`conversation`]: conversation statuses and priorities, when the bot may answer.
//! - [`message`]: who sent a message, message bodies and client ids; [`text`]: free text that
//!   hides nothing (no direction overrides, control characters or invisible-only text).
//! - [`agent`]: agent roles and e-mail addresses; [`permissions`]: what each role may do;
//!   [`totp`]: time-based one-time passwords (RFC 6238) for two-factor sign-in.
//! - [`widget`]: widget settings and per-page display rules.
//! - [`hours`]: business hours ("open now?", "next opening"); [`holidays`]: Japanese holidays.
//! - [`scenario`]: the bot's button trees.
//! - [`automation`]: per-channel auto-replies and reply notifications, and their timing rules.
//! - [`attachment`]: which files may be attached (told by their content) and their names.
//! - [`harassment`]: a workspace's harassment policy, flags on messages, blocks.
//! - [`routing`]: routing rules (conditions, actions) and picking a team's next agent.
//! - [`classification`]: a workspace's categories for new conversations (defaults included).
//! - [`sla`]: SLA policies (targets per priority in business hours) and their outcome.
//! - [`sensitive`]: card numbers, My Number and passwords in messages, masked before storing;
//!   [`retention`]: how long a workspace keeps conversations and files.
//! - [`kpi`]: the support KPIs over what is stored about conversations, and report groups.
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod agent;
pub mod attachment;
pub mod automation;
pub mod classification;
pub mod conversation;
pub mod form;
pub mod harassment;
pub mod holidays;
pub mod hours;
pub mod kpi;
pub mod message;
pub mod permissions;
pub mod retention;
pub mod routing;
pub mod scenario;
pub mod sensitive;
pub mod shop_data;
pub mod sla;
pub mod text;
pub mod totp;
pub mod widget;

/// A value from outside failed validation; `field` names what was wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct InvalidValue {
    pub field: &'static str,
    pub reason: String,
}

impl InvalidValue {
    pub fn new(field: &'static str, reason: impl Into<String>) -> Self {
        Self {
            field,
            reason: reason.into(),
        }
    }
}

/// Declares a closed set of string values (`snake_case` on the wire and in the store).
macro_rules! string_enum {
    ($(#[$meta:meta])* $name:ident, $field:literal, { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            pub fn parse(raw: &str) -> Result<Self, $crate::InvalidValue> {
                match raw {
                    $($text => Ok($name::$variant),)+
                    other => Err($crate::InvalidValue::new(
                        $field,
                        format!("unknown value {other:?}; expected one of: {}", [$($text),+].join(", ")),
                    )),
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}
pub(crate) use string_enum;
