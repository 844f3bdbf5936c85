//! The Message-IDs of the mails in each conversation, both ways (what customers sent, what
//! agents' replies went out as), so that a reply naming any of them threads into its
//! conversation. Kept per contact: replies of different people to one mailing, which share its
//! Message-ID, stay in their own conversations.

use sqlx::Row;

use crate::{Result, Store};

impl Store {
    /// Remembers that these Message-IDs belong to a conversation of `contact_id`.
    pub async fn remember_mail_ids(
        &self,
        workspace_id: &str,
        conversation_id: &str,
        contact_id: &str,
        message_ids: &[&str],
        at: i64,
    ) -> Result<()> {
        let mut w = self.begin_write().await?;
        for message_id in message_ids {
            sqlx::query(
                "INSERT INTO mail_ids (workspace_id, message_id, contact_id, conversation_id, created_at) \
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (workspace_id, message_id, contact_id) DO NOTHING",
            )
            .bind(workspace_id)
            .bind(message_id)
            .bind(contact_id)
            .bind(conversation_id)
            .bind(at)
            .execute(&mut *w.tx)
            .await?;
        }
        w.commit().await
    }

    /// The newest conversation of `contact_id` that one of these Message-IDs belongs to.
    pub async fn conversation_of_mail(
        &self,
        workspace_id: &str,
        contact_id: &str,
        message_ids: &[&str],
    ) -> Result<Option<String>> {
        let mut newest: Option<(i64, String)> = None;
        for message_id in message_ids {
            let row = sqlx::query(
                "SELECT conversation_id, created_at FROM mail_ids \
                 WHERE workspace_id = $1 AND message_id = $2 AND contact_id = $3",
            )
            .bind(workspace_id)
            .bind(message_id)
            .bind(contact_id)
            .fetch_optional(self.pool())
            .await?;
            if let Some(row) = row {
                let at: i64 = row.try_get("created_at")?;
                if newest.as_ref().is_none_or(|(seen, _)| at > *seen) {
                    newest = Some((at, row.try_get("conversation_id")?));
                }
            }
        }
        Ok(newest.map(|(_, id)| id))
    }

    /// A conversation's Message-IDs, oldest first (for an outgoing reply's `References`).
    pub async fn mail_ids_of(&self, conversation_id: &str) -> Result<Vec<String>> {
        let rows = sqlx::query(
            "SELECT DISTINCT message_id, created_at FROM mail_ids WHERE conversation_id = $1 \
             ORDER BY created_at, message_id",
        )
        .bind(conversation_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|row| Ok(row.try_get("message_id")?))
            .collect()
    }
}
