//! Where mail comes in, from the built-in SMTP receiver (and any other mail source): for each
//! e-mail channel a mail is addressed to, the sender becomes (or is found as) a contact by
//! address — the same contact as a widget visitor who left that address — and the mail is
//! threaded: any id in `In-Reply-To` / `References` that belongs to a conversation of this
//! contact, else the conversation named in the reply address (`support+{id}@…`, also only
//! the contact's own), else a new conversation. A reply on an old thread, even under a new
//! subject, goes to that thread's conversation (reopening it); replies of other people to the
//! same mail open their own conversations. Spam and phishing start in `spam`; neither they
//! nor machine mail (out-of-office, bounces) get an automatic answer. The same mail delivered
//! twice (same Message-ID from the same sender) is one message.

use madoguchi_core::attachment::{parse_file_name, sniff, MAIL_HTML, MAX_ATTACHMENT_BYTES};
use madoguchi_core::message::{ClientId, MessageBody, SenderKind, MAX_BODY_CHARS};
use madoguchi_core::text::visible_only;
use madoguchi_store::attachments::NewAttachment;
use madoguchi_store::contacts::{ContactPatch, IDENTITY_EMAIL};
use madoguchi_store::jobs::NO_JOBS;
use madoguchi_store::messages::NewMessage;
use madoguchi_store::workspaces::Channel;
use madoguchi_store::StoreError;
use sha2::{Digest, Sha256};

use crate::app::error::DomainResult;
use crate::app::AppState;
use crate::automation::intake::{self, Opening, Reactions};
use crate::channels::email::flags::{judge, Verdict};
use crate::channels::email::parse::{parse, MailFile, ParsedMail};
use crate::channels::email::receiver::Mailroom;

/// The support address and the plus-tag of a recipient: `support+c1@shop.example` →
/// (`support@shop.example`, `Some("c1")`).
pub fn split_address(recipient: &str) -> (String, Option<String>) {
    let recipient = recipient.trim().to_lowercase();
    match recipient.split_once('@') {
        Some((local, domain)) => match local.split_once('+') {
            Some((base, tag)) => (format!("{base}@{domain}"), Some(tag.to_owned())),
            None => (recipient.clone(), None),
        },
        None => (recipient, None),
    }
}

/// The e-mail channel a recipient address reaches.
async fn channel_for(state: &AppState, recipient: &str) -> Option<(Channel, Option<String>)> {
    let (address, tag) = split_address(recipient);
    let channel = state.store.channel_by_email_address(&address).await.ok()?;
    Some((channel, tag))
}

/// The receiver's view of the store.
pub struct Inbound(pub AppState);

impl Mailroom for Inbound {
    fn accepts<'a>(&'a self, address: &'a str) -> futures_util::future::BoxFuture<'a, bool> {
        Box::pin(async move { channel_for(&self.0, address).await.is_some() })
    }

    fn deliver(
        &self,
        raw: Vec<u8>,
        recipients: Vec<String>,
    ) -> futures_util::future::BoxFuture<'_, Result<(), String>> {
        Box::pin(async move {
            receive(&self.0, &raw, &recipients)
                .await
                .map_err(|err| err.to_string())
        })
    }
}

/// Stores a raw mail for each e-mail channel among `recipients`. A mail that cannot be read
/// as one (no sender) is dropped with a warning: refusing it would only make it come back.
pub async fn receive(state: &AppState, raw: &[u8], recipients: &[String]) -> DomainResult<()> {
    let mail = match parse(raw) {
        Ok(mail) => mail,
        Err(err) => {
            tracing::warn!(error = %err, "an inbound mail was dropped");
            return Ok(());
        }
    };
    let verdict = judge(&mail);
    let mut seen: Vec<String> = Vec::new();
    for recipient in recipients {
        let Some((channel, tag)) = channel_for(state, recipient).await else {
            continue;
        };
        if seen.contains(&channel.id) {
            continue;
        }
        seen.push(channel.id.clone());
        store_mail(state, &channel, tag.as_deref(), &mail, &verdict, raw).await?;
    }
    Ok(())
}

