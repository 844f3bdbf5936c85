//! Messages: appending them (one `seq` per conversation, idempotent on the sender's `client_id`)
//! and reading them in `seq` order.

use madoguchi_core::conversation::ConversationStatus;
use madoguchi_core::message::{ClientId, MessageBody, SenderKind};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use crate::conversations::{Conversation, CONVERSATION_COLUMNS};
use crate::group_commit::{BoxFuture, WriteOp};
use crate::jobs::JobChanges;
use crate::{is_unique_violation, new_id, Result, Store, StoreError};

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Message {
    pub id: String,
    pub conversation_id: String,
    pub seq: i64,
    pub sender_kind: SenderKind,
    pub sender_id: String,
    pub body: String,
    /// A private note: agents only, never shown to the contact.
    pub private: bool,
    pub client_id: Option<String>,
    /// Structured content as JSON (bot buttons, article references), if any.
    pub meta: Option<String>,
    /// The agent's display name when they wrote it (shown to the customer).
    pub sender_name: Option<String>,
    pub created_at: i64,
    /// Why it was flagged as harassment (JSON), if it was.
    pub flag: Option<String>,
    /// A supervisor's decision on the flag (`confirmed`, `dismissed`).
    pub flag_decision: Option<String>,
    /// What became of it at a messaging provider (LINE, Instagram): `sent`, `retrying` or
    /// `failed`, and why; `None`: nothing to deliver, or not yet tried.
    pub delivery: Option<String>,
    pub delivery_detail: Option<String>,
}

impl Message {
    /// Whether agents see it masked: flagged, and not dismissed by a supervisor.
    pub fn masked(&self) -> bool {
        masked(self.flag.as_deref(), self.flag_decision.as_deref())
    }
}

/// A message with this flag and decision is masked for agents.
pub(crate) fn masked(flag: Option<&str>, decision: Option<&str>) -> bool {
    flag.is_some() && decision != Some("dismissed")
}

impl Message {
    pub(crate) fn from_row(row: &AnyRow) -> Result<Self> {
        Ok(Self {
            id: row.try_get("id")?,
            conversation_id: row.try_get("conversation_id")?,
            seq: row.try_get("seq")?,
            sender_kind: SenderKind::parse(&row.try_get::<String, _>("sender_kind")?)?,
            sender_id: row.try_get("sender_id")?,
            body: row.try_get("body")?,
            private: row.try_get::<i64, _>("private")? != 0,
            client_id: row.try_get("client_id")?,
            meta: row.try_get("meta")?,
            sender_name: row.try_get("sender_name")?,
            created_at: row.try_get("created_at")?,
            flag: row.try_get("flag")?,
            flag_decision: row.try_get("flag_decision")?,
            delivery: row.try_get("delivery")?,
            delivery_detail: row.try_get("delivery_detail")?,
        })
    }
}

pub(crate) const MESSAGE_COLUMNS: &str =
    "id, conversation_id, seq, sender_kind, sender_id, body, private, client_id, meta, sender_name, created_at, flag, flag_decision, delivery, delivery_detail";

