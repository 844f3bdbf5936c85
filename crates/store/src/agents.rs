//! Agents (the shop's staff) and their tokens. Tokens are stored as SHA-256 hashes only. An
//! agent can be disabled (no login, no token works) and deleted (anonymised and disabled: their
//! conversations and messages stay); ending their tokens returns the hashes so that open
//! WebSockets can be closed.

use madoguchi_core::agent::{Email, Role};
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::{is_unique_violation, new_id, now_ms, Result, Store, StoreError};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Agent {
    pub id: String,
    pub workspace_id: String,
    pub email: String,
    pub name: String,
    pub role: Role,
    pub password_hash: String,
    pub locale: String,
    /// Set while the agent may not log in or use any token.
    pub disabled_at: Option<i64>,
    pub created_at: i64,
}

impl Agent {
    fn from_row(row: &AnyRow) -> Result<Self> {
        Ok(Self {
            id: row.try_get("id")?,
            workspace_id: row.try_get("workspace_id")?,
            email: row.try_get("email")?,
            name: row.try_get("name")?,
            role: Role::parse(&row.try_get::<String, _>("role")?)?,
            password_hash: row.try_get("password_hash")?,
            locale: row.try_get("locale")?,
            disabled_at: row.try_get("disabled_at")?,
            created_at: row.try_get("created_at")?,
        })
    }
}

const AGENT_COLUMNS: &str =
    "id, workspace_id, email, name, role, password_hash, locale, disabled_at, created_at";

/// How a token was issued: a browser session (cookie, CSRF-checked) or an API token (bearer).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    Session,
    Api,
}

impl TokenKind {
    fn as_str(self) -> &'static str {
        match self {
            TokenKind::Session => "session",
            TokenKind::Api => "api",
        }
    }
}

/// A token as found by its hash.
#[derive(Debug, Clone)]
pub struct TokenGrant {
    pub agent: Agent,
    pub kind: TokenKind,
    pub csrf_hash: Option<String>,
    /// When the token was last used (or made), as recorded by [`Store::touch_token`].
    pub last_used_at: i64,
}

pub struct NewAgent<'a> {
    pub workspace_id: &'a str,
    pub email: &'a Email,
    pub name: &'a str,
    pub role: Role,
    pub password_hash: &'a str,
}

/// The name a deleted agent's messages and assignments show.
pub const DELETED_AGENT_NAME: &str = "削除された担当者";

impl Store {
    /// Creates an agent; an e-mail address already in use is a [`StoreError::Conflict`].
    pub async fn create_agent(&self, new: NewAgent<'_>) -> Result<Agent> {
        let mut w = self.begin_write().await?;
        let agent = Self::insert_agent_in(&mut w.tx, &new).await?;
        w.commit().await?;
        Ok(agent)
    }

    /// Adds an agent inside a write transaction.
    pub(crate) async fn insert_agent_in(
        conn: &mut sqlx::AnyConnection,
        new: &NewAgent<'_>,
    ) -> Result<Agent> {
        let inserted = sqlx::query(&format!(
            "INSERT INTO agents (id, workspace_id, email, name, role, password_hash, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING {AGENT_COLUMNS}"
        ))
        .bind(new_id())
        .bind(new.workspace_id)
        .bind(new.email.as_str())
        .bind(new.name)
        .bind(new.role.as_str())
        .bind(new.password_hash)
        .bind(now_ms())
        .fetch_one(&mut *conn)
        .await;
        let row = match inserted {
            Err(err) if is_unique_violation(&err) => {
                // Neutral: e-mail addresses are unique across workspaces, and the answer must
                // not tell a workspace's admin where else an address is used.
                return Err(StoreError::Conflict(
                    "this e-mail address cannot be used for a new agent".into(),
                ));
            }
            other => other?,
        };
        Agent::from_row(&row)
    }

    pub async fn agent_by_email(&self, email: &Email) -> Result<Agent> {
        let row = sqlx::query(&format!(
            "SELECT {AGENT_COLUMNS} FROM agents WHERE email = $1"
        ))
        .bind(email.as_str())
        .fetch_one(self.pool())
        .await?;
        Agent::from_row(&row)
    }

