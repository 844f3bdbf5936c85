//! The harassment (カスハラ) check every customer message passes on its way in, and what the
//! workspace's policy does about it. [`screen`] judges the text (built-in lexicon plus the
//! workspace's terms) and finds a block in force on the sender; the intake writes the message
//! with that result (flagged messages are masked for agents and their text sealed into the
//! audit log in the same transaction). Then [`shield`] lets the bot answer with the
//! workspace's guideline, and a severe or repeated case ends the conversation: it is escalated
//! (urgent, tagged `harassment`, in the supervisors' review queue) and, if the policy says so,
//! the sender is blocked for a while — their later messages are kept but never reach the queue.

use std::net::IpAddr;

use madoguchi_core::conversation::{ConversationStatus, Priority};
use madoguchi_core::harassment::{BlockKind, Flag, FlagSource, Policy, HARASSMENT_TAG};
use madoguchi_core::message::SenderKind;
use madoguchi_store::audit::AuditEntry;
use madoguchi_store::contacts::{IDENTITY_EMAIL, IDENTITY_VISITOR};
use madoguchi_store::conversations::{Conversation, ConversationPatch};
use madoguchi_store::harassment::{Block, NewBlock};
use madoguchi_store::jobs::NO_JOBS;
use madoguchi_store::messages::{Classified, Message, Screen};
use madoguchi_text::abuse::{self, Custom, Verdict};

use crate::app::error::DomainResult;
use crate::app::AppState;
use crate::http::client_ip::ProxyRange;
use crate::inbox::conversations::{self, Change};
use crate::inbox::messages::{post_automatic, Automatic};
use crate::inbox::settings::harassment_policy;

/// What the check found on one customer message.
pub struct Screening {
    pub verdict: Verdict,
    /// The flag as stored with the message (JSON), when it is abusive.
    pub flag: Option<String>,
    /// The block in force on the sender, if any.
    pub block: Option<Block>,
    pub policy: Policy,
    /// A new conversation's category (set by the intake for a first message).
    pub category: Option<Classified>,
}

impl Screening {
    /// What the store writes with the message.
    pub fn screen(&self) -> Screen<'_> {
        Screen {
            flag: self.flag.as_deref(),
            complaint: self.verdict.complaint(),
            held: self.block.is_some(),
            category: self.category.clone(),
        }
    }

    /// Nothing automatic answers this message: it is abusive, or its sender is blocked.
    pub fn silences_automation(&self) -> bool {
        self.flag.is_some() || self.block.is_some()
    }
}

/// Judges a customer's message and looks for a block on its sender (the contact, their
/// visitor tokens and e-mail addresses, the address it came from).
pub async fn screen(
    state: &AppState,
    workspace_id: &str,
    contact_id: &str,
    text: &str,
    ip: Option<IpAddr>,
) -> DomainResult<Screening> {
    let workspace = state.store.workspace(workspace_id).await?;
    let policy = harassment_policy(&workspace)?;
    let verdict = abuse::judge(
        text,
        &Custom {
            add: policy.add_terms.clone(),
            suppress: policy.suppress_terms.clone(),
        },
    );
    let flag = verdict.harassment().then(|| flag_of(&verdict));
    let blocks = state
        .store
        .active_blocks(workspace_id, state.clock.now_ms())
        .await?;
    let block = match blocks.is_empty() {
        true => None,
        false => find_block(state, workspace_id, contact_id, ip, blocks).await?,
    };
    Ok(Screening {
        verdict,
        flag,
        block,
        policy,
        category: None,
    })
}

/// The flag a verdict leaves on a message (JSON): categories and the terms that triggered it.
fn flag_of(verdict: &Verdict) -> String {
    let mut categories: Vec<String> = Vec::new();
    let mut reasons: Vec<String> = Vec::new();
    for hit in &verdict.hits {
        let category = serde_json::to_value(hit.category)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        if !categories.contains(&category) {
            categories.push(category);
        }
        if !reasons.contains(&hit.term) {
            reasons.push(hit.term.clone());
        }
    }
    let flag = Flag {
        source: FlagSource::Check,
        severity: verdict.severity(),
        categories,
        reasons,
        reported_by: None,
    };
    serde_json::to_string(&flag).unwrap_or_default()
}