/// The message columns, as read from `messages m`.
pub(crate) fn message_columns_of_m() -> String {
    MESSAGE_COLUMNS
        .split(", ")
        .map(|c| format!("m.{c}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A message with what the search index needs of its conversation.
#[derive(Debug, Clone)]
pub struct IndexRow {
    pub workspace_id: String,
    pub contact_id: String,
    /// The conversation's subject, with its first message.
    pub subject: Option<String>,
    pub message: Message,
}

pub struct NewMessage<'a> {
    pub workspace_id: &'a str,
    pub conversation_id: &'a str,
    pub sender_kind: SenderKind,
    pub sender_id: &'a str,
    pub body: &'a MessageBody,
    pub private: bool,
    pub client_id: Option<&'a ClientId>,
    pub meta: Option<&'a str>,
    /// An agent's display name, kept with the message.
    pub sender_name: Option<&'a str>,
    /// The jobs this message triggers, committed in its transaction (none for a replayed
    /// `client_id`: they came with the original).
    pub jobs: &'a JobChanges,
    /// When it was written, by the caller's clock (Unix ms): its `created_at`, and the
    /// conversation's activity and first-response times.
    pub at: i64,
}

/// What the door's checks found on a customer message, written with it.
#[derive(Debug, Clone, Default)]
pub struct Screen<'a> {
    /// The flag (JSON): the message is kept, masked for agents, and its text sealed into the
    /// audit log in the same transaction.
    pub flag: Option<&'a str>,
    /// A complaint: the conversation is tagged `complaint`.
    pub complaint: bool,
    /// The sender is blocked: the conversation goes (or stays) `blocked`.
    pub held: bool,
    /// A new conversation's category, from its first message.
    pub category: Option<Classified>,
}

/// The category the classifier chose, how sure it was (0–1), and how it decided
/// (`madoguchi_core::classification::source`).
#[derive(Debug, Clone, PartialEq)]
pub struct Classified {
    pub name: String,
    pub confidence: f64,
    pub source: &'static str,
}

/// [`Screen`], owned.
#[derive(Debug, Clone, Default)]
pub(crate) struct ScreenDraft {
    pub(crate) flag: Option<String>,
    pub(crate) complaint: bool,
    pub(crate) held: bool,
    pub(crate) category: Option<Classified>,
}

impl From<&Screen<'_>> for ScreenDraft {
    fn from(screen: &Screen<'_>) -> Self {
        Self {
            flag: screen.flag.map(str::to_owned),
            complaint: screen.complaint,
            held: screen.held,
            category: screen.category.clone(),
        }
    }
}

/// The result of appending: `created` is false when the `client_id` had been seen before and
/// the earlier message is returned instead. `conversation.tags` is left empty (most sends do
/// not need it): see [`Store::load_tags`].
#[derive(Debug, Clone)]
pub struct Appended {
    pub message: Message,
    pub conversation: Conversation,
    pub created: bool,
    /// The message changed the conversation: its status (a customer reopening it), or a tag.
    pub status_changed: bool,
}

/// What [`Store::insert_message`] wrote.
pub(crate) struct Inserted {
    pub(crate) conversation: Conversation,
    pub(crate) message: Message,
    pub(crate) status_changed: bool,
}

/// A [`NewMessage`] that owns its parts, so that it can wait in the group-commit queue.
#[derive(Clone)]
pub(crate) struct MessageDraft {
    pub(crate) workspace_id: String,
    pub(crate) conversation_id: String,
    pub(crate) sender_kind: SenderKind,
    pub(crate) sender_id: String,
    pub(crate) body: MessageBody,
    pub(crate) private: bool,
    pub(crate) client_id: Option<ClientId>,
    pub(crate) meta: Option<String>,
    pub(crate) sender_name: Option<String>,
    pub(crate) jobs: JobChanges,
    pub(crate) at: i64,
    pub(crate) screen: ScreenDraft,
    /// Seals the flagged message's audit event.
    pub(crate) audit_key: Option<std::sync::Arc<crate::audit::AuditKey>>,
}

impl MessageDraft {
    fn new(new: &NewMessage<'_>, screen: &Screen<'_>, store: &Store) -> Self {
        Self {
            workspace_id: new.workspace_id.to_owned(),
            conversation_id: new.conversation_id.to_owned(),
            sender_kind: new.sender_kind,
            sender_id: new.sender_id.to_owned(),
            body: new.body.clone(),
            private: new.private,
            client_id: new.client_id.cloned(),
            meta: new.meta.map(str::to_owned),
            sender_name: new.sender_name.map(str::to_owned),
            jobs: new.jobs.clone(),
            at: new.at,
            screen: ScreenDraft::from(screen),
            audit_key: store.audit_key.clone(),
        }
    }
}

impl WriteOp for MessageDraft {
    type Output = Inserted;

    fn run<'a>(&'a self, conn: &'a mut AnyConnection) -> BoxFuture<'a, Result<Inserted>> {
        Box::pin(Store::insert_message(conn, self, self.at))
    }
}

