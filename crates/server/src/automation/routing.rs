//! Routing: a new conversation's first message is classified into the workspace's categories
//! ([`classify`], written with the message); after a customer's message is written, the
//! workspace's rules are looked at in order; each one whose conditions hold sets a team, an agent (given, or the team's next
//! free agent: round robin or least busy, within capacity, skipping agents away or offline),
//! a priority, tags, or sends a template reply. Every firing is a private note on the
//! conversation's timeline ("ルール「…」: …"), written once per rule and message. And when the
//! workspace sets a limit, an assigned agent who stays silent past it while the customer waits
//! loses the conversation to their team's next free agent ([`watch_silence`], [`reassign`]).

use chrono::DateTime;
use madoguchi_core::conversation::{ConversationStatus, Priority};
use madoguchi_core::message::{ClientId, SenderKind};
use madoguchi_core::routing::{pick, AssignMethod, Candidate, Facts, Rule, Trigger};
use madoguchi_store::conversations::{Conversation, ConversationPatch};
use madoguchi_store::jobs::NO_JOBS;
use madoguchi_store::messages::{Classified, Message};
use madoguchi_text::normalize::fold;
use serde::{Deserialize, Serialize};

use crate::app::error::DomainResult;
use crate::app::AppState;
use crate::automation::harassment::Screening;
use crate::automation::sla;
use crate::inbox::conversations::{self, Change};
use crate::inbox::messages::{self, post_automatic, Automatic};
use crate::inbox::settings::automation_of;

/// The category of a new conversation opened with `text`; `None` (logged) when the classifier
/// is unavailable: a message is never refused for it.
pub async fn classify(state: &AppState, workspace_id: &str, text: &str) -> Option<Classified> {
    let found = async {
        let workspace = state.store.workspace(workspace_id).await?;
        let analyzer = state.kb.analyzer().await?;
        state
            .classifiers
            .classify(&state.store, analyzer, &workspace, text)
            .await
    };
    match found.await {
        Ok(found) => found,
        Err(err) => {
            tracing::warn!(workspace = %workspace_id, error = %err, "a conversation could not be classified");
            None
        }
    }
}

/// Runs the workspace's rules for a customer's message in `conversation`.
pub async fn route(
    state: &AppState,
    conversation: &Conversation,
    message: &Message,
    trigger: Trigger,
    screening: &Screening,
) -> DomainResult<()> {
    if screening.block.is_some() {
        return Ok(());
    }
    let stored = state
        .store
        .routing_rules(&conversation.workspace_id)
        .await?;
    let rules: Vec<(String, String, Rule)> = stored
        .into_iter()
        .filter(|r| r.enabled)
        .filter_map(|r| match serde_json::from_str::<Rule>(&r.rule) {
            Ok(rule) => Some((r.id, r.name, rule)),
            Err(err) => {
                tracing::warn!(rule = %r.id, error = %err, "a stored routing rule cannot be read");
                None
            }
        })
        .collect();
    if rules.is_empty() {
        return Ok(());
    }
    let (automation, tz) =
        automation_of(state, &conversation.workspace_id, &conversation.channel_id).await?;
    let now = DateTime::from_timestamp_millis(state.clock.now_ms()).unwrap_or_default();
    // The customer's row only when a rule asks about it.
    let contact_has_email = match rules
        .iter()
        .any(|(_, _, r)| r.conditions.contact_has_email.is_some())
    {
        true => state
            .store
            .contact(&conversation.workspace_id, &conversation.contact_id)
            .await?
            .email
            .is_some(),
        false => false,
    };
    let text = fold(&message.body);
    let contains = |word: &str| {
        let word = fold(word);
        !word.is_empty() && text.contains(&word)
    };
    let facts = Facts {
        channel_id: &conversation.channel_id,
        contains: &contains,
        in_hours: automation.hours.is_open(tz, now),
        language: conversation.locale.as_deref(),
        category: conversation.category.as_deref(),
        flagged: screening.flag.is_some(),
        complaint: screening.verdict.complaint(),
        contact_has_email,
    };
    let mut current = conversation.clone();
    for (id, name, rule) in rules {
        if !rule.matches(trigger, &facts) {
            continue;
        }
        current = fire(state, &current, message, &id, &name, &rule).await?;
    }
    Ok(())
}

