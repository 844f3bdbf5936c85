//! Reply notifications: when an agent answers a visitor who has left, the reply goes out by
//! e-mail (SMTP) or SMS (an HTTP provider), with a signed, expiring link that reopens the
//! conversation and a link to unsubscribe. Replies within the waiting window go out together;
//! the job queue retries failures with backoff.

use hmac::{Hmac, Mac};
use lettre::message::{header::ContentType, Mailbox};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use madoguchi_core::hours::format_local;
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use madoguchi_store::conversations::Conversation;

use crate::app::AppState;
use crate::auth::new_secret;
use crate::inbox::settings::{channel_automation, workspace_time_zone};
use crate::settings::Settings;

/// How long a link in a notification reopens the conversation: 30 days.
pub const LINK_TTL_MS: i64 = 30 * 24 * 3600 * 1000;

#[derive(Debug, thiserror::Error)]
pub enum NotifierError {
    #[error("smtp.url is not usable: {0}")]
    Smtp(String),
    #[error("smtp.from is not an e-mail address: {0}")]
    From(String),
}

struct SmsProvider {
    url: String,
    from: String,
    user: Option<String>,
    password: Option<String>,
}

/// The configured ways out; either may be absent.
pub struct Notifier {
    mailer: Option<(AsyncSmtpTransport<Tokio1Executor>, Mailbox)>,
    sms: Option<SmsProvider>,
    http: reqwest::Client,
}

impl Notifier {
    pub fn new(settings: &Settings) -> Result<Self, NotifierError> {
        let mailer =
            match &settings.smtp.url {
                Some(url) => {
                    let mut builder = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
                        .map_err(|err| NotifierError::Smtp(err.to_string()))?
                        .timeout(Some(std::time::Duration::from_secs(20)));
                    if let (Some(user), Some(password)) =
                        (&settings.smtp.user, &settings.smtp.password)
                    {
                        builder =
                            builder.credentials(Credentials::new(user.clone(), password.clone()));
                    }
                    let from: Mailbox = settings.smtp.from.parse().map_err(
                        |err: lettre::address::AddressError| NotifierError::From(err.to_string()),
                    )?;
                    Some((builder.build(), from))
                }
                None => None,
            };
        let sms = settings.sms.url.as_ref().map(|url| SmsProvider {
            url: url.clone(),
            from: settings.sms.from.clone(),
            user: settings.sms.user.clone(),
            password: settings.sms.password.clone(),
        });
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(20))
            .build()
            .unwrap_or_default();
        Ok(Self { mailer, sms, http })
    }

    async fn send_email(&self, to: &str, subject: &str, body: String) -> Result<(), String> {
        let Some((mailer, from)) = &self.mailer else {
            return Err("e-mail is not configured".into());
        };
        let to: Mailbox = to
            .parse()
            .map_err(|err: lettre::address::AddressError| err.to_string())?;
        let message = lettre::Message::builder()
            .from(from.clone())
            .to(to)
            .subject(subject)
            .header(ContentType::TEXT_PLAIN)
            .body(body)
            .map_err(|err| err.to_string())?;
        mailer
            .send(message)
            .await
            .map(|_| ())
            .map_err(|err| format!("smtp: {err}"))
    }

    async fn send_sms(&self, to: &str, body: &str) -> Result<(), String> {
        let Some(sms) = &self.sms else {
            return Err("SMS is not configured".into());
        };
        let mut request = self.http.post(&sms.url).form(&[
            ("To", to),
            ("From", sms.from.as_str()),
            ("Body", body),
        ]);
        if let Some(user) = &sms.user {
            request = request.basic_auth(user, sms.password.as_ref());
        }
        let response = request.send().await.map_err(|err| format!("sms: {err}"))?;
        if !response.status().is_success() {
            return Err(format!("sms provider answered {}", response.status()));
        }
        Ok(())
    }
}

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