impl Store {
    /// Appends a message to a conversation of `new.workspace_id` and commits it.
    pub async fn append_message(&self, new: &NewMessage<'_>) -> Result<Appended> {
        self.append_screened(new, &Screen::default()).await
    }

    /// Appends a message with what the harassment check found on it.
    pub async fn append_screened(
        &self,
        new: &NewMessage<'_>,
        screen: &Screen<'_>,
    ) -> Result<Appended> {
        if let Some(found) = self.replay_client_id(new).await? {
            return Ok(found);
        }
        match self.write(MessageDraft::new(new, screen, self)).await {
            Ok(Inserted {
                conversation,
                message,
                status_changed,
            }) => Ok(Appended {
                message,
                conversation,
                created: true,
                status_changed,
            }),
            Err(StoreError::Conflict(_)) if new.client_id.is_some() => self
                .replay_client_id(new)
                .await?
                .ok_or(StoreError::NotFound),
            Err(err) => Err(err),
        }
    }

    /// The message sent before with the same `client_id`, if any.
    async fn replay_client_id(&self, new: &NewMessage<'_>) -> Result<Option<Appended>> {
        let Some(client_id) = new.client_id else {
            return Ok(None);
        };
        let Some(message) = self
            .message_by_client_id(new.sender_kind, new.sender_id, client_id)
            .await?
        else {
            return Ok(None);
        };
        if message.conversation_id != new.conversation_id {
            return Err(StoreError::Conflict(
                "client_id was already used for a message in another conversation".into(),
            ));
        }
        let conversation = self
            .conversation(new.workspace_id, &message.conversation_id)
            .await?;
        Ok(Some(Appended {
            message,
            conversation,
            created: false,
            status_changed: false,
        }))
    }

