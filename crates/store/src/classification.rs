//! Workspace settings about message content: which sensitive data is masked, the categories,
//! and the labelled history
//! its model learns from — the first customer message of every conversation whose category an
//! agent chose.

use sqlx::Row;

use crate::{Result, Store};

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

    /// Replaces which sensitive data the workspace masks (JSON).
    pub async fn set_sensitive_rules(&self, workspace_id: &str, rules: &str) -> Result<()> {
        let mut w = self.begin_write().await?;
        sqlx::query("UPDATE workspaces SET sensitive = $2 WHERE id = $1")
            .bind(workspace_id)
            .bind(rules)
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
