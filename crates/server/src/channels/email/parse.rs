//! A raw mail as the inbox keeps it: sender, subject, the ids that thread it, the text a person
//! reads (quoted history and signature trimmed for display, the full text kept), the links
//! its HTML shows, and its attachments. Parsing never panics; a mail without a sender is
//! refused.

use mail_parser::{HeaderValue, MessageParser, MimeHeaders};

/// An attachment as it came: the name the sender gave and its bytes.
pub struct MailFile {
    pub name: String,
    pub content_type: String,
    pub data: Vec<u8>,
}

/// A link as an HTML body shows it: the text a reader sees and where it really goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    pub text: String,
    pub href: String,
}

pub struct ParsedMail {
    /// The sender's address, lower case.
    pub from: String,
    pub from_name: Option<String>,
    /// The `To` and `Cc` addresses, lower case.
    pub recipients: Vec<String>,
    pub subject: String,
    /// Without angle brackets.
    pub message_id: Option<String>,
    /// `In-Reply-To` and `References`, newest first, without angle brackets.
    pub references: Vec<String>,
    /// What a person reads: the new part of the mail.
    pub text: String,
    /// The whole decoded text, quoted history and signature included.
    pub full_text: String,
    pub html: Option<String>,
    pub links: Vec<Link>,
    pub files: Vec<MailFile>,
    /// Headers that tell machines' mail apart, lower-case names: `auto-submitted`,
    /// `precedence`, `x-autoreply`, `authentication-results`, …
    pub headers: Vec<(String, String)>,
    pub content_type: String,
}

impl ParsedMail {
    /// The first value of a header (lower-case name).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ParseError {
    #[error("not a mail")]
    NotAMail,
    #[error("the mail has no sender address")]
    NoSender,
}

/// Headers kept for the flags.
const KEPT_HEADERS: &[&str] = &[
    "auto-submitted",
    "precedence",
    "x-autoreply",
    "x-autorespond",
    "x-auto-response-suppress",
    "authentication-results",
    "return-path",
    "list-id",
];

pub fn parse(raw: &[u8]) -> Result<ParsedMail, ParseError> {
    let mail = MessageParser::default()
        .parse(raw)
        .ok_or(ParseError::NotAMail)?;
    let sender = mail
        .from()
        .and_then(|from| from.first())
        .ok_or(ParseError::NoSender)?;
    let from = sender
        .address()
        .map(|a| a.trim().to_lowercase())
        .filter(|a| a.contains('@'))
        .ok_or(ParseError::NoSender)?;
    let from_name = sender
        .name()
        .map(|n| n.trim().to_owned())
        .filter(|n| !n.is_empty());
    let recipients = [mail.to(), mail.cc()]
        .into_iter()
        .flatten()
        .flat_map(|list| list.iter())
        .filter_map(|addr| addr.address())
        .map(|a| a.trim().to_lowercase())
        .collect();
    let mut references: Vec<String> = Vec::new();
    for value in [mail.in_reply_to(), mail.references()] {
        let ids: Vec<&str> = match value {
            HeaderValue::Text(id) => vec![id.as_ref()],
            HeaderValue::TextList(ids) => ids.iter().rev().map(|id| id.as_ref()).collect(),
            _ => Vec::new(),
        };
        for id in ids {
            let id = clean_id(id);
            if !id.is_empty() && !references.contains(&id) {
                references.push(id);
            }
        }
    }
    // Only a real text/html part: for a plain-text mail the parser would make HTML up.
    let html = mail
        .html_part(0)
        .filter(|part| part.is_text_html())
        .and_then(|part| part.text_contents())
        .map(str::to_owned);
    let full_text = mail
        .body_text(0)
        .map(|t| t.into_owned())
        .unwrap_or_default()
        .replace("\r\n", "\n");
    let text = trim_quoted(&full_text);
    let links = html.as_deref().map(links_of).unwrap_or_default();
    let files = mail
        .attachments()
        .filter(|part| !part.is_message())
        .map(|part| MailFile {
            name: part.attachment_name().unwrap_or("attachment").to_owned(),
            content_type: part
                .content_type()
                .map(|ct| match ct.subtype() {
                    Some(sub) => format!("{}/{}", ct.ctype(), sub),
                    None => ct.ctype().to_owned(),
                })
                .unwrap_or_else(|| "application/octet-stream".into())
                .to_lowercase(),
            data: part.contents().to_vec(),
        })
        .collect();
    let headers = mail
        .headers_raw()
        .filter(|(name, _)| KEPT_HEADERS.contains(&name.to_lowercase().as_str()))
        .map(|(name, value)| (name.to_lowercase(), value.trim().to_owned()))
        .collect();
    let content_type = mail
        .content_type()
        .map(|ct| match ct.subtype() {
            Some(sub) => format!("{}/{}", ct.ctype(), sub),
            None => ct.ctype().to_owned(),
        })
        .unwrap_or_else(|| "text/plain".into())
        .to_lowercase();
    Ok(ParsedMail {
        from,
        from_name,
        recipients,
        subject: mail.subject().unwrap_or_default().trim().to_owned(),
        message_id: mail.message_id().map(clean_id).filter(|id| !id.is_empty()),
        references,
        text,
        full_text,
        html,
        links,
        files,
        headers,
        content_type,
    })
}

