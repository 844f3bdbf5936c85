//! Web forms: the fields an admin defines for a form channel (name, e-mail, order number,
//! category, free text…), checked when saved, and a submission checked against them — it
//! becomes a conversation whose first message lists the answers, from the e-mail address the
//! form asked for (replies go out by e-mail).

use serde::{Deserialize, Serialize};

use crate::text::{check_visible, visible_only};
use crate::InvalidValue;

/// Most fields a form has.
pub const MAX_FIELDS: usize = 20;
/// Most characters of one answer (the free-text field; a line holds less).
const MAX_ANSWER: usize = 5_000;
const MAX_LINE: usize = 200;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FieldKind {
    /// One line of text.
    Text,
    Email,
    Tel,
    /// Several lines.
    Textarea,
    /// One of `options`.
    Select,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Field {
    /// The answer's name in a submission: a-z, 0-9 and `_`.
    pub key: String,
    pub label: String,
    #[serde(rename = "type")]
    pub kind: FieldKind,
    #[serde(default)]
    pub required: bool,
    /// The choices of a `select`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<String>,
}

/// A form channel's definition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FormDefinition {
    /// The heading above the form.
    pub title: String,
    /// Shown after sending.
    #[serde(default = "default_thanks")]
    pub thanks: String,
    pub fields: Vec<Field>,
}

fn default_thanks() -> String {
    "お問い合わせを受け付けました。担当者よりメールでご連絡します。".into()
}

impl Default for FormDefinition {
    /// A contact form as most shops have it.
    fn default() -> Self {
        let field = |key: &str, label: &str, kind, required| Field {
            key: key.into(),
            label: label.into(),
            kind,
            required,
            options: Vec::new(),
        };
        Self {
            title: "お問い合わせ".into(),
            thanks: default_thanks(),
            fields: vec![
                field("name", "お名前", FieldKind::Text, true),
                field("email", "メールアドレス", FieldKind::Email, true),
                field("order", "注文番号", FieldKind::Text, false),
                Field {
                    options: vec![
                        "商品について".into(),
                        "注文・配送".into(),
                        "返品・交換".into(),
                        "その他".into(),
                    ],
                    ..field("category", "お問い合わせの種類", FieldKind::Select, true)
                },
                field("message", "お問い合わせ内容", FieldKind::Textarea, true),
            ],
        }
    }
}

fn line(field: &'static str, value: &str, max: usize) -> Result<(), InvalidValue> {
    let chars = value.trim().chars().count();
    if chars == 0 || chars > max {
        return Err(InvalidValue::new(
            field,
            format!("must be 1-{max} characters"),
        ));
    }
    check_visible(field, value, false)
}

impl FormDefinition {
    /// Checks an admin's definition: a title, 1-20 fields with distinct keys, labels, choices
    /// for a select, and one required e-mail field (replies go there).
    pub fn validate(&self) -> Result<(), InvalidValue> {
        line("title", &self.title, MAX_LINE)?;
        line("thanks", &self.thanks, 1_000)?;
        if self.fields.is_empty() || self.fields.len() > MAX_FIELDS {
            return Err(InvalidValue::new(
                "fields",
                format!("1-{MAX_FIELDS} fields"),
            ));
        }
        let mut keys = std::collections::HashSet::new();
        for field in &self.fields {
            let key_ok = (1..=40).contains(&field.key.len())
                && field
                    .key
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
            if !key_ok || !keys.insert(field.key.as_str()) || field.key == "website" {
                return Err(InvalidValue::new(
                    "fields",
                    format!(
                        "{:?}: a key is 1-40 of a-z, 0-9 and _, once per form",
                        field.key
                    ),
                ));
            }
            line("fields", &field.label, MAX_LINE)?;
            match field.kind {
                FieldKind::Select if field.options.is_empty() || field.options.len() > 50 => {
                    return Err(InvalidValue::new("fields", "a select has 1-50 options"));
                }
                FieldKind::Select => {
                    for option in &field.options {
                        line("fields", option, MAX_LINE)?;
                    }
                }
                _ if !field.options.is_empty() => {
                    return Err(InvalidValue::new("fields", "only a select has options"));
                }
                _ => {}
            }
        }
        if !self
            .fields
            .iter()
            .any(|f| f.kind == FieldKind::Email && f.required)
        {
            return Err(InvalidValue::new(
                "fields",
                "a form needs a required e-mail field: replies go there",
            ));
        }
        Ok(())
    }