/// Stores a mail read from `channel`'s own mailbox (IMAP): the conversation id in a plus
/// address among its recipients still threads it.
pub async fn receive_in(state: &AppState, channel: &Channel, raw: &[u8]) -> DomainResult<()> {
    let mail = match parse(raw) {
        Ok(mail) => mail,
        Err(err) => {
            tracing::warn!(error = %err, channel = %channel.id, "a mail in the mailbox was skipped");
            return Ok(());
        }
    };
    let support = channel.email_address.as_deref().unwrap_or_default();
    let tag = mail
        .recipients
        .iter()
        .find_map(|recipient| match split_address(recipient) {
            (address, Some(tag)) if address == support => Some(tag),
            _ => None,
        });
    store_mail(state, channel, tag.as_deref(), &mail, &judge(&mail), raw).await
}

/// The mail's own id for the message (`client_id`): from its Message-ID, else its bytes.
fn mail_client_id(mail: &ParsedMail, raw: &[u8]) -> String {
    let digest = match &mail.message_id {
        Some(id) => Sha256::digest(id.as_bytes()),
        None => Sha256::digest(raw),
    };
    format!("mail.{}", &hex::encode(digest)[..40])
}

/// A message body from mail text: visible characters only, within the length limit.
fn body_of(text: &str, fallback: &str) -> DomainResult<MessageBody> {
    let clean = visible_only(text, true);
    let clean = clean.trim();
    let clean = if clean.is_empty() { fallback } else { clean };
    let mut body: String = clean.chars().take(MAX_BODY_CHARS).collect();
    if clean.chars().count() > MAX_BODY_CHARS {
        body.pop();
        body.push('…');
    }
    Ok(MessageBody::parse(&body)?)
}

async fn store_mail(
    state: &AppState,
    channel: &Channel,
    tag: Option<&str>,
    mail: &ParsedMail,
    verdict: &Verdict,
    raw: &[u8],
) -> DomainResult<()> {
    let store = &state.store;
    let workspace_id = &channel.workspace_id;
    let mut contact = store
        .identified_contact(workspace_id, IDENTITY_EMAIL, &mail.from)
        .await?;
    if contact.email.is_none() || contact.name.is_none() {
        let patch = ContactPatch {
            name: contact
                .name
                .is_none()
                .then(|| mail.from_name.as_deref().map(|n| visible_only(n, false)))
                .flatten()
                .filter(|n| !n.trim().is_empty()),
            email: contact.email.is_none().then(|| mail.from.clone()),
            phone: None,
        };
        contact = crate::inbox::contacts::update(state, workspace_id, &contact.id, &patch).await?;
    }
    let subject = visible_only(&mail.subject, false);
    let body = body_of(&mail.text, "(本文なし)")?;
    let client_id = ClientId::parse(&mail_client_id(mail, raw))?;
    let full_text = (mail.full_text.trim() != mail.text.trim()).then(|| {
        visible_only(&mail.full_text, true)
            .chars()
            .take(100_000)
            .collect::<String>()
    });
    let skipped: Vec<&str> = mail
        .files
        .iter()
        .filter(|file| kept_kind(file).is_none())
        .map(|file| file.name.as_str())
        .collect();
    let meta = serde_json::json!({"email": {
        "from": mail.from,
        "skipped_files": skipped,
        "subject": subject,
        "message_id": mail.message_id,
        "flags": verdict.flags,
        "spam": verdict.spam,
        "automatic": verdict.automatic,
        "full_text": full_text,
    }})
    .to_string();
    let reactions = match (verdict.spam, verdict.automatic) {
        (true, _) => Reactions::Spam,
        (false, true) => Reactions::None,
        (false, false) => Reactions::All,
    };
    let thread = thread_of(state, channel, &contact.id, tag, mail).await?;
    let (conversation, created) = match thread {
        Some(conversation_id) => {
            let appended = intake::customer_message(
                state,
                channel,
                NewMessage {
                    workspace_id,
                    conversation_id: &conversation_id,
                    sender_kind: SenderKind::Contact,
                    sender_id: &contact.id,
                    body: &body,
                    private: false,
                    client_id: Some(&client_id),
                    meta: Some(&meta),
                    sender_name: None,
                    jobs: &NO_JOBS,
                    at: state.clock.now_ms(),
                },
                match reactions {
                    Reactions::Spam => Reactions::None,
                    other => other,
                },
                None,
            )
            .await?;
            (appended.conversation, appended.created)
        }
        None => {
            let started = intake::start_conversation(
                state,
                channel,
                &contact.id,
                Opening {
                    client_id: Some(&client_id),
                    subject: Some(&subject).filter(|s| !s.is_empty()).map(|s| s.as_str()),
                    meta: Some(&meta),
                    reactions,
                    ..Opening::chat(&body)
                },
            )
            .await?;
            (started.conversation, started.created)
        }
    };
    if let Some(message_id) = &mail.message_id {
        store
            .remember_mail_ids(
                workspace_id,
                &conversation.id,
                &contact.id,
                &[message_id.as_str()],
                state.clock.now_ms(),
            )
            .await?;
    }
    if created {
        store_files(
            state,
            channel,
            &conversation.id,
            &contact.id,
            mail,
            &client_id,
        )
        .await?;
    }
    Ok(())
}

