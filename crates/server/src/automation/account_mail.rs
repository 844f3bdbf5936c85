//! The mails that carry account links (invitations, password resets: see `api::accounts`),
//! sent by a job so that a failing mail server is retried. The link is the page `/account`
//! with the link's id and an HMAC of it under the server's link key: the job's payload and the
//! database hold only the id.

use madoguchi_store::account_links::{AccountLink, INVITE};
use madoguchi_store::StoreError;
use serde::{Deserialize, Serialize};

use crate::app::signing::{link_key, sign, verify};
use crate::app::AppState;
use crate::channels::outbound::Sender;

pub const ACCOUNT_MAIL_JOB: &str = "account_mail";
/// How long the links are good for.
pub const INVITE_HOURS: i64 = 72;
pub const RESET_MINUTES: i64 = 60;

#[derive(Debug, Serialize, Deserialize)]
pub struct AccountMailJob {
    pub link_id: String,
}

/// The signature a link carries for link `id`.
fn signature(key: &str, id: &str) -> String {
    sign(key, &["account-link", id])
}

/// Whether `sig` is the signature of link `id`.
pub async fn genuine(state: &AppState, id: &str, sig: &str) -> Result<bool, StoreError> {
    let key = link_key(state).await?;
    Ok(verify(&key, &["account-link", id], sig))
}

/// Queues the mail that carries a link.
pub async fn queue(state: &AppState, link: &AccountLink) -> Result<(), StoreError> {
    let payload = serde_json::to_string(&AccountMailJob {
        link_id: link.id.clone(),
    })
    .unwrap_or_default();
    let now = state.clock.now_ms();
    let key = format!("{ACCOUNT_MAIL_JOB}:{}", link.id);
    state
        .store
        .enqueue_job(ACCOUNT_MAIL_JOB, &payload, now, Some(&key), now)
        .await?;
    Ok(())
}

/// Sends the mail of an account link (the job's work): the link to the page where its
/// password is chosen, in Japanese and English.
pub async fn send(state: &AppState, job: &AccountMailJob) -> Result<&'static str, String> {
    let link = match state.store.account_link(&job.link_id).await {
        Ok(link) => link,
        Err(StoreError::NotFound) => return Ok("link gone"),
        Err(err) => return Err(err.to_string()),
    };
    if link.used_at.is_some() || link.expires_at <= state.clock.now_ms() {
        return Ok("link spent");
    }
    let key = link_key(state).await.map_err(|e| e.to_string())?;
    let url = format!(
        "{}/account?id={}&sig={}",
        state.settings.public_url(),
        link.id,
        signature(&key, &link.id)
    );
    let workspace = state
        .store
        .workspace(&link.workspace_id)
        .await
        .map_err(|e| e.to_string())?;
    let (subject, body) = match link.kind.as_str() {
        INVITE => (
            format!("{}の窓口に招待されました / You are invited to {}", workspace.name, workspace.name),
            format!(
                "{}様\n\n{}の問い合わせ窓口（Madoguchi）に招待されました。次のリンクからパスワードを設定してください（{}時間有効・1回限り）。\n\n{url}\n\nYou have been invited to {}'s inbox on Madoguchi. Choose your password here (valid for {} hours, once):\n{url}\n",
                link.name.as_deref().unwrap_or(""),
                workspace.name,
                INVITE_HOURS,
                workspace.name,
                INVITE_HOURS
            ),
        ),
        _ => (
            "パスワードの再設定 / Reset your password".to_owned(),
            format!(
                "パスワードの再設定を受け付けました。次のリンクから新しいパスワードを設定してください（{RESET_MINUTES}分有効・1回限り）。心当たりがなければ、このメールは無視してください。\n\n{url}\n\nSomeone asked to reset your Madoguchi password. Choose a new one here (valid for {RESET_MINUTES} minutes, once); if it was not you, ignore this mail.\n{url}\n"
            ),
        ),
    };
    state
        .notifier
        .send_email(&link.email, &subject, body, None, &Sender::default())
        .await?;
    Ok("account mail sent")
}
