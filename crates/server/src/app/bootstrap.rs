//! First start: an empty database gets a default workspace with one widget channel.

use madoguchi_store::workspaces::{Channel, Workspace};
use madoguchi_store::{Result, Store};

pub struct Bootstrap {
    pub workspace: Workspace,
    /// The widget channel, when this call created the workspace.
    pub created_channel: Option<Channel>,
}

pub async fn ensure_default_workspace(store: &Store) -> Result<Bootstrap> {
    if let Some(workspace) = store.first_workspace().await? {
        return Ok(Bootstrap {
            workspace,
            created_channel: None,
        });
    }
    let workspace = store.create_workspace("Default").await?;
    let channel = store
        .create_channel(&workspace.id, "widget", "Website")
        .await?;
    Ok(Bootstrap {
        workspace,
        created_channel: Some(channel),
    })
}
