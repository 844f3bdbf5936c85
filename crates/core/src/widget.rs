//! Widget settings of a channel: colour, launcher position, greetings, and per-page display
//! rules (URL path patterns where `*` matches any run of characters).

use serde::{Deserialize, Serialize};

use crate::InvalidValue;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WidgetSettings {
    /// Accent colour, `#rrggbb`.
    pub color: String,
    /// `right` or `left` (bottom corner of the launcher).
    pub position: String,
    pub greeting_ja: String,
    pub greeting_en: String,
    /// Show only on paths matching one of these (empty: everywhere).
    pub show_on: Vec<String>,
    /// Never show on paths matching one of these.
    pub hide_on: Vec<String>,
    /// The pre-chat form's name and e-mail fields before a new conversation: `off`, `optional`,
    /// or `required` (the e-mail address must be given). Skipped when the details are known.
    pub prechat: String,
}

impl Default for WidgetSettings {
    fn default() -> Self {
        Self {
            color: "#1f6feb".into(),
            position: "right".into(),
            greeting_ja: "お気軽にご質問ください。担当者が順次お返事します。".into(),
            greeting_en: "Ask us anything. We will get back to you here.".into(),
            show_on: Vec::new(),
            hide_on: Vec::new(),
            prechat: "off".into(),
        }
    }
}

const MAX_PATTERNS: usize = 20;

impl WidgetSettings {
    pub fn validate(&self) -> Result<(), InvalidValue> {
        let hex = self.color.len() == 7
            && self.color.starts_with('#')
            && self.color[1..].chars().all(|c| c.is_ascii_hexdigit());
        if !hex {
            return Err(InvalidValue::new("color", "must be #rrggbb"));
        }
        if !matches!(self.position.as_str(), "right" | "left") {
            return Err(InvalidValue::new("position", "must be right or left"));
        }
        if !matches!(self.prechat.as_str(), "off" | "optional" | "required") {
            return Err(InvalidValue::new(
                "prechat",
                "must be off, optional or required",
            ));
        }
        if self.greeting_ja.chars().count() > 500 || self.greeting_en.chars().count() > 500 {
            return Err(InvalidValue::new(
                "greeting",
                "must be at most 500 characters",
            ));
        }
        for (field, patterns) in [("show_on", &self.show_on), ("hide_on", &self.hide_on)] {
            let bad = |p: &String| !p.starts_with('/') || p.len() > 200;
            if patterns.len() > MAX_PATTERNS || patterns.iter().any(bad) {
                return Err(InvalidValue::new(
                    field,
                    "at most 20 paths, each starting with / (max 200 characters)",
                ));
            }
        }
        Ok(())
    }

    /// Whether the widget shows on a page with this URL path.
    pub fn shows_on(&self, path: &str) -> bool {
        let shown = self.show_on.is_empty() || self.show_on.iter().any(|p| path_matches(p, path));
        shown && !self.hide_on.iter().any(|p| path_matches(p, path))
    }
}

/// Glob match where `*` stands for any run of characters (including `/`).
pub fn path_matches(pattern: &str, path: &str) -> bool {
    let mut parts = pattern.split('*');
    let Some(first) = parts.next() else {
        return false;
    };
    let Some(mut rest) = path.strip_prefix(first) else {
        return false;
    };
    let parts: Vec<&str> = parts.collect();
    let Some((last, middle)) = parts.split_last() else {
        return rest.is_empty();
    };
    for part in middle {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    rest.ends_with(last)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glob_paths() {
        assert!(path_matches("/", "/"));
        assert!(!path_matches("/", "/cart"));
        assert!(path_matches("/products/*", "/products/42"));
        assert!(path_matches("/*/checkout", "/ja/checkout"));
        assert!(!path_matches("/*/checkout", "/ja/cart"));
        assert!(path_matches("*", "/anything"));
        assert!(path_matches("/a*b*c", "/aXbYc"));
        assert!(!path_matches("/a*b*c", "/aXcYb"));
    }

    #[test]
    fn display_rules_show_then_hide() {
        let mut settings = WidgetSettings::default();
        assert!(settings.shows_on("/any"));
        settings.show_on = vec!["/shop/*".into()];
        settings.hide_on = vec!["/shop/checkout*".into()];
        assert!(settings.shows_on("/shop/item/1"));
        assert!(!settings.shows_on("/shop/checkout/pay"));
        assert!(!settings.shows_on("/blog"));
    }

    #[test]
    fn validation() {
        assert!(WidgetSettings::default().validate().is_ok());
        let bad_color = WidgetSettings {
            color: "red".into(),
            ..Default::default()
        };
        assert_eq!(bad_color.validate().unwrap_err().field, "color");
        let bad_path = WidgetSettings {
            hide_on: vec!["checkout".into()],
            ..Default::default()
        };
        assert_eq!(bad_path.validate().unwrap_err().field, "hide_on");
        let bad_position = WidgetSettings {
            position: "top".into(),
            ..Default::default()
        };
        assert!(bad_position.validate().is_err());
    }
}
