//! Runs the store's durable jobs: a background loop in `serve`, and [`run_due_jobs`] for tests
//! that step a manual clock. Handlers are idempotent; a failure is retried with exponential
//! backoff (5 s, 10 s, 20 s … at most an hour) up to [`MAX_ATTEMPTS`] times.

use std::time::Duration;

use madoguchi_store::jobs::Job;

use crate::app::AppState;
use crate::automation::account_mail::{self, AccountMailJob, ACCOUNT_MAIL_JOB};
use crate::automation::auto_replies::{self, ExpectationJob, EXPECTATION_JOB, NOTIFY_JOB};
use crate::automation::instagram_intake::{self, InstagramEventJob, INSTAGRAM_EVENT_JOB};
use crate::automation::line_intake::{self, LineEventJob, LINE_EVENT_JOB};
use crate::automation::notifications::{self, NotifyJob};
use crate::automation::retention::{self, RetentionJob, RETENTION_JOB};
use crate::automation::routing::{self, SilenceJob, SILENCE_JOB};
use crate::automation::sla::{self, SlaJob, SLA_JOB};
use crate::automation::webhooks::{self, WebhookJob, WEBHOOK_JOB};
use crate::inbox::conversations::{self, RatingJob, WakeJob, RATING_JOB, WAKE_JOB};
use crate::inbox::messaging_outbox::{self, MessagingSendJob, MESSAGING_SEND_JOB};
use crate::inbox::outbox::{self, MailJob, MAIL_JOB};

pub const MAX_ATTEMPTS: i64 = 10;
/// A claimed job is someone else's to retry if its worker has not finished within this time.
const LEASE_MS: i64 = 120_000;
const BATCH: i64 = 20;

/// Delay before attempt `attempts + 1`.
pub fn backoff_ms(attempts: i64) -> i64 {
    let exponent = attempts.clamp(1, 20) - 1;
    (5_000_i64 << exponent).min(3_600_000)
}

/// A job's payload.
fn parse<T: serde::de::DeserializeOwned>(job: &Job) -> Result<T, String> {
    serde_json::from_str(&job.payload).map_err(|e| e.to_string())
}

async fn handle(state: &AppState, job: &Job) -> Result<&'static str, String> {
    match job.kind.as_str() {
        EXPECTATION_JOB => {
            let payload: ExpectationJob = parse(job)?;
            auto_replies::send_expectation(state, &payload)
                .await
                .map_err(|e| e.to_string())
        }
        RATING_JOB => {
            let payload: RatingJob = parse(job)?;
            let asked = conversations::ask_rating(state, &payload)
                .await
                .map_err(|e| e.to_string())?;
            if asked == "reopened meanwhile" {
                return Ok(asked);
            }
            notifications::offer_survey(state, &payload.workspace_id, &payload.conversation_id)
                .await
                .map(|mailed| {
                    if mailed == "survey mailed" {
                        mailed
                    } else {
                        asked
                    }
                })
        }
        WAKE_JOB => {
            let payload: WakeJob = parse(job)?;
            conversations::wake(state, &payload)
                .await
                .map_err(|e| e.to_string())
        }
        NOTIFY_JOB => {
            let payload: NotifyJob = parse(job)?;
            notifications::deliver(state, &payload).await
        }
        MESSAGING_SEND_JOB => {
            let payload: MessagingSendJob = parse(job)?;
            messaging_outbox::send(state, &payload, job.attempts >= MAX_ATTEMPTS).await
        }
        INSTAGRAM_EVENT_JOB => {
            let payload: InstagramEventJob = parse(job)?;
            instagram_intake::handle(state, &payload).await
        }
        LINE_EVENT_JOB => {
            let payload: LineEventJob = parse(job)?;
            line_intake::handle(state, &payload).await
        }
        MAIL_JOB => {
            let payload: MailJob = parse(job)?;
            outbox::send(state, &payload).await
        }
        SLA_JOB => {
            let payload: SlaJob = parse(job)?;
            sla::check(state, &payload).await.map_err(|e| e.to_string())
        }
        SILENCE_JOB => {
            let payload: SilenceJob = parse(job)?;
            routing::reassign(state, &payload)
                .await
                .map_err(|e| e.to_string())
        }
        ACCOUNT_MAIL_JOB => {
            let payload: AccountMailJob = parse(job)?;
            account_mail::send(state, &payload).await
        }
        RETENTION_JOB => {
            let payload: RetentionJob = parse(job)?;
            retention::run(state, &payload)
                .await
                .map_err(|e| e.to_string())
        }
        WEBHOOK_JOB => {
            let payload: WebhookJob = parse(job)?;
            webhooks::deliver(state, &payload).await
        }
        _ => Ok("unknown job kind"),
    }
}

/// Runs every job due at the clock's current time; returns how many ran. Once shutdown is
/// signalled it claims no more: the jobs it holds are finished, the rest wait for a restart.
pub async fn run_due_jobs(state: &AppState) -> Result<usize, madoguchi_store::StoreError> {
    let mut ran = 0;
    loop {
        if *state.shutdown.borrow() {
            return Ok(ran);
        }
        let now = state.clock.now_ms();
        let jobs = state.store.claim_due_jobs(now, BATCH, LEASE_MS).await?;
        if jobs.is_empty() {
            return Ok(ran);
        }
        for job in &jobs {
            ran += 1;
            let now = state.clock.now_ms();
            match handle(state, job).await {
                Ok(outcome) => {
                    state
                        .store
                        .finish_job(&job.id, now, (outcome != "sent").then_some(outcome))
                        .await?
                }
                Err(error) if job.attempts >= MAX_ATTEMPTS => {
                    tracing::warn!(kind = %job.kind, %error, "job failed for good");
                    state.store.finish_job(&job.id, now, Some(&error)).await?;
                }
                Err(error) => {
                    tracing::info!(kind = %job.kind, %error, attempts = job.attempts, "job failed; will retry");
                    state
                        .store
                        .retry_job(&job.id, now + backoff_ms(job.attempts), &error)
                        .await?;
                }
            }
        }
    }
}

/// The background runner: checks for due jobs every second until shutdown. A run is never
/// raced against the shutdown signal, so a job that started finishes (and is marked done)
/// before the task ends; `serve` waits for the task before it closes the store.
pub fn spawn_runner(state: AppState) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut shutdown = state.shutdown.clone();
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = shutdown.changed() => return,
            }
            if let Err(err) = run_due_jobs(&state).await {
                tracing::error!(%err, "job runner");
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::backoff_ms;

    #[test]
    fn backoff_doubles_up_to_an_hour() {
        assert_eq!(backoff_ms(1), 5_000);
        assert_eq!(backoff_ms(2), 10_000);
        assert_eq!(backoff_ms(4), 40_000);
        assert_eq!(backoff_ms(30), 3_600_000);
    }
}
