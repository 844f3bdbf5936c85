//! Links mailed for an account: an invitation to join a workspace, or a password reset. Each
//! is used once, before it expires; using it is one transaction (the invited agent is created,
//! or the password replaced, and the link spent), so two clicks never make two accounts.

use madoguchi_core::agent::{Email, Role};
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::agents::{Agent, NewAgent};
use crate::{new_id, Result, Store, StoreError};

pub const INVITE: &str = "invite";
pub const RESET: &str = "reset";

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AccountLink {
    pub id: String,
    pub workspace_id: String,
    /// [`INVITE`] or [`RESET`].
    pub kind: String,
    pub email: String,
    pub name: Option<String>,
    pub role: Option<String>,
    /// The agent a reset is for.
    pub agent_id: Option<String>,
    pub created_by: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub used_at: Option<i64>,
}

impl AccountLink {
    fn from_row(row: &AnyRow) -> Result<Self> {
        Ok(Self {
            id: row.try_get("id")?,
            workspace_id: row.try_get("workspace_id")?,
            kind: row.try_get("kind")?,
            email: row.try_get("email")?,
            name: row.try_get("name")?,
            role: row.try_get("role")?,
            agent_id: row.try_get("agent_id")?,
            created_by: row.try_get("created_by")?,
            created_at: row.try_get("created_at")?,
            expires_at: row.try_get("expires_at")?,
            used_at: row.try_get("used_at")?,
        })
    }
}

const LINK_COLUMNS: &str = "id, workspace_id, kind, email, name, role, agent_id, created_by, \
     created_at, expires_at, used_at";

/// A link to make.
pub struct NewLink<'a> {
    pub workspace_id: &'a str,
    pub kind: &'static str,
    pub email: &'a Email,
    pub name: Option<&'a str>,
    pub role: Option<Role>,
    pub agent_id: Option<&'a str>,
    pub created_by: &'a str,
    pub now: i64,
    pub expires_at: i64,
}

/// Why a link cannot be used.
fn spent() -> StoreError {
    StoreError::Conflict("this link was used already or has expired".into())
}

impl Store {
    pub async fn create_account_link(&self, new: &NewLink<'_>) -> Result<AccountLink> {
        let mut w = self.begin_write().await?;
        let row = sqlx::query(&format!(
            "INSERT INTO account_links (id, workspace_id, kind, email, name, role, agent_id, \
             created_by, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
             RETURNING {LINK_COLUMNS}"
        ))
        .bind(new_id())
        .bind(new.workspace_id)
        .bind(new.kind)
        .bind(new.email.as_str())
        .bind(new.name)
        .bind(new.role.map(Role::as_str))
        .bind(new.agent_id)
        .bind(new.created_by)
        .bind(new.now)
        .bind(new.expires_at)
        .fetch_one(&mut *w.tx)
        .await?;
        w.commit().await?;
        AccountLink::from_row(&row)
    }

    pub async fn account_link(&self, id: &str) -> Result<AccountLink> {
        let row = sqlx::query(&format!(
            "SELECT {LINK_COLUMNS} FROM account_links WHERE id = $1"
        ))
        .bind(id)
        .fetch_one(self.pool())
        .await?;
        AccountLink::from_row(&row)
    }

    /// The workspace's invitations not used yet, newest first (expired ones too).
    pub async fn open_invitations(&self, workspace_id: &str) -> Result<Vec<AccountLink>> {
        let rows = sqlx::query(&format!(
            "SELECT {LINK_COLUMNS} FROM account_links WHERE workspace_id = $1 AND kind = 'invite' \
             AND used_at IS NULL ORDER BY created_at DESC LIMIT 200"
        ))
        .bind(workspace_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(AccountLink::from_row).collect()
    }

    /// Spends an invitation: the agent it names is created with `password_hash`.
    pub async fn accept_invitation(
        &self,
        id: &str,
        password_hash: &str,
        now: i64,
    ) -> Result<Agent> {
        let mut w = self.begin_write().await?;
        let link = Self::spend_in(&mut w, id, INVITE, now).await?;
        let role = Role::parse(link.role.as_deref().unwrap_or("agent"))?;
        let email = Email::parse(&link.email)?;
        let agent = Self::insert_agent_in(
            &mut w.tx,
            &NewAgent {
                workspace_id: &link.workspace_id,
                email: &email,
                name: link.name.as_deref().unwrap_or(email.as_str()),
                role,
                password_hash,
            },
        )
        .await?;
        sqlx::query("UPDATE account_links SET agent_id = $2 WHERE id = $1")
            .bind(id)
            .bind(&agent.id)
            .execute(&mut *w.tx)
            .await?;
        w.commit().await?;
        Ok(agent)
    }

    /// Spends a password reset: the agent's password becomes `password_hash`; their id.
    pub async fn reset_password(&self, id: &str, password_hash: &str, now: i64) -> Result<String> {
        let mut w = self.begin_write().await?;
        let link = Self::spend_in(&mut w, id, RESET, now).await?;
        let agent_id = link.agent_id.ok_or_else(spent)?;
        let changed = sqlx::query(
            "UPDATE agents SET password_hash = $2 WHERE id = $1 AND disabled_at IS NULL",
        )
        .bind(&agent_id)
        .bind(password_hash)
        .execute(&mut *w.tx)
        .await?;
        if changed.rows_affected() == 0 {
            return Err(spent());
        }
        w.commit().await?;
        Ok(agent_id)
    }

    /// Marks a live link of `kind` used; it is a conflict when used, expired or of another kind.
    async fn spend_in(
        w: &mut crate::db::WriteTx,
        id: &str,
        kind: &str,
        now: i64,
    ) -> Result<AccountLink> {
        let row = sqlx::query(&format!(
            "UPDATE account_links SET used_at = $3 WHERE id = $1 AND kind = $2 \
             AND used_at IS NULL AND expires_at > $3 RETURNING {LINK_COLUMNS}"
        ))
        .bind(id)
        .bind(kind)
        .bind(now)
        .fetch_optional(&mut *w.tx)
        .await?;
        row.as_ref().map(AccountLink::from_row).ok_or_else(spent)?
    }
}
