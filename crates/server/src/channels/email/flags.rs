//! Why a mail looks like spam or phishing, or was sent by a machine — each flag with its
//! reason, for the agent who decides. Signals: failed SPF/DKIM/DMARC in `Authentication-Results`,
//! a sender domain imitating a known brand (digits for letters, punycode), urgent-payment
//! wording (Japanese and English), links whose text names another site than they open,
//! executable or macro attachments. Machine mail (out-of-office, bounces, `Auto-Submitted`)
//! is not spam but must never be answered automatically.

use super::parse::ParsedMail;

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Flag {
    /// `auth_failed`, `lookalike_domain`, `urgent_payment`, `link_mismatch`,
    /// `dangerous_attachment` or `auto_submitted`.
    pub code: &'static str,
    /// The evidence, in the mail's own terms (the UI names the flag in the reader's language):
    /// `spf=fail`, `amaz0n-jp.com → amazon`, `至急 + お支払い情報`, `amazon.co.jp → evil.example`.
    pub reason: String,
}

/// What the flags of a mail amount to.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Verdict {
    pub flags: Vec<Flag>,
    /// Spam or phishing: kept apart, never answered automatically.
    pub spam: bool,
    /// Sent by a machine: never answered automatically.
    pub automatic: bool,
}

/// Brands phishing mail imitates, with the domains that are really theirs.
const BRANDS: &[(&str, &[&str])] = &[
    ("amazon", &["amazon.co.jp", "amazon.com", "amazon.jp"]),
    ("rakuten", &["rakuten.co.jp", "rakuten.com"]),
    ("paypal", &["paypal.com", "paypal.jp"]),
    ("apple", &["apple.com"]),
    ("google", &["google.com"]),
    ("microsoft", &["microsoft.com"]),
    ("yahoo", &["yahoo.co.jp", "yahoo.com"]),
    ("mercari", &["mercari.com", "mercari.jp"]),
    ("smbc", &["smbc.co.jp", "smbc-card.com"]),
    ("mufg", &["mufg.jp"]),
    ("docomo", &["docomo.ne.jp"]),
    ("softbank", &["softbank.jp", "softbank.ne.jp"]),
    ("paypay", &["paypay.ne.jp"]),
];

const URGENT: &[&str] = &[
    "至急",
    "緊急",
    "24時間以内",
    "本日中",
    "アカウントが停止",
    "アカウントを停止",
    "利用停止",
    "制限されています",
    "urgent",
    "immediately",
    "within 24 hours",
    "suspended",
    "account will be closed",
];

const PAYMENT: &[&str] = &[
    "お支払い情報",
    "支払い方法",
    "カード情報",
    "クレジットカード",
    "本人確認",
    "ログインして",
    "パスワード",
    "振込",
    "payment",
    "billing",
    "credit card",
    "verify your account",
    "confirm your identity",
    "password",
];

const DANGEROUS_EXTENSIONS: &[&str] = &[
    "exe", "scr", "bat", "cmd", "com", "pif", "js", "jse", "vbs", "vbe", "wsf", "jar", "msi",
    "hta", "ps1", "lnk", "iso", "img", "docm", "xlsm", "pptm", "dotm", "xlam",
];

pub fn judge(mail: &ParsedMail) -> Verdict {
    let mut flags = Vec::new();
    let mut push = |code: &'static str, reason: String| flags.push(Flag { code, reason });

    if let Some(results) = mail.header("authentication-results") {
        let lower = results.to_lowercase();
        let failed: Vec<&str> = ["spf=fail", "spf=softfail", "dkim=fail", "dmarc=fail"]
            .into_iter()
            .filter(|check| lower.contains(check))
            .collect();
        if !failed.is_empty() {
            push("auth_failed", failed.join(", "));
        }
    }
    let domain = mail.from.rsplit('@').next().unwrap_or_default();
    if let Some(reason) = lookalike(domain) {
        push("lookalike_domain", reason);
    }
    let text = format!("{}\n{}", mail.subject, mail.full_text).to_lowercase();
    let urgent: Vec<&str> = URGENT
        .iter()
        .copied()
        .filter(|w| text.contains(w))
        .collect();
    let payment: Vec<&str> = PAYMENT
        .iter()
        .copied()
        .filter(|w| text.contains(w))
        .collect();
    if !urgent.is_empty() && !payment.is_empty() {
        push(
            "urgent_payment",
            format!("{} + {}", urgent.join(", "), payment.join(", ")),
        );
    }
    for link in &mail.links {
        let (Some(shown), Some(target)) = (host_named(&link.text), host_of(&link.href)) else {
            continue;
        };
        if shown != target && !target.ends_with(&format!(".{shown}")) {
            push("link_mismatch", format!("{shown} → {target}"));
            break;
        }
    }
    for file in &mail.files {
        let extension = file
            .name
            .rsplit('.')
            .next()
            .unwrap_or_default()
            .to_lowercase();
        if file.name.contains('.') && DANGEROUS_EXTENSIONS.contains(&extension.as_str()) {
            push("dangerous_attachment", file.name.clone());
        }
    }
    let automatic = automatic_reason(mail);
    if let Some(reason) = &automatic {
        push("auto_submitted", reason.clone());
    }
    let weight: u32 = flags
        .iter()
        .map(|flag| match flag.code {
            "auth_failed" | "lookalike_domain" | "dangerous_attachment" => 2,
            "urgent_payment" | "link_mismatch" => 1,
            _ => 0,
        })
        .sum();
    Verdict {
        spam: weight >= 2,
        automatic: automatic.is_some(),
        flags,
    }
}

