//! Reading a support mailbox over IMAP (RFC 9051, the part a reader needs): log in (TLS,
//! STARTTLS, or plain on loopback only), select the folder, find the UIDs after the last one
//! stored, fetch each mail without marking it read, and wait with `IDLE` where the server
//! offers it. Every read has a time limit and literals have a size bound.

use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

/// How the connection is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TlsMode {
    /// TLS from the first byte (port 993).
    Tls,
    /// Plain, then `STARTTLS` (port 143).
    Starttls,
    /// No TLS: only to a server on this machine.
    None,
}

/// An e-mail channel's mailbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImapMailbox {
    pub host: String,
    pub port: u16,
    pub tls: TlsMode,
    pub user: String,
    pub password: String,
    #[serde(default = "inbox")]
    pub folder: String,
}

fn inbox() -> String {
    "INBOX".into()
}

impl ImapMailbox {
    /// Refuses what could not work or would leak the password.
    pub fn validate(&self) -> Result<(), madoguchi_core::InvalidValue> {
        use madoguchi_core::InvalidValue;
        let host = self.host.trim();
        if host.is_empty() || host.len() > 253 || host.contains(char::is_whitespace) {
            return Err(InvalidValue::new("host", "must be a host name or address"));
        }
        if self.port == 0 {
            return Err(InvalidValue::new("port", "must be 1-65535"));
        }
        let loopback = matches!(host, "localhost" | "127.0.0.1" | "::1" | "[::1]");
        if self.tls == TlsMode::None && !loopback {
            return Err(InvalidValue::new(
                "tls",
                "none is only allowed for a server on this machine; use tls or starttls",
            ));
        }
        for (field, value) in [
            ("user", &self.user),
            ("password", &self.password),
            ("folder", &self.folder),
        ] {
            if value.is_empty() || value.len() > 500 || value.contains(['\r', '\n', '\0']) {
                return Err(InvalidValue::new(
                    field,
                    "must be 1-500 characters on one line",
                ));
            }
        }
        Ok(())
    }
}

trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

const TIMEOUT: Duration = Duration::from_secs(60);
const MAX_LINE: usize = 64 * 1024;
const MAX_LITERAL: usize = 50 * 1024 * 1024;

/// One response: its text (literals left out) and the literals it carried.
struct Response {
    text: String,
    literals: Vec<Vec<u8>>,
}

pub struct Session {
    stream: BufReader<Box<dyn Io>>,
    tag: u32,
    capabilities: Vec<String>,
}

fn failed(what: impl std::fmt::Display) -> std::io::Error {
    std::io::Error::other(what.to_string())
}

async fn tls(stream: Box<dyn Io>, host: &str) -> std::io::Result<Box<dyn Io>> {
    use tokio_rustls::rustls;
    let roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(failed)?
    .with_root_certificates(roots)
    .with_no_client_auth();
    let name = rustls::pki_types::ServerName::try_from(host.to_owned()).map_err(failed)?;
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    Ok(Box::new(connector.connect(name, stream).await?))
}

/// `"text"` with `\` and `"` escaped.
fn quoted(text: &str) -> String {
    format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
}

