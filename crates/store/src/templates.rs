//! Canned replies and the workspace's tag list.

use sqlx::any::AnyRow;
use sqlx::Row;

use crate::{is_unique_violation, new_id, now_ms, Result, Store, StoreError};

/// A canned reply; its body may hold `{{contact.name}}`-style variables.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Template {
    pub id: String,
    pub name: String,
    pub body: String,
    /// The one brand whose conversations offer it; `None`: every brand's.
    pub brand_id: Option<String>,
    pub created_at: i64,
}

impl Template {
    fn from_row(row: &AnyRow) -> Result<Self> {
        Ok(Self {
            id: row.try_get("id")?,
            name: row.try_get("name")?,
            body: row.try_get("body")?,
            brand_id: row.try_get("brand_id")?,
            created_at: row.try_get("created_at")?,
        })
    }
}

/// What an admin writes in a template.
#[derive(Debug, Clone, Copy)]
pub struct TemplateFields<'a> {
    pub name: &'a str,
    pub body: &'a str,
    pub brand_id: Option<&'a str>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Tag {
    pub id: String,
    pub name: String,
    /// Conversations carrying the tag.
    pub conversations: i64,
}

impl Store {
    pub async fn templates(&self, workspace_id: &str) -> Result<Vec<Template>> {
        let rows = sqlx::query("SELECT id, name, body, brand_id, created_at FROM templates WHERE workspace_id = $1 ORDER BY name")
            .bind(workspace_id)
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(Template::from_row).collect()
    }

    /// Creates a template; a name already in use is a [`StoreError::Conflict`].
    pub async fn create_template(
        &self,
        workspace_id: &str,
        fields: &TemplateFields<'_>,
    ) -> Result<Template> {
        let TemplateFields {
            name,
            body,
            brand_id,
        } = *fields;
        let mut w = self.begin_write().await?;
        let inserted = sqlx::query(
            "INSERT INTO templates (id, workspace_id, name, body, created_at, brand_id) \
             VALUES ($1, $2, $3, $4, $5, $6) \
             RETURNING id, name, body, brand_id, created_at",
        )
        .bind(new_id())
        .bind(workspace_id)
        .bind(name)
        .bind(body)
        .bind(now_ms())
        .bind(brand_id)
        .fetch_one(&mut *w.tx)
        .await;
        let row = match inserted {
            Err(err) if is_unique_violation(&err) => {
                return Err(StoreError::Conflict(format!(
                    "a template named {name} exists"
                )))
            }
            other => other?,
        };
        w.commit().await?;
        Template::from_row(&row)
    }

    /// Renames and rewrites a template; a name already in use is a [`StoreError::Conflict`].
    pub async fn update_template(
        &self,
        workspace_id: &str,
        id: &str,
        fields: &TemplateFields<'_>,
    ) -> Result<Template> {
        let TemplateFields {
            name,
            body,
            brand_id,
        } = *fields;
        let mut w = self.begin_write().await?;
        let updated = sqlx::query(
            "UPDATE templates SET name = $3, body = $4, brand_id = $5 WHERE id = $1 AND workspace_id = $2 \
             RETURNING id, name, body, brand_id, created_at",
        )
        .bind(id)
        .bind(workspace_id)
        .bind(name)
        .bind(body)
        .bind(brand_id)
        .fetch_one(&mut *w.tx)
        .await;
        let row = match updated {
            Err(err) if is_unique_violation(&err) => {
                return Err(StoreError::Conflict(format!(
                    "a template named {name} exists"
                )))
            }
            other => other?,
        };
        w.commit().await?;
        Template::from_row(&row)
    }

    pub async fn delete_template(&self, workspace_id: &str, id: &str) -> Result<()> {
        let mut w = self.begin_write().await?;
        let done = sqlx::query("DELETE FROM templates WHERE id = $1 AND workspace_id = $2")
            .bind(id)
            .bind(workspace_id)
            .execute(&mut *w.tx)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        w.commit().await
    }

    /// The workspace's tags with how many conversations carry each.
    pub async fn tags(&self, workspace_id: &str) -> Result<Vec<Tag>> {
        let rows = sqlx::query(
            "SELECT t.id, t.name, (SELECT COUNT(*) FROM conversation_tags ct WHERE ct.tag_id = t.id) AS n \
             FROM tags t WHERE t.workspace_id = $1 ORDER BY t.name",
        )
        .bind(workspace_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|row| {
                Ok(Tag {
                    id: row.try_get("id")?,
                    name: row.try_get("name")?,
                    conversations: row.try_get("n")?,
                })
            })
            .collect()
    }

    pub async fn create_tag(&self, workspace_id: &str, name: &str) -> Result<Tag> {
        let mut w = self.begin_write().await?;
        sqlx::query("INSERT INTO tags (id, workspace_id, name) VALUES ($1, $2, $3) ON CONFLICT (workspace_id, name) DO NOTHING")
            .bind(new_id())
            .bind(workspace_id)
            .bind(name)
            .execute(&mut *w.tx)
            .await?;
        w.commit().await?;
        self.tags(workspace_id)
            .await?
            .into_iter()
            .find(|tag| tag.name == name)
            .ok_or(StoreError::NotFound)
    }

    /// Deletes a tag and removes it from every conversation.
    pub async fn delete_tag(&self, workspace_id: &str, id: &str) -> Result<()> {
        let mut w = self.begin_write().await?;
        sqlx::query(
            "DELETE FROM conversation_tags WHERE tag_id = (SELECT id FROM tags WHERE id = $1 AND workspace_id = $2)",
        )
        .bind(id)
        .bind(workspace_id)
        .execute(&mut *w.tx)
        .await?;
        let done = sqlx::query("DELETE FROM tags WHERE id = $1 AND workspace_id = $2")
            .bind(id)
            .bind(workspace_id)
            .execute(&mut *w.tx)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        w.commit().await
    }
}
