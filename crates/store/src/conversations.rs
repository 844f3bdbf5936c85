//! Conversations: starting one, finding them with filters, and changing status, assignee,
//! priority and tags.

use std::collections::HashMap;

use madoguchi_core::conversation::{ConversationStatus, Priority};
use madoguchi_core::message::{ClientId, MessageBody, SenderKind};
use sqlx::any::{AnyArguments, AnyRow};
use sqlx::{Any, AnyConnection, Row};

use crate::audit::AuditEntry;
use crate::group_commit::{BoxFuture, WriteOp};
use crate::jobs::JobChanges;
use crate::messages::{Inserted, Message, MessageDraft, Screen, ScreenDraft};
use crate::{new_id, Result, Store, StoreError};

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Conversation {
    pub id: String,
    pub workspace_id: String,
    pub channel_id: String,
    pub contact_id: String,
    pub status: ConversationStatus,
    pub assignee_id: Option<String>,
    pub team_id: Option<String>,
    /// The brand of its channel (see [`crate::brands`]).
    pub brand_id: Option<String>,
    pub priority: Priority,
    /// The `seq` of the newest message (notes included).
    pub last_seq: i64,
    pub created_at: i64,
    pub first_agent_response_at: Option<i64>,
    pub last_activity_at: i64,
    pub resolved_at: Option<i64>,
    /// The `seq` of the first customer message still waiting for a human reply, if any.
    pub waiting_since: Option<i64>,
    /// When the customer asked for a person; the bot stays out from then on.
    pub handed_over_at: Option<i64>,
    /// `ja` or `en`: the language auto-replies and the bot speak here (`None`: the channel's).
    pub locale: Option<String>,
    /// How far staff have read (a `seq`): read receipts for the customer, unread for agents.
    pub agent_read_seq: i64,
    /// How far the customer has read.
    pub contact_read_seq: i64,
    /// A snoozed conversation reopens at this time (Unix ms).
    pub snoozed_until: Option<i64>,
    /// An e-mail conversation's subject.
    pub subject: Option<String>,
    /// The SLA policy it runs under and its deadlines (business hours, Unix ms).
    pub sla_policy_id: Option<String>,
    pub sla_first_due_at: Option<i64>,
    pub sla_resolution_due_at: Option<i64>,
    /// While the customer waits again after an agent's answer: the next-response deadline.
    pub sla_next_due_at: Option<i64>,
    /// The category it was sorted into, how sure the classifier was (0–1) and who decided
    /// (`model`, `keywords`, `agent`: see `madoguchi_core::classification::source`).
    pub category: Option<String>,
    pub category_confidence: Option<f64>,
    pub category_source: Option<String>,
    pub tags: Vec<String>,
}

/// Whose reading [`Store::mark_read`] records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reader {
    Agent,
    Contact,
}

impl Conversation {
    pub(crate) fn from_row(row: &AnyRow) -> Result<Self> {
        Ok(Self {
            id: row.try_get("id")?,
            workspace_id: row.try_get("workspace_id")?,
            channel_id: row.try_get("channel_id")?,
            contact_id: row.try_get("contact_id")?,
            status: ConversationStatus::parse(&row.try_get::<String, _>("status")?)?,
            assignee_id: row.try_get("assignee_id")?,
            team_id: row.try_get("team_id")?,
            brand_id: row.try_get("brand_id")?,
            priority: Priority::parse(&row.try_get::<String, _>("priority")?)?,
            last_seq: row.try_get("last_seq")?,
            created_at: row.try_get("created_at")?,
            first_agent_response_at: row.try_get("first_agent_response_at")?,
            last_activity_at: row.try_get("last_activity_at")?,
            resolved_at: row.try_get("resolved_at")?,
            waiting_since: row.try_get("waiting_since")?,
            handed_over_at: row.try_get("handed_over_at")?,
            locale: row.try_get("locale")?,
            agent_read_seq: row.try_get("agent_read_seq")?,
            contact_read_seq: row.try_get("contact_read_seq")?,
            snoozed_until: row.try_get("snoozed_until")?,
            subject: row.try_get("subject")?,
            sla_policy_id: row.try_get("sla_policy_id")?,
            sla_first_due_at: row.try_get("sla_first_due_at")?,
            sla_resolution_due_at: row.try_get("sla_resolution_due_at")?,
            sla_next_due_at: row.try_get("sla_next_due_at")?,
            category: row.try_get("category")?,
            category_confidence: row.try_get("category_confidence")?,
            category_source: row.try_get("category_source")?,
            tags: Vec::new(),
        })
    }
}

