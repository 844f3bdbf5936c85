//! The LINE Messaging API on the wire: the channel's connection (secret, access token, API
//! base), the webhook's `x-line-signature` (base64 HMAC-SHA256 of the raw body with the channel
//! secret, compared in constant time), its events, and the calls Madoguchi makes: a user's
//! profile, a message's content (images), the free reply with a fresh reply token and the push
//! (counted against the account's monthly quota) with an `X-Line-Retry-Key`, so that a retried
//! push is never delivered twice. `api_base` lets tests and proxies stand in for LINE.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use madoguchi_store::workspaces::Channel;
use serde::{Deserialize, Serialize};

use super::webhooks::pinned_client;
use super::ProviderError;

/// LINE's own API, the default base.
pub const LINE_API: &str = "https://api.line.me";
/// Where LINE serves message content when the base is its own API.
const LINE_DATA_API: &str = "https://api-data.line.me";
/// A reply token is good for about a minute; older than this, a message is pushed.
pub const REPLY_TOKEN_FRESH_MS: i64 = 50_000;
/// Largest image fetched from the content API.
const MAX_CONTENT_BYTES: usize = 10 * 1024 * 1024;

/// A LINE channel's connection, stored (with its secrets) on the channel.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LineConnection {
    pub channel_secret: String,
    pub channel_access_token: String,
    #[serde(default = "default_api_base")]
    pub api_base: String,
}

impl LineConnection {
    /// A LINE channel's connection, as stored on the channel.
    pub fn of(channel: &Channel) -> Result<Self, String> {
        let stored = channel
            .config
            .as_deref()
            .filter(|_| channel.kind == "line")
            .ok_or_else(|| format!("channel {} is not connected to LINE", channel.id))?;
        serde_json::from_str(stored).map_err(|e| {
            format!(
                "channel {}: its LINE connection cannot be read: {e}",
                channel.id
            )
        })
    }
}

fn default_api_base() -> String {
    LINE_API.into()
}

/// Whether `signature` (the `x-line-signature` header) signs `body` with `secret`.
pub fn verify_signature(secret: &str, body: &[u8], signature: &str) -> bool {
    STANDARD
        .decode(signature.trim())
        .is_ok_and(|given| super::signed_with(secret, body, &given))
}

/// The webhook's body: the bot's user id and the events.
#[derive(Debug, Deserialize)]
pub struct Webhook {
    #[serde(default)]
    pub events: Vec<serde_json::Value>,
}

/// One event as Madoguchi reads it (others are ignored).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Event {
    #[serde(rename = "type")]
    pub kind: String,
    pub webhook_event_id: String,
    #[serde(default)]
    pub reply_token: Option<String>,
    pub source: Source,
    #[serde(default)]
    pub message: Option<EventMessage>,
    /// Unix ms.
    #[serde(default)]
    pub timestamp: i64,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Source {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub user_id: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EventMessage {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub text: Option<String>,
    #[serde(default)]
    pub package_id: Option<String>,
    #[serde(default)]
    pub sticker_id: Option<String>,
}

/// A client of one channel's LINE account.
pub struct LineClient<'a> {
    connection: &'a LineConnection,
    allow_private: bool,
}

impl<'a> LineClient<'a> {
    pub fn new(connection: &'a LineConnection, allow_private: bool) -> Self {
        Self {
            connection,
            allow_private,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.connection.api_base.trim_end_matches('/'))
    }

    async fn request(
        &self,
        method: reqwest::Method,
        url: &str,
    ) -> Result<reqwest::RequestBuilder, ProviderError> {
        let http = pinned_client(url, self.allow_private)
            .await
            .map_err(ProviderError::Refused)?;
        Ok(http
            .request(method, url)
            .bearer_auth(&self.connection.channel_access_token))
    }

