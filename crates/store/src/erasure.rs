//! A contact's rights over their data: everything the shop holds about them in one piece
//! ([`Store::contact_export`]) and its erasure ([`Store::erase_contact`]).
//!
//! Retention ([`Store::apply_retention`]) removes the same content from old resolved
//! conversations under a workspace's policy, with a tombstone of its own.
//!
//! Erasure keeps the contact's row and conversations as empty shells (the reports still count
//! them) and removes, in one transaction: messages (notes included), attachments, the bot's
//! turns, rating and NPS comments, mail ids, blocks on the contact's addresses, queued jobs
//! about them, the conversations' subjects, identities and the profile. Audit events about the
//! contact keep their place in the chain but lose their detail; a tombstone event, sealed like
//! any other, lists the redacted events' hashes so that the chain still verifies (see
//! [`crate::audit`]) and itself holds no personal data. On SQLite deleted content is zeroed
//! (`secure_delete`) and the write-ahead log is truncated afterwards, so the erased text is no
//! longer in the database files.

use sqlx::{AnyConnection, Row};

use crate::attachments::Attachment;
use crate::audit::{AuditEntry, ERASED_DETAIL, ERASURE_TOMBSTONE, RETENTION_TOMBSTONE};
use crate::contacts::{Contact, Identity};
use crate::conversations::Conversation;
use crate::messages::Message;
use crate::{now_ms, Result, Store};
use madoguchi_core::retention::{Removal, Retention};

/// A score a customer gave, with their comment.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Feedback {
    pub score: i64,
    pub comment: Option<String>,
    pub created_at: i64,
}

/// One conversation of a contact with everything in it.
#[derive(Debug, Clone)]
pub struct ExportedConversation {
    pub conversation: Conversation,
    /// Notes for agents included, in `seq` order.
    pub messages: Vec<Message>,
    pub attachments: Vec<(Attachment, Vec<u8>)>,
    pub rating: Option<Feedback>,
    pub nps: Option<Feedback>,
}

/// Everything held about a contact.
#[derive(Debug, Clone)]
pub struct ContactExport {
    pub contact: Contact,
    pub identities: Vec<Identity>,
    /// Oldest first.
    pub conversations: Vec<ExportedConversation>,
}

/// What an erasure removed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Erased {
    pub conversation_ids: Vec<String>,
    pub messages: u64,
    pub attachments: u64,
    /// Audit events whose detail was redacted.
    pub redacted_events: usize,
}

impl Store {
    /// Everything held about a contact of the workspace.
    pub async fn contact_export(&self, workspace_id: &str, id: &str) -> Result<ContactExport> {
        let contact = self.contact(workspace_id, id).await?;
        let identities = self.contact_identities(workspace_id, id).await?;
        let ids: Vec<String> = sqlx::query(
            "SELECT id FROM conversations WHERE workspace_id = $1 AND contact_id = $2 \
             ORDER BY created_at, id",
        )
        .bind(workspace_id)
        .bind(id)
        .fetch_all(self.pool())
        .await?
        .iter()
        .map(|row| row.try_get("id"))
        .collect::<std::result::Result<_, _>>()?;
        let mut found = self.conversations_by_ids(workspace_id, &ids).await?;
        found.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        let mut conversations = Vec::with_capacity(found.len());
        for conversation in found {
            let messages = self.all_messages(&conversation.id).await?;
            let mut attachments = Vec::new();
            for row in sqlx::query(
                "SELECT id FROM attachments WHERE conversation_id = $1 ORDER BY created_at, id",
            )
            .bind(&conversation.id)
            .fetch_all(self.pool())
            .await?
            {
                let attachment_id: String = row.try_get("id")?;
                attachments.push(self.attachment(workspace_id, &attachment_id).await?);
            }
            let rating = self.feedback("ratings", &conversation.id).await?;
            let nps = self.feedback("nps_answers", &conversation.id).await?;
            conversations.push(ExportedConversation {
                conversation,
                messages,
                attachments,
                rating,
                nps,
            });
        }
        Ok(ContactExport {
            contact,
            identities,
            conversations,
        })
    }

