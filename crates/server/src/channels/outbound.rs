//! Outbound channel adapters: plain-text e-mail through SMTP (notifications, and replies in
//! e-mail conversations with their threading headers) and SMS through an HTTP provider
//! (form POST `To`, `From`, `Body`). They only send: what to send, to whom and when is the
//! rules' business (see `automation::notifications`), and a failure is returned for the job
//! queue to retry.

use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

use serde::Deserialize;

/// Outgoing e-mail for reply notifications; off while `url` is unset.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Smtp {
    /// `smtp://host:port` (plain), `smtp://host:port?tls=required` (STARTTLS) or `smtps://…`.
    pub url: Option<String>,
    pub from: String,
    pub user: Option<String>,
    pub password: Option<String>,
}

impl Default for Smtp {
    fn default() -> Self {
        Self {
            url: None,
            from: "noreply@localhost".into(),
            user: None,
            password: None,
        }
    }
}

/// An HTTP SMS provider taking a form POST of `To`, `From`, `Body` (Twilio-style); off while
/// `url` is unset.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Sms {
    pub url: Option<String>,
    pub from: String,
    pub user: Option<String>,
    pub password: Option<String>,
}

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

/// Who an e-mail is from when not the server's default sender (`smtp.from`): a brand's
/// display name and address; what is left out is the default's.
#[derive(Debug, Clone, Copy, Default)]
pub struct Sender<'a> {
    pub name: Option<&'a str>,
    pub address: Option<&'a str>,
}

/// The configured ways out; either may be absent.
pub struct Notifier {
    mailer: Option<(AsyncSmtpTransport<Tokio1Executor>, Mailbox)>,
    sms: Option<SmsProvider>,
    http: reqwest::Client,
}

impl Notifier {
    pub fn new(smtp: &Smtp, sms: &Sms) -> Result<Self, NotifierError> {
        let mailer = match &smtp.url {
            Some(url) => {
                let mut builder = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
                    .map_err(|err| NotifierError::Smtp(err.to_string()))?
                    .timeout(Some(std::time::Duration::from_secs(20)));
                if let (Some(user), Some(password)) = (&smtp.user, &smtp.password) {
                    builder = builder.credentials(Credentials::new(user.clone(), password.clone()));
                }
                let from: Mailbox =
                    smtp.from
                        .parse()
                        .map_err(|err: lettre::address::AddressError| {
                            NotifierError::From(err.to_string())
                        })?;
                Some((builder.build(), from))
            }
            None => None,
        };
        let sms = sms.url.as_ref().map(|url| SmsProvider {
            url: url.clone(),
            from: sms.from.clone(),
            user: sms.user.clone(),
            password: sms.password.clone(),
        });
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(20))
            .build()
            .unwrap_or_default();
        Ok(Self { mailer, sms, http })
    }

    /// Whether e-mail can go out (`smtp.url` is set).
    pub fn can_email(&self) -> bool {
        self.mailer.is_some()
    }

    /// Whether SMS can go out (`sms.url` is set).
    pub fn can_sms(&self) -> bool {
        self.sms.is_some()
    }

    /// Sends a plain-text e-mail from `sender` (what it leaves out: `smtp.from`'s);
    /// `unsubscribe` (a URL answering a POST; customers' mail) becomes the `List-Unsubscribe`
    /// header with one-click unsubscribing (RFC 8058).
    pub async fn send_email(
        &self,
        to: &str,
        subject: &str,
        body: String,
        unsubscribe: Option<&str>,
        sender: &Sender<'_>,
    ) -> Result<(), String> {
        let Some((mailer, default)) = &self.mailer else {
            return Err("e-mail is not configured".into());
        };
        let address = match sender.address {
            Some(address) => address
                .parse()
                .map_err(|err: lettre::address::AddressError| format!("sender: {err}"))?,
            None => default.email.clone(),
        };
        let name = sender
            .name
            .map(str::to_owned)
            .or_else(|| default.name.clone());
        let from = Mailbox::new(name, address);
        let to: Mailbox = to
            .parse()
            .map_err(|err: lettre::address::AddressError| err.to_string())?;
        let mut builder = lettre::Message::builder()
            .from(from)
            .to(to)
            .subject(subject)
            .header(ContentType::TEXT_PLAIN);
        if let Some(unsubscribe) = unsubscribe {
            builder = builder
                .raw_header(HeaderValue::new(
                    HeaderName::new_from_ascii_str("List-Unsubscribe"),
                    format!("<{unsubscribe}>"),
                ))
                .raw_header(HeaderValue::new(
                    HeaderName::new_from_ascii_str("List-Unsubscribe-Post"),
                    "List-Unsubscribe=One-Click".into(),
                ));
        }
        let message = builder.body(body).map_err(|err| err.to_string())?;
        mailer
            .send(message)
            .await
            .map(|_| ())
            .map_err(|err| format!("smtp: {err}"))
    }

    pub async fn send_sms(&self, to: &str, body: &str) -> Result<(), String> {
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

/// An agent's (or an auto-reply's) answer in an e-mail conversation, threaded into the
/// customer's mail client.
pub struct MailReply<'a> {
    /// The channel's support address and name: the reply's `From`.
    pub from: &'a str,
    pub from_name: &'a str,
    /// `support+{conversation}@…`: where the customer's answer comes back (`Reply-To`).
    pub reply_to: &'a str,
    pub to: &'a str,
    pub subject: &'a str,
    pub text: &'a str,
    /// Without angle brackets.
    pub message_id: &'a str,
    pub in_reply_to: Option<&'a str>,
    /// Oldest first.
    pub references: &'a [String],
}

impl Notifier {
    /// Sends a reply as UTF-8 plain text (lettre encodes the subject as encoded words).
    pub async fn send_reply(&self, reply: &MailReply<'_>) -> Result<(), String> {
        let Some((mailer, _)) = &self.mailer else {
            return Err("e-mail is not configured (smtp.url)".into());
        };
        let mailbox = |name: Option<&str>, address: &str| -> Result<Mailbox, String> {
            let address = address
                .parse()
                .map_err(|err: lettre::address::AddressError| format!("{address}: {err}"))?;
            Ok(Mailbox::new(name.map(str::to_owned), address))
        };
        let mut builder = lettre::Message::builder()
            .from(mailbox(Some(reply.from_name), reply.from)?)
            .reply_to(mailbox(Some(reply.from_name), reply.reply_to)?)
            .to(mailbox(None, reply.to)?)
            .subject(reply.subject)
            .message_id(Some(format!("<{}>", reply.message_id)))
            .header(ContentType::TEXT_PLAIN);
        if let Some(parent) = reply.in_reply_to {
            builder = builder.in_reply_to(format!("<{parent}>"));
        }
        if !reply.references.is_empty() {
            let references: Vec<String> = reply
                .references
                .iter()
                .map(|id| format!("<{id}>"))
                .collect();
            builder = builder.references(references.join(" "));
        }
        let message = builder
            .body(reply.text.to_owned())
            .map_err(|err| err.to_string())?;
        mailer
            .send(message)
            .await
            .map(|_| ())
            .map_err(|err| format!("smtp: {err}"))
    }
}
