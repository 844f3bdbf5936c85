//! What messaging channels (LINE, Instagram) keep beside the messages: the newest reply token
//! a conversation's customer gave, when they last wrote, and what became of each message sent
//! out to the provider.

use sqlx::Row;

use crate::messages::{Message, MESSAGE_COLUMNS};
use crate::{Result, Store, StoreError};

impl Store {
    /// Remembers the reply token of the customer's newest message (replacing an older one).
    pub async fn set_reply_token(&self, conversation_id: &str, token: &str, at: i64) -> Result<()> {
        let mut w = self.begin_write().await?;
        sqlx::query("UPDATE conversations SET reply_token = $2, reply_token_at = $3 WHERE id = $1")
            .bind(conversation_id)
            .bind(token)
            .bind(at)
            .execute(&mut *w.tx)
            .await?;
        w.commit().await
    }

    /// The conversation's reply token if it was given at or after `fresh_since`, taken: a token
    /// answers once, so the next message goes another way.
    pub async fn take_reply_token(
        &self,
        conversation_id: &str,
        fresh_since: i64,
    ) -> Result<Option<String>> {
        let mut w = self.begin_write().await?;
        let row = sqlx::query(
            "SELECT reply_token FROM conversations WHERE id = $1 AND reply_token IS NOT NULL \
             AND reply_token_at >= $2",
        )
        .bind(conversation_id)
        .bind(fresh_since)
        .fetch_optional(&mut *w.tx)
        .await?;
        let token: Option<String> = row.map(|r| r.try_get("reply_token")).transpose()?;
        sqlx::query(
            "UPDATE conversations SET reply_token = NULL, reply_token_at = NULL WHERE id = $1",
        )
        .bind(conversation_id)
        .execute(&mut *w.tx)
        .await?;
        w.commit().await?;
        Ok(token)
    }

    /// When the customer last wrote in the conversation (Instagram's window runs from it).
    pub async fn last_contact_message_at(&self, conversation_id: &str) -> Result<Option<i64>> {
        let row = sqlx::query(
            "SELECT MAX(created_at) AS at FROM messages WHERE conversation_id = $1 AND sender_kind = 'contact'",
        )
        .bind(conversation_id)
        .fetch_one(self.pool())
        .await?;
        Ok(row.try_get("at")?)
    }

    /// Records what became of a message at the provider (`sent`, `retrying` or `failed`, and
    /// why); the message as it is now.
    pub async fn set_delivery(
        &self,
        message_id: &str,
        delivery: &str,
        detail: Option<&str>,
    ) -> Result<Message> {
        let mut w = self.begin_write().await?;
        let row = sqlx::query(&format!(
            "UPDATE messages SET delivery = $2, delivery_detail = $3 WHERE id = $1 \
             RETURNING {MESSAGE_COLUMNS}"
        ))
        .bind(message_id)
        .bind(delivery)
        .bind(detail)
        .fetch_optional(&mut *w.tx)
        .await?
        .ok_or(StoreError::NotFound)?;
        w.commit().await?;
        Message::from_row(&row)
    }
}
