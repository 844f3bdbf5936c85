//! Workspaces (one per company) and their channels (widget, email, API…).

use sqlx::any::AnyRow;
use sqlx::Row;

use crate::{new_id, now_ms, Result, Store, StoreError};

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Workspace {
    pub id: String,
    pub name: String,
    pub time_zone: String,
    pub created_at: i64,
    /// The harassment policy as a JSON object (`{}`: the defaults).
    pub harassment: String,
    /// The categories for classifying conversations (JSON array; `None`: the defaults).
    pub categories: Option<String>,
    /// Moves with every category an agent chooses: a model trained before is out of date.
    pub labels_version: i64,
    /// Minutes an assigned agent may leave a waiting customer before the conversation goes to
    /// the team's next agent; `None`: never.
    pub reassign_after_mins: Option<i64>,
    /// Which sensitive data is masked in customers' messages (JSON; `None`: all).
    pub sensitive: Option<String>,
    /// How long conversations and files are kept (JSON; `None`: for ever).
    pub retention: Option<String>,
}

/// The columns [`Workspace::from_row`] reads.
pub(crate) const WORKSPACE_COLUMNS: &str =
    "id, name, time_zone, created_at, harassment, categories, labels_version, reassign_after_mins, sensitive, retention";

impl Workspace {
    fn from_row(row: &AnyRow) -> Result<Self> {
        Ok(Self {
            id: row.try_get("id")?,
            name: row.try_get("name")?,
            time_zone: row.try_get("time_zone")?,
            created_at: row.try_get("created_at")?,
            harassment: row.try_get("harassment")?,
            categories: row.try_get("categories")?,
            labels_version: row.try_get("labels_version")?,
            reassign_after_mins: row.try_get("reassign_after_mins")?,
            sensitive: row.try_get("sensitive")?,
            retention: row.try_get("retention")?,
        })
    }
}

/// A way in for customers. `public_key` identifies a widget channel on the shop's pages; it is
/// public, not a secret.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Channel {
    pub id: String,
    pub workspace_id: String,
    pub kind: String,
    pub name: String,
    pub public_key: String,
    /// Widget settings as a JSON object (colours, greeting, position, display rules).
    pub settings: String,
    /// Business hours, auto-replies and notifications as a JSON object.
    pub automation: String,
    /// The bot's button scenario as JSON.
    pub scenario: String,
    /// The secret a shop's server signs its signed-in customers' user ids with (HMAC-SHA256);
    /// `None`: identity verification is off and no user id is believed.
    pub identity_secret: Option<String>,
    /// An e-mail channel's support address (lower case), unique across workspaces.
    pub email_address: Option<String>,
    /// An e-mail channel's IMAP mailbox as JSON (with its password); `None`: no IMAP.
    pub imap: Option<String>,
    /// The brand it belongs to (see [`crate::brands`]); `None`: the whole workspace's.
    pub brand_id: Option<String>,
    /// What the channel's kind needs besides, as JSON: a LINE channel's connection (with its
    /// secrets), a form's fields.
    pub config: Option<String>,
    pub created_at: i64,
}

/// The channel settings [`Store::set_channel_field`] replaces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChannelField {
    Automation,
    Scenario,
    IdentitySecret,
    EmailAddress,
    Imap,
    Config,
}

impl Channel {
    fn from_row(row: &AnyRow) -> Result<Self> {
        Ok(Self {
            id: row.try_get("id")?,
            workspace_id: row.try_get("workspace_id")?,
            kind: row.try_get("kind")?,
            name: row.try_get("name")?,
            public_key: row.try_get("public_key")?,
            settings: row.try_get("settings")?,
            automation: row.try_get("automation")?,
            scenario: row.try_get("scenario")?,
            identity_secret: row.try_get("identity_secret")?,
            email_address: row.try_get("email_address")?,
            imap: row.try_get("imap")?,
            brand_id: row.try_get("brand_id")?,
            config: row.try_get("config")?,
            created_at: row.try_get("created_at")?,
        })
    }
}

