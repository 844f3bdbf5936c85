//! Contacts (the shop's customers) and the identities that find them again: a visitor token's
//! hash, an e-mail address, a phone number, an id in another system.

use sqlx::any::AnyRow;
use sqlx::Row;

use crate::{new_id, now_ms, Result, Store};

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Contact {
    pub id: String,
    pub workspace_id: String,
    pub name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    /// Set when the contact asked for no more reply notifications.
    pub unsubscribed_at: Option<i64>,
    /// Set when the contact's data was erased (see [`crate::erasure`]).
    pub erased_at: Option<i64>,
    /// What the shop's systems sent about them (attributes, orders) as JSON.
    pub shop_data: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

impl Contact {
    fn from_row(row: &AnyRow) -> Result<Self> {
        Ok(Self {
            id: row.try_get("id")?,
            workspace_id: row.try_get("workspace_id")?,
            name: row.try_get("name")?,
            email: row.try_get("email")?,
            phone: row.try_get("phone")?,
            unsubscribed_at: row.try_get("unsubscribed_at")?,
            erased_at: row.try_get("erased_at")?,
            shop_data: row.try_get("shop_data")?,
            created_at: row.try_get("created_at")?,
            updated_at: row.try_get("updated_at")?,
        })
    }
}

const CONTACT_COLUMNS: &str =
    "id, workspace_id, name, email, phone, unsubscribed_at, erased_at, shop_data, created_at, updated_at";

/// Identity kinds. A visitor identity's value is the SHA-256 of the visitor token.
pub const IDENTITY_VISITOR: &str = "visitor";
pub const IDENTITY_EMAIL: &str = "email";
pub const IDENTITY_PHONE: &str = "phone";
/// A customer signed in on the shop's site: the shop's own user id, vouched for by an HMAC
/// made with the channel's identity secret.
pub const IDENTITY_USER: &str = "user";
/// A customer of the shop's own systems (an API channel): the id they have there.
pub const IDENTITY_EXTERNAL: &str = "external";
/// A LINE user id (of the channel's provider).
pub const IDENTITY_LINE: &str = "line";
/// An Instagram-scoped user id.
pub const IDENTITY_INSTAGRAM: &str = "instagram";

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Identity {
    pub kind: String,
    pub value: String,
    pub created_at: i64,
}

/// Fields a contact may change; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct ContactPatch {
    pub name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
}

impl ContactPatch {
    /// Whether the patch changes nothing.
    pub fn is_empty(&self) -> bool {
        self.name.is_none() && self.email.is_none() && self.phone.is_none()
    }
}

impl Store {
    /// The contact an identity names, created with that identity if there is none yet: a
    /// visitor's first message (their token's hash) or a signed-in customer's shop user id.
    /// Two first writes at once find the same contact.
    pub async fn identified_contact(
        &self,
        workspace_id: &str,
        kind: &str,
        value: &str,
    ) -> Result<Contact> {
        match self.contact_by_identity(workspace_id, kind, value).await {
            Err(crate::StoreError::NotFound) => {}
            found => return found,
        }
        let now = now_ms();
        let mut w = self.begin_write().await?;
        let row = sqlx::query(&format!(
            "INSERT INTO contacts (id, workspace_id, created_at, updated_at) VALUES ($1, $2, $3, $3) \
             RETURNING {CONTACT_COLUMNS}"
        ))
        .bind(new_id())
        .bind(workspace_id)
        .bind(now)
        .fetch_one(&mut *w.tx)
        .await?;
        let contact = Contact::from_row(&row)?;
        let added = sqlx::query(
            "INSERT INTO contact_identities (workspace_id, kind, value, contact_id, created_at) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (workspace_id, kind, value) DO NOTHING",
        )
        .bind(workspace_id)
        .bind(kind)
        .bind(value)
        .bind(&contact.id)
        .bind(now)
        .execute(&mut *w.tx)
        .await?;
        if added.rows_affected() == 0 {
            // Someone else's write created it meanwhile: theirs stands, this contact is dropped.
            drop(w);
            return self.contact_by_identity(workspace_id, kind, value).await;
        }
        w.commit().await?;
        Ok(contact)
    }

    /// The contact an identity (a visitor token hash, an e-mail address…) belongs to; cached
    /// (see [`crate::cache`]), as every widget request asks it.
    pub async fn contact_by_identity(
        &self,
        workspace_id: &str,
        kind: &str,
        value: &str,
    ) -> Result<Contact> {
        let key = format!("{workspace_id}\u{0}{kind}\u{0}{value}");
        self.caches
            .contacts
            .get_or_load(&key, || async {
                let row = sqlx::query(&format!(
                    "SELECT {CONTACT_COLUMNS} FROM contacts WHERE id = \
                     (SELECT contact_id FROM contact_identities WHERE workspace_id = $1 AND kind = $2 AND value = $3)"
                ))
                .bind(workspace_id)
                .bind(kind)
                .bind(value)
                .fetch_one(self.pool())
                .await?;
                Contact::from_row(&row)
            })
            .await
    }