    /// An agent of `workspace_id`; agents of other workspaces are [`StoreError::NotFound`].
    pub async fn agent(&self, workspace_id: &str, id: &str) -> Result<Agent> {
        let row = sqlx::query(&format!(
            "SELECT {AGENT_COLUMNS} FROM agents WHERE id = $1 AND workspace_id = $2"
        ))
        .bind(id)
        .bind(workspace_id)
        .fetch_one(self.pool())
        .await?;
        Agent::from_row(&row)
    }

    pub async fn agents(&self, workspace_id: &str) -> Result<Vec<Agent>> {
        let rows = sqlx::query(&format!(
            "SELECT {AGENT_COLUMNS} FROM agents WHERE workspace_id = $1 ORDER BY created_at, id"
        ))
        .bind(workspace_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(Agent::from_row).collect()
    }

    /// Renames an agent or changes their role. A workspace keeps at least one admin or owner:
    /// taking the role from the last one is a [`crate::StoreError::Conflict`].
    pub async fn update_agent(
        &self,
        workspace_id: &str,
        id: &str,
        name: &str,
        role: Role,
    ) -> Result<Agent> {
        let before = self.agent(workspace_id, id).await?;
        let mut w = self.begin_write().await?;
        let row = sqlx::query(&format!(
            "UPDATE agents SET name = $3, role = $4 WHERE id = $1 AND workspace_id = $2 RETURNING {AGENT_COLUMNS}"
        ))
        .bind(id)
        .bind(workspace_id)
        .bind(name)
        .bind(role.as_str())
        .fetch_one(&mut *w.tx)
        .await?;
        Self::keep_an_admin(
            &mut w,
            workspace_id,
            matches!(before.role, Role::Admin | Role::Owner),
        )
        .await?;
        w.commit().await?;
        Agent::from_row(&row)
    }

    /// Sets the UI language of an agent (`ja` or `en`).
    pub async fn set_agent_locale(&self, id: &str, locale: &str) -> Result<()> {
        let mut w = self.begin_write().await?;
        sqlx::query("UPDATE agents SET locale = $2 WHERE id = $1")
            .bind(id)
            .bind(locale)
            .execute(&mut *w.tx)
            .await?;
        w.commit().await
    }

    pub async fn create_token(
        &self,
        agent_id: &str,
        token_hash: &str,
        kind: TokenKind,
        csrf_hash: Option<&str>,
        expires_at: Option<i64>,
        at: i64,
    ) -> Result<()> {
        let mut w = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO agent_tokens (token_hash, agent_id, kind, csrf_hash, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(token_hash)
        .bind(agent_id)
        .bind(kind.as_str())
        .bind(csrf_hash)
        .bind(at)
        .bind(expires_at)
        .execute(&mut *w.tx)
        .await?;
        w.commit().await
    }

    /// The agent a live token belongs to at `now`: unexpired, used since `idle_since` (idle
    /// expiry), and its agent not disabled.
    pub async fn token_grant(
        &self,
        token_hash: &str,
        now: i64,
        idle_since: i64,
    ) -> Result<TokenGrant> {
        let token = sqlx::query(
            "SELECT agent_id, kind, csrf_hash, COALESCE(last_used_at, created_at) AS used FROM agent_tokens \
             WHERE token_hash = $1 AND (expires_at IS NULL OR expires_at > $2) \
             AND COALESCE(last_used_at, created_at) > $3",
        )
        .bind(token_hash)
        .bind(now)
        .bind(idle_since)
        .fetch_one(self.pool())
        .await?;
        let agent_id: String = token.try_get("agent_id")?;
        let row = sqlx::query(&format!(
            "SELECT {AGENT_COLUMNS} FROM agents WHERE id = $1 AND disabled_at IS NULL"
        ))
        .bind(&agent_id)
        .fetch_one(self.pool())
        .await?;
        let kind = match token.try_get::<String, _>("kind")?.as_str() {
            "session" => TokenKind::Session,
            _ => TokenKind::Api,
        };
        Ok(TokenGrant {
            agent: Agent::from_row(&row)?,
            kind,
            csrf_hash: token.try_get("csrf_hash")?,
            last_used_at: token.try_get("used")?,
        })
    }

    /// Records that a token was used (callers do it once every few minutes, not per request).
    pub async fn touch_token(&self, token_hash: &str, now: i64) -> Result<()> {
        let mut w = self.begin_write().await?;
        sqlx::query("UPDATE agent_tokens SET last_used_at = $2 WHERE token_hash = $1")
            .bind(token_hash)
            .bind(now)
            .execute(&mut *w.tx)
            .await?;
        w.commit().await
    }

    /// Ends an agent's tokens (all, or all but `keep`); returns their hashes.
    pub async fn end_tokens(&self, agent_id: &str, keep: Option<&str>) -> Result<Vec<String>> {
        let mut w = self.begin_write().await?;
        let rows = sqlx::query(
            "DELETE FROM agent_tokens WHERE agent_id = $1 AND token_hash <> COALESCE($2, '') \
             RETURNING token_hash",
        )
        .bind(agent_id)
        .bind(keep)
        .fetch_all(&mut *w.tx)
        .await?;
        w.commit().await?;
        rows.iter().map(|r| Ok(r.try_get("token_hash")?)).collect()
    }

    /// Replaces an agent's password hash.
    pub async fn set_password_hash(&self, agent_id: &str, hash: &str) -> Result<()> {
        let mut w = self.begin_write().await?;
        sqlx::query("UPDATE agents SET password_hash = $2 WHERE id = $1")
            .bind(agent_id)
            .bind(hash)
            .execute(&mut *w.tx)
            .await?;
        w.commit().await
    }

    /// Disables (`Some(now)`) or re-enables (`None`) an agent of the workspace. A workspace keeps
    /// at least one enabled admin: disabling the last one is a [`StoreError::Conflict`].
    pub async fn set_agent_disabled(
        &self,
        workspace_id: &str,
        id: &str,
        disabled_at: Option<i64>,
    ) -> Result<Agent> {
        let mut w = self.begin_write().await?;
        let row = sqlx::query(&format!(
            "UPDATE agents SET disabled_at = $3 WHERE id = $1 AND workspace_id = $2 RETURNING {AGENT_COLUMNS}"
        ))
        .bind(id)
        .bind(workspace_id)
        .bind(disabled_at)
        .fetch_one(&mut *w.tx)
        .await?;
        let agent = Agent::from_row(&row)?;
        Self::keep_an_admin(
            &mut w,
            workspace_id,
            matches!(agent.role, Role::Admin | Role::Owner),
        )
        .await?;
        w.commit().await?;
        Ok(agent)
    }

    /// Deletes an agent of the workspace: disabled, their e-mail address and name replaced
    /// (the address is free again), their password unusable; conversations and messages stay.
    pub async fn delete_agent(&self, workspace_id: &str, id: &str, now: i64) -> Result<Agent> {
        let mut w = self.begin_write().await?;
        let row = sqlx::query(&format!(
            "UPDATE agents SET disabled_at = COALESCE(disabled_at, $3), email = $4, name = $5, \
             password_hash = '!', totp_secret = NULL, totp_enabled_at = NULL, totp_recovery = NULL \
             WHERE id = $1 AND workspace_id = $2 RETURNING {AGENT_COLUMNS}"
        ))
        .bind(id)
        .bind(workspace_id)
        .bind(now)
        .bind(format!("deleted-{id}@invalid"))
        .bind(DELETED_AGENT_NAME)
        .fetch_one(&mut *w.tx)
        .await?;
        let agent = Agent::from_row(&row)?;
        Self::keep_an_admin(
            &mut w,
            workspace_id,
            matches!(agent.role, Role::Admin | Role::Owner),
        )
        .await?;
        w.commit().await?;
        Ok(agent)
    }

    /// Refuses a change that left the workspace without an enabled admin or owner, when the
    /// changed agent was (or is) one.
    async fn keep_an_admin(
        w: &mut crate::db::WriteTx,
        workspace_id: &str,
        was_admin: bool,
    ) -> Result<()> {
        if !was_admin {
            return Ok(());
        }
        let admins: i64 = sqlx::query(
            "SELECT COUNT(*) AS n FROM agents WHERE workspace_id = $1 AND role IN ('owner', 'admin') AND disabled_at IS NULL",
        )
        .bind(workspace_id)
        .fetch_one(&mut *w.tx)
        .await?
        .try_get("n")?;
        if admins == 0 {
            return Err(StoreError::Conflict(
                "the workspace needs at least one admin".into(),
            ));
        }
        Ok(())
    }

    pub async fn delete_token(&self, token_hash: &str) -> Result<()> {
        let mut w = self.begin_write().await?;
        sqlx::query("DELETE FROM agent_tokens WHERE token_hash = $1")
            .bind(token_hash)
            .execute(&mut *w.tx)
            .await?;
        w.commit().await
    }
}

/// An agent's two-factor state.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Totp {
    /// Base32; set while being switched on, and once on.
    pub secret: Option<String>,
    pub enabled_at: Option<i64>,
    /// SHA-256 hashes (hex) of the recovery codes not used yet.
    pub recovery: Vec<String>,
}

/// A change of an agent's two-factor state.
pub enum TotpChange<'a> {
    /// A new secret, not on until a code from it is confirmed.
    Begin {
        secret: &'a str,
    },
    /// On, with these recovery code hashes; `step` is the confirming code's (used up).
    Enable {
        recovery: &'a [String],
        step: i64,
        at: i64,
    },
    Disable,
}

