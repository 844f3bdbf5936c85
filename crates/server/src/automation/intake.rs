//! Where what comes in enters: a customer's message from any channel adapter (the widget
//! today; e-mail, LINE, forms, the API tomorrow), an agent's message, a customer's answer to
//! the bot. Each entry plans the jobs its message triggers, writes it through the inbox door
//! (message, conversation change and jobs in one transaction), then reacts: greeting, bot,
//! away message. A reaction that fails after the commit is logged, never turned into a failed
//! send: the message stands, and what must not be lost (expectation, notification, rating
//! request) was committed with it as a job.

use madoguchi_store::audit::AuditEntry;
use madoguchi_store::contacts::Contact;
use madoguchi_store::conversations::{
    Conversation, ConversationFilter, ConversationPatch, NewConversation, Opener, Started,
};
use madoguchi_store::jobs::NO_JOBS;
use madoguchi_store::messages::{Appended, Message, NewMessage};
use madoguchi_store::workspaces::Channel;

use madoguchi_core::conversation::ConversationStatus;
use madoguchi_core::message::{ClientId, MessageBody, SenderKind};
use madoguchi_core::sensitive;

use crate::app::error::DomainResult;
use crate::app::AppState;
use crate::automation::auto_replies::{self, plan_agent_message, plan_wait};
use crate::automation::{harassment, routing, sla};
use crate::bot::{self, Feedback};
use crate::inbox::conversations::{self, Change};
use crate::inbox::messages;
use crate::inbox::outbox;
use crate::inbox::settings::sensitive_rules;
use madoguchi_core::routing::Trigger;
use madoguchi_core::text::language_of;
use std::net::IpAddr;

/// A customer's first message and how it came.
pub struct Opening<'a> {
    pub body: &'a MessageBody,
    pub client_id: Option<&'a ClientId>,
    /// The customer chose a person before writing.
    pub handed_over: bool,
    /// `ja`/`en` as the widget shows; else the language the message is written in, if it tells.
    pub locale: Option<&'a str>,
    /// An e-mail's subject.
    pub subject: Option<&'a str>,
    /// The message's `meta` (JSON): files, the mail it came as.
    pub meta: Option<&'a str>,
    pub reactions: Reactions,
    /// The address it came from (a block may cover it).
    pub ip: Option<IpAddr>,
}

impl<'a> Opening<'a> {
    /// A chat message, with every reaction.
    pub fn chat(body: &'a MessageBody) -> Self {
        Self {
            body,
            client_id: None,
            handed_over: false,
            locale: None,
            subject: None,
            meta: None,
            reactions: Reactions::All,
            ip: None,
        }
    }
}

/// What a customer's message sets off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reactions {
    /// Greeting, bot, away message, the in-hours expectation.
    All,
    /// Nothing: an automatic mail (out-of-office, bounce) must never be answered automatically
    /// (no mail loops), nor must spam.
    None,
    /// Nothing, and the conversation starts in `spam`.
    Spam,
}

/// A customer's first message on `channel`: starts a conversation (`handed_over` when they chose
/// a person before writing).
pub async fn start_conversation(
    state: &AppState,
    channel: &Channel,
    contact_id: &str,
    opening: Opening<'_>,
) -> DomainResult<Started> {
    let (body, masked) = mask_sensitive(state, &channel.workspace_id, opening.body).await?;
    let opening = Opening {
        body: &body,
        ..opening
    };
    let locale = opening
        .locale
        .or_else(|| language_of(opening.body.as_str()));
    let id = madoguchi_store::new_id();
    let mut screening = harassment::screen(
        state,
        &channel.workspace_id,
        contact_id,
        opening.body.as_str(),
        opening.ip,
    )
    .await?;
    screening.category =
        routing::classify(state, &channel.workspace_id, opening.body.as_str()).await;
    let plan = match (opening.reactions, screening.silences_automation()) {
        (Reactions::All, false) => {
            Some(plan_wait(state, &channel.workspace_id, &channel.id, &id).await?)
        }
        _ => None,
    };
    let started = messages::start_screened(
        state,
        NewConversation {
            id: &id,
            workspace_id: &channel.workspace_id,
            channel_id: &channel.id,
            contact_id,
            body: opening.body,
            client_id: opening.client_id,
            handed_over: opening.handed_over,
            locale,
            subject: opening.subject,
            meta: opening.meta,
            status: match (opening.reactions, &screening.block) {
                (Reactions::Spam, _) => ConversationStatus::Spam,
                (_, Some(_)) => ConversationStatus::Blocked,
                _ => ConversationStatus::Open,
            },
            agent: None,
            jobs: plan.as_ref().map_or(&NO_JOBS, |plan| &plan.jobs),
            at: state.clock.now_ms(),
        },
        &screening.screen(),
    )
    .await?;
    if started.created {
        react(record_masked(state, &started.message, &channel.workspace_id, &masked).await);
        if let Some(plan) = &plan {
            react(
                auto_replies::after_customer_message(
                    state,
                    plan,
                    &started.conversation,
                    &started.message,
                    true,
                )
                .await,
            );
        }
        react(harassment::shield(state, &screening, &started.conversation, &started.message).await);
        react(
            routing::route(
                state,
                &started.conversation,
                &started.message,
                Trigger::Created,
                &screening,
            )
            .await,
        );
        react(routing::watch_silence(state, &started.conversation, &started.message).await);
    }
    Ok(started)
}