const CHANNEL_COLUMNS: &str =
    "id, workspace_id, kind, name, public_key, settings, automation, scenario, identity_secret, email_address, imap, brand_id, config, created_at";

impl Store {
    pub async fn create_workspace(&self, name: &str) -> Result<Workspace> {
        let mut w = self.begin_write().await?;
        let row = sqlx::query(&format!(
            "INSERT INTO workspaces (id, name, created_at) VALUES ($1, $2, $3) \
             RETURNING {WORKSPACE_COLUMNS}"
        ))
        .bind(new_id())
        .bind(name)
        .bind(now_ms())
        .fetch_one(&mut *w.tx)
        .await?;
        w.commit().await?;
        Workspace::from_row(&row)
    }

    /// A workspace; cached (see [`crate::cache`]).
    pub async fn workspace(&self, id: &str) -> Result<Workspace> {
        self.caches
            .workspaces
            .get_or_load(id, || async {
                let row = sqlx::query(&format!(
                    "SELECT {WORKSPACE_COLUMNS} FROM workspaces WHERE id = $1"
                ))
                .bind(id)
                .fetch_one(self.pool())
                .await?;
                Workspace::from_row(&row)
            })
            .await
    }

    /// Renames a workspace (the shop's name in the help center, e-mails and the admin).
    pub async fn rename_workspace(&self, id: &str, name: &str) -> Result<Workspace> {
        let mut w = self.begin_write().await?;
        let row = sqlx::query(&format!(
            "UPDATE workspaces SET name = $2 WHERE id = $1 RETURNING {WORKSPACE_COLUMNS}"
        ))
        .bind(id)
        .bind(name)
        .fetch_one(&mut *w.tx)
        .await?;
        w.commit().await?;
        self.caches.workspaces.clear();
        Workspace::from_row(&row)
    }

    /// Replaces the workspace's logo (an image, by its sniffed content type).
    pub async fn set_workspace_logo(
        &self,
        id: &str,
        content_type: &str,
        data: &[u8],
    ) -> Result<()> {
        let mut w = self.begin_write().await?;
        let done = sqlx::query("UPDATE workspaces SET logo_type = $2, logo = $3 WHERE id = $1")
            .bind(id)
            .bind(content_type)
            .bind(data.to_vec())
            .execute(&mut *w.tx)
            .await?;
        if done.rows_affected() == 0 {
            return Err(crate::StoreError::NotFound);
        }
        w.commit().await
    }

    /// Whether the workspace has a logo (without reading it).
    pub async fn has_workspace_logo(&self, id: &str) -> Result<bool> {
        let row = sqlx::query("SELECT logo_type FROM workspaces WHERE id = $1")
            .bind(id)
            .fetch_one(self.pool())
            .await?;
        Ok(row.try_get::<Option<String>, _>("logo_type")?.is_some())
    }

    /// The workspace's logo as `(content_type, bytes)`; not found when it has none.
    pub async fn workspace_logo(&self, id: &str) -> Result<(String, Vec<u8>)> {
        let row = sqlx::query(
            "SELECT logo_type, logo FROM workspaces WHERE id = $1 AND logo IS NOT NULL",
        )
        .bind(id)
        .fetch_one(self.pool())
        .await?;
        Ok((row.try_get("logo_type")?, row.try_get("logo")?))
    }

    /// The oldest workspace, if any (the one `serve` creates on an empty database).
    pub async fn first_workspace(&self) -> Result<Option<Workspace>> {
        let row = sqlx::query(&format!(
            "SELECT {WORKSPACE_COLUMNS} FROM workspaces ORDER BY created_at, id LIMIT 1"
        ))
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(Workspace::from_row).transpose()
    }

    /// Every workspace's id, oldest first.
    pub async fn workspace_ids(&self) -> Result<Vec<String>> {
        let rows = sqlx::query("SELECT id FROM workspaces ORDER BY created_at, id")
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(|row| Ok(row.try_get("id")?)).collect()
    }

