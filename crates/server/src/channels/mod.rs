//! Channel adapters: the code that speaks a provider's protocol, apart from the rules. The
//! contract: an inbound adapter turns a provider's event into a contact identity and a message
//! body, which enters through `automation::intake` (and so through the inbox door, with its
//! jobs, in one transaction); an outbound adapter sends text to an address and returns an error
//! for the job queue to retry. [`outbound`]: e-mail (SMTP) and SMS (HTTP provider), used by the
//! reply notifications today; an agent's reply on an e-mail or LINE conversation will go out
//! the same way, as a job. [`webhooks`]: signed outgoing webhooks (Standard Webhooks). The
//! widget's own HTTP API lives in `api::widget`.

pub mod email;
pub mod instagram;
pub mod line;
pub mod outbound;
pub mod webhooks;

/// Whether `given` is the HMAC-SHA256 of `body` with `secret` (compared in constant time): how
/// LINE and Meta sign their webhooks.
pub fn signed_with(secret: &str, body: &[u8], given: &[u8]) -> bool {
    use hmac::{Hmac, Mac};
    let Ok(mut mac) = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()) else {
        return false;
    };
    mac.update(body);
    mac.verify_slice(given).is_ok()
}

/// Why a call to a messaging provider (LINE, Instagram) failed: worth retrying (the network,
/// the provider's 5xx) or not (a refusal, the monthly quota, a closed messaging window).
#[derive(Debug)]
pub enum ProviderError {
    Retry(String),
    Refused(String),
}

impl std::fmt::Display for ProviderError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ProviderError::Retry(m) | ProviderError::Refused(m) => f.write_str(m),
        }
    }
}
