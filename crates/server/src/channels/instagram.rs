//! Instagram direct messages on the wire (the Messenger Platform for Instagram): the channel's
//! connection (app secret, the webhook's verify token, the page access token, the Graph API
//! base), the subscription handshake (`hub.mode`, `hub.verify_token`, `hub.challenge`), the
//! `X-Hub-Signature-256` of each webhook (`sha256=` and the hex HMAC-SHA256 of the raw body
//! with the app secret, compared in constant time), its messaging events (messages, replies to
//! a story; echoes of our own sends are skipped), and the send API. Instagram lets a business
//! answer only within 24 hours of the customer's last message: [`WINDOW_MS`].

use madoguchi_store::workspaces::Channel;
use serde::{Deserialize, Serialize};

use super::webhooks::pinned_client;
use super::ProviderError;

/// The Graph API, the default base.
pub const GRAPH_API: &str = "https://graph.facebook.com/v21.0";
/// How long after the customer's last message a business may answer.
pub const WINDOW_MS: i64 = 24 * 3_600_000;

/// An Instagram channel's connection, stored (with its secrets) on the channel.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InstagramConnection {
    pub app_secret: String,
    /// What Meta sends back when the webhook is subscribed (chosen by the shop).
    pub verify_token: String,
    pub access_token: String,
    #[serde(default = "default_graph_base")]
    pub graph_base: String,
}

fn default_graph_base() -> String {
    GRAPH_API.into()
}

impl InstagramConnection {
    /// An Instagram channel's connection, as stored on the channel.
    pub fn of(channel: &Channel) -> Result<Self, String> {
        let stored = channel
            .config
            .as_deref()
            .filter(|_| channel.kind == "instagram")
            .ok_or_else(|| format!("channel {} is not connected to Instagram", channel.id))?;
        serde_json::from_str(stored).map_err(|e| {
            format!(
                "channel {}: its Instagram connection cannot be read: {e}",
                channel.id
            )
        })
    }
}

/// Whether `header` (`X-Hub-Signature-256`) signs `body` with `secret`.
pub fn verify_signature(secret: &str, body: &[u8], header: &str) -> bool {
    match header.trim().strip_prefix("sha256=").map(hex::decode) {
        Some(Ok(given)) => super::signed_with(secret, body, &given),
        _ => false,
    }
}

/// The webhook's body: entries with their messaging events.
#[derive(Debug, Deserialize)]
pub struct Webhook {
    #[serde(default)]
    pub entry: Vec<Entry>,
}

#[derive(Debug, Deserialize)]
pub struct Entry {
    #[serde(default)]
    pub messaging: Vec<serde_json::Value>,
}

/// One messaging event as Madoguchi reads it.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Event {
    pub sender: Party,
    pub timestamp: i64,
    #[serde(default)]
    pub message: Option<EventMessage>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Party {
    pub id: String,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct EventMessage {
    pub mid: String,
    #[serde(default)]
    pub text: Option<String>,
    /// Our own message echoed back.
    #[serde(default)]
    pub is_echo: bool,
    /// What it answers (`{"story": {"id", "url"}}` for a reply to a story).
    #[serde(default)]
    pub reply_to: Option<serde_json::Value>,
    #[serde(default)]
    pub attachments: Vec<serde_json::Value>,
}

impl EventMessage {
    /// The message as the inbox shows it.
    pub fn body(&self) -> String {
        let story = self
            .reply_to
            .as_ref()
            .is_some_and(|r| r.get("story").is_some());
        let kinds: Vec<&str> = self
            .attachments
            .iter()
            .filter_map(|a| a["type"].as_str())
            .collect();
        let mut parts = Vec::new();
        if story {
            parts.push("（ストーリーへの返信）".to_owned());
        }
        if let Some(text) = self.text.as_deref().filter(|t| !t.trim().is_empty()) {
            parts.push(text.to_owned());
        }
        for kind in kinds {
            parts.push(match kind {
                "image" => "（画像）".to_owned(),
                "story_mention" => "（ストーリーでメンションされました）".to_owned(),
                other => format!("（Instagramで{other}が送られました）"),
            });
        }
        parts.join("\n")
    }
}

/// The customer's name (or user name) from their profile (`GET {graph_base}/{id}`).
pub async fn display_name(
    connection: &InstagramConnection,
    allow_private: bool,
    id: &str,
) -> Result<Option<String>, ProviderError> {
    let url = format!(
        "{}/{id}?fields=name,username",
        connection.graph_base.trim_end_matches('/')
    );
    let http = pinned_client(&url, allow_private)
        .await
        .map_err(ProviderError::Refused)?;
    let response = http
        .get(&url)
        .bearer_auth(&connection.access_token)
        .send()
        .await
        .map_err(|e| ProviderError::Retry(e.without_url().to_string()))?;
    if !response.status().is_success() {
        return Err(ProviderError::Refused(format!(
            "profile: {}",
            response.status()
        )));
    }
    let profile: serde_json::Value = response
        .json()
        .await
        .map_err(|e| ProviderError::Retry(e.to_string()))?;
    Ok(profile["name"]
        .as_str()
        .or(profile["username"].as_str())
        .map(str::to_owned))
}

/// Sends a text to the customer (`POST {graph_base}/me/messages`).
pub async fn send(
    connection: &InstagramConnection,
    allow_private: bool,
    to: &str,
    text: &str,
) -> Result<(), ProviderError> {
    let url = format!(
        "{}/me/messages",
        connection.graph_base.trim_end_matches('/')
    );
    let http = pinned_client(&url, allow_private)
        .await
        .map_err(ProviderError::Refused)?;
    let body = serde_json::json!({"recipient": {"id": to}, "message": {"text": text}});
    let response = http
        .post(&url)
        .bearer_auth(&connection.access_token)
        .json(&body)
        .send()
        .await
        .map_err(|e| {
            ProviderError::Retry(format!(
                "Instagramにつながりません（再試行します）: {}",
                e.without_url()
            ))
        })?;
    let status = response.status();
    if status.is_success() {
        return Ok(());
    }
    let detail: String = response
        .json::<serde_json::Value>()
        .await
        .ok()
        .and_then(|v| v["error"]["message"].as_str().map(str::to_owned))
        .unwrap_or_default()
        .chars()
        .take(200)
        .collect();
    Err(if status.is_server_error() {
        ProviderError::Retry(format!(
            "Instagramの障害です（{}、再試行します）: {detail}",
            status.as_u16()
        ))
    } else {
        ProviderError::Refused(format!(
            "Instagramが受け付けませんでした（{}）: {detail}",
            status.as_u16()
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_sha256_and_the_hex_hmac() {
        // printf '%s' '{"entry":[]}' | openssl dgst -sha256 -hmac secret
        let body = br#"{"entry":[]}"#;
        let good = "sha256=97f0eaf4fb539301c758929abea22432a8fed44f5ce20d65c6af41ff15dfb115";
        assert!(verify_signature("secret", body, good));
        assert!(!verify_signature("other", body, good));
        assert!(!verify_signature(
            "secret",
            body,
            good.trim_start_matches("sha256=")
        ));
    }

    #[test]
    fn a_story_reply_and_a_photo_say_what_they_are() {
        let message: EventMessage = serde_json::from_value(serde_json::json!({
            "mid": "m1", "text": "この色はありますか", "reply_to": {"story": {"id": "s1", "url": "https://x"}},
            "attachments": [{"type": "image", "payload": {"url": "https://x"}}]
        }))
        .unwrap();
        assert_eq!(
            message.body(),
            "（ストーリーへの返信）\nこの色はありますか\n（画像）"
        );
    }
}
