//! The built-in SMTP receiver (RFC 5321, no TLS: for forwarding from the shop's mail server
//! on a private network, or behind a relay). Recipients are checked at `RCPT` time, so mail
//! for unknown addresses is refused before its body is sent; a body over the size bound is
//! refused; `250` after `DATA` means the mail is committed. Every read has a time limit.

use std::sync::Arc;
use std::time::Duration;

use futures_util::future::BoxFuture;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// Where accepted mail goes.
pub trait Mailroom: Send + Sync + 'static {
    /// Whether mail for this address is taken.
    fn accepts<'a>(&'a self, address: &'a str) -> BoxFuture<'a, bool>;
    /// Stores a mail for these (accepted) recipients; `Ok` once it is committed.
    fn deliver(&self, raw: Vec<u8>, recipients: Vec<String>) -> BoxFuture<'_, Result<(), String>>;
}

/// Limits of one SMTP session.
#[derive(Debug, Clone, Copy)]
pub struct Bounds {
    pub max_message_bytes: usize,
    pub read_timeout: Duration,
}

const MAX_LINE: usize = 4096;
const MAX_RECIPIENTS: usize = 100;

/// Accepts SMTP sessions until the task is dropped.
pub async fn serve(listener: TcpListener, mailroom: Arc<dyn Mailroom>, bounds: Bounds) {
    loop {
        let Ok((stream, peer)) = listener.accept().await else {
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        let mailroom = mailroom.clone();
        tokio::spawn(async move {
            if let Err(err) = session(stream, mailroom, bounds).await {
                tracing::debug!(%peer, error = %err, "smtp session ended");
            }
        });
    }
}

struct Envelope {
    from: Option<String>,
    recipients: Vec<String>,
}

async fn session(
    stream: TcpStream,
    mailroom: Arc<dyn Mailroom>,
    bounds: Bounds,
) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut reader = BufReader::new(read);
    write.write_all(b"220 madoguchi ESMTP ready\r\n").await?;
    let mut envelope = Envelope {
        from: None,
        recipients: Vec::new(),
    };
    loop {
        let Some(line) = read_line(&mut reader, bounds.read_timeout).await? else {
            return Ok(());
        };
        let line = String::from_utf8_lossy(&line);
        let line = line.trim_end();
        let (verb, rest) = line.split_once(' ').unwrap_or((line, ""));
        let reply: String = match verb.to_ascii_uppercase().as_str() {
            "EHLO" => format!(
                "250-madoguchi\r\n250-SIZE {}\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n250 PIPELINING",
                bounds.max_message_bytes
            ),
            "HELO" => "250 madoguchi".into(),
            "MAIL" => match path_after(rest, "FROM:") {
                Some(_) if declared_size(rest).is_some_and(|n| n > bounds.max_message_bytes) => {
                    "552 5.3.4 message too big".into()
                }
                Some(from) => {
                    envelope = Envelope {
                        from: Some(from),
                        recipients: Vec::new(),
                    };
                    "250 2.1.0 ok".into()
                }
                None => "501 5.5.4 syntax: MAIL FROM:<address>".into(),
            },
            "RCPT" => match (&envelope.from, path_after(rest, "TO:")) {
                (None, _) => "503 5.5.1 MAIL first".into(),
                (_, None) => "501 5.5.4 syntax: RCPT TO:<address>".into(),
                (_, Some(_)) if envelope.recipients.len() >= MAX_RECIPIENTS => {
                    "452 4.5.3 too many recipients".into()
                }
                (_, Some(to)) if mailroom.accepts(&to).await => {
                    envelope.recipients.push(to);
                    "250 2.1.5 ok".into()
                }
                (_, Some(_)) => "550 5.1.1 no such mailbox here".into(),
            },
            "DATA" if envelope.recipients.is_empty() => "503 5.5.1 RCPT first".into(),
            "DATA" => {
                write.write_all(b"354 end with <CRLF>.<CRLF>\r\n").await?;
                let body = read_data(&mut reader, bounds).await?;
                let recipients = std::mem::take(&mut envelope.recipients);
                envelope.from = None;
                match body {
                    None => "552 5.3.4 message too big".into(),
                    Some(raw) => match mailroom.deliver(raw, recipients).await {
                        Ok(()) => "250 2.0.0 queued".into(),
                        Err(err) => {
                            tracing::warn!(error = %err, "an inbound mail could not be stored");
                            "451 4.3.0 try again later".into()
                        }
                    },
                }
            }
            "RSET" => {
                envelope = Envelope {
                    from: None,
                    recipients: Vec::new(),
                };
                "250 2.0.0 ok".into()
            }
            "NOOP" => "250 2.0.0 ok".into(),
            "VRFY" => "252 2.5.0 cannot verify".into(),
            "QUIT" => {
                write.write_all(b"221 2.0.0 bye\r\n").await?;
                return Ok(());
            }
            _ => "502 5.5.2 command not implemented".into(),
        };
        write.write_all(reply.as_bytes()).await?;
        write.write_all(b"\r\n").await?;
    }
}