impl Session {
    /// Connects and logs in.
    pub async fn open(mailbox: &ImapMailbox) -> std::io::Result<Self> {
        let tcp = tokio::time::timeout(
            TIMEOUT,
            TcpStream::connect((mailbox.host.as_str(), mailbox.port)),
        )
        .await
        .map_err(|_| failed("connecting timed out"))??;
        let host = mailbox.host.trim_start_matches('[').trim_end_matches(']');
        let stream: Box<dyn Io> = match mailbox.tls {
            TlsMode::Tls => tls(Box::new(tcp), host).await?,
            TlsMode::Starttls | TlsMode::None => Box::new(tcp),
        };
        let mut session = Session {
            stream: BufReader::new(stream),
            tag: 0,
            capabilities: Vec::new(),
        };
        let greeting = session.read_response().await?;
        if !greeting.text.starts_with("* OK") && !greeting.text.starts_with("* PREAUTH") {
            return Err(failed(format!("the server greeted with {}", greeting.text)));
        }
        session.capability().await?;
        if mailbox.tls == TlsMode::Starttls {
            if !session.has("STARTTLS") {
                return Err(failed("the server does not offer STARTTLS"));
            }
            session.command("STARTTLS").await?;
            let Session { stream, tag, .. } = session;
            session = Session {
                stream: BufReader::new(tls(stream.into_inner(), host).await?),
                tag,
                capabilities: Vec::new(),
            };
            session.capability().await?;
        }
        session
            .command(&format!(
                "LOGIN {} {}",
                quoted(&mailbox.user),
                quoted(&mailbox.password)
            ))
            .await
            .map_err(|_| failed("the server refused the login"))?;
        session.capability().await?;
        Ok(session)
    }

    async fn capability(&mut self) -> std::io::Result<()> {
        let responses = self.command("CAPABILITY").await?;
        self.capabilities = responses
            .iter()
            .filter_map(|r| r.text.strip_prefix("* CAPABILITY "))
            .flat_map(|caps| caps.split_whitespace().map(|c| c.to_ascii_uppercase()))
            .collect();
        Ok(())
    }

    /// Whether the server named this capability.
    pub fn has(&self, capability: &str) -> bool {
        self.capabilities.iter().any(|c| c == capability)
    }

    /// Opens the folder read-only: its UIDVALIDITY and UIDNEXT (the UID the next mail gets).
    pub async fn select(&mut self, folder: &str) -> std::io::Result<(i64, i64)> {
        let responses = self.command(&format!("EXAMINE {}", quoted(folder))).await?;
        let code = |name: &str| {
            responses.iter().find_map(|r| {
                let at = r.text.find(&format!("[{name} "))? + name.len() + 2;
                r.text[at..].split(']').next()?.trim().parse::<i64>().ok()
            })
        };
        let validity =
            code("UIDVALIDITY").ok_or_else(|| failed("the server named no UIDVALIDITY"))?;
        Ok((validity, code("UIDNEXT").unwrap_or(1)))
    }

    /// The UIDs after `last`, or (with `since`, `DD-Mon-YYYY`) those that arrived since then.
    pub async fn uids(&mut self, last: i64, since: Option<&str>) -> std::io::Result<Vec<i64>> {
        let query = match since {
            Some(date) => format!("UID SEARCH SINCE {date}"),
            None => format!("UID SEARCH UID {}:*", last + 1),
        };
        let responses = self.command(&query).await?;
        let mut uids: Vec<i64> = responses
            .iter()
            .filter_map(|r| r.text.strip_prefix("* SEARCH"))
            .flat_map(|ids| ids.split_whitespace().filter_map(|id| id.parse().ok()))
            .filter(|uid| *uid > last)
            .collect();
        uids.sort_unstable();
        uids.dedup();
        Ok(uids)
    }

    /// The raw mail with this UID, leaving it unread.
    pub async fn fetch(&mut self, uid: i64) -> std::io::Result<Option<Vec<u8>>> {
        let responses = self
            .command(&format!("UID FETCH {uid} (BODY.PEEK[])"))
            .await?;
        Ok(responses
            .into_iter()
            .find(|r| r.text.contains("FETCH") && !r.literals.is_empty())
            .and_then(|mut r| r.literals.pop()))
    }

    /// Waits up to `limit` for the server to tell of new mail (`IDLE`); whether it did.
    pub async fn idle(&mut self, limit: Duration) -> std::io::Result<bool> {
        self.tag += 1;
        let tag = format!("m{}", self.tag);
        self.send(&format!("{tag} IDLE")).await?;
        let ready = self.read_response().await?;
        if !ready.text.starts_with('+') {
            return Err(failed(format!("IDLE refused: {}", ready.text)));
        }
        let deadline = tokio::time::Instant::now() + limit;
        let mut news = false;
        while !news {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match tokio::time::timeout(left, self.read_response()).await {
                Ok(response) => news = response?.text.contains("EXISTS"),
                Err(_) => break,
            }
        }
        self.send("DONE").await?;
        self.until_tagged(&tag).await?;
        Ok(news)
    }

