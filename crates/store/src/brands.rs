//! Brands: the shops one workspace answers for. A brand groups channels and carries its own
//! face (name, colour, logo, help-center address, e-mail sender); the agents limited to some
//! brands. A conversation keeps the brand its channel had when it began, and moves with the
//! channel when an admin moves the channel to another brand.

use sqlx::any::AnyRow;
use sqlx::Row;

use crate::{is_unique_violation, new_id, now_ms, Result, Store, StoreError};

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Brand {
    pub id: String,
    pub workspace_id: String,
    /// The brand's address in the help center (`/help/{slug}`), unique on the server.
    pub slug: String,
    pub name: String,
    /// The brand's colour (`#rrggbb`) on its help center.
    pub color: Option<String>,
    /// Who replies come from by e-mail: a display name and an address.
    pub sender_name: Option<String>,
    pub sender_email: Option<String>,
    pub has_logo: bool,
    pub created_at: i64,
}

/// What an admin sets on a brand.
#[derive(Debug, Clone, Default)]
pub struct BrandFields {
    pub slug: String,
    pub name: String,
    pub color: Option<String>,
    pub sender_name: Option<String>,
    pub sender_email: Option<String>,
}

const BRAND_COLUMNS: &str = "id, workspace_id, slug, name, color, sender_name, sender_email, \
     logo_type, created_at";

impl Brand {
    fn from_row(row: &AnyRow) -> Result<Self> {
        Ok(Self {
            id: row.try_get("id")?,
            workspace_id: row.try_get("workspace_id")?,
            slug: row.try_get("slug")?,
            name: row.try_get("name")?,
            color: row.try_get("color")?,
            sender_name: row.try_get("sender_name")?,
            sender_email: row.try_get("sender_email")?,
            has_logo: row.try_get::<Option<String>, _>("logo_type")?.is_some(),
            created_at: row.try_get("created_at")?,
        })
    }
}

/// A slug already taken (by this or another workspace) is a conflict.
fn conflict_on_slug(err: sqlx::Error) -> StoreError {
    if is_unique_violation(&err) {
        StoreError::Conflict("the brand address is already in use".into())
    } else {
        err.into()
    }
}