/// One line (with its ending), `None` at the end of the stream; a line past the bound is an
/// error, and so is a silence past the read timeout.
async fn read_line(
    reader: &mut BufReader<tokio::net::tcp::OwnedReadHalf>,
    timeout: Duration,
) -> std::io::Result<Option<Vec<u8>>> {
    let mut line = Vec::new();
    let read = tokio::time::timeout(timeout, async {
        loop {
            let buffer = reader.fill_buf().await?;
            if buffer.is_empty() {
                return Ok::<bool, std::io::Error>(false);
            }
            let (taken, done) = match buffer.iter().position(|&b| b == b'\n') {
                Some(at) => (at + 1, true),
                None => (buffer.len(), false),
            };
            line.extend_from_slice(&buffer[..taken]);
            reader.consume(taken);
            if done {
                return Ok(true);
            }
            if line.len() > MAX_LINE * 256 {
                return Err(std::io::Error::other("line too long"));
            }
        }
    })
    .await
    .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "client too slow"))??;
    Ok((read || !line.is_empty()).then_some(line))
}

/// The mail after `DATA`, dot-unstuffed; `None` when it was bigger than the bound (it is read
/// to its end all the same, so that the session can go on).
async fn read_data(
    reader: &mut BufReader<tokio::net::tcp::OwnedReadHalf>,
    bounds: Bounds,
) -> std::io::Result<Option<Vec<u8>>> {
    let mut raw = Vec::new();
    let mut too_big = false;
    loop {
        let Some(line) = read_line(reader, bounds.read_timeout).await? else {
            return Err(std::io::Error::other("the client left during DATA"));
        };
        if line == b".\r\n" || line == b".\n" {
            return Ok((!too_big).then_some(raw));
        }
        let line = line.strip_prefix(b".").unwrap_or(&line);
        if raw.len() + line.len() > bounds.max_message_bytes {
            too_big = true;
            raw.clear();
        }
        if !too_big {
            raw.extend_from_slice(line);
        }
    }
}

/// The address in `FROM:<a@b>` / `TO:<a@b>` (parameters after it ignored), lower case.
fn path_after(rest: &str, keyword: &str) -> Option<String> {
    let rest = rest.trim();
    if !rest.to_ascii_uppercase().starts_with(keyword) {
        return None;
    }
    let path = rest[keyword.len()..].trim_start();
    let inner = path.strip_prefix('<')?.split('>').next()?;
    Some(inner.trim().to_lowercase())
}

fn declared_size(rest: &str) -> Option<usize> {
    rest.split_whitespace()
        .find_map(|p| {
            p.to_ascii_uppercase()
                .strip_prefix("SIZE=")
                .map(str::to_owned)
        })
        .and_then(|n| n.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelope_paths_are_read_and_lower_cased() {
        assert_eq!(
            path_after("FROM:<A@B.example> SIZE=10", "FROM:").as_deref(),
            Some("a@b.example")
        );
        assert_eq!(path_after("from: <>", "FROM:").as_deref(), Some(""));
        assert_eq!(path_after("TO:a@b", "TO:"), None);
        assert_eq!(
            declared_size("FROM:<a@b> SIZE=2048 BODY=8BITMIME"),
            Some(2048)
        );
    }
}