    /// Inside a write transaction: takes the next `seq`, keeps `waiting_since`, applies the
    /// status rules, inserts, and applies the message's jobs. A contact writes only in their own conversations (another's is
    /// [`StoreError::NotFound`]). A `client_id` seen before is a [`StoreError::Conflict`] (the
    /// transaction is then spent).
    pub(crate) async fn insert_message(
        conn: &mut AnyConnection,
        new: &MessageDraft,
        now: i64,
    ) -> Result<Inserted> {
        let row = sqlx::query(&format!(
            "UPDATE conversations SET last_seq = last_seq + 1, last_activity_at = $3, \
             waiting_since = CASE WHEN $4 = 'contact' THEN COALESCE(waiting_since, last_seq + 1) \
             WHEN $4 = 'agent' AND $5 = 0 THEN NULL ELSE waiting_since END, \
             waiting_since_at = CASE WHEN $4 = 'contact' THEN COALESCE(waiting_since_at, $3) \
             WHEN $4 = 'agent' AND $5 = 0 THEN NULL ELSE waiting_since_at END, \
             first_contact_at = CASE WHEN $4 = 'contact' THEN COALESCE(first_contact_at, $3) ELSE first_contact_at END, \
             last_contact_at = CASE WHEN $4 = 'contact' THEN $3 ELSE last_contact_at END, \
             first_bot_at = CASE WHEN $4 = 'bot' THEN COALESCE(first_bot_at, $3) ELSE first_bot_at END \
             WHERE id = $1 AND workspace_id = $2 AND ($4 <> 'contact' OR contact_id = $6) \
             RETURNING {CONVERSATION_COLUMNS}"
        ))
        .bind(&new.conversation_id)
        .bind(&new.workspace_id)
        .bind(now)
        .bind(new.sender_kind.as_str())
        .bind(i64::from(new.private))
        .bind(&new.sender_id)
        .fetch_one(&mut *conn)
        .await?;
        let mut conversation = Conversation::from_row(&row)?;
        let mut status_changed = false;
        if new.sender_kind == SenderKind::Contact {
            let status = match new.screen.held {
                true => ConversationStatus::Blocked,
                false => conversation.status.after_customer_message(),
            };
            if status != conversation.status {
                status_changed = true;
                sqlx::query(
                    "UPDATE conversations SET status = $2, resolved_at = NULL, snoozed_until = NULL, \
                     reopened = reopened + CASE WHEN status = 'resolved' THEN 1 ELSE 0 END WHERE id = $1",
                )
                .bind(&new.conversation_id)
                .bind(status.as_str())
                .execute(&mut *conn)
                .await?;
                conversation.status = status;
                conversation.resolved_at = None;
                conversation.snoozed_until = None;
            }
        }
        if new.sender_kind == SenderKind::Agent
            && !new.private
            && conversation.first_agent_response_at.is_none()
        {
            sqlx::query("UPDATE conversations SET first_agent_response_at = $2 WHERE id = $1")
                .bind(&new.conversation_id)
                .bind(now)
                .execute(&mut *conn)
                .await?;
            conversation.first_agent_response_at = Some(now);
        }
        let inserted = sqlx::query(&format!(
            "INSERT INTO messages (id, conversation_id, seq, sender_kind, sender_id, body, private, \
             client_id, meta, sender_name, created_at, flag) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $11, $10, $12) \
             RETURNING {MESSAGE_COLUMNS}"
        ))
        .bind(new_id())
        .bind(&new.conversation_id)
        .bind(conversation.last_seq)
        .bind(new.sender_kind.as_str())
        .bind(&new.sender_id)
        .bind(new.body.as_str())
        .bind(i64::from(new.private))
        .bind(new.client_id.as_ref().map(ClientId::as_str))
        .bind(new.meta.as_deref())
        .bind(now)
        .bind(new.sender_name.as_deref())
        .bind(new.screen.flag.as_deref())
        .fetch_one(&mut *conn)
        .await;
        match inserted {
            Ok(row) => {
                let message = Message::from_row(&row)?;
                if let Some(flag) = &new.screen.flag {
                    Self::seal_flagged_in(conn, new, &message, flag, now).await?;
                }
                if new.screen.complaint
                    && Self::add_tag_in(conn, &new.workspace_id, &conversation.id, "complaint")
                        .await?
                {
                    sqlx::query("UPDATE conversations SET complaint = 1 WHERE id = $1")
                        .bind(&conversation.id)
                        .execute(&mut *conn)
                        .await?;
                    status_changed = true;
                }
                new.jobs.apply_in(conn, now).await?;
                Ok(Inserted {
                    conversation,
                    message,
                    status_changed,
                })
            }
            Err(err) if is_unique_violation(&err) => {
                Err(StoreError::Conflict("client_id already used".into()))
            }
            Err(err) => Err(err.into()),
        }
    }

    /// Seals a flagged message's original text and flag into the audit log (the case's
    /// evidence), in the message's transaction.
    async fn seal_flagged_in(
        conn: &mut AnyConnection,
        new: &MessageDraft,
        message: &Message,
        flag: &str,
        now: i64,
    ) -> Result<()> {
        let detail = serde_json::json!({
            "conversation_id": message.conversation_id,
            "seq": message.seq,
            "body": message.body,
            "flag": serde_json::from_str::<serde_json::Value>(flag).unwrap_or_default(),
        });
        Self::append_audit_in(
            conn,
            new.audit_key.as_deref(),
            &crate::audit::AuditEntry {
                workspace_id: &new.workspace_id,
                actor: &format!("contact:{}", new.sender_id),
                action: "message.flagged",
                target: &message.id,
                detail: &detail,
            },
            now,
        )
        .await
    }