    async fn answer(
        sent: reqwest::Result<reqwest::Response>,
    ) -> Result<reqwest::Response, ProviderError> {
        let response = sent.map_err(|e| {
            ProviderError::Retry(format!(
                "LINEにつながりません（再試行します）: {}",
                e.without_url()
            ))
        })?;
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        let text = response.text().await.unwrap_or_default();
        let detail: String = serde_json::from_str::<serde_json::Value>(&text)
            .ok()
            .and_then(|v| v["message"].as_str().map(str::to_owned))
            .unwrap_or(text)
            .chars()
            .take(200)
            .collect();
        Err(match status.as_u16() {
            429 => ProviderError::Refused(format!(
                "LINEの月間メッセージ数または送信頻度の上限に達しました（429: monthly quota / rate limit）: {detail}"
            )),
            code if status.is_server_error() => ProviderError::Retry(format!("LINEの障害です（{code}、再試行します）: {detail}")),
            code => ProviderError::Refused(format!("LINEが受け付けませんでした（{code}）: {detail}")),
        })
    }

    /// The user's display name (`GET /v2/bot/profile/{userId}`).
    pub async fn display_name(&self, user_id: &str) -> Result<Option<String>, ProviderError> {
        let url = self.url(&format!("/v2/bot/profile/{user_id}"));
        let response =
            Self::answer(self.request(reqwest::Method::GET, &url).await?.send().await).await?;
        let profile: serde_json::Value = response
            .json()
            .await
            .map_err(|e| ProviderError::Retry(format!("LINE profile: {e}")))?;
        Ok(profile["displayName"].as_str().map(str::to_owned))
    }

    /// A message's content (an image the customer sent), with its content type.
    pub async fn content(
        &self,
        message_id: &str,
    ) -> Result<(Option<String>, Vec<u8>), ProviderError> {
        let base = match self.connection.api_base.trim_end_matches('/') {
            LINE_API => LINE_DATA_API.to_owned(),
            other => other.to_owned(),
        };
        let url = format!("{base}/v2/bot/message/{message_id}/content");
        let response =
            Self::answer(self.request(reqwest::Method::GET, &url).await?.send().await).await?;
        let content_type = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let bytes = response
            .bytes()
            .await
            .map_err(|e| ProviderError::Retry(format!("LINE content: {e}")))?;
        if bytes.len() > MAX_CONTENT_BYTES {
            return Err(ProviderError::Refused(
                "the image is larger than 10 MB".into(),
            ));
        }
        Ok((content_type, bytes.to_vec()))
    }

    /// Answers with a reply token (free; a token answers once).
    pub async fn reply(&self, reply_token: &str, text: &str) -> Result<(), ProviderError> {
        let url = self.url("/v2/bot/message/reply");
        let body = serde_json::json!({"replyToken": reply_token, "messages": [{"type": "text", "text": text}]});
        Self::answer(
            self.request(reqwest::Method::POST, &url)
                .await?
                .json(&body)
                .send()
                .await,
        )
        .await?;
        Ok(())
    }

    /// Pushes a message; `retry_key` (a UUID) makes a retried push arrive once.
    pub async fn push(&self, to: &str, text: &str, retry_key: &str) -> Result<(), ProviderError> {
        let url = self.url("/v2/bot/message/push");
        let body = serde_json::json!({"to": to, "messages": [{"type": "text", "text": text}]});
        let request = self
            .request(reqwest::Method::POST, &url)
            .await?
            .header("X-Line-Retry-Key", retry_key)
            .json(&body);
        match Self::answer(request.send().await).await {
            // 409: a push with this retry key was accepted before — it was delivered.
            Err(ProviderError::Refused(m)) if m.contains("(409)") => Ok(()),
            other => other.map(|_| ()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_the_base64_hmac_of_the_raw_body() {
        // Computed independently: printf '%s' '{"events":[]}' | openssl dgst -sha256 -hmac secret -binary | base64
        let body = br#"{"events":[]}"#;
        let good = "pkK1lVPJPiJ+wPLziRD79xIxohl8AImYM8AEeM7IbzQ=";
        assert!(verify_signature("secret", body, good));
        assert!(!verify_signature("other", body, good));
        assert!(!verify_signature("secret", br#"{"events":[1]}"#, good));
        assert!(!verify_signature("secret", body, "not base64!"));
        assert!(!verify_signature("secret", body, ""));
    }
}