/// A customer's message in one of their conversations on `channel`.
pub async fn customer_message(
    state: &AppState,
    channel: &Channel,
    new: NewMessage<'_>,
    reactions: Reactions,
    ip: Option<IpAddr>,
) -> DomainResult<Appended> {
    let (body, masked) = mask_sensitive(state, new.workspace_id, new.body).await?;
    let new = NewMessage { body: &body, ..new };
    let screening = harassment::screen(
        state,
        new.workspace_id,
        new.sender_id,
        new.body.as_str(),
        ip,
    )
    .await?;
    let plan = match (reactions, screening.silences_automation()) {
        (Reactions::All, false) => {
            Some(plan_wait(state, new.workspace_id, &channel.id, new.conversation_id).await?)
        }
        _ => None,
    };
    let appended = messages::post_screened(
        state,
        &NewMessage {
            jobs: plan.as_ref().map_or(new.jobs, |plan| &plan.jobs),
            ..new
        },
        &screening.screen(),
    )
    .await?;
    let quiet = matches!(
        appended.conversation.status,
        ConversationStatus::Spam | ConversationStatus::Blocked
    );
    if appended.created {
        react(record_masked(state, &appended.message, new.workspace_id, &masked).await);
    }
    if appended.created && !quiet {
        if let Some(plan) = &plan {
            react(
                auto_replies::after_customer_message(
                    state,
                    plan,
                    &appended.conversation,
                    &appended.message,
                    false,
                )
                .await,
            );
        }
        react(
            harassment::shield(state, &screening, &appended.conversation, &appended.message).await,
        );
        react(
            routing::route(
                state,
                &appended.conversation,
                &appended.message,
                Trigger::CustomerMessage,
                &screening,
            )
            .await,
        );
        react(sla::next_response(state, &appended.conversation, &appended.message).await);
        react(routing::watch_silence(state, &appended.conversation, &appended.message).await);
    }
    Ok(appended)
}

/// A customer's text with the sensitive data the workspace masks (card numbers, My Number,
/// passwords) masked before anything stores or reads it, and what kinds were masked.
async fn mask_sensitive(
    state: &AppState,
    workspace_id: &str,
    body: &MessageBody,
) -> DomainResult<(MessageBody, Vec<&'static str>)> {
    let workspace = state.store.workspace(workspace_id).await?;
    let masked = sensitive::mask(body.as_str(), sensitive_rules(&workspace)?);
    if masked.kinds.is_empty() {
        return Ok((body.clone(), masked.kinds));
    }
    Ok((MessageBody::parse(&masked.text)?, masked.kinds))
}

/// An audit entry saying what was masked in a message (the kinds, never the values).
async fn record_masked(
    state: &AppState,
    message: &Message,
    workspace_id: &str,
    kinds: &[&'static str],
) -> DomainResult<()> {
    if kinds.is_empty() {
        return Ok(());
    }
    state
        .store
        .record_audit(&AuditEntry {
            workspace_id,
            actor: "system",
            action: "message.sensitive_masked",
            target: &message.id,
            detail: &serde_json::json!({"kinds": kinds, "conversation_id": message.conversation_id}),
        })
        .await?;
    Ok(())
}

/// What an agent writes to open an e-mail conversation with a customer.
pub struct OutgoingMail<'a> {
    pub channel: &'a Channel,
    pub contact_id: &'a str,
    pub agent: Opener<'a>,
    pub subject: &'a str,
    pub body: &'a MessageBody,
    pub client_id: Option<&'a ClientId>,
}

/// An agent opens a conversation by mail: it is open but waits on nobody, and the mail goes
/// out as a job committed with it; the customer's answer threads into it.
pub async fn agent_opens_mail(state: &AppState, mail: OutgoingMail<'_>) -> DomainResult<Started> {
    let id = madoguchi_store::new_id();
    let mut jobs = madoguchi_store::jobs::JobChanges::default();
    jobs.enqueue
        .extend(outbox::job(state, mail.channel, &id, 0));
    messages::start(
        state,
        NewConversation {
            id: &id,
            workspace_id: &mail.channel.workspace_id,
            channel_id: &mail.channel.id,
            contact_id: mail.contact_id,
            body: mail.body,
            client_id: mail.client_id,
            handed_over: true,
            locale: language_of(mail.body.as_str()),
            subject: Some(mail.subject),
            meta: None,
            status: ConversationStatus::Open,
            agent: Some(mail.agent),
            jobs: &jobs,
            at: state.clock.now_ms(),
        },
    )
    .await
}

