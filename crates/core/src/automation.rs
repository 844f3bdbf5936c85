//! Per-channel automation: business hours, auto-replies (greeting, in-hours expectation after N
//! seconds without a human reply, out-of-hours reply at once) and reply notifications; and the
//! rule that decides which auto-reply a customer message gets.

use serde::{Deserialize, Serialize};

use crate::hours::BusinessHours;
use crate::InvalidValue;

/// An auto-reply text in both languages; `{{next_open}}` becomes the next opening time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReplyText {
    pub enabled: bool,
    pub ja: String,
    pub en: String,
}

impl ReplyText {
    pub(crate) fn new(ja: &str, en: &str) -> Self {
        Self {
            enabled: true,
            ja: ja.into(),
            en: en.into(),
        }
    }

    /// The text to send in `locale`, or `None` when this reply is switched off.
    pub fn render(&self, locale: &str, next_open: &str) -> Option<String> {
        let text = if locale == "en" { &self.en } else { &self.ja };
        (self.enabled && !text.trim().is_empty()).then(|| text.replace("{{next_open}}", next_open))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Automation {
    /// Language of auto-replies and notifications: `ja` or `en`.
    pub locale: String,
    pub hours: BusinessHours,
    /// Sent on a conversation's first message.
    pub greeting: ReplyText,
    /// In hours, when no human has replied this many seconds after a customer message.
    pub expect_after_secs: u32,
    pub expectation: ReplyText,
    /// Out of hours, at once.
    pub away: ReplyText,
    /// Let the support bot answer from published knowledge-base articles first.
    pub bot: bool,
    /// Send agent replies by e-mail / SMS when the visitor has left.
    pub notify_email: bool,
    pub notify_sms: bool,
    /// Wait this long for the visitor to see a reply live before notifying (replies within
    /// the window go out together).
    pub notify_after_secs: u32,
    /// After the rating card, ask the NPS question (0–10: would you recommend us?).
    pub nps: bool,
}

impl Default for Automation {
    fn default() -> Self {
        Self {
            locale: "ja".into(),
            hours: BusinessHours::default(),
            greeting: ReplyText {
                enabled: false,
                ..ReplyText::new("お問い合わせありがとうございます。", "Thanks for your message.")
            },
            expect_after_secs: 60,
            expectation: ReplyText::new(
                "ただいま担当者が確認しています。もうしばらくお待ちください。",
                "We are looking into it and will reply here shortly.",
            ),
            away: ReplyText::new(
                "ただいま営業時間外です。{{next_open}}以降、1営業日以内に担当者よりご返信します。",
                "We are closed right now. We will reply within one business day after {{next_open}}.",
            ),
            bot: true,
            notify_email: true,
            notify_sms: false,
            notify_after_secs: 60,
            nps: false,
        }
    }
}

/// What a customer message calls for besides a human.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaitingReply {
    /// In hours: the expectation message if no human replies within this many seconds.
    ExpectationAfter(u32),
    /// Out of hours: the away message now.
    AwayNow,
    Nothing,
}

impl Automation {
    /// The language to speak in a conversation: the conversation's own (the widget's, or the
    /// customer's first message), else the channel's.
    pub fn locale_for<'a>(&'a self, conversation: Option<&'a str>) -> &'a str {
        conversation
            .filter(|l| matches!(*l, "ja" | "en"))
            .unwrap_or(&self.locale)
    }

    pub fn validate(&self) -> Result<(), InvalidValue> {
        if !matches!(self.locale.as_str(), "ja" | "en") {
            return Err(InvalidValue::new("locale", "must be ja or en"));
        }
        self.hours.validate()?;
        for text in [&self.greeting, &self.expectation, &self.away] {
            if text.ja.chars().count() > 1000 || text.en.chars().count() > 1000 {
                return Err(InvalidValue::new(
                    "auto_reply",
                    "texts are at most 1000 characters",
                ));
            }
        }
        if self.expect_after_secs == 0 || self.expect_after_secs > 24 * 3600 {
            return Err(InvalidValue::new("expect_after_secs", "must be 1-86400"));
        }
        if self.notify_after_secs > 24 * 3600 {
            return Err(InvalidValue::new(
                "notify_after_secs",
                "must be at most 86400",
            ));
        }
        Ok(())
    }

    /// The auto-reply a customer message calls for, given whether we are open now.
    pub fn waiting_reply(&self, open_now: bool) -> WaitingReply {
        match (open_now, self.expectation.enabled, self.away.enabled) {
            (true, true, _) => WaitingReply::ExpectationAfter(self.expect_after_secs),
            (false, _, true) => WaitingReply::AwayNow,
            _ => WaitingReply::Nothing,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn in_hours_wait_out_of_hours_at_once() {
        let automation = Automation::default();
        assert_eq!(
            automation.waiting_reply(true),
            WaitingReply::ExpectationAfter(60)
        );
        assert_eq!(automation.waiting_reply(false), WaitingReply::AwayNow);
        let quiet = Automation {
            away: ReplyText {
                enabled: false,
                ..automation.away.clone()
            },
            ..automation
        };
        assert_eq!(quiet.waiting_reply(false), WaitingReply::Nothing);
    }

    #[test]
    fn texts_render_variables_and_respect_switches() {
        let automation = Automation::default();
        let away = automation.away.render("ja", "11月27日(金) 9:00").unwrap();
        assert_eq!(
            away,
            "ただいま営業時間外です。11月27日(金) 9:00以降、1営業日以内に担当者よりご返信します。"
        );
        assert!(automation
            .away
            .render("en", "Fri")
            .unwrap()
            .contains("after Fri"));
        assert_eq!(
            automation.greeting.render("ja", ""),
            None,
            "the greeting is off by default"
        );
    }

    #[test]
    fn validation() {
        assert!(Automation::default().validate().is_ok());
        assert!(Automation {
            expect_after_secs: 0,
            ..Default::default()
        }
        .validate()
        .is_err());
        assert!(Automation {
            locale: "fr".into(),
            ..Default::default()
        }
        .validate()
        .is_err());
    }
}