    pub async fn logout(mut self) {
        let _ = self.command("LOGOUT").await;
    }

    async fn send(&mut self, line: &str) -> std::io::Result<()> {
        let stream = self.stream.get_mut();
        stream.write_all(line.as_bytes()).await?;
        stream.write_all(b"\r\n").await?;
        stream.flush().await
    }

    /// Sends a command and reads its responses up to its tagged `OK` (`NO`/`BAD` is an error).
    async fn command(&mut self, command: &str) -> std::io::Result<Vec<Response>> {
        self.tag += 1;
        let tag = format!("m{}", self.tag);
        self.send(&format!("{tag} {command}")).await?;
        self.until_tagged(&tag).await
    }

    async fn until_tagged(&mut self, tag: &str) -> std::io::Result<Vec<Response>> {
        let mut responses = Vec::new();
        loop {
            let response = self.read_response().await?;
            if let Some(status) = response.text.strip_prefix(&format!("{tag} ")) {
                if status.starts_with("OK") {
                    return Ok(responses);
                }
                return Err(failed(format!("the server answered {status}")));
            }
            responses.push(response);
        }
    }

    /// One response, with the literals (`{n}` + n bytes) it carries.
    async fn read_response(&mut self) -> std::io::Result<Response> {
        let mut response = Response {
            text: String::new(),
            literals: Vec::new(),
        };
        loop {
            let mut line = Vec::new();
            let read = tokio::time::timeout(TIMEOUT, async {
                (&mut self.stream)
                    .take(MAX_LINE as u64)
                    .read_until(b'\n', &mut line)
                    .await
            })
            .await
            .map_err(|_| failed("the server went silent"))??;
            if read == 0 {
                return Err(failed("the server closed the connection"));
            }
            if !line.ends_with(b"\n") {
                return Err(failed("a response line is too long"));
            }
            let text = String::from_utf8_lossy(&line).trim_end().to_owned();
            let literal = text
                .strip_suffix('}')
                .and_then(|t| t.rsplit_once('{'))
                .and_then(|(before, n)| Some((before.to_owned(), n.parse::<usize>().ok()?)));
            match literal {
                Some((before, size)) => {
                    if size > MAX_LITERAL {
                        return Err(failed("a mail is too big"));
                    }
                    let mut bytes = vec![0; size];
                    tokio::time::timeout(TIMEOUT, self.stream.read_exact(&mut bytes))
                        .await
                        .map_err(|_| failed("the server went silent"))??;
                    response.text.push_str(&before);
                    response.literals.push(bytes);
                }
                None => {
                    response.text.push_str(&text);
                    return Ok(response);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mailbox(host: &str, tls: TlsMode) -> ImapMailbox {
        ImapMailbox {
            host: host.into(),
            port: 993,
            tls,
            user: "support".into(),
            password: "secret".into(),
            folder: "INBOX".into(),
        }
    }

    #[test]
    fn plain_imap_only_on_this_machine() {
        assert!(mailbox("imap.example.jp", TlsMode::Tls).validate().is_ok());
        assert!(mailbox("127.0.0.1", TlsMode::None).validate().is_ok());
        assert!(mailbox("imap.example.jp", TlsMode::None)
            .validate()
            .is_err());
        let mut broken = mailbox("imap.example.jp", TlsMode::Tls);
        broken.password = "a\r\nb".into();
        assert!(broken.validate().is_err());
        assert_eq!(quoted(r#"pa"ss\"#), r#""pa\"ss\\""#);
    }
}
