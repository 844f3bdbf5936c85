//! Reply notifications: when an agent answers a visitor who has left, the reply goes out by
//! e-mail (SMTP) or SMS (an HTTP provider), with a signed, expiring link that reopens the
//! conversation and a link to unsubscribe. Replies within the waiting window go out together;
//! the job queue retries failures with backoff. After resolution, the satisfaction survey
//! (rating, and NPS where the channel asks it) goes out by e-mail as a link where the widget's
//! cards cannot reach the customer: always for e-mail conversations, and for a widget visitor
//! who has left when the channel asks NPS.

use madoguchi_core::hours::format_local;
use serde::{Deserialize, Serialize};

use crate::app::signing::{link_key, resume_link, survey_link, unsubscribe_link, LINK_TTL_MS};
use crate::app::AppState;
use crate::inbox::messages;
use crate::inbox::settings::{channel_automation, face, workspace_time_zone};

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
    let automation = channel_automation(&channel).map_err(|e| e.to_string())?;
    let workspace = store
        .workspace(&job.workspace_id)
        .await
        .map_err(|e| e.to_string())?;
    let face = face(state, &workspace, conversation.brand_id.as_deref())
        .await
        .map_err(|e| e.to_string())?;
    let key = link_key(state).await.map_err(|e| e.to_string())?;
    let base = state.settings.public_url();
    let now = state.clock.now_ms();
    let link = resume_link(&base, &key, &conversation, now + LINK_TTL_MS);
    let locale = automation.locale_for(conversation.locale.as_deref());
    let en = locale == "en";
    let texts: Vec<&str> = replies.iter().map(|m| m.body.as_str()).collect();
    let email = contact
        .email
        .as_deref()
        .filter(|_| automation.notify_email && state.notifier.can_email());
    let phone = contact
        .phone
        .as_deref()
        .filter(|_| automation.notify_sms && state.notifier.can_sms());
    let outcome = if let Some(email) = email {
        let tz = workspace_time_zone(&workspace);
        let sent_at = format_local(
            tz,
            chrono::DateTime::from_timestamp_millis(now).unwrap_or_default(),
            locale,
        );
        let (subject, intro, open, stop) = if en {
            (
                format!("[{}] You have a reply", face.name),
                "We replied to your message:",
                "Open the conversation:",
                "Stop these e-mails:",
            )
        } else {
            (
                format!("【{}】お問い合わせへの返信があります", face.name),
                "お問い合わせに返信がありました。",
                "会話を開く:",
                "配信停止:",
            )
        };
        let unsubscribe = unsubscribe_link(&base, &key, &job.workspace_id, &contact.id);
        let body = format!(
            "{intro}\n\n{}\n\n{open}\n{link}\n\n({sent_at})\n\n{stop} {unsubscribe}\n",
            texts.join("\n\n---\n\n"),
        );
        state
            .notifier
            .send_email(email, &subject, body, Some(&unsubscribe), &face.sender())
            .await?;
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
            format!("{}: reply to your message: {first} {link}", face.name)
        } else {
            format!("{}より返信: {first} {link}", face.name)
        };
        state.notifier.send_sms(phone, &body).await?;
        "sms sent"
    } else {
        // Visible where it matters: a note for the agents on the conversation, and the log.
        tracing::warn!(conversation = %conversation.id, "a reply notification could not be sent: no reachable address");
        let text = if en {
            "The customer was not notified of the reply: they left no e-mail address or phone number that this server can send to."
        } else {
            "お客様に返信を通知できませんでした。送信できるメールアドレス・電話番号が登録されていません。"
        };
        messages::post_note(
            state,
            &conversation,
            &format!("notify-failed-{last}"),
            text,
            None,
        )
        .await
        .map_err(|e| e.to_string())?;
        return Ok("no way to reach the contact");
    };
    store
        .mark_notified(&conversation.id, last)
        .await
        .map_err(|e| e.to_string())?;
    Ok(outcome)
}

/// How long a survey link stays valid.
const SURVEY_TTL_MS: i64 = 7 * 24 * 3_600_000;

/// Mails the survey link of a resolved conversation where the widget's cards cannot reach
/// the customer; the outcome says what happened.
pub async fn offer_survey(
    state: &AppState,
    workspace_id: &str,
    conversation_id: &str,
) -> Result<&'static str, String> {
    let store = &state.store;
    let failed = |e: madoguchi_store::StoreError| e.to_string();
    let conversation = store
        .conversation(workspace_id, conversation_id)
        .await
        .map_err(failed)?;
    let channel = store
        .channel(workspace_id, &conversation.channel_id)
        .await
        .map_err(failed)?;
    let automation = channel_automation(&channel).map_err(|e| e.to_string())?;
    let contact = store
        .contact(workspace_id, &conversation.contact_id)
        .await
        .map_err(failed)?;
    let by_mail = channel.kind == "email";
    let wanted = by_mail || (automation.nps && !state.hub.is_visitor_online(&contact.id).await);
    let Some(email) = contact
        .email
        .as_deref()
        .filter(|_| wanted && state.notifier.can_email())
    else {
        return Ok("no survey mail");
    };
    if contact.unsubscribed_at.is_some() {
        return Ok("unsubscribed");
    }
    let workspace = store.workspace(workspace_id).await.map_err(failed)?;
    let face = face(state, &workspace, conversation.brand_id.as_deref())
        .await
        .map_err(|e| e.to_string())?;
    let key = link_key(state).await.map_err(failed)?;
    let base = state.settings.public_url();
    let link = survey_link(
        &base,
        &key,
        &conversation,
        state.clock.now_ms() + SURVEY_TTL_MS,
    );
    let unsubscribe = unsubscribe_link(&base, &key, workspace_id, &contact.id);
    let (subject, body) = if automation.locale_for(conversation.locale.as_deref()) == "en" {
        (
            format!("[{}] How did we do?", face.name),
            format!("Thank you for contacting us. Please tell us how we did (one minute):\n{link}\n\nStop these e-mails: {unsubscribe}\n"),
        )
    } else {
        (
            format!("【{}】アンケートのお願い", face.name),
            format!("お問い合わせいただきありがとうございました。今回の対応についてお聞かせください（1分ほどです）。\n{link}\n\n配信停止: {unsubscribe}\n"),
        )
    };
    state
        .notifier
        .send_email(email, &subject, body, Some(&unsubscribe), &face.sender())
        .await?;
    Ok("survey mailed")
}