pub(crate) const CONVERSATION_COLUMNS: &str = "id, workspace_id, channel_id, contact_id, status, \
     assignee_id, team_id, brand_id, priority, last_seq, created_at, first_agent_response_at, \
     last_activity_at, resolved_at, waiting_since, handed_over_at, locale, agent_read_seq, \
     contact_read_seq, snoozed_until, subject, sla_policy_id, sla_first_due_at, sla_resolution_due_at, \
     sla_next_due_at, category, category_confidence, category_source";

/// Whose conversations to list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum AssigneeFilter {
    #[default]
    Anyone,
    Unassigned,
    Agent(String),
}

#[derive(Debug, Clone, Default)]
pub struct ConversationFilter {
    pub status: Option<ConversationStatus>,
    pub assignee: AssigneeFilter,
    pub tag: Option<String>,
    pub channel_id: Option<String>,
    pub contact_id: Option<String>,
    /// Words that one of the conversation's messages contains.
    pub q: Option<String>,
    /// One team's conversations.
    pub team_id: Option<String>,
    /// One brand's conversations (`Some(None)`: those of no brand).
    pub brand_id: Option<Option<String>>,
    /// Only what the asking agent may see.
    pub sight: Sight,
    /// Nearest open SLA deadline first (those without one last), instead of newest first.
    pub by_deadline: bool,
    pub limit: i64,
}

/// Appends `clause` with its `$?` numbered after the arguments so far, and its argument.
fn push(sql: &mut String, args: &mut Vec<String>, clause: &str, value: String) {
    args.push(value);
    sql.push_str(&clause.replace("$?", &format!("${}", args.len())));
}

/// Which conversations an agent may see: of their teams only, of their brands only (`None`:
/// no such limit).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sight {
    pub teams: Option<Vec<String>>,
    pub brands: Option<Vec<String>>,
}

impl Sight {
    /// Whether a conversation of this team and brand is in sight.
    pub fn sees(&self, team_id: Option<&str>, brand_id: Option<&str>) -> bool {
        let within = |limit: &Option<Vec<String>>, id: Option<&str>| {
            limit
                .as_ref()
                .is_none_or(|ids| id.is_some_and(|id| ids.iter().any(|v| v == id)))
        };
        within(&self.teams, team_id) && within(&self.brands, brand_id)
    }

    /// The SQL condition (` AND …`, on columns prefixed with `table`) with its arguments.
    fn restrict(&self, table: &str, sql: &mut String, args: &mut Vec<String>) {
        for (column, limit) in [("team_id", &self.teams), ("brand_id", &self.brands)] {
            if let Some(ids) = limit {
                sql.push_str(&format!(" AND {table}{column} IN ('none'"));
                for id in ids {
                    push(sql, args, ", $?", id.clone());
                }
                sql.push(')');
            }
        }
    }
}

/// Changes to a conversation; `None` leaves a field as it is, `Some(None)` clears the assignee.
#[derive(Debug, Clone, Default)]
pub struct ConversationPatch {
    pub status: Option<ConversationStatus>,
    pub assignee_id: Option<Option<String>>,
    /// `Some(None)` takes the conversation out of its team.
    pub team_id: Option<Option<String>>,
    pub priority: Option<Priority>,
    pub tags: Option<Vec<String>>,
    /// Records that the customer asked for a person (kept once set).
    pub hand_over: bool,
    /// With status `snoozed`: when it wakes up. Any other status clears it.
    pub snoozed_until: Option<i64>,
    /// An SLA policy applied now, with the deadlines it sets.
    pub sla: Option<SlaDeadlines>,
    /// The category an agent chose (a training example for the classifier).
    pub category: Option<String>,
    /// A next-response deadline set now.
    pub sla_next_due_at: Option<i64>,
}

/// The deadlines an SLA policy sets on a conversation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlaDeadlines {
    pub policy_id: String,
    pub first_due_at: Option<i64>,
    pub resolution_due_at: Option<i64>,
}

/// Characters of the newest message a list shows.
const PREVIEW_CHARS: usize = 80;

/// A conversation's customer and newest visible message, for lists (see [`Store::summaries`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    pub contact_name: Option<String>,
    pub contact_email: Option<String>,
    /// `None` when the newest message is masked (flagged as harassment).
    pub preview: Option<String>,
    pub masked: bool,
    /// When the customer message still waiting for a human reply was written.
    pub waiting_since_at: Option<i64>,
    /// Customer messages after what staff have read.
    pub unread: i64,
}

/// A started conversation; `created` is false when the `client_id` had started it before.
#[derive(Debug, Clone)]
pub struct Started {
    pub conversation: Conversation,
    pub message: Message,
    pub created: bool,
}

