//! The door for changes to a contact's profile: written, then announced on this node (outgoing
//! webhooks send `contact.updated`).

use madoguchi_store::contacts::{Contact, ContactPatch};
use madoguchi_store::StoreError;

use crate::app::AppState;

/// Changes a contact's name, e-mail or phone.
pub async fn update(
    state: &AppState,
    workspace_id: &str,
    id: &str,
    patch: &ContactPatch,
) -> Result<Contact, StoreError> {
    let contact = state.store.update_contact(workspace_id, id, patch).await?;
    state.hub.contact_updated(
        workspace_id,
        serde_json::json!({
            "id": contact.id,
            "name": contact.name,
            "email": contact.email,
            "phone": contact.phone,
            "updated_at": contact.updated_at,
        }),
    );
    Ok(contact)
}
