//! Where what comes in enters: a customer's message from any channel adapter (the widget
//! today; e-mail, LINE, forms, the API tomorrow), an agent's message, a customer's answer to
//! the bot. Each entry plans the jobs its message triggers, writes it through the inbox door
//! (message, conversation change and jobs in one transaction), then reacts: greeting, bot,
//! away message. A reaction that fails after the commit is logged, never turned into a failed
//! send: the message stands, and what must not be lost (expectation, notification, rating
//! request) was committed with it as a job.

use madoguchi_store::conversations::{Conversation, ConversationPatch, NewConversation, Started};
use madoguchi_store::messages::{Appended, NewMessage};
use madoguchi_store::workspaces::Channel;

use madoguchi_core::conversation::ConversationStatus;
use madoguchi_core::message::{ClientId, MessageBody};

use crate::app::error::DomainResult;
use crate::app::AppState;
use crate::automation::auto_replies::{self, plan_agent_message, plan_wait};
use crate::bot::{self, Feedback};
use crate::inbox::conversations::{self, Change};
use crate::inbox::messages;
use madoguchi_core::text::language_of;

/// A customer's first message on `channel`: starts a conversation (`handed_over` when they chose
/// a person before writing) in `locale` (`ja`/`en` as the widget shows; else the language the
/// message is written in, if it tells).
pub async fn start_conversation(
    state: &AppState,
    channel: &Channel,
    contact_id: &str,
    body: &MessageBody,
    client_id: Option<&ClientId>,
    handed_over: bool,
    locale: Option<&str>,
) -> DomainResult<Started> {
    let locale = locale.or_else(|| language_of(body.as_str()));
    let id = madoguchi_store::new_id();
    let plan = plan_wait(state, &channel.workspace_id, &channel.id, &id).await?;
    let started = messages::start(
        state,
        NewConversation {
            id: &id,
            workspace_id: &channel.workspace_id,
            channel_id: &channel.id,
            contact_id,
            body,
            client_id,
            handed_over,
            locale,
            jobs: &plan.jobs,
            at: state.clock.now_ms(),
        },
    )
    .await?;
    if started.created {
        react(
            auto_replies::after_customer_message(
                state,
                &plan,
                &started.conversation,
                &started.message,
                true,
            )
            .await,
        );
    }
    Ok(started)
}

/// A customer's message in one of their conversations on `channel`.
pub async fn customer_message(
    state: &AppState,
    channel: &Channel,
    new: NewMessage<'_>,
) -> DomainResult<Appended> {
    let plan = plan_wait(state, new.workspace_id, &channel.id, new.conversation_id).await?;
    let appended = messages::post(
        state,
        &NewMessage {
            jobs: &plan.jobs,
            ..new
        },
    )
    .await?;
    if appended.created {
        react(
            auto_replies::after_customer_message(
                state,
                &plan,
                &appended.conversation,
                &appended.message,
                false,
            )
            .await,
        );
    }
    Ok(appended)
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