    /// A conversation's rating or NPS answer (`table` is one of the two, never input).
    async fn feedback(
        &self,
        table: &'static str,
        conversation_id: &str,
    ) -> Result<Option<Feedback>> {
        let row = sqlx::query(&format!(
            "SELECT score, comment, created_at FROM {table} WHERE conversation_id = $1"
        ))
        .bind(conversation_id)
        .fetch_optional(self.pool())
        .await?;
        row.map(|row| {
            Ok(Feedback {
                score: row.try_get("score")?,
                comment: row.try_get("comment")?,
                created_at: row.try_get("created_at")?,
            })
        })
        .transpose()
    }

    /// Erases a contact of the workspace (see the module's documentation); `actor` is who asked.
    /// Erasing an erased contact again changes nothing.
    pub async fn erase_contact(&self, workspace_id: &str, id: &str, actor: &str) -> Result<Erased> {
        let contact = self.contact(workspace_id, id).await?;
        if contact.erased_at.is_some() {
            return Ok(Erased::default());
        }
        let now = now_ms();
        let mut w = self.begin_write().await?;
        let conn: &mut AnyConnection = &mut w.tx;
        let conversation_ids: Vec<String> =
            sqlx::query("SELECT id FROM conversations WHERE workspace_id = $1 AND contact_id = $2")
                .bind(workspace_id)
                .bind(id)
                .fetch_all(&mut *conn)
                .await?
                .iter()
                .map(|row| row.try_get("id"))
                .collect::<std::result::Result<_, _>>()?;
        let removed = remove_content_in(
            conn,
            workspace_id,
            (Scope::Contact, id),
            Removal::Delete,
            &conversation_ids,
        )
        .await?;
        for sql in [
            format!(
                "DELETE FROM blocks WHERE workspace_id = $1 AND (value = $2 OR conversation_id IN ({}) \
                 OR value IN (SELECT value FROM contact_identities WHERE contact_id = $2) \
                 OR value IN (SELECT email FROM contacts WHERE id = $2) \
                 OR value IN (SELECT phone FROM contacts WHERE id = $2))",
                Scope::Contact.conversations()
            ),
            "DELETE FROM mail_ids WHERE workspace_id = $1 AND contact_id = $2".to_owned(),
            "DELETE FROM contact_identities WHERE workspace_id = $1 AND contact_id = $2".to_owned(),
        ] {
            sqlx::query(&sql)
                .bind(workspace_id)
                .bind(id)
                .execute(&mut *conn)
                .await?;
        }
        // Queued jobs about them by name (their conversations' went with the content).
        sqlx::query("DELETE FROM jobs WHERE payload LIKE $1")
            .bind(format!("%{id}%"))
            .execute(&mut *conn)
            .await?;
        sqlx::query(
            "UPDATE contacts SET name = NULL, email = NULL, phone = NULL, attributes = '{}', shop_data = NULL, \
             erased_at = $3, updated_at = $3 WHERE workspace_id = $1 AND id = $2",
        )
        .bind(workspace_id)
        .bind(id)
        .bind(now)
        .execute(&mut *conn)
        .await?;
        let tombstone = serde_json::json!({
            "conversations": conversation_ids.len(),
            "messages": removed.messages,
            "attachments": removed.attachments,
            "redacted": removed.redacted,
        });
        Self::append_audit_in(
            conn,
            self.audit_key.as_deref(),
            &AuditEntry {
                workspace_id,
                actor,
                action: ERASURE_TOMBSTONE,
                target: &format!("contact:{id}"),
                detail: &tombstone,
            },
            now,
        )
        .await?;
        w.commit().await?;
        self.caches.contacts.forget(|c| c.id == id);
        self.caches.blocks.clear();
        self.truncate_log().await?;
        Ok(Erased {
            conversation_ids,
            messages: removed.messages,
            attachments: removed.attachments,
            redacted_events: removed.redacted.len(),
        })
    }