    pub async fn create_channel(
        &self,
        workspace_id: &str,
        kind: &str,
        name: &str,
    ) -> Result<Channel> {
        let mut w = self.begin_write().await?;
        let row = sqlx::query(&format!(
            "INSERT INTO channels (id, workspace_id, kind, name, public_key, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING {CHANNEL_COLUMNS}"
        ))
        .bind(new_id())
        .bind(workspace_id)
        .bind(kind)
        .bind(name)
        .bind(format!("ch_{}", uuid::Uuid::new_v4().simple()))
        .bind(now_ms())
        .fetch_one(&mut *w.tx)
        .await?;
        w.commit().await?;
        Channel::from_row(&row)
    }

    /// The channel with this public key; cached (see [`crate::cache`]).
    pub async fn channel_by_key(&self, public_key: &str) -> Result<Channel> {
        self.caches
            .channels
            .get_or_load(public_key, || async {
                let row = sqlx::query(&format!(
                    "SELECT {CHANNEL_COLUMNS} FROM channels WHERE public_key = $1"
                ))
                .bind(public_key)
                .fetch_one(self.pool())
                .await?;
                Channel::from_row(&row)
            })
            .await
    }

    /// Renames a channel of `workspace_id` and replaces its settings (a JSON object as text).
    pub async fn update_channel(
        &self,
        workspace_id: &str,
        id: &str,
        name: &str,
        settings: &str,
    ) -> Result<Channel> {
        let mut w = self.begin_write().await?;
        let row = sqlx::query(&format!(
            "UPDATE channels SET name = $3, settings = $4 WHERE id = $1 AND workspace_id = $2 RETURNING {CHANNEL_COLUMNS}"
        ))
        .bind(id)
        .bind(workspace_id)
        .bind(name)
        .bind(settings)
        .fetch_one(&mut *w.tx)
        .await?;
        w.commit().await?;
        self.caches.channels.clear();
        Channel::from_row(&row)
    }

    /// Replaces one of a channel's settings: automation and scenario as JSON text, the identity
    /// secret as a secret (`None` turns identity verification off).
    pub async fn set_channel_field(
        &self,
        workspace_id: &str,
        id: &str,
        field: ChannelField,
        value: Option<&str>,
    ) -> Result<Channel> {
        let column = match field {
            ChannelField::Automation => "automation",
            ChannelField::Scenario => "scenario",
            ChannelField::IdentitySecret => "identity_secret",
            ChannelField::EmailAddress => "email_address",
            ChannelField::Imap => "imap",
            ChannelField::Config => "config",
        };
        let mut w = self.begin_write().await?;
        let row = sqlx::query(&format!(
            "UPDATE channels SET {column} = $3 WHERE id = $1 AND workspace_id = $2 RETURNING {CHANNEL_COLUMNS}"
        ))
        .bind(id)
        .bind(workspace_id)
        .bind(value)
        .fetch_one(&mut *w.tx)
        .await
        .map_err(|err| match crate::is_unique_violation(&err) {
            true => StoreError::Conflict(format!("{column} is taken")),
            false => err.into(),
        })?;
        w.commit().await?;
        self.caches.channels.clear();
        Channel::from_row(&row)
    }

    /// Every e-mail channel that reads an IMAP mailbox, in all workspaces.
    pub async fn imap_channels(&self) -> Result<Vec<Channel>> {
        let rows = sqlx::query(&format!(
            "SELECT {CHANNEL_COLUMNS} FROM channels WHERE kind = 'email' AND imap IS NOT NULL ORDER BY id"
        ))
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(Channel::from_row).collect()
    }

    /// How far a channel's IMAP mailbox has been read: `(uid_validity, last_uid)`.
    pub async fn imap_state(&self, channel_id: &str) -> Result<Option<(i64, i64)>> {
        let row =
            sqlx::query("SELECT uid_validity, last_uid FROM imap_state WHERE channel_id = $1")
                .bind(channel_id)
                .fetch_optional(self.pool())
                .await?;
        row.map(|row| Ok((row.try_get("uid_validity")?, row.try_get("last_uid")?)))
            .transpose()
    }

