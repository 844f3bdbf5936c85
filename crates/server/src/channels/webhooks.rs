//! Outgoing webhooks on the wire, as the Standard Webhooks specification says: a `whsec_`
//! secret (base64 of 24 random bytes), and on each request `webhook-id` (the same on every
//! retry of one message), `webhook-timestamp` (Unix seconds) and `webhook-signature:
//! v1,<base64 HMAC-SHA256 of "id.timestamp.body">`, so that a receiver verifies with an
//! off-the-shelf library in any language.

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Whether an address is on the public internet: not loopback, private (RFC 1918, unique
/// local), link-local (cloud metadata lives there), shared (CGNAT), unspecified, multicast or
/// documentation; an IPv4-mapped IPv6 address is judged as its IPv4 one.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                || a == 0
                || (a == 100 && (64..128).contains(&b)))
        }
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => is_public(IpAddr::V4(v4)),
            None => {
                let first = v6.segments()[0];
                !(v6.is_loopback()
                    || v6.is_unspecified()
                    || v6.is_multicast()
                    || (first & 0xfe00) == 0xfc00
                    || (first & 0xffc0) == 0xfe80)
            }
        },
    }
}

/// The address a webhook URL's host resolves to, refused when it is not public (unless
/// `allow_private`): the client then connects to exactly this address, so a name cannot
/// resolve to a public address for the check and a private one for the request.
pub async fn resolve(url: &str, allow_private: bool) -> Result<(String, SocketAddr), String> {
    let parsed = reqwest::Url::parse(url).map_err(|e| e.to_string())?;
    let host = parsed
        .host_str()
        .ok_or("the URL has no host")?
        .trim_matches(['[', ']'])
        .to_owned();
    let port = parsed.port_or_known_default().unwrap_or(443);
    let addresses: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), port))
        .await
        .map_err(|e| format!("{host} does not resolve: {e}"))?
        .collect();
    let chosen = addresses
        .iter()
        .find(|a| allow_private || is_public(a.ip()))
        .copied();
    match chosen {
        Some(address) => Ok((host, address)),
        None => Err(format!(
            "{host} resolves to a private address: only the public internet is reached"
        )),
    }
}

/// A client for requests to `url`, an address an admin typed (a webhook, a provider's API
/// base): pinned to the address [`resolve`] checked, and following no redirect (one could lead
/// inside).
pub async fn pinned_client(url: &str, allow_private: bool) -> Result<reqwest::Client, String> {
    let (host, address) = resolve(url, allow_private).await?;
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .resolve(&host, address)
        .timeout(TIMEOUT)
        .build()
        .map_err(|e| e.to_string())
}

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
    allow_private: bool,
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
    let http = match pinned_client(url, allow_private).await {
        Ok(http) => http,
        Err(error) => {
            return Answer {
                status: None,
                error: Some(error),
                elapsed_ms: 0,
            }
        }
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
    fn only_public_addresses_count_as_public() {
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fe80::1",
            "fd00::1",
            "::ffff:127.0.0.1",
            "224.0.0.1",
        ] {
            assert!(!is_public(private.parse().unwrap()), "{private}");
        }
        for public in ["93.184.216.34", "8.8.8.8", "2606:4700::1111"] {
            assert!(is_public(public.parse().unwrap()), "{public}");
        }
    }

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
