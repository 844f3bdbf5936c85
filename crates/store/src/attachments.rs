//! Files attached to messages, kept in the database (so every node of a cluster serves them);
//! the message that shows a file names it in its `meta`.

use sqlx::any::AnyRow;
use sqlx::Row;

use crate::{new_id, Result, Store};

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Attachment {
    pub id: String,
    pub workspace_id: String,
    pub conversation_id: String,
    pub name: String,
    pub content_type: String,
    pub size: i64,
    /// Attached to a private note: for agents only.
    pub private: bool,
    pub created_at: i64,
}

impl Attachment {
    fn from_row(row: &AnyRow) -> Result<Self> {
        Ok(Self {
            id: row.try_get("id")?,
            workspace_id: row.try_get("workspace_id")?,
            conversation_id: row.try_get("conversation_id")?,
            name: row.try_get("name")?,
            content_type: row.try_get("content_type")?,
            size: row.try_get("size")?,
            private: row.try_get::<i64, _>("private")? != 0,
            created_at: row.try_get("created_at")?,
        })
    }
}

const ATTACHMENT_COLUMNS: &str =
    "id, workspace_id, conversation_id, name, content_type, size, private, created_at";

pub struct NewAttachment<'a> {
    pub workspace_id: &'a str,
    pub conversation_id: &'a str,
    /// `contact:ID` or `agent:ID`.
    pub uploaded_by: &'a str,
    pub private: bool,
    pub name: &'a str,
    pub content_type: &'a str,
    pub data: &'a [u8],
    pub at: i64,
}

impl Store {
    /// Stores a file for a conversation of the workspace.
    pub async fn create_attachment(&self, new: &NewAttachment<'_>) -> Result<Attachment> {
        let mut w = self.begin_write().await?;
        let row = sqlx::query(&format!(
            "INSERT INTO attachments (id, workspace_id, conversation_id, uploaded_by, private, name, content_type, size, data, created_at) \
             SELECT $1, $2, $3, $4, $10, $5, $6, $7, $8, $9 WHERE EXISTS \
             (SELECT 1 FROM conversations WHERE id = $3 AND workspace_id = $2) \
             RETURNING {ATTACHMENT_COLUMNS}"
        ))
        .bind(new_id())
        .bind(new.workspace_id)
        .bind(new.conversation_id)
        .bind(new.uploaded_by)
        .bind(new.name)
        .bind(new.content_type)
        .bind(new.data.len() as i64)
        .bind(new.data.to_vec())
        .bind(new.at)
        .bind(i64::from(new.private))
        .fetch_one(&mut *w.tx)
        .await?;
        w.commit().await?;
        Attachment::from_row(&row)
    }

    /// A file of the workspace with its bytes.
    pub async fn attachment(&self, workspace_id: &str, id: &str) -> Result<(Attachment, Vec<u8>)> {
        let row = sqlx::query(&format!(
            "SELECT {ATTACHMENT_COLUMNS}, data FROM attachments WHERE id = $1 AND workspace_id = $2"
        ))
        .bind(id)
        .bind(workspace_id)
        .fetch_one(self.pool())
        .await?;
        Ok((Attachment::from_row(&row)?, row.try_get("data")?))
    }
}
