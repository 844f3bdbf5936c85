//! Sensitive data customers paste into a message, masked before it is stored: payment card
//! numbers (13–19 digits passing the Luhn check, shown as `**** **** **** 1234`), My Number
//! (個人番号: 12 digits with a valid check digit) and passwords given after a word that says so
//! (パスワード, 暗証番号, password, PIN). Full-width digits count; spaces and hyphens between
//! digit groups are allowed. [`mask`] says what it masked, never the values.

use serde::{Deserialize, Serialize};

/// Which rules a workspace applies (all by default).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Rules {
    pub card: bool,
    pub my_number: bool,
    pub password: bool,
}

impl Default for Rules {
    fn default() -> Self {
        Self {
            card: true,
            my_number: true,
            password: true,
        }
    }
}

/// The text with what was masked, and the kinds masked (`card`, `my_number`, `password`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Masked {
    pub text: String,
    pub kinds: Vec<&'static str>,
}

fn digit(c: char) -> Option<u32> {
    match c {
        '0'..='9' => c.to_digit(10),
        '０'..='９' => Some(c as u32 - '０' as u32),
        _ => None,
    }
}

fn luhn(digits: &[u32]) -> bool {
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| match i % 2 {
            1 if d * 2 > 9 => d * 2 - 9,
            1 => d * 2,
            _ => d,
        })
        .sum();
    sum.is_multiple_of(10)
}

/// The check digit rule of 個人番号 (the 12th digit from the first 11).
fn my_number(digits: &[u32]) -> bool {
    if digits.len() != 12 {
        return false;
    }
    let sum: u32 = (1..=11)
        .map(|n| {
            let p = digits[11 - n];
            let q = if n <= 6 { n as u32 + 1 } else { n as u32 - 5 };
            p * q
        })
        .sum();
    let check = match sum % 11 {
        0 | 1 => 0,
        r => 11 - r,
    };
    digits[11] == check
}

/// A run of digits in `chars` from `start`: digits with single spaces or hyphens between
/// them; its end (exclusive) and the digits.
fn digit_run(chars: &[char], start: usize) -> (usize, Vec<u32>) {
    let mut digits = Vec::new();
    let mut end = start;
    let mut i = start;
    while i < chars.len() {
        if let Some(d) = digit(chars[i]) {
            digits.push(d);
            i += 1;
            end = i;
        } else if matches!(chars[i], ' ' | '-' | '－' | '　')
            && chars.get(i + 1).copied().and_then(digit).is_some()
        {
            i += 1;
        } else {
            break;
        }
    }
    (end, digits)
}

/// Words after which a customer gives a password.
const PASSWORD_WORDS: &[&str] = &["パスワード", "暗証番号", "password", "passcode", "pin"];

/// Masks what `rules` cover in `text`.
pub fn mask(text: &str, rules: Rules) -> Masked {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut kinds: Vec<&'static str> = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        // A number of its own: not the tail of a word or of a code like A-4111….
        let prev = |k: usize| i.checked_sub(k).map(|at| chars[at]);
        let starts_run = digit(chars[i]).is_some()
            && prev(1).is_none_or(|p| {
                digit(p).is_none()
                    && !p.is_ascii_alphabetic()
                    && !(p == '-' && prev(2).is_some_and(|q| q.is_ascii_alphanumeric()))
            });
        if starts_run {
            let (end, digits) = digit_run(&chars, i);
            let alone = chars.get(end).is_none_or(|c| !c.is_ascii_alphanumeric());
            if alone && rules.card && (13..=19).contains(&digits.len()) && luhn(&digits) {
                let last: String = digits[digits.len() - 4..]
                    .iter()
                    .map(|d| char::from_digit(*d, 10).unwrap_or('*'))
                    .collect();
                out.push_str(&format!("**** **** **** {last}"));
                kinds.push("card");
                i = end;
                continue;
            }
            if alone && rules.my_number && my_number(&digits) {
                out.push_str("**** **** ****");
                kinds.push("my_number");
                i = end;
                continue;
            }
            out.extend(&chars[i..end]);
            i = end;
            continue;
        }
        if rules.password {
            if let Some(word) = PASSWORD_WORDS.iter().find(|w| {
                let n = w.chars().count();
                i + n <= chars.len()
                    && chars[i..i + n]
                        .iter()
                        .collect::<String>()
                        .eq_ignore_ascii_case(w)
            }) {
                let n = word.chars().count();
                out.extend(&chars[i..i + n]);
                let mut j = i + n;
                // は / : / = / space, then the value up to the next space or punctuation.
                let lead_start = j;
                while j < chars.len()
                    && matches!(chars[j], 'は' | ':' | '：' | '=' | ' ' | '　' | '「')
                {
                    j += 1;
                }
                let value_start = j;
                while j < chars.len()
                    && !chars[j].is_whitespace()
                    && !matches!(chars[j], '。' | '、' | '」' | ',' | '，')
                {
                    j += 1;
                }
                if j > value_start && value_start > lead_start {
                    out.extend(&chars[lead_start..value_start]);
                    out.push_str("********");
                    kinds.push("password");
                    i = j;
                    continue;
                }
                i += n;
                continue;
            }
        }
        out.push(chars[i]);
        i += 1;
    }
    kinds.dedup();
    Masked { text: out, kinds }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn masked(text: &str) -> (String, Vec<&'static str>) {
        let m = mask(text, Rules::default());
        (m.text, m.kinds)
    }

    #[test]
    fn card_numbers_that_pass_luhn_keep_only_their_last_four() {
        assert_eq!(
            masked("カードは4111 1111 1111 1111です"),
            ("カードは**** **** **** 1111です".into(), vec!["card"])
        );
        assert_eq!(
            masked("４１１１－１１１１－１１１１－１１１１"),
            ("**** **** **** 1111".into(), vec!["card"])
        );
        assert_eq!(masked("5555555555554444").1, ["card"]);
        // Not a card: fails Luhn, too short, an order number, part of a word.
        for plain in [
            "4111 1111 1111 1112",
            "注文番号 1234567890",
            "A-4111111111111111",
            "電話 03-1234-5678",
        ] {
            assert_eq!(masked(plain), (plain.into(), vec![]), "{plain}");
        }
    }

    #[test]
    fn my_number_needs_its_check_digit() {
        // 12345678901 → check digit 8.
        assert_eq!(
            masked("個人番号は 1234 5678 9018 です"),
            ("個人番号は **** **** **** です".into(), vec!["my_number"])
        );
        assert_eq!(masked("123456789012").1, Vec::<&str>::new());
    }

    #[test]
    fn passwords_after_the_word_are_hidden() {
        assert_eq!(
            masked("パスワードは abc123! です"),
            ("パスワードは ******** です".into(), vec!["password"])
        );
        assert_eq!(
            masked("Password: hunter2"),
            ("Password: ********".into(), vec!["password"])
        );
        assert_eq!(
            masked("パスワードを忘れました"),
            ("パスワードを忘れました".into(), vec![]),
            "talking about a password is fine"
        );
        let off = mask(
            "Password: hunter2",
            Rules {
                password: false,
                ..Rules::default()
            },
        );
        assert_eq!(off.text, "Password: hunter2");
    }
}