    /// Contacts whose name, e-mail, phone or an identity (shop user id, address) contains
    /// `text` (case-insensitively for ASCII), newest first.
    pub async fn find_contacts(
        &self,
        workspace_id: &str,
        text: &str,
        limit: i64,
    ) -> Result<Vec<Contact>> {
        let pattern = crate::conversations::like_pattern(&text.to_lowercase());
        let rows = sqlx::query(&format!(
            "SELECT {CONTACT_COLUMNS} FROM contacts c WHERE c.workspace_id = $1 AND ( \
             LOWER(COALESCE(c.name, '')) LIKE $2 ESCAPE '\\' \
             OR LOWER(COALESCE(c.email, '')) LIKE $2 ESCAPE '\\' \
             OR COALESCE(c.phone, '') LIKE $2 ESCAPE '\\' \
             OR EXISTS (SELECT 1 FROM contact_identities i WHERE i.contact_id = c.id \
                 AND i.kind <> 'visitor' AND LOWER(i.value) LIKE $2 ESCAPE '\\')) \
             ORDER BY c.updated_at DESC, c.id DESC LIMIT $3"
        ))
        .bind(workspace_id)
        .bind(pattern)
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(Contact::from_row).collect()
    }

    pub async fn contact(&self, workspace_id: &str, id: &str) -> Result<Contact> {
        let row = sqlx::query(&format!(
            "SELECT {CONTACT_COLUMNS} FROM contacts WHERE id = $1 AND workspace_id = $2"
        ))
        .bind(id)
        .bind(workspace_id)
        .fetch_one(self.pool())
        .await?;
        Contact::from_row(&row)
    }

    /// Updates a contact; a new e-mail address or phone number also becomes an identity
    /// (unless another contact of the workspace already holds it).
    /// Replaces what the shop's systems tell about the contact (JSON).
    pub async fn set_shop_data(&self, workspace_id: &str, id: &str, data: &str) -> Result<Contact> {
        let mut w = self.begin_write().await?;
        let row = sqlx::query(&format!(
            "UPDATE contacts SET shop_data = $3, updated_at = $4 \
             WHERE id = $1 AND workspace_id = $2 AND erased_at IS NULL RETURNING {CONTACT_COLUMNS}"
        ))
        .bind(id)
        .bind(workspace_id)
        .bind(data)
        .bind(now_ms())
        .fetch_optional(&mut *w.tx)
        .await?
        .ok_or(crate::StoreError::NotFound)?;
        w.commit().await?;
        self.caches.contacts.forget(|contact| contact.id == id);
        Contact::from_row(&row)
    }

    pub async fn update_contact(
        &self,
        workspace_id: &str,
        id: &str,
        patch: &ContactPatch,
    ) -> Result<Contact> {
        let now = now_ms();
        let mut w = self.begin_write().await?;
        let row = sqlx::query(&format!(
            "UPDATE contacts SET name = COALESCE($3, name), email = COALESCE($4, email), \
             phone = COALESCE($5, phone), updated_at = $6 \
             WHERE id = $1 AND workspace_id = $2 AND erased_at IS NULL RETURNING {CONTACT_COLUMNS}"
        ))
        .bind(id)
        .bind(workspace_id)
        .bind(patch.name.as_deref())
        .bind(patch.email.as_deref())
        .bind(patch.phone.as_deref())
        .bind(now)
        .fetch_one(&mut *w.tx)
        .await?;
        for (kind, value) in [
            (IDENTITY_EMAIL, &patch.email),
            (IDENTITY_PHONE, &patch.phone),
        ] {
            let Some(value) = value else { continue };
            sqlx::query(
                "INSERT INTO contact_identities (workspace_id, kind, value, contact_id, created_at) \
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (workspace_id, kind, value) DO NOTHING",
            )
            .bind(workspace_id)
            .bind(kind)
            .bind(value)
            .bind(id)
            .bind(now)
            .execute(&mut *w.tx)
            .await?;
        }
        w.commit().await?;
        self.caches.contacts.forget(|contact| contact.id == id);
        Contact::from_row(&row)
    }

    /// Adds an identity to a contact: another visitor token (as its hash) for a link in an
    /// e-mail, or the shop user id of an anonymous visitor who signed in.
    pub async fn add_identity(
        &self,
        workspace_id: &str,
        contact_id: &str,
        kind: &str,
        value: &str,
    ) -> Result<()> {
        let mut w = self.begin_write().await?;
        let now = now_ms();
        let added = sqlx::query(
            "INSERT INTO contact_identities (workspace_id, kind, value, contact_id, created_at) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (workspace_id, kind, value) DO NOTHING",
        )
        .bind(workspace_id)
        .bind(kind)
        .bind(value)
        .bind(contact_id)
        .bind(now)
        .execute(&mut *w.tx)
        .await?;
        if added.rows_affected() > 0 {
            // A change of the contact: the search index catches up from `updated_at`.
            sqlx::query("UPDATE contacts SET updated_at = $2 WHERE id = $1")
                .bind(contact_id)
                .bind(now)
                .execute(&mut *w.tx)
                .await?;
        }
        w.commit().await
    }

