//! What leaves a conversation the customer is not in live: every visible message that is not
//! the customer's (an agent's reply, an auto-reply) goes out, planned as a job committed with
//! the message ([`plan`]): on LINE and Instagram by `messaging_outbox`, in an e-mail conversation (and a web
//! form's, from the workspace's e-mail channel's address) as a mail sent by [`send`], threaded into the customer's mail client
//! (`Message-ID` from the message's id, `In-Reply-To` the newest mail of the conversation,
//! `References` all of them, `Reply-To` the support address plus the conversation's id, the
//! subject `Re:` the conversation's current subject). A sent mail's id is remembered for
//! threading the answer, and so that a retried job never sends a message twice.

use madoguchi_core::message::SenderKind;
use madoguchi_store::conversations::Conversation;
use madoguchi_store::jobs::JobSpec;
use madoguchi_store::workspaces::Channel;
use serde::{Deserialize, Serialize};

use crate::app::error::DomainResult;
use crate::app::AppState;
use crate::channels::outbound::MailReply;
use crate::inbox::messaging_outbox::{is_messaging, MessagingSendJob, MESSAGING_SEND_JOB};
use crate::inbox::settings::face;

pub const MAIL_JOB: &str = "mail_reply";

#[derive(Debug, Serialize, Deserialize)]
pub struct MailJob {
    pub workspace_id: String,
    pub conversation_id: String,
    /// The conversation's newest `seq` before the message: the job sends the first unsent
    /// outgoing message after it.
    pub after_seq: i64,
}

/// The job that mails the next message of `conversation`, when it is an e-mail conversation.
pub async fn plan(state: &AppState, conversation: &Conversation) -> DomainResult<Option<JobSpec>> {
    let channel = state
        .store
        .channel(&conversation.workspace_id, &conversation.channel_id)
        .await?;
    Ok(job(
        state,
        &channel,
        &conversation.id,
        conversation.last_seq,
    ))
}

/// The job that sends the outgoing messages after `after_seq` of a conversation on `channel`:
/// a mail on an e-mail channel, a LINE message on LINE; `None` elsewhere.
pub fn job(
    state: &AppState,
    channel: &Channel,
    conversation_id: &str,
    after_seq: i64,
) -> Option<JobSpec> {
    if is_messaging(&channel.kind) {
        let job = MessagingSendJob {
            workspace_id: channel.workspace_id.clone(),
            conversation_id: conversation_id.to_owned(),
            after_seq,
        };
        return Some(JobSpec {
            kind: MESSAGING_SEND_JOB.into(),
            payload: serde_json::to_string(&job).unwrap_or_default(),
            due_at: state.clock.now_ms(),
            dedupe_key: Some(format!("messaging:{conversation_id}:{after_seq}")),
        });
    }
    if channel.kind != "email" && channel.kind != "form" {
        return None;
    }
    let job = MailJob {
        workspace_id: channel.workspace_id.clone(),
        conversation_id: conversation_id.to_owned(),
        after_seq,
    };
    Some(JobSpec {
        kind: MAIL_JOB.into(),
        payload: serde_json::to_string(&job).unwrap_or_default(),
        due_at: state.clock.now_ms(),
        dedupe_key: Some(format!("mail:{conversation_id}:{after_seq}")),
    })
}

/// `support+{conversation}@shop.example` for `support@shop.example`.
pub fn reply_address(support: &str, conversation_id: &str) -> String {
    match support.split_once('@') {
        Some((local, domain)) => format!("{local}+{conversation_id}@{domain}"),
        None => support.to_owned(),
    }
}

/// The subject of a reply: `Re: ` and the conversation's subject (once).
fn reply_subject(subject: Option<&str>, fallback: &str) -> String {
    let subject = subject.filter(|s| !s.trim().is_empty()).unwrap_or(fallback);
    let lower = subject.to_lowercase();
    if lower.starts_with("re:") || lower.starts_with("re：") {
        subject.to_owned()
    } else {
        format!("Re: {subject}")
    }
}

pub async fn send(state: &AppState, job: &MailJob) -> Result<&'static str, String> {
    let store = &state.store;
    let failed = |err: madoguchi_store::StoreError| err.to_string();
    let conversation = store
        .conversation(&job.workspace_id, &job.conversation_id)
        .await
        .map_err(failed)?;
    let channel = store
        .channel(&job.workspace_id, &conversation.channel_id)
        .await
        .map_err(failed)?;
    // A form has no address of its own: its replies come from the workspace's support address,
    // so that the customer's answer comes back into the conversation.
    let address = match channel.kind.as_str() {
        "form" => store
            .channels(&job.workspace_id)
            .await
            .map_err(failed)?
            .into_iter()
            .find(|c| c.kind == "email")
            .and_then(|c| c.email_address),
        _ => channel.email_address.clone(),
    };
    let Some(support) = address.as_deref() else {
        return Ok("the channel has no address");
    };
    let workspace = store.workspace(&job.workspace_id).await.map_err(failed)?;
    let face = face(state, &workspace, conversation.brand_id.as_deref())
        .await
        .map_err(|e| e.to_string())?;
    let contact = store
        .contact(&job.workspace_id, &conversation.contact_id)
        .await
        .map_err(failed)?;
    let Some(to) = contact.email.as_deref() else {
        return Ok("the customer has no address");
    };
    let domain = support.rsplit('@').next().unwrap_or("localhost");
    let known = store.mail_ids_of(&conversation.id).await.map_err(failed)?;
    let messages = store
        .messages_after(&conversation.id, job.after_seq, false, 50)
        .await
        .map_err(failed)?;
    let next = messages.iter().find_map(|message| {
        let outgoing = message.sender_kind != SenderKind::Contact && !message.private;
        let id = format!("{}@{domain}", message.id);
        (outgoing && !known.contains(&id)).then_some((message, id))
    });
    let Some((message, message_id)) = next else {
        return Ok("nothing left to send");
    };
    let references: Vec<String> = known.iter().rev().take(20).rev().cloned().collect();
    state
        .notifier
        .send_reply(&MailReply {
            from: support,
            from_name: face.sender_name.as_deref().unwrap_or(&channel.name),
            reply_to: &reply_address(support, &conversation.id),
            to,
            // The first mail of a conversation an agent opened is no reply.
            subject: &match known.is_empty() {
                true => conversation
                    .subject
                    .clone()
                    .unwrap_or_else(|| channel.name.clone()),
                false => reply_subject(conversation.subject.as_deref(), &channel.name),
            },
            text: &message.body,
            message_id: &message_id,
            in_reply_to: known.last().map(String::as_str),
            references: &references,
        })
        .await?;
    store
        .remember_mail_ids(
            &job.workspace_id,
            &conversation.id,
            &conversation.contact_id,
            &[&message_id],
            state.clock.now_ms(),
        )
        .await
        .map_err(failed)?;
    Ok("sent")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_thread_by_address_and_subject() {
        assert_eq!(
            reply_address("support@shop.example", "c-1"),
            "support+c-1@shop.example"
        );
        assert_eq!(
            reply_subject(Some("注文が届かない"), "Shop"),
            "Re: 注文が届かない"
        );
        assert_eq!(reply_subject(Some("RE: 返品"), "Shop"), "RE: 返品");
        assert_eq!(reply_subject(None, "Shop"), "Re: Shop");
    }
}