/// Who starts a conversation and with what first message.
pub struct NewConversation<'a> {
    /// The new conversation's id (from [`crate::new_id`]), known before the write so that the
    /// jobs committed with it can name it.
    pub id: &'a str,
    pub workspace_id: &'a str,
    pub channel_id: &'a str,
    pub contact_id: &'a str,
    pub body: &'a MessageBody,
    pub client_id: Option<&'a ClientId>,
    /// The customer chose a person before writing (a scenario's hand-over node).
    pub handed_over: bool,
    /// `ja` or `en`, when known.
    pub locale: Option<&'a str>,
    /// An e-mail's subject.
    pub subject: Option<&'a str>,
    /// The first message's `meta` (JSON: files, the mail it came as).
    pub meta: Option<&'a str>,
    /// `open`, or `spam` for mail flagged as such.
    pub status: ConversationStatus,
    /// The agent who writes first (a mail an agent sends a customer); `None`: the customer.
    pub agent: Option<Opener<'a>>,
    /// The jobs the first message triggers, committed with it.
    pub jobs: &'a JobChanges,
    /// When, by the caller's clock (Unix ms).
    pub at: i64,
}

/// An agent who opens a conversation with a message of theirs.
#[derive(Debug, Clone, Copy)]
pub struct Opener<'a> {
    pub agent_id: &'a str,
    pub agent_name: &'a str,
}

/// A [`NewConversation`] that owns its parts, so that it can wait in the group-commit queue.
struct ConversationDraft {
    id: String,
    workspace_id: String,
    channel_id: String,
    contact_id: String,
    body: MessageBody,
    client_id: Option<ClientId>,
    handed_over: bool,
    locale: Option<String>,
    subject: Option<String>,
    meta: Option<String>,
    status: ConversationStatus,
    /// The opening agent's id and name.
    agent: Option<(String, String)>,
    jobs: JobChanges,
    at: i64,
    screen: ScreenDraft,
    audit_key: Option<std::sync::Arc<crate::audit::AuditKey>>,
}

impl WriteOp for ConversationDraft {
    type Output = Inserted;

    fn run<'a>(&'a self, conn: &'a mut AnyConnection) -> BoxFuture<'a, Result<Inserted>> {
        Box::pin(async move {
            let now = self.at;
            let row = sqlx::query(&format!(
                "INSERT INTO conversations (id, workspace_id, channel_id, contact_id, status, priority, \
                 last_seq, created_at, last_activity_at, handed_over_at, locale, subject, category, \
                 category_confidence, category_source, brand_id) \
                 VALUES ($1, $2, $3, $4, $5, $6, 0, $7, $7, $8, $9, $10, $11, $12, $13, \
                 (SELECT brand_id FROM channels WHERE id = $3)) \
                 RETURNING {CONVERSATION_COLUMNS}"
            ))
            .bind(&self.id)
            .bind(&self.workspace_id)
            .bind(&self.channel_id)
            .bind(&self.contact_id)
            .bind(self.status.as_str())
            .bind(Priority::Normal.as_str())
            .bind(now)
            .bind(self.handed_over.then_some(now))
            .bind(self.locale.as_deref())
            .bind(self.subject.as_deref())
            .bind(self.screen.category.as_ref().map(|c| c.name.as_str()))
            .bind(self.screen.category.as_ref().map(|c| c.confidence))
            .bind(self.screen.category.as_ref().map(|c| c.source))
            .fetch_one(&mut *conn)
            .await?;
            let message = MessageDraft {
                workspace_id: self.workspace_id.clone(),
                conversation_id: row.try_get("id")?,
                sender_kind: match self.agent {
                    Some(_) => SenderKind::Agent,
                    None => SenderKind::Contact,
                },
                sender_id: match &self.agent {
                    Some((id, _)) => id.clone(),
                    None => self.contact_id.clone(),
                },
                body: self.body.clone(),
                private: false,
                client_id: self.client_id.clone(),
                meta: self.meta.clone(),
                sender_name: self.agent.as_ref().map(|(_, name)| name.clone()),
                jobs: self.jobs.clone(),
                at: self.at,
                screen: self.screen.clone(),
                audit_key: self.audit_key.clone(),
            };
            Store::insert_message(conn, &message, now).await
        })
    }
}

/// A [`ConversationPatch`] with its target and actor, to wait in the group-commit queue.
struct ConversationUpdate {
    workspace_id: String,
    id: String,
    patch: ConversationPatch,
    actor: String,
    jobs: JobChanges,
    now: i64,
    audit_key: Option<std::sync::Arc<crate::audit::AuditKey>>,
}