/// A Message-ID without its angle brackets and spaces, at most 250 characters.
fn clean_id(id: &str) -> String {
    id.trim()
        .trim_start_matches('<')
        .trim_end_matches('>')
        .chars()
        .filter(|c| !c.is_whitespace())
        .take(250)
        .collect()
}

/// Where the quoted history starts: a line mail clients write above what they quote.
fn starts_quote(line: &str) -> bool {
    let line = line.trim();
    (line.starts_with("On ") && line.ends_with("wrote:"))
        || line.ends_with("のメッセージ:")
        || line.ends_with("のメッセージ：")
        || line.ends_with("wrote:") && line.len() < 200
        || line.ends_with("書きました:")
        || line.ends_with("書きました：")
        || line.starts_with("-----Original Message-----")
        || line.starts_with("-----元のメッセージ-----")
        || line.starts_with("________________________________")
}

/// The new part of a mail: up to the quoted history or the signature (`-- `), without the
/// trailing `>` lines; the whole text when nothing would be left.
pub fn trim_quoted(text: &str) -> String {
    let mut kept: Vec<&str> = Vec::new();
    for line in text.lines() {
        if starts_quote(line) || line == "-- " || line == "--" {
            break;
        }
        kept.push(line);
    }
    while kept
        .last()
        .is_some_and(|l| l.trim().is_empty() || l.trim_start().starts_with('>'))
    {
        kept.pop();
    }
    let trimmed = kept.join("\n").trim().to_owned();
    if trimmed.is_empty() {
        text.trim().to_owned()
    } else {
        trimmed
    }
}

/// The `<a href>` links of an HTML body with their visible text (tags inside stripped).
fn links_of(html: &str) -> Vec<Link> {
    let lower = html.to_lowercase();
    let mut links = Vec::new();
    let mut at = 0;
    while let Some(start) = lower[at..].find("<a ").map(|i| i + at) {
        let Some(tag_end) = lower[start..].find('>').map(|i| i + start) else {
            break;
        };
        let Some(close) = lower[tag_end..].find("</a>").map(|i| i + tag_end) else {
            break;
        };
        let tag = &html[start..tag_end];
        if let Some(href) = attribute(tag, "href") {
            let text = strip_tags(&html[tag_end + 1..close]);
            links.push(Link {
                text: text.trim().to_owned(),
                href,
            });
        }
        at = close + 4;
        if links.len() >= 200 {
            break;
        }
    }
    links
}

fn attribute(tag: &str, name: &str) -> Option<String> {
    let lower = tag.to_lowercase();
    let at = lower.find(&format!("{name}="))? + name.len() + 1;
    let rest = &tag[at..];
    let value = match rest.chars().next()? {
        quote @ ('"' | '\'') => rest[1..].split(quote).next()?,
        _ => rest.split(|c: char| c.is_whitespace() || c == '>').next()?,
    };
    Some(value.replace("&amp;", "&"))
}