    /// Applies a workspace's retention policy to at most `limit` conversations at once: the
    /// messages of conversations resolved before the policy's time are deleted or emptied,
    /// files older than its time removed, audit details about them redacted under one
    /// tombstone (`retention.applied`). Call again until nothing is left to do.
    pub async fn apply_retention(
        &self,
        workspace_id: &str,
        policy: &Retention,
        now: i64,
        limit: i64,
    ) -> Result<Erased> {
        let mut w = self.begin_write().await?;
        let conn: &mut AnyConnection = &mut w.tx;
        let conversation_ids: Vec<String> = match policy.resolved_before(now) {
            None => Vec::new(),
            Some(before) => sqlx::query(
                "SELECT c.id FROM conversations c WHERE c.workspace_id = $1 AND c.status = 'resolved' \
                 AND c.resolved_at < $2 AND EXISTS (SELECT 1 FROM messages m \
                 WHERE m.conversation_id = c.id AND (m.body <> '' OR $3 = 0)) \
                 ORDER BY c.resolved_at LIMIT $4",
            )
            .bind(workspace_id)
            .bind(before)
            .bind(i64::from(policy.removal == Removal::Redact))
            .bind(limit)
            .fetch_all(&mut *conn)
            .await?
            .iter()
            .map(|row| row.try_get("id"))
            .collect::<std::result::Result<_, _>>()?,
        };
        let mut done = Erased::default();
        let mut redacted = Vec::new();
        for id in &conversation_ids {
            let removed = remove_content_in(
                conn,
                workspace_id,
                (Scope::Conversation, id),
                policy.removal,
                std::slice::from_ref(id),
            )
            .await?;
            done.messages += removed.messages;
            done.attachments += removed.attachments;
            done.redacted_events += removed.redacted.len();
            redacted.extend(removed.redacted);
        }
        if let Some(before) = policy.attachments_before(now) {
            done.attachments +=
                sqlx::query("DELETE FROM attachments WHERE workspace_id = $1 AND created_at < $2")
                    .bind(workspace_id)
                    .bind(before)
                    .execute(&mut *conn)
                    .await?
                    .rows_affected();
        }
        if done.messages == 0 && done.attachments == 0 {
            return Ok(Erased::default());
        }
        let tombstone = serde_json::json!({
            "conversations": conversation_ids.len(),
            "messages": done.messages,
            "attachments": done.attachments,
            "removal": policy.removal,
            "redacted": redacted,
        });
        Self::append_audit_in(
            conn,
            self.audit_key.as_deref(),
            &AuditEntry {
                workspace_id,
                actor: "system",
                action: RETENTION_TOMBSTONE,
                target: &format!("workspace:{workspace_id}"),
                detail: &tombstone,
            },
            now,
        )
        .await?;
        w.commit().await?;
        self.truncate_log().await?;
        done.conversation_ids = conversation_ids;
        Ok(done)
    }
}

/// Whose conversations a removal covers; the id binds `$2`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scope {
    Contact,
    Conversation,
}

impl Scope {
    /// The conversations, as a subquery on `$2`.
    fn conversations(self) -> &'static str {
        match self {
            Scope::Contact => "SELECT id FROM conversations WHERE contact_id = $2",
            Scope::Conversation => "SELECT id FROM conversations WHERE id = $2",
        }
    }
}

/// What a removal took.
struct Removed {
    messages: u64,
    attachments: u64,
    redacted: Vec<(i64, String)>,
}