    /// Checks a submission (`answers` by field key) and gives the answers in the form's
    /// order, with the e-mail address and the name (the first text field labelled as one).
    pub fn accept(&self, answers: &[(String, String)]) -> Result<Submission, InvalidValue> {
        let answer = |key: &str| {
            answers
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.trim())
                .unwrap_or("")
        };
        let mut lines = Vec::new();
        let mut email = None;
        for field in &self.fields {
            let value = answer(&field.key);
            if value.is_empty() {
                if field.required {
                    return Err(InvalidValue::new(
                        "fields",
                        format!("「{}」を入力してください", field.label),
                    ));
                }
                continue;
            }
            let multiline = field.kind == FieldKind::Textarea;
            let max = if multiline { MAX_ANSWER } else { MAX_LINE };
            if value.chars().count() > max {
                return Err(InvalidValue::new(
                    "fields",
                    format!("「{}」は{max}文字までです", field.label),
                ));
            }
            let mut value = visible_only(value, multiline);
            match field.kind {
                FieldKind::Email => {
                    let parsed = crate::agent::Email::parse(&value).map_err(|_| {
                        InvalidValue::new(
                            "fields",
                            format!("「{}」はメールアドレスではありません", field.label),
                        )
                    })?;
                    value = parsed.as_str().to_owned();
                    email.get_or_insert_with(|| value.clone());
                }
                FieldKind::Select if !field.options.contains(&value) => {
                    return Err(InvalidValue::new(
                        "fields",
                        format!("「{}」の選択肢にありません", field.label),
                    ));
                }
                _ => {}
            }
            lines.push((field.clone(), value));
        }
        let email =
            email.ok_or_else(|| InvalidValue::new("fields", "メールアドレスを入力してください"))?;
        let name = lines
            .iter()
            .find(|(f, _)| {
                f.kind == FieldKind::Text && (f.key == "name" || f.label.contains("名前"))
            })
            .map(|(_, v)| v.clone());
        Ok(Submission { lines, email, name })
    }
}

/// A checked submission.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Submission {
    pub lines: Vec<(Field, String)>,
    pub email: String,
    pub name: Option<String>,
}

impl Submission {
    /// The conversation's first message: each answer under its label.
    pub fn message(&self) -> String {
        self.lines
            .iter()
            .map(|(field, value)| match field.kind {
                FieldKind::Textarea => format!("【{}】\n{value}", field.label),
                _ => format!("【{}】{value}", field.label),
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answers(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn the_default_form_is_valid_and_lists_the_answers_in_order() {
        let form = FormDefinition::default();
        form.validate().unwrap();
        let sent = form
            .accept(&answers(&[
                ("message", "届いた商品が\n壊れていました"),
                ("email", "Hanako@Example.jp"),
                ("name", "山田 花子"),
                ("category", "返品・交換"),
                ("order", ""),
            ]))
            .unwrap();
        assert_eq!(sent.email, "hanako@example.jp");
        assert_eq!(sent.name.as_deref(), Some("山田 花子"));
        assert_eq!(
            sent.message(),
            "【お名前】山田 花子\n【メールアドレス】hanako@example.jp\n【お問い合わせの種類】返品・交換\n【お問い合わせ内容】\n届いた商品が\n壊れていました"
        );
    }

    #[test]
    fn bad_submissions_and_definitions_are_refused_plainly() {
        let form = FormDefinition::default();
        let missing = form.accept(&answers(&[("email", "a@b.jp")])).unwrap_err();
        assert!(missing.to_string().contains("お名前"), "{missing}");
        let bad = answers(&[
            ("name", "x"),
            ("email", "not-mail"),
            ("category", "その他"),
            ("message", "m"),
        ]);
        assert!(form.accept(&bad).is_err());
        let odd = answers(&[
            ("name", "x"),
            ("email", "a@b.jp"),
            ("category", "ハッキング"),
            ("message", "m"),
        ]);
        assert!(
            form.accept(&odd).is_err(),
            "a choice the form does not offer"
        );
        let mut no_email = FormDefinition::default();
        no_email.fields.retain(|f| f.kind != FieldKind::Email);
        assert!(no_email.validate().is_err());
        let mut twice = FormDefinition::default();
        twice.fields.push(twice.fields[0].clone());
        assert!(twice.validate().is_err());
        let mut honeypot = FormDefinition::default();
        honeypot.fields[0].key = "website".into();
        assert!(honeypot.validate().is_err(), "the honeypot's name is taken");
    }
}