    /// Contacts of every workspace changed after `(at, id)` in time order, `limit` at a time,
    /// erased ones left out, each with the values of its identities other than visitor tokens
    /// (e-mail addresses, phone numbers, shop user ids): what the search index keeps of them.
    pub async fn contacts_to_index(
        &self,
        at: i64,
        id: &str,
        limit: i64,
    ) -> Result<Vec<(Contact, Vec<String>)>> {
        let rows = sqlx::query(&format!(
            "SELECT {CONTACT_COLUMNS} FROM contacts WHERE erased_at IS NULL \
             AND (updated_at > $1 OR (updated_at = $1 AND id > $2)) ORDER BY updated_at, id LIMIT $3"
        ))
        .bind(at)
        .bind(id)
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        let contacts = rows
            .iter()
            .map(Contact::from_row)
            .collect::<Result<Vec<_>>>()?;
        self.with_identity_values(contacts).await
    }

    /// The contacts among `ids` (of one workspace, or of any), erased ones left out, in no
    /// particular order, each with its identity values as in [`Store::contacts_to_index`].
    pub async fn contacts_by_ids(
        &self,
        workspace_id: Option<&str>,
        ids: &[String],
    ) -> Result<Vec<(Contact, Vec<String>)>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let placeholders: Vec<String> = (2..=ids.len() + 1).map(|i| format!("${i}")).collect();
        let sql = format!(
            "SELECT {CONTACT_COLUMNS} FROM contacts WHERE ($1 IS NULL OR workspace_id = $1) \
             AND erased_at IS NULL AND id IN ({})",
            placeholders.join(", ")
        );
        let mut query = sqlx::query(&sql).bind(workspace_id);
        for id in ids {
            query = query.bind(id);
        }
        let contacts = query
            .fetch_all(self.pool())
            .await?
            .iter()
            .map(Contact::from_row)
            .collect::<Result<Vec<_>>>()?;
        self.with_identity_values(contacts).await
    }

    async fn with_identity_values(
        &self,
        contacts: Vec<Contact>,
    ) -> Result<Vec<(Contact, Vec<String>)>> {
        if contacts.is_empty() {
            return Ok(Vec::new());
        }
        let placeholders: Vec<String> = (1..=contacts.len()).map(|i| format!("${i}")).collect();
        let sql = format!(
            "SELECT contact_id, value FROM contact_identities WHERE kind <> 'visitor' \
             AND contact_id IN ({}) ORDER BY created_at, value",
            placeholders.join(", ")
        );
        let mut query = sqlx::query(&sql);
        for contact in &contacts {
            query = query.bind(&contact.id);
        }
        let mut values: std::collections::HashMap<String, Vec<String>> =
            std::collections::HashMap::new();
        for row in query.fetch_all(self.pool()).await? {
            values
                .entry(row.try_get("contact_id")?)
                .or_default()
                .push(row.try_get("value")?);
        }
        Ok(contacts
            .into_iter()
            .map(|c| {
                let found = values.remove(&c.id).unwrap_or_default();
                (c, found)
            })
            .collect())
    }

    /// Stops reply notifications to a contact.
    pub async fn unsubscribe_contact(&self, workspace_id: &str, id: &str) -> Result<()> {
        let mut w = self.begin_write().await?;
        let done = sqlx::query(
            "UPDATE contacts SET unsubscribed_at = COALESCE(unsubscribed_at, $3) WHERE id = $1 AND workspace_id = $2",
        )
        .bind(id)
        .bind(workspace_id)
        .bind(now_ms())
        .execute(&mut *w.tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(crate::StoreError::NotFound);
        }
        w.commit().await?;
        self.caches.contacts.forget(|contact| contact.id == id);
        Ok(())
    }

    /// A contact's identities, oldest first. Visitor identities carry no value: a token hash is
    /// nobody's business.
    pub async fn contact_identities(
        &self,
        workspace_id: &str,
        contact_id: &str,
    ) -> Result<Vec<Identity>> {
        let rows = sqlx::query(
            "SELECT kind, value, created_at FROM contact_identities \
             WHERE workspace_id = $1 AND contact_id = $2 ORDER BY created_at, kind, value",
        )
        .bind(workspace_id)
        .bind(contact_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|row| {
                let kind: String = row.try_get("kind")?;
                let value = if kind == IDENTITY_VISITOR {
                    String::new()
                } else {
                    row.try_get("value")?
                };
                Ok(Identity {
                    kind,
                    value,
                    created_at: row.try_get("created_at")?,
                })
            })
            .collect()
    }
}