impl Store {
    /// The workspace's brands, oldest first.
    pub async fn brands(&self, workspace_id: &str) -> Result<Vec<Brand>> {
        let rows = sqlx::query(&format!(
            "SELECT {BRAND_COLUMNS} FROM brands WHERE workspace_id = $1 ORDER BY created_at, id"
        ))
        .bind(workspace_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(Brand::from_row).collect()
    }

    /// A brand of the workspace; others are not found.
    pub async fn brand(&self, workspace_id: &str, id: &str) -> Result<Brand> {
        let row = sqlx::query(&format!(
            "SELECT {BRAND_COLUMNS} FROM brands WHERE id = $1 AND workspace_id = $2"
        ))
        .bind(id)
        .bind(workspace_id)
        .fetch_optional(self.pool())
        .await?
        .ok_or(StoreError::NotFound)?;
        Brand::from_row(&row)
    }

    /// The brand at this help-center address.
    pub async fn brand_by_slug(&self, slug: &str) -> Result<Brand> {
        let row = sqlx::query(&format!(
            "SELECT {BRAND_COLUMNS} FROM brands WHERE slug = $1"
        ))
        .bind(slug)
        .fetch_optional(self.pool())
        .await?
        .ok_or(StoreError::NotFound)?;
        Brand::from_row(&row)
    }

    pub async fn create_brand(&self, workspace_id: &str, fields: &BrandFields) -> Result<Brand> {
        let mut w = self.begin_write().await?;
        let row = sqlx::query(&format!(
            "INSERT INTO brands (id, workspace_id, slug, name, color, sender_name, sender_email, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING {BRAND_COLUMNS}"
        ))
        .bind(new_id())
        .bind(workspace_id)
        .bind(&fields.slug)
        .bind(&fields.name)
        .bind(fields.color.as_deref())
        .bind(fields.sender_name.as_deref())
        .bind(fields.sender_email.as_deref())
        .bind(now_ms())
        .fetch_one(&mut *w.tx)
        .await
        .map_err(conflict_on_slug)?;
        w.commit().await?;
        Brand::from_row(&row)
    }

    pub async fn update_brand(
        &self,
        workspace_id: &str,
        id: &str,
        fields: &BrandFields,
    ) -> Result<Brand> {
        let mut w = self.begin_write().await?;
        let row = sqlx::query(&format!(
            "UPDATE brands SET slug = $3, name = $4, color = $5, sender_name = $6, sender_email = $7 \
             WHERE id = $1 AND workspace_id = $2 RETURNING {BRAND_COLUMNS}"
        ))
        .bind(id)
        .bind(workspace_id)
        .bind(&fields.slug)
        .bind(&fields.name)
        .bind(fields.color.as_deref())
        .bind(fields.sender_name.as_deref())
        .bind(fields.sender_email.as_deref())
        .fetch_optional(&mut *w.tx)
        .await
        .map_err(conflict_on_slug)?
        .ok_or(StoreError::NotFound)?;
        w.commit().await?;
        self.caches.channels.clear();
        Brand::from_row(&row)
    }

    /// Deletes a brand: its channels, conversations, articles and templates become the whole
    /// workspace's again, and the agents limited to it lose that brand.
    pub async fn delete_brand(&self, workspace_id: &str, id: &str) -> Result<()> {
        let mut w = self.begin_write().await?;
        self.brand(workspace_id, id).await?;
        for table in ["channels", "conversations", "articles", "templates"] {
            sqlx::query(&format!(
                "UPDATE {table} SET brand_id = NULL WHERE brand_id = $1 AND workspace_id = $2"
            ))
            .bind(id)
            .bind(workspace_id)
            .execute(&mut *w.tx)
            .await?;
        }
        sqlx::query("DELETE FROM agent_brands WHERE brand_id = $1")
            .bind(id)
            .execute(&mut *w.tx)
            .await?;
        sqlx::query("DELETE FROM brands WHERE id = $1 AND workspace_id = $2")
            .bind(id)
            .bind(workspace_id)
            .execute(&mut *w.tx)
            .await?;
        w.commit().await?;
        self.caches.channels.clear();
        Ok(())
    }

    /// Replaces the brand's logo (an image, by its sniffed content type).
    pub async fn set_brand_logo(
        &self,
        workspace_id: &str,
        id: &str,
        content_type: &str,
        data: &[u8],
    ) -> Result<()> {
        let mut w = self.begin_write().await?;
        let done = sqlx::query(
            "UPDATE brands SET logo_type = $3, logo = $4 WHERE id = $1 AND workspace_id = $2",
        )
        .bind(id)
        .bind(workspace_id)
        .bind(content_type)
        .bind(data.to_vec())
        .execute(&mut *w.tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        w.commit().await
    }

    /// The brand's logo as `(content_type, bytes)`; not found when it has none.
    pub async fn brand_logo(&self, id: &str) -> Result<(String, Vec<u8>)> {
        let row =
            sqlx::query("SELECT logo_type, logo FROM brands WHERE id = $1 AND logo IS NOT NULL")
                .bind(id)
                .fetch_optional(self.pool())
                .await?
                .ok_or(StoreError::NotFound)?;
        Ok((row.try_get("logo_type")?, row.try_get("logo")?))
    }

    /// Puts a channel in a brand (`None`: the whole workspace's); its conversations follow.
    pub async fn set_channel_brand(
        &self,
        workspace_id: &str,
        channel_id: &str,
        brand_id: Option<&str>,
    ) -> Result<()> {
        if let Some(brand) = brand_id {
            self.brand(workspace_id, brand).await?;
        }
        let mut w = self.begin_write().await?;
        let done =
            sqlx::query("UPDATE channels SET brand_id = $3 WHERE id = $1 AND workspace_id = $2")
                .bind(channel_id)
                .bind(workspace_id)
                .bind(brand_id)
                .execute(&mut *w.tx)
                .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        sqlx::query("UPDATE conversations SET brand_id = $2 WHERE channel_id = $1")
            .bind(channel_id)
            .bind(brand_id)
            .execute(&mut *w.tx)
            .await?;
        w.commit().await?;
        self.caches.channels.clear();
        Ok(())
    }

    /// The brands an agent is limited to; empty: every brand.
    pub async fn agent_brands(&self, agent_id: &str) -> Result<Vec<String>> {
        let rows =
            sqlx::query("SELECT brand_id FROM agent_brands WHERE agent_id = $1 ORDER BY brand_id")
                .bind(agent_id)
                .fetch_all(self.pool())
                .await?;
        rows.iter().map(|r| Ok(r.try_get("brand_id")?)).collect()
    }

    /// Every `(agent_id, brand_id)` limit in the workspace.
    pub async fn brand_limits(&self, workspace_id: &str) -> Result<Vec<(String, String)>> {
        let rows = sqlx::query(
            "SELECT l.agent_id, l.brand_id FROM agent_brands l JOIN brands b ON b.id = l.brand_id \
             WHERE b.workspace_id = $1 ORDER BY l.agent_id, l.brand_id",
        )
        .bind(workspace_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("agent_id")?, r.try_get("brand_id")?)))
            .collect()
    }

    /// Limits an agent to these brands of their workspace (empty: every brand).
    pub async fn set_agent_brands(
        &self,
        workspace_id: &str,
        agent_id: &str,
        brand_ids: &[String],
    ) -> Result<()> {
        let known: Vec<String> = self
            .brands(workspace_id)
            .await?
            .into_iter()
            .map(|b| b.id)
            .collect();
        if let Some(unknown) = brand_ids.iter().find(|b| !known.contains(b)) {
            return Err(StoreError::InvalidReference(format!(
                "{unknown:?} is not a brand of this workspace"
            )));
        }
        let mut w = self.begin_write().await?;
        sqlx::query("DELETE FROM agent_brands WHERE agent_id = $1")
            .bind(agent_id)
            .execute(&mut *w.tx)
            .await?;
        for brand in brand_ids {
            sqlx::query("INSERT INTO agent_brands (agent_id, brand_id) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                .bind(agent_id)
                .bind(brand)
                .execute(&mut *w.tx)
                .await?;
        }
        w.commit().await
    }
}