fn strip_tags(html: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.replace("&amp;", "&").replace("&nbsp;", " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A mail from a Japanese mobile client: ISO-2022-JP body, encoded-word subject and
    /// sender name, quoted history, a PDF (the end-to-end tests send the same file).
    const ISO_2022_JP_MAIL: &[u8] =
        include_bytes!("../../../tests/fixtures/mail/iso2022jp_pdf.eml");

    #[test]
    fn japanese_mail_is_decoded_trimmed_and_keeps_its_file() {
        let mail = parse(ISO_2022_JP_MAIL).unwrap();
        assert_eq!(mail.from, "taro@example.jp");
        assert_eq!(mail.from_name.as_deref(), Some("山田 太郎"));
        assert_eq!(mail.recipients, ["support@shop.example"]);
        assert_eq!(mail.subject, "注文が届かない");
        assert_eq!(mail.message_id.as_deref(), Some("first-1@example.jp"));
        assert_eq!(
            mail.text,
            "注文した商品がまだ届きません。\n注文番号は A-1024 です。"
        );
        assert!(mail.full_text.contains("ご注文ありがとうございます"));
        assert_eq!(mail.files.len(), 1);
        assert_eq!(mail.files[0].name, "receipt.pdf");
        assert!(mail.files[0].data.starts_with(b"%PDF-"));
        assert!(mail.html.is_none(), "a plain-text mail has no HTML");
    }

    #[test]
    fn shift_jis_html_only_mail_becomes_text_with_its_links() {
        let (html, _, _) = encoding_rs::SHIFT_JIS.encode(
            "<html><body><p>返品したいです。</p><a href=\"http://evil.example/login\">https://www.amazon.co.jp/</a></body></html>",
        );
        let mut raw = b"From: a@b.example\r\nSubject: =?Shift_JIS?B?ldSVaQ==?=\r\nIn-Reply-To: <x@shop>\r\nReferences: <a@shop> <x@shop>\r\nContent-Type: text/html; charset=Shift_JIS\r\n\r\n".to_vec();
        raw.extend_from_slice(&html);
        let mail = parse(&raw).unwrap();
        assert_eq!(mail.subject, "返品");
        assert!(mail.text.contains("返品したいです。"), "{}", mail.text);
        assert_eq!(mail.references, vec!["x@shop", "a@shop"]);
        assert_eq!(
            mail.links,
            vec![Link {
                text: "https://www.amazon.co.jp/".into(),
                href: "http://evil.example/login".into()
            }]
        );
    }

    #[test]
    fn euc_jp_mail_is_decoded() {
        let raw = b"From: a@b.example\r\nSubject: =?EUC-JP?B?wMG14b3x?=\r\n\
Content-Type: text/plain; charset=EUC-JP\r\nContent-Transfer-Encoding: base64\r\n\r\n\
wMG14b3xpM66xsivudSk8qSqtOqkpKS3pN6kuaGj\r\n";
        let mail = parse(raw).unwrap();
        assert_eq!(mail.subject, "請求書");
        assert_eq!(mail.text, "請求書の再発行をお願いします。");
    }

    #[test]
    fn no_sender_or_no_mail_is_an_error_not_a_panic() {
        assert_eq!(
            parse(b"Subject: hi\r\n\r\nbody").err(),
            Some(ParseError::NoSender)
        );
        assert!(parse(b"").is_err());
    }

    /// A bounded property test over mutated real mails: parsing never panics.
    #[test]
    fn mutated_mails_never_panic() {
        let seeds = [
            ISO_2022_JP_MAIL.to_vec(),
            b"From: x@y.example\r\nContent-Type: multipart/alternative; boundary=z\r\n\r\n--z\r\nContent-Type: text/html\r\n\r\n<a href='u'>t</a>\r\n--z--".to_vec(),
        ];
        let mut state = 0x2545_f491_u64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for seed in &seeds {
            for _ in 0..3000 {
                let mut mail = seed.clone();
                for _ in 0..(next() % 8 + 1) {
                    let at = (next() as usize) % mail.len().max(1);
                    match next() % 4 {
                        0 => mail[at] = next() as u8,
                        1 => {
                            mail.insert(at, b"<>=\r\n:?-\"\x1b"[(next() % 10) as usize]);
                        }
                        2 => {
                            mail.truncate(at);
                        }
                        _ => {
                            let end = (at + (next() as usize % 16)).min(mail.len());
                            mail.drain(at..end);
                        }
                    }
                    if mail.is_empty() {
                        break;
                    }
                }
                let _ = parse(&mail);
            }
        }
    }
}