/// The conversation of this contact the mail answers, if any.
async fn thread_of(
    state: &AppState,
    channel: &Channel,
    contact_id: &str,
    tag: Option<&str>,
    mail: &ParsedMail,
) -> DomainResult<Option<String>> {
    let ids: Vec<&str> = mail.references.iter().map(String::as_str).collect();
    if let Some(found) = state
        .store
        .conversation_of_mail(&channel.workspace_id, contact_id, &ids)
        .await?
    {
        return Ok(Some(found));
    }
    let Some(tag) = tag else {
        return Ok(None);
    };
    match state.store.conversation(&channel.workspace_id, tag).await {
        Ok(conversation) if conversation.contact_id == contact_id => Ok(Some(conversation.id)),
        Ok(_) | Err(StoreError::NotFound) => Ok(None),
        Err(err) => Err(err.into()),
    }
}

/// The type a mail's file is kept as: images and PDFs within the size limit (the rest are
/// named in the mail message's `meta.email.skipped_files`).
fn kept_kind(file: &MailFile) -> Option<&'static str> {
    (file.data.len() <= MAX_ATTACHMENT_BYTES)
        .then(|| sniff(&file.data).ok())
        .flatten()
}

/// The mail's images and PDFs, each as a message of its own after the text, then its original
/// HTML body (opened sandboxed, for what the text version loses: tables, emphasis).
async fn store_files(
    state: &AppState,
    channel: &Channel,
    conversation_id: &str,
    contact_id: &str,
    mail: &ParsedMail,
    client_id: &ClientId,
) -> DomainResult<()> {
    let html = mail.html.as_ref().map(|html| MailFile {
        name: "message.html".into(),
        content_type: MAIL_HTML.into(),
        data: html.as_bytes().to_vec(),
    });
    let kept = mail
        .files
        .iter()
        .filter_map(|file| Some((kept_kind(file)?, file)))
        .chain(html.as_ref().map(|file| (MAIL_HTML, file)));
    for (index, (kind, file)) in kept.enumerate() {
        let name = parse_file_name(&visible_only(&file.name, false))
            .unwrap_or_else(|_| "attachment".into());
        let attachment = state
            .store
            .create_attachment(&NewAttachment {
                workspace_id: &channel.workspace_id,
                conversation_id,
                uploaded_by: &format!("contact:{contact_id}"),
                // Served to agents only (not to a widget visitor who is the same contact).
                private: true,
                name: &name,
                content_type: kind,
                data: &file.data,
                at: state.clock.now_ms(),
            })
            .await?;
        let meta = serde_json::json!({"attachments": [{
            "id": attachment.id,
            "name": attachment.name,
            "content_type": attachment.content_type,
            "size": attachment.size,
        }]})
        .to_string();
        let file_client_id = ClientId::parse(&format!("{}.f{index}", client_id.as_str()))?;
        intake::customer_message(
            state,
            channel,
            NewMessage {
                workspace_id: &channel.workspace_id,
                conversation_id,
                sender_kind: SenderKind::Contact,
                sender_id: contact_id,
                body: &MessageBody::parse(&name)?,
                private: false,
                client_id: Some(&file_client_id),
                meta: Some(&meta),
                sender_name: None,
                jobs: &NO_JOBS,
                at: state.clock.now_ms(),
            },
            Reactions::None,
            None,
        )
        .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::split_address;

    #[test]
    fn plus_tags_name_the_conversation() {
        assert_eq!(
            split_address("Support+C1@Shop.example"),
            ("support@shop.example".into(), Some("c1".into()))
        );
        assert_eq!(split_address("support@shop.example").1, None);
    }
}