/// An agent's reply or private note.
pub async fn agent_message(state: &AppState, new: NewMessage<'_>) -> DomainResult<Appended> {
    let conversation = state
        .store
        .conversation(new.workspace_id, new.conversation_id)
        .await?;
    let jobs = plan_agent_message(state, &conversation, new.private).await?;
    messages::post(state, &NewMessage { jobs: &jobs, ..new }).await
}

/// The customer's answer to the bot's 「解決しましたか？」; 「いいえ」 hands the conversation
/// over to a person.
pub async fn bot_feedback(
    state: &AppState,
    conversation: &Conversation,
    turn_id: &str,
    resolved: bool,
) -> DomainResult<()> {
    if bot::feedback(state, conversation, turn_id, resolved).await? == Feedback::HandedOver {
        hand_over(state, conversation).await?;
    }
    Ok(())
}

/// The customer waits for a person again: the conversation opens for agents, with the
/// expectation committed with that change in hours, or the away message at once out of hours.
async fn hand_over(state: &AppState, conversation: &Conversation) -> DomainResult<()> {
    let plan = plan_wait(
        state,
        &conversation.workspace_id,
        &conversation.channel_id,
        &conversation.id,
    )
    .await?;
    let patch = ConversationPatch {
        status: Some(ConversationStatus::Open),
        hand_over: true,
        ..Default::default()
    };
    let opened = conversations::update(
        state,
        &conversation.workspace_id,
        &conversation.id,
        Change {
            patch: &patch,
            actor: "bot",
            jobs: &plan.jobs,
        },
    )
    .await?;
    auto_replies::send_away(state, &plan, &opened).await
}

fn react(result: DomainResult<()>) {
    if let Err(err) = result {
        tracing::error!(error = %err, "a reaction after a committed message failed");
    }
}

/// The customer's conversation on this channel that is still going, if any.
async fn open_conversation(
    state: &AppState,
    channel: &Channel,
    contact: &Contact,
) -> Result<Option<Conversation>, String> {
    let filter = ConversationFilter {
        contact_id: Some(contact.id.clone()),
        channel_id: Some(channel.id.clone()),
        limit: 1,
        ..ConversationFilter::default()
    };
    let latest = state
        .store
        .conversations(&channel.workspace_id, &filter)
        .await
        .map_err(|e| e.to_string())?;
    Ok(latest.into_iter().next().filter(|c| {
        matches!(
            c.status,
            ConversationStatus::Open | ConversationStatus::Pending | ConversationStatus::Snoozed
        )
    }))
}

/// A messaging channel's (LINE, Instagram) customer message: into their conversation on the
/// channel that is still going, else a new one; `Err` (as text) retries the job it runs in.
pub async fn customer_writes(
    state: &AppState,
    channel: &Channel,
    contact: &Contact,
    body: &MessageBody,
    client_id: &ClientId,
    meta: Option<&str>,
) -> Result<Conversation, String> {
    match open_conversation(state, channel, contact).await? {
        Some(conversation) => {
            let appended = customer_message(
                state,
                channel,
                NewMessage {
                    workspace_id: &channel.workspace_id,
                    conversation_id: &conversation.id,
                    sender_kind: SenderKind::Contact,
                    sender_id: &contact.id,
                    body,
                    private: false,
                    client_id: Some(client_id),
                    meta,
                    sender_name: None,
                    jobs: &NO_JOBS,
                    at: state.clock.now_ms(),
                },
                Reactions::All,
                None,
            )
            .await
            .map_err(|e| e.to_string())?;
            Ok(appended.conversation)
        }
        None => {
            let started = start_conversation(
                state,
                channel,
                &contact.id,
                Opening {
                    client_id: Some(client_id),
                    meta,
                    ..Opening::chat(body)
                },
            )
            .await
            .map_err(|e| e.to_string())?;
            Ok(started.conversation)
        }
    }
}

/// A messaging channel's contact, named from the provider's profile the first time (a profile
/// that cannot be read leaves the name for later: the message is never held back for it).
pub async fn named_from_profile<F, Fut>(
    state: &AppState,
    contact: Contact,
    profile_name: F,
) -> Result<Contact, String>
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = Result<Option<String>, crate::channels::ProviderError>>,
{
    if contact.name.is_some() {
        return Ok(contact);
    }
    let name = match profile_name().await {
        Ok(Some(name)) => name,
        Ok(None) => return Ok(contact),
        Err(err) => {
            tracing::warn!(contact = %contact.id, error = %err, "the provider's profile could not be read");
            return Ok(contact);
        }
    };
    let name: String = madoguchi_core::text::visible_only(&name, false)
        .trim()
        .chars()
        .take(100)
        .collect();
    if name.is_empty() {
        return Ok(contact);
    }
    let patch = madoguchi_store::contacts::ContactPatch {
        name: Some(name),
        ..Default::default()
    };
    crate::inbox::contacts::update(state, &contact.workspace_id, &contact.id, &patch)
        .await
        .map_err(|e| e.to_string())
}
