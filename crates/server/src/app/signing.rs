//! Signed links for customers (reopen a conversation, unsubscribe) and signed visitor tokens: HMAC-SHA256 over
//! length-prefixed parts, with one key per installation shared by all nodes.

use hmac::{Hmac, Mac};
use madoguchi_store::conversations::Conversation;
use sha2::Sha256;

use crate::app::auth::new_secret;
use crate::app::AppState;

/// How long a link in a notification reopens the conversation: 30 days.
pub const LINK_TTL_MS: i64 = 30 * 24 * 3600 * 1000;

/// HMAC-SHA256 over the parts, hex-encoded.
pub fn sign(key: &str, parts: &[&str]) -> String {
    hex::encode(mac(key, parts).finalize().into_bytes())
}

/// Checks a signature in constant time.
pub fn verify(key: &str, parts: &[&str], signature: &str) -> bool {
    match hex::decode(signature) {
        Ok(bytes) => mac(key, parts).verify_slice(&bytes).is_ok(),
        Err(_) => false,
    }
}

/// Checks, in constant time, a shop's signature of its signed-in customer's user id: the hex
/// HMAC-SHA256 of the id with the channel's identity secret, as any language's standard library
/// makes it (no length prefixes, unlike [`sign`]).
pub fn verify_user_hash(secret: &str, user_id: &str, hash: &str) -> bool {
    let Ok(bytes) = hex::decode(hash.trim()) else {
        return false;
    };
    let Ok(mut mac) = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes()) else {
        return false;
    };
    mac.update(user_id.as_bytes());
    mac.verify_slice(&bytes).is_ok()
}

/// Whether a secret someone gave is the one expected, compared in constant time (of their
/// MACs, so neither length nor content leaks through timing).
pub fn same_secret(given: &str, expected: &str) -> bool {
    let expected = mac("compare", &[expected]).finalize().into_bytes();
    mac("compare", &[given]).verify_slice(&expected).is_ok()
}

#[allow(clippy::expect_used)] // HMAC takes keys of any length: new_from_slice cannot fail.
fn mac(key: &str, parts: &[&str]) -> Hmac<Sha256> {
    let mut mac =
        <Hmac<Sha256> as Mac>::new_from_slice(key.as_bytes()).expect("HMAC accepts any key length");
    for part in parts {
        mac.update(&(part.len() as u64).to_be_bytes());
        mac.update(part.as_bytes());
    }
    mac
}

/// The key that signs links and visitor tokens, created once per installation and shared by
/// all nodes; read once per process.
pub async fn link_key(state: &AppState) -> Result<String, madoguchi_store::StoreError> {
    state
        .signing_key
        .get_or_try_init(|| async {
            state
                .store
                .server_secret("link-signing", &new_secret())
                .await
        })
        .await
        .cloned()
}

/// A link that reopens a conversation in the widget, valid until `expires`.
pub fn resume_link(base: &str, key: &str, conversation: &Conversation, expires: i64) -> String {
    let (workspace, id, contact) = (
        &conversation.workspace_id,
        &conversation.id,
        &conversation.contact_id,
    );
    let expires = expires.to_string();
    let signature = sign(key, &["resume", workspace, id, contact, &expires]);
    format!(
        "{base}/widget/v1/resume?workspace={workspace}&conversation={id}&contact={contact}&expires={expires}&signature={signature}"
    )
}

/// A link to the satisfaction survey of a conversation (rating, and NPS where asked), valid
/// until `expires`.
pub fn survey_link(base: &str, key: &str, conversation: &Conversation, expires: i64) -> String {
    let (workspace, id) = (&conversation.workspace_id, &conversation.id);
    let expires = expires.to_string();
    let signature = sign(key, &["survey", workspace, id, &expires]);
    format!("{base}/widget/v1/survey?workspace={workspace}&conversation={id}&expires={expires}&signature={signature}")
}

pub fn unsubscribe_link(base: &str, key: &str, workspace_id: &str, contact_id: &str) -> String {
    let signature = sign(key, &["unsubscribe", workspace_id, contact_id]);
    format!("{base}/widget/v1/unsubscribe?workspace={workspace_id}&contact={contact_id}&signature={signature}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_bind_every_part() {
        let signature = sign("key", &["resume", "c1", "k1", "100"]);
        assert!(verify("key", &["resume", "c1", "k1", "100"], &signature));
        assert!(!verify("key", &["resume", "c1", "k1", "101"], &signature));
        assert!(!verify("other", &["resume", "c1", "k1", "100"], &signature));
        assert!(
            !verify("key", &["resume", "c1k", "1", "100"], &signature),
            "parts are length-prefixed"
        );
        assert!(!verify("key", &["resume", "c1", "k1", "100"], "zz"));
    }

    #[test]
    fn user_hashes_are_plain_hmac_of_the_id() {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(b"secret").unwrap();
        mac.update(b"user-42");
        let real = hex::encode(mac.finalize().into_bytes());
        assert!(verify_user_hash("secret", "user-42", &real));
        assert!(verify_user_hash("secret", "user-42", &real.to_uppercase()));
        assert!(!verify_user_hash("secret", "user-43", &real));
        assert!(!verify_user_hash("other", "user-42", &real));
        assert!(!verify_user_hash("secret", "user-42", "not hex"));
    }
}