/// Removes what the conversations of `scope` hold — messages (deleted or emptied), files, the
/// bot's turns, rating and NPS comments, mail ids, subjects, queued jobs about
/// `conversation_ids` — and empties the audit details about them (and, for a contact, by or
/// about them).
async fn remove_content_in(
    conn: &mut AnyConnection,
    workspace_id: &str,
    (scope, id): (Scope, &str),
    removal: Removal,
    conversation_ids: &[String],
) -> Result<Removed> {
    let of = scope.conversations();
    let redacted = redact_audit_in(conn, workspace_id, (scope, id)).await?;
    let attachments = sqlx::query(&format!(
        "DELETE FROM attachments WHERE workspace_id = $1 AND conversation_id IN ({of})"
    ))
    .bind(workspace_id)
    .bind(id)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    let messages = match removal {
        Removal::Delete => {
            format!("DELETE FROM messages WHERE conversation_id IN ({of} AND workspace_id = $1)")
        }
        Removal::Redact => format!(
            "UPDATE messages SET body = '', meta = NULL, client_id = NULL \
             WHERE conversation_id IN ({of} AND workspace_id = $1) AND body <> ''"
        ),
    };
    let messages = sqlx::query(&messages)
        .bind(workspace_id)
        .bind(id)
        .execute(&mut *conn)
        .await?
        .rows_affected();
    for sql in [
        format!("DELETE FROM bot_turns WHERE workspace_id = $1 AND conversation_id IN ({of})"),
        format!("UPDATE ratings SET comment = NULL WHERE workspace_id = $1 AND conversation_id IN ({of})"),
        format!("UPDATE nps_answers SET comment = NULL WHERE workspace_id = $1 AND conversation_id IN ({of})"),
        format!("DELETE FROM mail_ids WHERE workspace_id = $1 AND conversation_id IN ({of})"),
        format!("UPDATE conversations SET subject = NULL WHERE workspace_id = $1 AND id IN ({of})"),
    ] {
        sqlx::query(&sql)
            .bind(workspace_id)
            .bind(id)
            .execute(&mut *conn)
            .await?;
    }
    // Queued notifications and webhooks about a conversation name it.
    for conversation in conversation_ids {
        sqlx::query("DELETE FROM jobs WHERE payload LIKE $1")
            .bind(format!("%{conversation}%"))
            .execute(&mut *conn)
            .await?;
    }
    Ok(Removed {
        messages,
        attachments,
        redacted,
    })
}

/// Empties the audit detail of the events about the conversations of `scope` and their
/// messages (for a contact: also by them, about them and their blocks); their `(seq, hash)`
/// pairs, for the tombstone.
async fn redact_audit_in(
    conn: &mut AnyConnection,
    workspace_id: &str,
    (scope, id): (Scope, &str),
) -> Result<Vec<(i64, String)>> {
    let of = scope.conversations();
    let by_contact = match scope {
        Scope::Contact => {
            "OR actor = $3 OR target = $3 OR target = $2 \
            OR target IN (SELECT b.id FROM blocks b WHERE b.workspace_id = $1 AND b.value = $2)"
        }
        Scope::Conversation => "",
    };
    let about = format!(
        "workspace_id = $1 AND detail <> $4 AND (target IN ({of}) \
         OR target IN (SELECT m.id FROM messages m WHERE m.conversation_id IN ({of})) {by_contact})"
    );
    let tag = format!("contact:{id}");
    let rows = sqlx::query(&format!(
        "SELECT seq, hash FROM audit_events WHERE {about} ORDER BY seq"
    ))
    .bind(workspace_id)
    .bind(id)
    .bind(&tag)
    .bind(ERASED_DETAIL)
    .fetch_all(&mut *conn)
    .await?;
    let redacted = rows
        .iter()
        .map(|row| Ok((row.try_get("seq")?, row.try_get("hash")?)))
        .collect::<Result<Vec<(i64, String)>>>()?;
    sqlx::query(&format!(
        "UPDATE audit_events SET detail = $4 WHERE {about}"
    ))
    .bind(workspace_id)
    .bind(id)
    .bind(&tag)
    .bind(ERASED_DETAIL)
    .execute(&mut *conn)
    .await?;
    Ok(redacted)
}

impl Store {
    /// Contacts of every workspace erased at or after `at` (Unix ms): what a search index that
    /// was closed meanwhile must forget.
    pub async fn contacts_erased_since(&self, at: i64) -> Result<Vec<String>> {
        sqlx::query("SELECT id FROM contacts WHERE erased_at >= $1")
            .bind(at)
            .fetch_all(self.pool())
            .await?
            .iter()
            .map(|row| Ok(row.try_get("id")?))
            .collect()
    }
}