impl WriteOp for ConversationUpdate {
    type Output = ();

    fn run<'a>(&'a self, conn: &'a mut AnyConnection) -> BoxFuture<'a, Result<()>> {
        let (workspace_id, id, patch, actor) = (
            self.workspace_id.as_str(),
            self.id.as_str(),
            &self.patch,
            self.actor.as_str(),
        );
        let now = self.now;
        Box::pin(async move {
            let row = sqlx::query(&format!(
                "SELECT {CONVERSATION_COLUMNS} FROM conversations WHERE id = $1 AND workspace_id = $2"
            ))
            .bind(id)
            .bind(workspace_id)
            .fetch_one(&mut *conn)
            .await?;
            let before = Conversation::from_row(&row)?;
            if let Some(Some(assignee)) = &patch.assignee_id {
                let found =
                    sqlx::query("SELECT id FROM agents WHERE id = $1 AND workspace_id = $2")
                        .bind(assignee)
                        .bind(workspace_id)
                        .fetch_optional(&mut *conn)
                        .await?;
                if found.is_none() {
                    return Err(StoreError::InvalidReference(format!(
                        "no agent {assignee} in this workspace"
                    )));
                }
            }
            if let Some(Some(team)) = &patch.team_id {
                let found = sqlx::query("SELECT id FROM teams WHERE id = $1 AND workspace_id = $2")
                    .bind(team)
                    .bind(workspace_id)
                    .fetch_optional(&mut *conn)
                    .await?;
                if found.is_none() {
                    return Err(StoreError::InvalidReference(format!(
                        "no team {team} in this workspace"
                    )));
                }
            }
            let team_id = patch.team_id.clone().unwrap_or(before.team_id.clone());
            let status = patch.status.unwrap_or(before.status);
            let resolved_at = match (status, before.resolved_at) {
                (ConversationStatus::Resolved, Some(at))
                    if before.status == ConversationStatus::Resolved =>
                {
                    Some(at)
                }
                (ConversationStatus::Resolved, _) => Some(now),
                _ => None,
            };
            let assignee_id = patch
                .assignee_id
                .clone()
                .unwrap_or(before.assignee_id.clone());
            let priority = patch.priority.unwrap_or(before.priority);
            let handed_over_at = before.handed_over_at.or(patch.hand_over.then_some(now));
            let snoozed_until = match status {
                ConversationStatus::Snoozed => patch.snoozed_until.or(before.snoozed_until),
                _ => None,
            };
            sqlx::query(
                "UPDATE conversations SET status = $2, resolved_at = $3, assignee_id = $4, priority = $5, \
                 last_activity_at = $6, handed_over_at = $7, snoozed_until = $8, reopened = reopened + $9, \
                 team_id = $10 WHERE id = $1",
            )
            .bind(id)
            .bind(status.as_str())
            .bind(resolved_at)
            .bind(assignee_id.as_deref())
            .bind(priority.as_str())
            .bind(now)
            .bind(handed_over_at)
            .bind(snoozed_until)
            .bind(i64::from(
                before.status == ConversationStatus::Resolved
                    && status != ConversationStatus::Resolved,
            ))
            .bind(team_id.as_deref())
            .execute(&mut *conn)
            .await?;
            if let Some(sla) = &patch.sla {
                sqlx::query(
                    "UPDATE conversations SET sla_policy_id = $2, sla_first_due_at = $3, \
                     sla_resolution_due_at = $4 WHERE id = $1",
                )
                .bind(id)
                .bind(&sla.policy_id)
                .bind(sla.first_due_at)
                .bind(sla.resolution_due_at)
                .execute(&mut *conn)
                .await?;
            }
            if let Some(due) = patch.sla_next_due_at {
                sqlx::query("UPDATE conversations SET sla_next_due_at = $2 WHERE id = $1")
                    .bind(id)
                    .bind(due)
                    .execute(&mut *conn)
                    .await?;
            }
            if let Some(category) = &patch.category {
                sqlx::query(
                    "UPDATE conversations SET category = $2, category_confidence = 1.0, \
                     category_source = $3 WHERE id = $1",
                )
                .bind(id)
                .bind(category)
                .bind(madoguchi_core::classification::source::AGENT)
                .execute(&mut *conn)
                .await?;
                sqlx::query(
                    "UPDATE workspaces SET labels_version = labels_version + 1 WHERE id = $1",
                )
                .bind(workspace_id)
                .execute(&mut *conn)
                .await?;
            }
            if let Some(tags) = &patch.tags {
                sqlx::query("DELETE FROM conversation_tags WHERE conversation_id = $1")
                    .bind(id)
                    .execute(&mut *conn)
                    .await?;
                for name in tags {
                    Store::add_tag_in(conn, workspace_id, id, name).await?;
                }
                sqlx::query("UPDATE conversations SET complaint = $2 WHERE id = $1")
                    .bind(id)
                    .bind(i64::from(tags.iter().any(|t| t == "complaint")))
                    .execute(&mut *conn)
                    .await?;
            }
            if status != before.status
                || assignee_id != before.assignee_id
                || team_id != before.team_id
            {
                let detail = serde_json::json!({
                    "status": {"from": before.status, "to": status},
                    "assignee_id": {"from": before.assignee_id, "to": assignee_id},
                    "team_id": {"from": before.team_id, "to": team_id},
                });
                Store::append_audit_in(
                    conn,
                    self.audit_key.as_deref(),
                    &AuditEntry {
                        workspace_id,
                        actor,
                        action: "conversation.updated",
                        target: id,
                        detail: &detail,
                    },
                    now,
                )
                .await?;
            }
            self.jobs.apply_in(conn, now).await
        })
    }
}