impl Store {
    pub async fn totp(&self, agent_id: &str) -> Result<Totp> {
        let row = sqlx::query(
            "SELECT totp_secret, totp_enabled_at, totp_recovery FROM agents WHERE id = $1",
        )
        .bind(agent_id)
        .fetch_one(self.pool())
        .await?;
        let recovery: Option<String> = row.try_get("totp_recovery")?;
        Ok(Totp {
            secret: row.try_get("totp_secret")?,
            enabled_at: row.try_get("totp_enabled_at")?,
            recovery: recovery
                .and_then(|r| serde_json::from_str(&r).ok())
                .unwrap_or_default(),
        })
    }

    /// Changes an agent's two-factor state; beginning again while it is on is a conflict.
    pub async fn set_totp(&self, agent_id: &str, change: TotpChange<'_>) -> Result<()> {
        let mut w = self.begin_write().await?;
        let done = match change {
            TotpChange::Begin { secret } => sqlx::query(
                "UPDATE agents SET totp_secret = $2, totp_recovery = NULL, totp_last_step = NULL \
                 WHERE id = $1 AND totp_enabled_at IS NULL",
            )
            .bind(agent_id)
            .bind(secret),
            TotpChange::Enable { recovery, step, at } => sqlx::query(
                "UPDATE agents SET totp_enabled_at = $2, totp_recovery = $3, totp_last_step = $4 \
                 WHERE id = $1 AND totp_secret IS NOT NULL AND totp_enabled_at IS NULL",
            )
            .bind(agent_id)
            .bind(at)
            .bind(serde_json::to_string(recovery).unwrap_or_default())
            .bind(step),
            TotpChange::Disable => sqlx::query(
                "UPDATE agents SET totp_secret = NULL, totp_enabled_at = NULL, totp_recovery = NULL, \
                 totp_last_step = NULL WHERE id = $1",
            )
            .bind(agent_id),
        }
        .execute(&mut *w.tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::Conflict(
                "two-factor sign-in is not in the state this needs".into(),
            ));
        }
        w.commit().await
    }

    /// Uses up a code's step: false when this or a later step was used already (a replay).
    pub async fn spend_totp_step(&self, agent_id: &str, step: i64) -> Result<bool> {
        let mut w = self.begin_write().await?;
        let done = sqlx::query(
            "UPDATE agents SET totp_last_step = $2 WHERE id = $1 \
             AND (totp_last_step IS NULL OR totp_last_step < $2)",
        )
        .bind(agent_id)
        .bind(step)
        .execute(&mut *w.tx)
        .await?;
        w.commit().await?;
        Ok(done.rows_affected() == 1)
    }

    /// Uses up a recovery code (by its hash): false when it is not one of the agent's unused.
    pub async fn spend_recovery_code(&self, agent_id: &str, hash: &str) -> Result<bool> {
        let mut w = self.begin_write().await?;
        let row = sqlx::query("SELECT totp_recovery FROM agents WHERE id = $1")
            .bind(agent_id)
            .fetch_one(&mut *w.tx)
            .await?;
        let stored: Option<String> = row.try_get("totp_recovery")?;
        let mut codes: Vec<String> = stored
            .and_then(|r| serde_json::from_str(&r).ok())
            .unwrap_or_default();
        let Some(at) = codes.iter().position(|c| c == hash) else {
            return Ok(false);
        };
        codes.remove(at);
        sqlx::query("UPDATE agents SET totp_recovery = $2 WHERE id = $1")
            .bind(agent_id)
            .bind(serde_json::to_string(&codes).unwrap_or_default())
            .execute(&mut *w.tx)
            .await?;
        w.commit().await?;
        Ok(true)
    }
}
