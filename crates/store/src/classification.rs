//! Workspace settings about message content: which sensitive data is masked, how long it is
//! kept, the categories,
//! and the labelled history
//! its model learns from — the first customer message of every conversation whose category an
//! agent chose.

use sqlx::Row;

use crate::{Result, Store};

/// A workspace's privacy settings, each a JSON column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrivacySetting {
    /// Which sensitive data is masked (`madoguchi_core::sensitive::Rules`).
    Masking,
    /// How long conversations and files are kept (`madoguchi_core::retention::Retention`).
    Retention,
}

impl Store {
    /// Replaces the workspace's categories (a JSON array; `None`: back to the defaults).
    pub async fn set_categories(&self, workspace_id: &str, categories: Option<&str>) -> Result<()> {
        let mut w = self.begin_write().await?;
        sqlx::query("UPDATE workspaces SET categories = $2 WHERE id = $1")
            .bind(workspace_id)
            .bind(categories)
            .execute(&mut *w.tx)
            .await?;
        w.commit().await?;
        self.caches.workspaces.clear();
        Ok(())
    }

    /// Replaces one of the workspace's privacy settings (JSON): which sensitive data it masks,
    /// or how long it keeps conversations.
    pub async fn set_privacy_setting(
        &self,
        workspace_id: &str,
        setting: PrivacySetting,
        json: &str,
    ) -> Result<()> {
        let column = match setting {
            PrivacySetting::Masking => "sensitive",
            PrivacySetting::Retention => "retention",
        };
        let mut w = self.begin_write().await?;
        sqlx::query(&format!(
            "UPDATE workspaces SET {column} = $2 WHERE id = $1"
        ))
        .bind(workspace_id)
        .bind(json)
        .execute(&mut *w.tx)
        .await?;
        w.commit().await?;
        self.caches.workspaces.clear();
        Ok(())
    }

    /// `(first customer message, category)` of the newest `limit` conversations an agent
    /// categorised.
    pub async fn labelled_examples(
        &self,
        workspace_id: &str,
        limit: i64,
    ) -> Result<Vec<(String, String)>> {
        let rows = sqlx::query(
            "SELECT c.category, m.body FROM conversations c JOIN messages m \
             ON m.conversation_id = c.id AND m.seq = (SELECT MIN(f.seq) FROM messages f \
                 WHERE f.conversation_id = c.id AND f.sender_kind = 'contact' AND f.private = 0) \
             WHERE c.workspace_id = $1 AND c.category_source = 'agent' AND c.category IS NOT NULL \
             ORDER BY c.created_at DESC LIMIT $2",
        )
        .bind(workspace_id)
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("body")?, r.try_get("category")?)))
            .collect()
    }
}