    /// Records that the mailbox was read up to `last_uid` (after the mail is stored).
    pub async fn set_imap_state(
        &self,
        channel_id: &str,
        uid_validity: i64,
        last_uid: i64,
    ) -> Result<()> {
        let mut w = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO imap_state (channel_id, uid_validity, last_uid) VALUES ($1, $2, $3) \
             ON CONFLICT (channel_id) DO UPDATE SET uid_validity = $2, last_uid = $3",
        )
        .bind(channel_id)
        .bind(uid_validity)
        .bind(last_uid)
        .execute(&mut *w.tx)
        .await?;
        w.commit().await
    }

    /// The e-mail channel whose support address this is (lower case, any workspace).
    pub async fn channel_by_email_address(&self, address: &str) -> Result<Channel> {
        let row = sqlx::query(&format!(
            "SELECT {CHANNEL_COLUMNS} FROM channels WHERE email_address = $1 AND kind = 'email'"
        ))
        .bind(address)
        .fetch_one(self.pool())
        .await?;
        Channel::from_row(&row)
    }

    /// Gives an API channel its token (by its hash), replacing any earlier one.
    pub async fn set_channel_api_token(&self, channel_id: &str, token_hash: &str) -> Result<()> {
        let mut w = self.begin_write().await?;
        sqlx::query("UPDATE channels SET api_token_hash = $2 WHERE id = $1 AND kind = 'api'")
            .bind(channel_id)
            .bind(token_hash)
            .execute(&mut *w.tx)
            .await?;
        w.commit().await?;
        Ok(())
    }

    /// The API channel a token (by its hash) belongs to.
    pub async fn channel_by_api_token(&self, token_hash: &str) -> Result<Channel> {
        let row = sqlx::query(&format!(
            "SELECT {CHANNEL_COLUMNS} FROM channels WHERE api_token_hash = $1 AND kind = 'api'"
        ))
        .bind(token_hash)
        .fetch_one(self.pool())
        .await?;
        Channel::from_row(&row)
    }

    /// Counts a click on a scenario node.
    pub async fn count_scenario_click(&self, channel_id: &str, node_id: &str) -> Result<()> {
        let mut w = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO scenario_clicks (channel_id, node_id, clicks) VALUES ($1, $2, 1) \
             ON CONFLICT (channel_id, node_id) DO UPDATE SET clicks = scenario_clicks.clicks + 1",
        )
        .bind(channel_id)
        .bind(node_id)
        .execute(&mut *w.tx)
        .await?;
        w.commit().await
    }

    /// Clicks per scenario node of a channel.
    pub async fn scenario_clicks(&self, channel_id: &str) -> Result<Vec<(String, i64)>> {
        let rows = sqlx::query(
            "SELECT node_id, clicks FROM scenario_clicks WHERE channel_id = $1 ORDER BY node_id",
        )
        .bind(channel_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|row| Ok((row.try_get("node_id")?, row.try_get("clicks")?)))
            .collect()
    }

    /// A channel of `workspace_id`; cached (see [`crate::cache`]).
    pub async fn channel(&self, workspace_id: &str, id: &str) -> Result<Channel> {
        self.caches
            .channels
            .get_or_load(&format!("{workspace_id}/{id}"), || async {
                let row = sqlx::query(&format!(
                    "SELECT {CHANNEL_COLUMNS} FROM channels WHERE id = $1 AND workspace_id = $2"
                ))
                .bind(id)
                .bind(workspace_id)
                .fetch_one(self.pool())
                .await?;
                Channel::from_row(&row)
            })
            .await
    }

    pub async fn channels(&self, workspace_id: &str) -> Result<Vec<Channel>> {
        let rows = sqlx::query(&format!(
            "SELECT {CHANNEL_COLUMNS} FROM channels WHERE workspace_id = $1 ORDER BY created_at, id"
        ))
        .bind(workspace_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(Channel::from_row).collect()
    }
}