/// The key that signs links, created once per installation and shared by all nodes.
pub async fn link_key(state: &AppState) -> Result<String, madoguchi_store::StoreError> {
    state
        .store
        .server_secret("link-signing", &new_secret())
        .await
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

pub fn unsubscribe_link(base: &str, key: &str, workspace_id: &str, contact_id: &str) -> String {
    let signature = sign(key, &["unsubscribe", workspace_id, contact_id]);
    format!("{base}/widget/v1/unsubscribe?workspace={workspace_id}&contact={contact_id}&signature={signature}")
}

/// Payload of a `notify.reply` job.
#[derive(Debug, Serialize, Deserialize)]
pub struct NotifyJob {
    pub workspace_id: String,
    pub conversation_id: String,
}

/// Sends the replies the visitor has not seen, if they are away; `Ok(outcome)` finishes the job,
/// `Err` retries it.
pub async fn deliver(state: &AppState, job: &NotifyJob) -> Result<&'static str, String> {
    let store = &state.store;
    let conversation = store
        .conversation(&job.workspace_id, &job.conversation_id)
        .await
        .map_err(|e| e.to_string())?;
    let contact = store
        .contact(&job.workspace_id, &conversation.contact_id)
        .await
        .map_err(|e| e.to_string())?;
    let replies = store
        .unnotified_replies(&conversation.id)
        .await
        .map_err(|e| e.to_string())?;
    let Some(last) = replies.last().map(|m| m.seq) else {
        return Ok("nothing new");
    };
    if contact.unsubscribed_at.is_some() {
        return Ok("unsubscribed");
    }
    if state.hub.is_visitor_online(&contact.id).await {
        store
            .mark_notified(&conversation.id, last)
            .await
            .map_err(|e| e.to_string())?;
        return Ok("seen live");
    }
    let channel = store
        .channel(&job.workspace_id, &conversation.channel_id)
        .await
        .map_err(|e| e.to_string())?;
    let automation = channel_automation(&channel).map_err(|e| e.message)?;
    let workspace = store
        .workspace(&job.workspace_id)
        .await
        .map_err(|e| e.to_string())?;
    let key = link_key(state).await.map_err(|e| e.to_string())?;
    let base = state.settings.public_url();
    let now = state.clock.now_ms();
    let link = resume_link(&base, &key, &conversation, now + LINK_TTL_MS);
    let en = automation.locale == "en";
    let texts: Vec<&str> = replies.iter().map(|m| m.body.as_str()).collect();
    let email = contact
        .email
        .as_deref()
        .filter(|_| automation.notify_email && state.notifier.mailer.is_some());
    let phone = contact
        .phone
        .as_deref()
        .filter(|_| automation.notify_sms && state.notifier.sms.is_some());
    let outcome = if let Some(email) = email {
        let tz = workspace_time_zone(&workspace);
        let sent_at = format_local(
            tz,
            chrono::DateTime::from_timestamp_millis(now).unwrap_or_default(),
            &automation.locale,
        );
        let (subject, intro, open, stop) = if en {
            (
                format!("[{}] You have a reply", workspace.name),
                "We replied to your message:",
                "Open the conversation:",
                "Stop these e-mails:",
            )
        } else {
            (
                format!("【{}】お問い合わせへの返信があります", workspace.name),
                "お問い合わせに返信がありました。",
                "会話を開く:",
                "配信停止:",
            )
        };
        let body = format!(
            "{intro}\n\n{}\n\n{open}\n{link}\n\n({sent_at})\n\n{stop} {}\n",
            texts.join("\n\n---\n\n"),
            unsubscribe_link(&base, &key, &job.workspace_id, &contact.id)
        );
        state.notifier.send_email(email, &subject, body).await?;
        "e-mail sent"
    } else if let Some(phone) = phone {
        let first: String = texts
            .first()
            .copied()
            .unwrap_or_default()
            .chars()
            .take(60)
            .collect();
        let body = if en {
            format!("{}: reply to your message: {first} {link}", workspace.name)
        } else {
            format!("{}より返信: {first} {link}", workspace.name)
        };
        state.notifier.send_sms(phone, &body).await?;
        "sms sent"
    } else {
        return Ok("no way to reach the contact");
    };
    store
        .mark_notified(&conversation.id, last)
        .await
        .map_err(|e| e.to_string())?;
    Ok(outcome)
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
}
