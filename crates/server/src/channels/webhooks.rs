//! Outgoing webhooks on the wire, as the Standard Webhooks specification says: a `whsec_`
//! secret (base64 of 24 random bytes), and on each request `webhook-id` (the same on every
//! retry of one message), `webhook-timestamp` (Unix seconds) and `webhook-signature:
//! v1,<base64 HMAC-SHA256 of "id.timestamp.body">`, so that a receiver verifies with an
//! off-the-shelf library in any language.

use std::time::{Duration, Instant};

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// How long a receiver has to answer.
const TIMEOUT: Duration = Duration::from_secs(10);

/// A new secret.
pub fn new_secret() -> String {
    let bytes: [u8; 24] = rand::random();
    format!("whsec_{}", STANDARD.encode(bytes))
}

/// The `webhook-signature` header's value for one request; `None` for a malformed secret.
pub fn signature(secret: &str, id: &str, timestamp: i64, body: &str) -> Option<String> {
    let key = STANDARD.decode(secret.strip_prefix("whsec_")?).ok()?;
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).ok()?;
    mac.update(format!("{id}.{timestamp}.{body}").as_bytes());
    Some(format!(
        "v1,{}",
        STANDARD.encode(mac.finalize().into_bytes())
    ))
}

/// What a delivery attempt got: the status code (if any answer came), an error, the time.
pub struct Answer {
    pub status: Option<u16>,
    pub error: Option<String>,
    pub elapsed_ms: i64,
}

impl Answer {
    pub fn ok(&self) -> bool {
        self.status.is_some_and(|s| (200..300).contains(&s))
    }
}

/// POSTs one signed message.
pub async fn post(
    http: &reqwest::Client,
    url: &str,
    secret: &str,
    id: &str,
    timestamp: i64,
    body: &str,
) -> Answer {
    let started = Instant::now();
    let Some(signature) = signature(secret, id, timestamp, body) else {
        return Answer {
            status: None,
            error: Some("the webhook's secret is malformed".into()),
            elapsed_ms: 0,
        };
    };
    let sent = http
        .post(url)
        .timeout(TIMEOUT)
        .header("content-type", "application/json")
        .header("webhook-id", id)
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", signature)
        .body(body.to_owned())
        .send()
        .await;
    let elapsed_ms = started.elapsed().as_millis() as i64;
    match sent {
        Ok(response) => {
            let status = response.status().as_u16();
            Answer {
                status: Some(status),
                error: (!(200..300).contains(&status)).then(|| format!("HTTP {status}")),
                elapsed_ms,
            }
        }
        Err(err) => Answer {
            status: None,
            error: Some(err.without_url().to_string()),
            elapsed_ms,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_the_specifications_example() {
        // The example of the Standard Webhooks specification (and its reference libraries).
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let body = r#"{"test": 2432232314}"#;
        assert_eq!(
            signature(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body).as_deref(),
            Some("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
        );
        assert!(signature("nope", "id", 1, "").is_none());
        assert!(new_secret().starts_with("whsec_"));
        assert_eq!(STANDARD.decode(&new_secret()[6..]).unwrap().len(), 24);
    }
}