/// Applies one rule's actions and notes it on the timeline; the conversation as it is after.
async fn fire(
    state: &AppState,
    conversation: &Conversation,
    message: &Message,
    rule_id: &str,
    rule_name: &str,
    rule: &Rule,
) -> DomainResult<Conversation> {
    let occasion = format!("rule-{rule_id}-{}", message.seq);
    let client_id = ClientId::parse(&occasion)?;
    // Once per rule and message: a retried reaction finds its note.
    if state
        .store
        .message_by_client_id(SenderKind::System, &conversation.id, &client_id)
        .await?
        .is_some()
    {
        return Ok(conversation.clone());
    }
    let actions = &rule.actions;
    let mut done: Vec<String> = Vec::new();
    let mut patch = ConversationPatch::default();
    let team = match &actions.team_id {
        Some(team_id) => match state.store.team(&conversation.workspace_id, team_id).await {
            Ok(team) => Some(team),
            Err(madoguchi_store::StoreError::NotFound) => {
                done.push(format!("チームが見つかりません ({team_id})"));
                None
            }
            Err(err) => return Err(err.into()),
        },
        None => None,
    };
    if let Some(team) = &team {
        patch.team_id = Some(Some(team.id.clone()));
        done.push(format!("チーム「{}」", team.name));
    }
    let agent = match (&actions.agent_id, actions.assign, &team) {
        (Some(agent), _, _) => Some(agent.clone()),
        (None, Some(method), Some(team)) if conversation.assignee_id.is_none() => {
            let (candidates, last) = candidates(state, &team.id, None).await?;
            let picked = pick(method, &candidates, last.as_deref()).map(str::to_owned);
            match &picked {
                Some(agent) => state.store.set_last_assigned(&team.id, agent).await?,
                None => done.push("対応できる担当者がいないため未割り当て".into()),
            }
            picked
        }
        _ => None,
    };
    if let Some(agent_id) = &agent {
        let name = state
            .store
            .agent(&conversation.workspace_id, agent_id)
            .await
            .map(|a| a.name)
            .unwrap_or_else(|_| agent_id.clone());
        patch.assignee_id = Some(Some(agent_id.clone()));
        done.push(format!("担当 {name}"));
    }
    if let Some(priority) = actions.priority {
        patch.priority = Some(priority);
        done.push(format!("優先度 {}", priority_name(priority)));
    }
    if !actions.tags.is_empty() {
        let mut tags = conversation.tags.clone();
        for tag in &actions.tags {
            if !tags.contains(tag) {
                tags.push(tag.clone());
            }
        }
        patch.tags = Some(tags);
        done.push(format!("タグ #{}", actions.tags.join(" #")));
    }
    let mut jobs = NO_JOBS.clone();
    if let Some(policy_id) = &actions.sla_policy_id {
        match state
            .store
            .sla_policy(&conversation.workspace_id, policy_id)
            .await
        {
            Ok(policy) => {
                let priority = patch.priority.unwrap_or(conversation.priority);
                let (deadlines, timers) =
                    sla::apply(state, conversation, policy_id, priority).await?;
                patch.sla = Some(deadlines);
                jobs = timers;
                done.push(format!("SLA「{}」", policy.name));
            }
            Err(madoguchi_store::StoreError::NotFound) => {
                done.push(format!("SLAポリシーが見つかりません ({policy_id})"))
            }
            Err(err) => return Err(err.into()),
        }
    } else {
        jobs = sla::follow_priority(state, conversation, &mut patch).await?;
    }
    let actor = format!("rule:{rule_id}");
    let updated = conversations::update(
        state,
        &conversation.workspace_id,
        &conversation.id,
        Change {
            patch: &patch,
            actor: &actor,
            jobs: &jobs,
        },
    )
    .await?;
    if let Some(template_id) = &actions.template_id {
        let templates = state.store.templates(&conversation.workspace_id).await?;
        match templates.into_iter().find(|t| &t.id == template_id) {
            Some(template) => {
                post_automatic(
                    state,
                    &updated,
                    Automatic {
                        sender_kind: SenderKind::System,
                        client_id: &format!("{occasion}-reply"),
                        text: template.body,
                        meta: None,
                        jobs: &NO_JOBS,
                    },
                )
                .await?;
                done.push(format!("テンプレート「{}」を送信", template.name));
            }
            None => done.push(format!("テンプレートが見つかりません ({template_id})")),
        }
    }
    messages::post_note(
        state,
        conversation,
        &occasion,
        &format!("ルール「{rule_name}」: {}", done.join("、")),
        Some(&serde_json::json!({"kind": "rule", "rule_id": rule_id})),
    )
    .await?;
    Ok(updated)
}

fn priority_name(priority: Priority) -> &'static str {
    match priority {
        Priority::Low => "低",
        Priority::Normal => "通常",
        Priority::High => "高",
        Priority::Urgent => "緊急",
    }
}

