//! Checks on free text from outside (messages, names): nothing that hides or disguises what a
//! reader sees. Text-direction overrides (the "Trojan Source" trick), control characters and
//! text made only of invisible characters are refused.

use crate::InvalidValue;

/// Bidirectional embeddings, overrides and isolates: they reorder what a reader sees.
fn is_direction_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Characters with no glyph of their own (zero-width spaces and joiners, the BOM, soft hyphen).
fn is_invisible(c: char) -> bool {
    c.is_whitespace()
        || matches!(c, '\u{00AD}' | '\u{200B}'..='\u{200F}' | '\u{2060}'..='\u{2064}' | '\u{FEFF}')
}

/// `raw` without what [`check_visible`] refuses (direction overrides, control characters): for
/// text that cannot be sent back, such as a mail.
pub fn visible_only(raw: &str, multiline: bool) -> String {
    raw.chars()
        .filter(|&c| {
            !is_direction_control(c)
                && !(c.is_control() && !(multiline && matches!(c, '\n' | '\t')))
        })
        .collect()
}

/// Refuses `raw` when it hides what a reader sees: direction overrides, control characters
/// (line breaks and tabs only where `multiline`), or nothing visible at all.
pub fn check_visible(field: &'static str, raw: &str, multiline: bool) -> Result<(), InvalidValue> {
    if raw.chars().any(is_direction_control) {
        return Err(InvalidValue::new(
            field,
            "must not contain text-direction override characters",
        ));
    }
    let allowed = |c: char| multiline && matches!(c, '\n' | '\r' | '\t');
    if raw.chars().any(|c| c.is_control() && !allowed(c)) {
        return Err(InvalidValue::new(
            field,
            "must not contain control characters",
        ));
    }
    if raw.chars().all(is_invisible) {
        return Err(InvalidValue::new(field, "must not be empty"));
    }
    Ok(())
}

/// The language a customer wrote in, as far as the bot and auto-replies can tell: `ja` when
/// the text has any kana or kanji, `en` when it has a few Latin letters and no Japanese, `None`
/// otherwise (digits, emoji, a file name).
pub fn language_of(text: &str) -> Option<&'static str> {
    let japanese = |c: char| matches!(c, '\u{3040}'..='\u{30FF}' | '\u{3400}'..='\u{4DBF}' | '\u{4E00}'..='\u{9FFF}' | '\u{FF66}'..='\u{FF9D}');
    if text.chars().any(japanese) {
        return Some("ja");
    }
    (text.chars().filter(char::is_ascii_alphabetic).count() >= 3).then_some("en")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hidden_or_disguised_text_is_refused() {
        assert!(check_visible("body", "返品したい\n二行目\tです", true).is_ok());
        for raw in ["\u{200B}\u{200B}", " \u{FEFF} ", "\u{2060}"] {
            let err = check_visible("body", raw, true).unwrap_err();
            assert_eq!(err.reason, "must not be empty", "{raw:?}");
        }
        let err = check_visible("body", "admin\u{202E}gnp.exe", true).unwrap_err();
        assert!(err.reason.contains("direction"));
        assert!(check_visible("body", "a\u{2066}b\u{2069}", true).is_err());
        assert!(check_visible("body", "a\u{7}b", true).is_err(), "BEL");
        assert!(
            check_visible("name", "山田\n花子", false).is_err(),
            "no line break in a name"
        );
        assert!(check_visible("name", "山\0田", false).is_err());
        assert!(check_visible("name", "山田 花子", false).is_ok());
        assert!(
            check_visible("body", "👨\u{200D}👩\u{200D}👧", true).is_ok(),
            "joiners inside visible text are fine"
        );
    }

    #[test]
    fn languages_of_customer_text() {
        assert_eq!(language_of("返品したいです"), Some("ja"));
        assert_eq!(language_of("iPhoneケースの在庫"), Some("ja"));
        assert_eq!(language_of("ｷｬﾝｾﾙ"), Some("ja"));
        assert_eq!(language_of("How do I return an item?"), Some("en"));
        assert_eq!(language_of("12345"), None);
        assert_eq!(language_of("ok"), None);
    }
}