/// The first of `blocks` that matches the sender.
async fn find_block(
    state: &AppState,
    workspace_id: &str,
    contact_id: &str,
    ip: Option<IpAddr>,
    blocks: Vec<Block>,
) -> DomainResult<Option<Block>> {
    let contact = state.store.contact(workspace_id, contact_id).await?;
    let identities = state
        .store
        .contact_identities(workspace_id, contact_id)
        .await?;
    let matches = |block: &Block| match BlockKind::parse(&block.kind) {
        Ok(BlockKind::Contact) => block.value == contact_id,
        Ok(BlockKind::Visitor) => identities
            .iter()
            .any(|i| i.kind == IDENTITY_VISITOR && i.value == block.value),
        Ok(BlockKind::Email) => {
            contact.email.as_deref() == Some(block.value.as_str())
                || identities
                    .iter()
                    .any(|i| i.kind == IDENTITY_EMAIL && i.value == block.value)
        }
        Ok(BlockKind::Ip) => ip.is_some_and(|ip| {
            ProxyRange::parse(&block.value).is_ok_and(|range| range.contains(ip))
        }),
        Err(_) => false,
    };
    Ok(blocks.into_iter().find(matches))
}

/// After a flagged message is written: the bot answers with the guideline, and a severe or
/// repeated case ends the conversation (escalated, and the sender blocked if the policy says
/// so).
pub async fn shield(
    state: &AppState,
    screening: &Screening,
    conversation: &Conversation,
    message: &Message,
) -> DomainResult<()> {
    if screening.flag.is_none() || screening.block.is_some() {
        return Ok(());
    }
    let policy = &screening.policy;
    let locale = conversation.locale.as_deref().unwrap_or("ja");
    if let Some(text) = policy.reply.render(locale, "") {
        post_automatic(
            state,
            conversation,
            Automatic {
                sender_kind: SenderKind::Bot,
                client_id: &format!("guideline-{}", message.id),
                text,
                meta: Some(&serde_json::json!({"kind": "guideline"})),
                jobs: &NO_JOBS,
            },
        )
        .await?;
    }
    let flagged = state.store.count_flagged(&conversation.id).await?;
    let severity = screening.verdict.severity();
    if !policy.ends_conversation(severity, u32::try_from(flagged).unwrap_or(u32::MAX)) {
        return Ok(());
    }
    end_conversation(state, policy, conversation, severity, flagged).await
}

/// Ends a conversation for harassment: urgent, tagged, and blocked or resolved, with the
/// escalation in the audit log.
async fn end_conversation(
    state: &AppState,
    policy: &Policy,
    conversation: &Conversation,
    severity: u8,
    flagged: i64,
) -> DomainResult<()> {
    let now = state.clock.now_ms();
    let block = match policy.block_days {
        0 => None,
        days => Some(
            state
                .store
                .create_block(&NewBlock {
                    workspace_id: &conversation.workspace_id,
                    kind: BlockKind::Contact.as_str(),
                    value: &conversation.contact_id,
                    reason: &format!("カスハラ（重大度 {severity}・検出 {flagged} 件）"),
                    conversation_id: Some(&conversation.id),
                    until_at: Some(now + i64::from(days) * 86_400_000),
                    created_by: "system",
                    at: now,
                })
                .await?,
        ),
    };
    let mut tags = conversation.tags.clone();
    if !tags.iter().any(|t| t == HARASSMENT_TAG) {
        tags.push(HARASSMENT_TAG.to_owned());
    }
    let patch = ConversationPatch {
        status: Some(match block {
            Some(_) => ConversationStatus::Blocked,
            None => ConversationStatus::Resolved,
        }),
        priority: Some(Priority::Urgent),
        tags: Some(tags),
        ..Default::default()
    };
    conversations::update(
        state,
        &conversation.workspace_id,
        &conversation.id,
        Change {
            patch: &patch,
            actor: "system",
            jobs: &NO_JOBS,
        },
    )
    .await?;
    let detail = serde_json::json!({
        "severity": severity,
        "flagged_messages": flagged,
        "blocked_until": block.as_ref().and_then(|b| b.until_at),
    });
    state
        .store
        .record_audit(&AuditEntry {
            workspace_id: &conversation.workspace_id,
            actor: "system",
            action: "harassment.escalated",
            target: &conversation.id,
            detail: &detail,
        })
        .await?;
    Ok(())
}