/// A team's agents as candidates for its next conversation (all but `leaving`), and the one
/// who got the last.
async fn candidates(
    state: &AppState,
    team_id: &str,
    leaving: Option<&str>,
) -> DomainResult<(Vec<Candidate>, Option<String>)> {
    let (members, last) = state.store.team_members(team_id).await?;
    // Presence on every node, asked for all members at once.
    let candidates = futures_util::future::join_all(
        members
            .iter()
            .filter(|m| Some(m.agent_id.as_str()) != leaving)
            .map(|m| async move {
                Candidate {
                    agent_id: m.agent_id.clone(),
                    open: m.open,
                    capacity: m.capacity,
                    available: !m.away && state.hub.is_agent_online(&m.agent_id).await,
                }
            }),
    )
    .await;
    Ok((candidates, last))
}

pub const SILENCE_JOB: &str = "routing.silence";

/// Payload of a silence check: the customer has waited since `since_seq` on `agent_id`.
#[derive(Debug, Serialize, Deserialize)]
pub struct SilenceJob {
    pub workspace_id: String,
    pub conversation_id: String,
    pub agent_id: String,
    pub since_seq: i64,
}

/// After a customer's message that starts a wait in a team's assigned conversation: a check
/// when the workspace's silence limit has passed.
pub async fn watch_silence(
    state: &AppState,
    conversation: &Conversation,
    message: &Message,
) -> DomainResult<()> {
    let workspace = state.store.workspace(&conversation.workspace_id).await?;
    let Some(mins) = workspace.reassign_after_mins else {
        return Ok(());
    };
    // As the rules left it: they may just have assigned it.
    let current = state
        .store
        .conversation(&conversation.workspace_id, &conversation.id)
        .await?;
    let (Some(agent_id), Some(_)) = (&current.assignee_id, &current.team_id) else {
        return Ok(());
    };
    if current.waiting_since != Some(message.seq) {
        return Ok(());
    }
    let job = SilenceJob {
        workspace_id: current.workspace_id.clone(),
        conversation_id: current.id.clone(),
        agent_id: agent_id.clone(),
        since_seq: message.seq,
    };
    let now = state.clock.now_ms();
    state
        .store
        .enqueue_job(
            SILENCE_JOB,
            &serde_json::to_string(&job).unwrap_or_default(),
            now + mins * 60_000,
            Some(&format!("silence:{}:{}", current.id, message.seq)),
            now,
        )
        .await?;
    Ok(())
}

/// The silence limit has passed: if the same agent still has the conversation and the customer
/// still waits since the same message, it goes to the team's next free agent, with a note.
pub async fn reassign(state: &AppState, job: &SilenceJob) -> DomainResult<&'static str> {
    let conversation = state
        .store
        .conversation(&job.workspace_id, &job.conversation_id)
        .await?;
    if conversation.assignee_id.as_deref() != Some(job.agent_id.as_str())
        || conversation.waiting_since != Some(job.since_seq)
        || !matches!(
            conversation.status,
            ConversationStatus::Open | ConversationStatus::Pending
        )
    {
        return Ok("answered or moved");
    }
    let Some(team_id) = &conversation.team_id else {
        return Ok("no team");
    };
    let (candidates, last) = candidates(state, team_id, Some(&job.agent_id)).await?;
    let Some(next) = pick(AssignMethod::RoundRobin, &candidates, last.as_deref()) else {
        return Ok("nobody free");
    };
    let name = |id: String| async move {
        state
            .store
            .agent(&job.workspace_id, &id)
            .await
            .map(|a| a.name)
            .unwrap_or(id)
    };
    let (from, to) = (
        name(job.agent_id.clone()).await,
        name(next.to_owned()).await,
    );
    state.store.set_last_assigned(team_id, next).await?;
    let patch = ConversationPatch {
        assignee_id: Some(Some(next.to_owned())),
        ..ConversationPatch::default()
    };
    conversations::update(
        state,
        &job.workspace_id,
        &job.conversation_id,
        Change {
            patch: &patch,
            actor: "routing:silence",
            jobs: &NO_JOBS,
        },
    )
    .await?;
    let mins = state
        .store
        .workspace(&job.workspace_id)
        .await?
        .reassign_after_mins
        .unwrap_or_default();
    messages::post_note(
        state,
        &conversation,
        &format!("silence-{}-{}", job.conversation_id, job.since_seq),
        &format!("{from} が{mins}分応答しなかったため、{to} に再割り当てしました"),
        Some(&serde_json::json!({"kind": "reassigned", "from": job.agent_id, "to": next})),
    )
    .await?;
    Ok("reassigned")
}
