//! The support bot: it answers a customer's free text from the knowledge base — only with the
//! shop's own articles, never invented text — and asks 「解決しましたか？」. When it is sure
//! enough it answers and keeps the conversation `pending` (handled by the bot); when it is not,
//! it offers a few candidate articles and the customer waits for a person. 「いいえ」 hands over:
//! the conversation opens for agents with the usual in-hours expectation or out-of-hours promise.
//! Every turn is logged with the query, the articles and scores shown, and the outcome.

use madoguchi_core::automation::Automation;
use madoguchi_core::conversation::ConversationStatus;
use madoguchi_core::message::SenderKind;
use madoguchi_store::conversations::{Conversation, ConversationPatch};
use madoguchi_store::jobs::{JobChanges, NO_JOBS};
use madoguchi_store::knowledge::{Article, NewBotTurn};
use madoguchi_store::messages::Message;
use serde_json::json;

use crate::app::error::{DomainError, DomainResult};
use crate::app::AppState;
use crate::inbox::conversations::{self, Change};
use crate::inbox::messages::{post_automatic, Automatic};
use crate::inbox::settings::channel_automation;
use crate::knowledge::index::Shelf;
use madoguchi_core::InvalidValue;

/// Confidence from which the bot answers with its best article (tuned on the development half
/// of LocalgovFAQ: see `madoguchi eval faq`).
pub const ANSWER_THRESHOLD: f32 = 0.35;
/// Articles offered when the bot is not sure.
const CANDIDATES: usize = 3;
/// Below this confidence the best article shares none of the question's content words (only
/// endings like 「できますか」 matched): nothing is offered, the customer waits for a person.
pub const CANDIDATE_THRESHOLD: f32 = 0.1;
/// A candidate must score at least this share of the best one.
const CANDIDATE_SHARE: f32 = 0.3;

struct Lines {
    intro: &'static str,
    ask: &'static str,
    yes: &'static str,
    no: &'static str,
    candidates: &'static str,
    human: &'static str,
    thanks: &'static str,
    handover: &'static str,
}

fn lines(locale: &str) -> Lines {
    if locale == "en" {
        Lines {
            intro: "This article may answer your question:",
            ask: "Did this solve it?",
            yes: "Yes",
            no: "No",
            candidates: "These articles may help. A member of staff will also read your message.",
            human: "Talk to a person",
            thanks: "Glad it helped! Write again any time.",
            handover: "Let us connect you with a member of staff.",
        }
    } else {
        Lines {
            intro: "こちらの記事がお役に立つかもしれません。",
            ask: "解決しましたか？",
            yes: "はい",
            no: "いいえ",
            candidates: "こちらの記事もご参照ください。担当者もメッセージを確認します。",
            human: "担当者と話す",
            thanks: "解決してよかったです。またいつでもご連絡ください。",
            handover: "担当者におつなぎします。",
        }
    }
}

/// The first characters of an article's Markdown as plain text.
fn excerpt(markdown: &str, chars: usize) -> String {
    let plain: String = markdown
        .chars()
        .filter(|c| !matches!(c, '#' | '*' | '_' | '`' | '>' | '[' | ']'))
        .collect();
    let plain = plain.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut out: String = plain.chars().take(chars).collect();
    if plain.chars().count() > chars {
        out.push('…');
    }
    out
}

fn article_refs(base: &str, channel_key: &str, articles: &[&Article]) -> serde_json::Value {
    articles
        .iter()
        .map(|a| json!({"id": a.id, "title": a.title, "url": format!("{base}/help/{channel_key}/articles/{}", a.id)}))
        .collect()
}

async fn set_status(
    state: &AppState,
    conversation: &Conversation,
    status: ConversationStatus,
) -> DomainResult<Conversation> {
    let patch = ConversationPatch {
        status: Some(status),
        ..Default::default()
    };
    let change = Change {
        patch: &patch,
        actor: "bot",
        jobs: &NO_JOBS,
    };
    conversations::update(state, &conversation.workspace_id, &conversation.id, change).await
}

