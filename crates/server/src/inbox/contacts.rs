//! The door for changes to a contact's profile: written, then announced on this node (outgoing
//! webhooks send `contact.updated`) and to every node (their search indexes read it again); and for their erasure, announced to every node (their
//! search indexes forget the contact).

use madoguchi_store::contacts::{Contact, ContactPatch};
use madoguchi_store::erasure::Erased;
use madoguchi_store::StoreError;

use crate::app::error::{DomainError, DomainResult};
use crate::app::AppState;
use madoguchi_core::shop_data::ShopData;

/// Changes a contact's name, e-mail or phone.
pub async fn update(
    state: &AppState,
    workspace_id: &str,
    id: &str,
    patch: &ContactPatch,
) -> Result<Contact, StoreError> {
    let contact = state.store.update_contact(workspace_id, id, patch).await?;
    announce(state, &contact).await;
    Ok(contact)
}

/// Replaces what the shop's systems tell about a contact (attributes, recent orders), checked.
pub async fn set_shop_data(
    state: &AppState,
    workspace_id: &str,
    id: &str,
    data: &ShopData,
) -> DomainResult<Contact> {
    data.validate()?;
    let stored = serde_json::to_string(data)
        .map_err(|err| DomainError::CorruptSettings(format!("shop data: {err}")))?;
    let contact = state.store.set_shop_data(workspace_id, id, &stored).await?;
    announce(state, &contact).await;
    Ok(contact)
}

/// Tells every node, and the workspace's webhooks, that the contact changed.
async fn announce(state: &AppState, contact: &Contact) {
    state.hub.contact_changed(&contact.id).await;
    state.hub.contact_updated(
        &contact.workspace_id,
        serde_json::json!({
            "id": contact.id,
            "name": contact.name,
            "email": contact.email,
            "phone": contact.phone,
            "updated_at": contact.updated_at,
        }),
    );
}

/// Erases a contact's data (see `madoguchi_store::erasure`); `actor` is who asked.
pub async fn erase(
    state: &AppState,
    workspace_id: &str,
    id: &str,
    actor: &str,
) -> Result<Erased, StoreError> {
    let erased = state.store.erase_contact(workspace_id, id, actor).await?;
    state.hub.contact_erased(id).await;
    Ok(erased)
}