impl Store {
    /// Tags a conversation inside a write transaction (making the tag if new); false when it
    /// was tagged so already.
    pub(crate) async fn add_tag_in(
        conn: &mut AnyConnection,
        workspace_id: &str,
        conversation_id: &str,
        name: &str,
    ) -> Result<bool> {
        sqlx::query(
            "INSERT INTO tags (id, workspace_id, name) VALUES ($1, $2, $3) \
             ON CONFLICT (workspace_id, name) DO NOTHING",
        )
        .bind(new_id())
        .bind(workspace_id)
        .bind(name)
        .execute(&mut *conn)
        .await?;
        let added = sqlx::query(
            "INSERT INTO conversation_tags (conversation_id, tag_id) \
             SELECT $1, id FROM tags WHERE workspace_id = $2 AND name = $3 \
             ON CONFLICT (conversation_id, tag_id) DO NOTHING",
        )
        .bind(conversation_id)
        .bind(workspace_id)
        .bind(name)
        .execute(&mut *conn)
        .await?;
        Ok(added.rows_affected() > 0)
    }
}

/// Escapes `%`, `_` and `\` for a `LIKE … ESCAPE '\'` pattern.
pub(crate) fn like_pattern(words: &str) -> String {
    let mut pattern = String::from("%");
    for c in words.chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

impl Store {
    /// Starts a conversation with the contact's first message. Idempotent on `client_id`: the
    /// same id again returns the conversation and message created the first time.
    pub async fn start_conversation(&self, new: NewConversation<'_>) -> Result<Started> {
        self.start_screened(new, &Screen::default()).await
    }

    /// Starts a conversation with what the harassment check found on its first message.
    pub async fn start_screened(
        &self,
        new: NewConversation<'_>,
        screen: &Screen<'_>,
    ) -> Result<Started> {
        if let Some(found) = self.started_with(&new).await? {
            return Ok(found);
        }
        let draft = ConversationDraft {
            id: new.id.to_owned(),
            workspace_id: new.workspace_id.to_owned(),
            channel_id: new.channel_id.to_owned(),
            contact_id: new.contact_id.to_owned(),
            body: new.body.clone(),
            client_id: new.client_id.cloned(),
            handed_over: new.handed_over,
            locale: new.locale.map(str::to_owned),
            subject: new.subject.map(str::to_owned),
            meta: new.meta.map(str::to_owned),
            status: new.status,
            agent: new
                .agent
                .map(|a| (a.agent_id.to_owned(), a.agent_name.to_owned())),
            jobs: new.jobs.clone(),
            at: new.at,
            screen: ScreenDraft::from(screen),
            audit_key: self.audit_key.clone(),
        };
        match self.write(draft).await {
            Ok(inserted) => Ok(Started {
                conversation: inserted.conversation,
                message: inserted.message,
                created: true,
            }),
            // The same client id raced in from another request: answer with its result.
            Err(StoreError::Conflict(_)) if new.client_id.is_some() => {
                self.started_with(&new).await?.ok_or(StoreError::NotFound)
            }
            Err(err) => Err(err),
        }
    }

    /// The conversation an earlier request with the same `client_id` started, if any.
    async fn started_with(&self, new: &NewConversation<'_>) -> Result<Option<Started>> {
        let Some(client_id) = new.client_id else {
            return Ok(None);
        };
        let Some(message) = self
            .message_by_client_id(
                match new.agent {
                    Some(_) => SenderKind::Agent,
                    None => SenderKind::Contact,
                },
                new.agent.map_or(new.contact_id, |a| a.agent_id),
                client_id,
            )
            .await?
        else {
            return Ok(None);
        };
        let conversation = self
            .conversation(new.workspace_id, &message.conversation_id)
            .await?;
        Ok(Some(Started {
            conversation,
            message,
            created: false,
        }))
    }

    /// A conversation of `workspace_id`, with its tags.
    pub async fn conversation(&self, workspace_id: &str, id: &str) -> Result<Conversation> {
        let row = sqlx::query(&format!(
            "SELECT {CONVERSATION_COLUMNS} FROM conversations WHERE id = $1 AND workspace_id = $2"
        ))
        .bind(id)
        .bind(workspace_id)
        .fetch_one(self.pool())
        .await?;
        let mut conversations = vec![Conversation::from_row(&row)?];
        self.load_tags(&mut conversations).await?;
        conversations.pop().ok_or(StoreError::NotFound)
    }

    /// Conversations of a workspace, most recently active first.
    pub async fn conversations(
        &self,
        workspace_id: &str,
        filter: &ConversationFilter,
    ) -> Result<Vec<Conversation>> {
        let mut sql =
            format!("SELECT {CONVERSATION_COLUMNS} FROM conversations c WHERE c.workspace_id = $1");
        let mut args: Vec<String> = vec![workspace_id.to_owned()];
        // Appends a clause whose `$?` stands for the next bound value.
        if let Some(status) = filter.status {
            push(
                &mut sql,
                &mut args,
                " AND c.status = $?",
                status.as_str().to_owned(),
            );
        }
        match &filter.assignee {
            AssigneeFilter::Anyone => {}
            AssigneeFilter::Unassigned => sql.push_str(" AND c.assignee_id IS NULL"),
            AssigneeFilter::Agent(id) => {
                push(&mut sql, &mut args, " AND c.assignee_id = $?", id.clone())
            }
        }
        if let Some(tag) = &filter.tag {
            push(
                &mut sql,
                &mut args,
                " AND EXISTS (SELECT 1 FROM conversation_tags ct JOIN tags t ON t.id = ct.tag_id \
                 WHERE ct.conversation_id = c.id AND t.name = $?)",
                tag.clone(),
            );
        }
        if let Some(channel_id) = &filter.channel_id {
            push(
                &mut sql,
                &mut args,
                " AND c.channel_id = $?",
                channel_id.clone(),
            );
        }
        if let Some(contact_id) = &filter.contact_id {
            push(
                &mut sql,
                &mut args,
                " AND c.contact_id = $?",
                contact_id.clone(),
            );
        }
        if let Some(team_id) = &filter.team_id {
            push(&mut sql, &mut args, " AND c.team_id = $?", team_id.clone());
        }
        match &filter.brand_id {
            None => {}
            Some(Some(brand)) => push(&mut sql, &mut args, " AND c.brand_id = $?", brand.clone()),
            Some(None) => sql.push_str(" AND c.brand_id IS NULL"),
        }
        filter.sight.restrict("c.", &mut sql, &mut args);
        if let Some(q) = filter.q.as_deref().filter(|q| !q.trim().is_empty()) {
            push(
                &mut sql,
                &mut args,
                " AND EXISTS (SELECT 1 FROM messages m WHERE m.conversation_id = c.id \
                 AND m.body LIKE $? ESCAPE '\\')",
                like_pattern(q.trim()),
            );
        }
        let limit_index = args.len() + 1;
        if filter.by_deadline {
            // The deadline running now: first response, the next one while the customer
            // waits again, else resolution.
            let due = "CASE WHEN c.first_agent_response_at IS NULL AND c.sla_first_due_at IS NOT NULL \
                 THEN c.sla_first_due_at WHEN c.waiting_since IS NOT NULL AND c.sla_next_due_at IS NOT NULL \
                 THEN c.sla_next_due_at ELSE c.sla_resolution_due_at END";
            sql.push_str(&format!(" ORDER BY {due} IS NULL, {due},"));
        } else {
            sql.push_str(" ORDER BY");
        }
        sql.push_str(&format!(
            " c.last_activity_at DESC, c.id DESC LIMIT ${limit_index}"
        ));
        let mut query = sqlx::query::<Any>(&sql);
        for arg in args {
            query = query.bind(arg);
        }
        let rows = query
            .bind(filter.limit.clamp(1, 500))
            .fetch_all(self.pool())
            .await?;
        let mut conversations = rows
            .iter()
            .map(Conversation::from_row)
            .collect::<Result<Vec<_>>>()?;
        self.load_tags(&mut conversations).await?;
        Ok(conversations)
    }

    /// Number of conversations per status in a workspace.
    pub async fn conversation_counts(
        &self,
        workspace_id: &str,
    ) -> Result<Vec<(ConversationStatus, i64)>> {
        self.visible_conversation_counts(workspace_id, &Sight::default())
            .await
    }

    /// The same, of the conversations in `sight` only.
    pub async fn visible_conversation_counts(
        &self,
        workspace_id: &str,
        sight: &Sight,
    ) -> Result<Vec<(ConversationStatus, i64)>> {
        let mut sql =
            String::from("SELECT status, COUNT(*) AS n FROM conversations WHERE workspace_id = $1");
        let mut args = vec![workspace_id.to_owned()];
        sight.restrict("", &mut sql, &mut args);
        sql.push_str(" GROUP BY status");
        let mut query = sqlx::query(&sql);
        for arg in args {
            query = query.bind(arg);
        }
        let rows = query.fetch_all(self.pool()).await?;
        rows.iter()
            .map(|row| {
                let status = ConversationStatus::parse(&row.try_get::<String, _>("status")?)?;
                Ok((status, row.try_get("n")?))
            })
            .collect()
    }

    /// Fills in the tags of these conversations.
    /// The workspace's conversations among `ids`, with their tags (others are left out).
    pub async fn conversations_by_ids(
        &self,
        workspace_id: &str,
        ids: &[String],
    ) -> Result<Vec<Conversation>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let placeholders: Vec<String> = (2..=ids.len() + 1).map(|i| format!("${i}")).collect();
        let sql = format!(
            "SELECT {CONVERSATION_COLUMNS} FROM conversations WHERE workspace_id = $1 AND id IN ({})",
            placeholders.join(", ")
        );
        let mut query = sqlx::query(&sql).bind(workspace_id);
        for id in ids {
            query = query.bind(id);
        }
        let rows = query.fetch_all(self.pool()).await?;
        let mut found = rows
            .iter()
            .map(Conversation::from_row)
            .collect::<Result<Vec<_>>>()?;
        self.load_tags(&mut found).await?;
        Ok(found)
    }

    pub async fn load_tags(&self, conversations: &mut [Conversation]) -> Result<()> {
        if conversations.is_empty() {
            return Ok(());
        }
        let placeholders: Vec<String> =
            (1..=conversations.len()).map(|i| format!("${i}")).collect();
        let sql = format!(
            "SELECT ct.conversation_id, t.name FROM conversation_tags ct JOIN tags t ON t.id = ct.tag_id \
             WHERE ct.conversation_id IN ({}) ORDER BY t.name",
            placeholders.join(", ")
        );
        let mut query = sqlx::query_with::<Any, AnyArguments>(&sql, AnyArguments::default());
        for conversation in conversations.iter() {
            query = query.bind(conversation.id.clone());
        }
        for row in query.fetch_all(self.pool()).await? {
            let id: String = row.try_get("conversation_id")?;
            if let Some(conversation) = conversations.iter_mut().find(|c| c.id == id) {
                conversation.tags.push(row.try_get("name")?);
            }
        }
        Ok(())
    }

    /// What a list of conversations shows besides them: each one's customer (name, e-mail) and
    /// its newest message the customer can see (notes left out), by conversation id. Two
    /// queries for the whole list.
    pub async fn summaries(
        &self,
        conversations: &[Conversation],
    ) -> Result<HashMap<String, Summary>> {
        let mut summaries: HashMap<String, Summary> = HashMap::new();
        if conversations.is_empty() {
            return Ok(summaries);
        }
        let placeholders = |n: usize| -> String {
            (1..=n)
                .map(|i| format!("${i}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let sql = format!(
            "SELECT c.id AS conversation_id, p.name, p.email FROM conversations c \
             JOIN contacts p ON p.id = c.contact_id WHERE c.id IN ({})",
            placeholders(conversations.len())
        );
        let mut query = sqlx::query_with::<Any, AnyArguments>(&sql, AnyArguments::default());
        for conversation in conversations {
            query = query.bind(conversation.id.clone());
        }
        for row in query.fetch_all(self.pool()).await? {
            let summary = summaries
                .entry(row.try_get("conversation_id")?)
                .or_default();
            summary.contact_name = row.try_get("name")?;
            summary.contact_email = row.try_get("email")?;
        }
        let sql = format!(
            "SELECT m.conversation_id, m.body, m.flag, m.flag_decision FROM messages m WHERE m.conversation_id IN ({}) \
             AND m.private = 0 AND m.seq = (SELECT MAX(n.seq) FROM messages n \
             WHERE n.conversation_id = m.conversation_id AND n.private = 0)",
            placeholders(conversations.len())
        );
        let mut query = sqlx::query_with::<Any, AnyArguments>(&sql, AnyArguments::default());
        for conversation in conversations {
            query = query.bind(conversation.id.clone());
        }
        for row in query.fetch_all(self.pool()).await? {
            let body: String = row.try_get("body")?;
            let flag: Option<String> = row.try_get("flag")?;
            let decision: Option<String> = row.try_get("flag_decision")?;
            let masked = crate::messages::masked(flag.as_deref(), decision.as_deref());
            let summary = summaries
                .entry(row.try_get("conversation_id")?)
                .or_default();
            summary.masked = masked;
            summary.preview = (!masked).then(|| body.chars().take(PREVIEW_CHARS).collect());
        }
        let sql = format!(
            "SELECT m.conversation_id, m.created_at FROM messages m JOIN conversations c \
             ON c.id = m.conversation_id WHERE m.conversation_id IN ({}) AND m.seq = c.waiting_since",
            placeholders(conversations.len())
        );
        let mut query = sqlx::query_with::<Any, AnyArguments>(&sql, AnyArguments::default());
        for conversation in conversations {
            query = query.bind(conversation.id.clone());
        }
        for row in query.fetch_all(self.pool()).await? {
            summaries
                .entry(row.try_get("conversation_id")?)
                .or_default()
                .waiting_since_at = Some(row.try_get("created_at")?);
        }
        let sql = format!(
            "SELECT m.conversation_id, COUNT(*) AS n FROM messages m JOIN conversations c \
             ON c.id = m.conversation_id WHERE m.conversation_id IN ({}) \
             AND m.sender_kind = 'contact' AND m.seq > c.agent_read_seq GROUP BY m.conversation_id",
            placeholders(conversations.len())
        );
        let mut query = sqlx::query_with::<Any, AnyArguments>(&sql, AnyArguments::default());
        for conversation in conversations {
            query = query.bind(conversation.id.clone());
        }
        for row in query.fetch_all(self.pool()).await? {
            summaries
                .entry(row.try_get("conversation_id")?)
                .or_default()
                .unread = row.try_get("n")?;
        }
        Ok(summaries)
    }

    /// Records that `reader` has read a conversation of the workspace up to `seq` (never
    /// backwards, never past its last message). `None` when that changed nothing.
    pub async fn mark_read(
        &self,
        workspace_id: &str,
        id: &str,
        reader: Reader,
        seq: i64,
    ) -> Result<Option<Conversation>> {
        let column = match reader {
            Reader::Agent => "agent_read_seq",
            Reader::Contact => "contact_read_seq",
        };
        let mut w = self.begin_write().await?;
        let row = sqlx::query(&format!(
            "UPDATE conversations SET {column} = $3 WHERE id = $1 AND workspace_id = $2 \
             AND {column} < $3 AND $3 <= last_seq RETURNING {CONVERSATION_COLUMNS}"
        ))
        .bind(id)
        .bind(workspace_id)
        .bind(seq)
        .fetch_optional(&mut *w.tx)
        .await?;
        w.commit().await?;
        let Some(row) = row else { return Ok(None) };
        let mut conversation = Conversation::from_row(&row)?;
        self.load_tags(std::slice::from_mut(&mut conversation))
            .await?;
        Ok(Some(conversation))
    }

    /// Applies a patch at `now` (the caller's clock) in one transaction (a group-commit write),
    /// with an audit entry for status and assignee changes and the jobs the change triggers.
    pub async fn update_conversation(
        &self,
        workspace_id: &str,
        id: &str,
        patch: &ConversationPatch,
        actor: &str,
        jobs: &JobChanges,
        now: i64,
    ) -> Result<Conversation> {
        self.write(ConversationUpdate {
            workspace_id: workspace_id.to_owned(),
            id: id.to_owned(),
            patch: patch.clone(),
            actor: actor.to_owned(),
            jobs: jobs.clone(),
            now,
            audit_key: self.audit_key.clone(),
        })
        .await?;
        if patch.category.is_some() {
            // The workspace's labels moved: its classifier retrains.
            self.caches.workspaces.clear();
        }
        self.conversation(workspace_id, id).await
    }
}

#[cfg(test)]
mod tests {
    use super::like_pattern;

    #[test]
    fn like_pattern_escapes_wildcards() {
        assert_eq!(like_pattern("50%_off\\"), "%50\\%\\_off\\\\%");
        assert_eq!(like_pattern("返品"), "%返品%");
    }
}