/// Why a mail was sent by a machine (RFC 3834 and what mail servers really send).
fn automatic_reason(mail: &ParsedMail) -> Option<String> {
    if let Some(value) = mail.header("auto-submitted") {
        if !value.eq_ignore_ascii_case("no") {
            return Some(format!("Auto-Submitted: {value}"));
        }
    }
    for name in ["x-autoreply", "x-autorespond"] {
        if mail.header(name).is_some() {
            return Some(name.to_owned());
        }
    }
    if let Some(value) = mail.header("precedence") {
        if ["bulk", "junk", "list", "auto_reply"].contains(&value.to_lowercase().as_str()) {
            return Some(format!("Precedence: {value}"));
        }
    }
    if mail.header("return-path").is_some_and(|v| v.trim() == "<>") {
        return Some("Return-Path: <>".into());
    }
    let local = mail.from.split('@').next().unwrap_or_default();
    if ["mailer-daemon", "postmaster"].contains(&local) {
        return Some(mail.from.clone());
    }
    if mail.content_type == "multipart/report" {
        return Some("multipart/report".into());
    }
    let subject = mail.subject.to_lowercase();
    [
        "out of office",
        "automatic reply",
        "auto-reply",
        "autoreply",
        "自動応答",
        "自動返信",
        "不在",
    ]
    .into_iter()
    .find(|w| subject.contains(w))
    .map(|w| format!("Subject: {w}"))
}

/// A brand the domain imitates without being one of its domains.
fn lookalike(domain: &str) -> Option<String> {
    if domain.split('.').any(|label| label.starts_with("xn--")) {
        return Some(format!("{domain} (punycode)"));
    }
    let folded: String = domain
        .replace("rn", "m")
        .chars()
        .map(|c| match c {
            '0' => 'o',
            '1' | '!' | '|' => 'l',
            '3' => 'e',
            '4' | '@' => 'a',
            '5' => 's',
            '7' => 't',
            c => c,
        })
        .collect();
    BRANDS.iter().find_map(|(brand, real)| {
        let own = real
            .iter()
            .any(|r| domain == *r || domain.ends_with(&format!(".{r}")));
        let imitates = folded.contains(brand) || folded.replace("l", "i").contains(brand);
        (imitates && !own).then(|| format!("{domain} → {brand}"))
    })
}

/// The host a link's text names, when the text looks like an address.
fn host_named(text: &str) -> Option<String> {
    let text = text.trim();
    let candidate = text
        .strip_prefix("https://")
        .or_else(|| text.strip_prefix("http://"))
        .or_else(|| text.starts_with("www.").then_some(text))?;
    let host = candidate.split(['/', '?', '#', ' ']).next()?.to_lowercase();
    host.contains('.')
        .then(|| host.trim_start_matches("www.").to_owned())
}

fn host_of(href: &str) -> Option<String> {
    let rest = href
        .trim()
        .strip_prefix("https://")
        .or_else(|| href.trim().strip_prefix("http://"))?;
    let host = rest.split(['/', '?', '#', ':']).next()?.to_lowercase();
    let host = host.rsplit('@').next()?.to_owned();
    Some(host.trim_start_matches("www.").to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::channels::email::parse::parse;

    fn judged(raw: &str) -> Verdict {
        judge(&parse(raw.as_bytes()).unwrap())
    }

    #[test]
    fn a_phishing_mail_is_spam_and_says_why() {
        let verdict = judged(
            "From: Amazon <info@amaz0n-jp.com>\r\nSubject: 【緊急】アカウントが停止されました\r\n\
             Authentication-Results: mx.shop.example; spf=fail smtp.mailfrom=amaz0n-jp.com; dkim=none\r\n\
             Content-Type: text/html; charset=utf-8\r\n\r\n\
             <p>24時間以内にお支払い情報を更新してください。</p><a href=\"http://amaz0n-jp.com/login\">https://www.amazon.co.jp/</a>",
        );
        assert!(verdict.spam);
        let codes: Vec<&str> = verdict.flags.iter().map(|f| f.code).collect();
        assert_eq!(
            codes,
            [
                "auth_failed",
                "lookalike_domain",
                "urgent_payment",
                "link_mismatch"
            ]
        );
        assert_eq!(verdict.flags[1].reason, "amaz0n-jp.com → amazon");
        assert_eq!(verdict.flags[3].reason, "amazon.co.jp → amaz0n-jp.com");
    }

    #[test]
    fn an_angry_customer_is_not_spam() {
        let verdict = judged(
            "From: kyaku@example.jp\r\nSubject: 至急返金してください\r\n\r\n最悪です。至急返金してください。",
        );
        assert_eq!((verdict.spam, verdict.automatic), (false, false));
        let real =
            judged("From: order@amazon.co.jp\r\nSubject: ご注文\r\n\r\nありがとうございます");
        assert!(real.flags.is_empty());
    }

    #[test]
    fn machine_mail_is_automatic() {
        let ooo = judged(
            "From: tanaka@example.jp\r\nSubject: 不在通知: Re: ご注文\r\nAuto-Submitted: auto-replied\r\n\r\n12月3日まで不在です。",
        );
        assert!(ooo.automatic && !ooo.spam);
        let bounce = judged(
            "From: MAILER-DAEMON@mx.example.jp\r\nSubject: Undelivered Mail\r\n\r\nThe mail could not be delivered.",
        );
        assert!(bounce.automatic);
        let macro_file = judged(
            "From: x@example.jp\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nsee file\r\n--b\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; filename=invoice.xlsm\r\n\r\nxx\r\n--b--\r\n",
        );
        assert!(macro_file.spam);
        assert_eq!(macro_file.flags[0].code, "dangerous_attachment");
    }
}