/// Tries to answer `message`; true when the bot answered (the customer is not waiting for a
/// person now). `answered` are the jobs its answer's write commits (the caller's: the
/// expectation it cancels).
pub async fn answer(
    state: &AppState,
    conversation: &Conversation,
    message: &Message,
    automation: &Automation,
    answered: &JobChanges,
) -> DomainResult<bool> {
    let found = state
        .kb
        .search(
            &state.store,
            &conversation.workspace_id,
            Shelf::Brand(conversation.brand_id.as_deref()),
            &message.body,
            CANDIDATES,
        )
        .await?;
    if found.empty {
        return Ok(false);
    }
    let shown: Vec<serde_json::Value> = found
        .hits
        .iter()
        .map(|(a, score)| json!({"article_id": a.id, "title": a.title, "score": score}))
        .collect();
    let confidence = (found.confidence * 1000.0).round() as i64;
    let ws = &conversation.workspace_id;
    let turn = |shown: String, confidence: i64, outcome: &'static str| NewBotTurn {
        workspace_id: ws.clone(),
        conversation_id: conversation.id.clone(),
        query: message.body.clone(),
        shown,
        confidence,
        outcome,
        at: state.clock.now_ms(),
    };
    let shown_json = serde_json::Value::Array(shown).to_string();
    let Some((best, best_score)) = found
        .hits
        .first()
        .filter(|_| found.confidence >= CANDIDATE_THRESHOLD)
    else {
        // Logged with what it found, for tuning from the review page.
        state
            .store
            .record_bot_turn(turn(shown_json, confidence, "handover"))
            .await?;
        return Ok(false);
    };
    let channel = state.store.channel(ws, &conversation.channel_id).await?;
    let base = state.settings.public_url();
    let text = lines(automation.locale_for(conversation.locale.as_deref()));
    let client_id = format!("bot-{}", message.seq);
    if found.confidence >= ANSWER_THRESHOLD {
        let turn = state
            .store
            .record_bot_turn(turn(shown_json.clone(), confidence, "answered"))
            .await?;
        let body = format!(
            "{}\n\n【{}】\n{}\n\n{}",
            text.intro,
            best.title,
            excerpt(&best.body, 240),
            text.ask
        );
        let meta = json!({
            "kind": "answer",
            "turn_id": turn.id,
            "articles": article_refs(&base, &channel.public_key, &[best]),
            "buttons": [{"label": text.yes, "value": "yes"}, {"label": text.no, "value": "no"}],
        });
        post_automatic(
            state,
            conversation,
            Automatic {
                sender_kind: SenderKind::Bot,
                client_id: &client_id,
                text: body,
                meta: Some(&meta),
                jobs: answered,
            },
        )
        .await?;
        set_status(state, conversation, ConversationStatus::Pending).await?;
        return Ok(true);
    }
    let turn = state
        .store
        .record_bot_turn(turn(shown_json.clone(), confidence, "candidates"))
        .await?;
    // The articles travel as links in `meta` (the widget and the inbox show them once).
    let articles: Vec<&Article> = found
        .hits
        .iter()
        .filter(|(_, score)| *score >= best_score * CANDIDATE_SHARE)
        .map(|(a, _)| a)
        .collect();
    let body = text.candidates.to_owned();
    let meta = json!({
        "kind": "candidates",
        "turn_id": turn.id,
        "articles": article_refs(&base, &channel.public_key, &articles),
        "buttons": [{"label": text.human, "value": "no"}],
    });
    post_automatic(
        state,
        conversation,
        Automatic {
            sender_kind: SenderKind::Bot,
            client_id: &client_id,
            text: body,
            meta: Some(&meta),
            jobs: &NO_JOBS,
        },
    )
    .await?;
    Ok(false)
}

/// What the customer's answer to the bot did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Feedback {
    /// The turn had its answer already.
    Unchanged,
    /// 「はい」: resolved by the bot.
    Resolved,
    /// 「いいえ」: the customer waits for a person (the caller opens the conversation).
    HandedOver,
}

/// The customer's answer to 「解決しましたか？」 (or "talk to a person"). Answering twice changes
/// nothing.
pub async fn feedback(
    state: &AppState,
    conversation: &Conversation,
    turn_id: &str,
    resolved: bool,
) -> DomainResult<Feedback> {
    let ws = &conversation.workspace_id;
    let turn = state.store.bot_turn(ws, turn_id).await?;
    if turn.conversation_id != conversation.id {
        return Err(DomainError::NotFound("bot turn"));
    }
    if matches!(turn.outcome.as_str(), "resolved" | "not_resolved") {
        return Ok(Feedback::Unchanged);
    }
    let channel = state.store.channel(ws, &conversation.channel_id).await?;
    let automation = channel_automation(&channel)?;
    let text = lines(automation.locale_for(conversation.locale.as_deref()));
    let client_id = format!("bot-feedback-{turn_id}");
    // Marks the turn answered for the widget (its buttons stay gone after a reload).
    let answered_meta = json!({"kind": "bot_feedback", "turn_id": turn_id});
    let (outcome, reply) = if resolved {
        ("resolved", text.thanks)
    } else {
        ("not_resolved", text.handover)
    };
    state.store.set_bot_outcome(ws, turn_id, outcome).await?;
    post_automatic(
        state,
        conversation,
        Automatic {
            sender_kind: SenderKind::Bot,
            client_id: &client_id,
            text: reply.into(),
            meta: Some(&answered_meta),
            jobs: &NO_JOBS,
        },
    )
    .await?;
    if !resolved {
        return Ok(Feedback::HandedOver);
    }
    // The door asks for a rating as the conversation becomes resolved.
    set_status(state, conversation, ConversationStatus::Resolved).await?;
    Ok(Feedback::Resolved)
}

/// Checks a review verdict.
pub fn parse_review(review: &str) -> DomainResult<&str> {
    match review {
        "correct" | "wrong" => Ok(review),
        _ => Err(InvalidValue::new("review", "must be correct or wrong").into()),
    }
}

#[cfg(test)]
mod tests {
    use super::excerpt;

    #[test]
    fn excerpts_are_plain_and_short() {
        assert_eq!(
            excerpt("## 送料\n**全国一律** 500円です。", 100),
            "送料 全国一律 500円です。"
        );
        assert_eq!(excerpt("あいうえお", 3), "あいう…");
    }
}