    /// Human replies (agent, not notes) that no notification has carried yet.
    pub async fn unnotified_replies(&self, conversation_id: &str) -> Result<Vec<Message>> {
        let rows = sqlx::query(&format!(
            "SELECT {MESSAGE_COLUMNS} FROM messages WHERE conversation_id = $1 AND sender_kind = 'agent' AND private = 0 \
             AND seq > (SELECT notified_seq FROM conversations WHERE id = $1) ORDER BY seq"
        ))
        .bind(conversation_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(Message::from_row).collect()
    }

    /// Records that replies up to `seq` have been notified.
    pub async fn mark_notified(&self, conversation_id: &str, seq: i64) -> Result<()> {
        let mut w = self.begin_write().await?;
        sqlx::query(
            "UPDATE conversations SET notified_seq = $2 WHERE id = $1 AND notified_seq < $2",
        )
        .bind(conversation_id)
        .bind(seq)
        .execute(&mut *w.tx)
        .await?;
        w.commit().await
    }

    pub async fn message_by_client_id(
        &self,
        sender_kind: SenderKind,
        sender_id: &str,
        client_id: &ClientId,
    ) -> Result<Option<Message>> {
        let row = sqlx::query(&format!(
            "SELECT {MESSAGE_COLUMNS} FROM messages WHERE sender_kind = $1 AND sender_id = $2 AND client_id = $3"
        ))
        .bind(sender_kind.as_str())
        .bind(sender_id)
        .bind(client_id.as_str())
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(Message::from_row).transpose()
    }

    /// Messages with `seq > after_seq`, oldest first; notes only when `include_private`.
    /// The caller has checked that the conversation may be read.
    pub async fn messages_after(
        &self,
        conversation_id: &str,
        after_seq: i64,
        include_private: bool,
        limit: i64,
    ) -> Result<Vec<Message>> {
        let rows = sqlx::query(&format!(
            "SELECT {MESSAGE_COLUMNS} FROM messages WHERE conversation_id = $1 AND seq > $2 \
             AND (private = 0 OR $3 = 1) ORDER BY seq LIMIT $4"
        ))
        .bind(conversation_id)
        .bind(after_seq)
        .bind(i64::from(include_private))
        .bind(limit.clamp(1, 1000))
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(Message::from_row).collect()
    }

    /// All of a conversation's messages, notes included, in `seq` order (read in pages).
    pub async fn all_messages(&self, conversation_id: &str) -> Result<Vec<Message>> {
        let mut messages: Vec<Message> = Vec::new();
        loop {
            let after = messages.last().map_or(0, |m| m.seq);
            let page = self
                .messages_after(conversation_id, after, true, 1000)
                .await?;
            if page.is_empty() {
                return Ok(messages);
            }
            messages.extend(page);
        }
    }
}

impl Store {
    /// The messages among `ids` that belong to conversations of `workspace_id`.
    pub async fn messages_by_ids(
        &self,
        workspace_id: &str,
        ids: &[String],
    ) -> Result<Vec<Message>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let placeholders: Vec<String> = (2..=ids.len() + 1).map(|i| format!("${i}")).collect();
        let sql = format!(
            "SELECT {} FROM messages m JOIN conversations c ON c.id = m.conversation_id \
             WHERE c.workspace_id = $1 AND m.id IN ({})",
            message_columns_of_m(),
            placeholders.join(", ")
        );
        let mut query = sqlx::query(&sql).bind(workspace_id);
        for id in ids {
            query = query.bind(id);
        }
        let rows = query.fetch_all(self.pool()).await?;
        rows.iter().map(Message::from_row).collect()
    }

    /// Messages of every workspace created after `(at, id)` in time order, `limit` at a time:
    /// what the search index rebuilds and catches up from.
    pub async fn messages_to_index(&self, at: i64, id: &str, limit: i64) -> Result<Vec<IndexRow>> {
        let rows = sqlx::query(&format!(
            "SELECT {}, c.workspace_id, c.contact_id, c.subject FROM messages m \
             JOIN conversations c ON c.id = m.conversation_id \
             WHERE m.created_at > $1 OR (m.created_at = $1 AND m.id > $2) \
             ORDER BY m.created_at, m.id LIMIT $3",
            message_columns_of_m()
        ))
        .bind(at)
        .bind(id)
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|row| {
                let message = Message::from_row(row)?;
                Ok(IndexRow {
                    workspace_id: row.try_get("workspace_id")?,
                    contact_id: row.try_get("contact_id")?,
                    subject: match message.seq {
                        1 => row.try_get("subject")?,
                        _ => None,
                    },
                    message,
                })
            })
            .collect()
    }
}
