//! The contact profile: identities and every conversation on every channel.

use axum::extract::State;
use madoguchi_store::conversations::ConversationFilter;
use madoguchi_store::StoreError;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::AppState;
use crate::auth::AgentAuth;
use crate::error::{check_id, ApiResult, AppError, ErrorBody, Json, Path};
use crate::views::{views, ContactView, ConversationView, IdentityView};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(get_contact))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ContactProfile {
    contact: ContactView,
    identities: Vec<IdentityView>,
    /// All of the contact's conversations, most recent first.
    conversations: Vec<ConversationView>,
}

/// Most conversations a profile lists.
const PROFILE_CONVERSATIONS: i64 = 500;

/// A contact of the agent's workspace with their whole history.
#[utoipa::path(get, path = "/api/v1/contacts/{id}", tag = "agent", params(("id" = String, Path)),
    responses((status = 200, body = ContactProfile), (status = 404, body = ErrorBody)))]
async fn get_contact(
    State(state): State<AppState>,
    auth: AgentAuth,
    Path(id): Path<String>,
) -> ApiResult<Json<ContactProfile>> {
    check_id(&id, "contact")?;
    let workspace = &auth.agent.workspace_id;
    let contact = match state.store.contact(workspace, &id).await {
        Err(StoreError::NotFound) => return Err(AppError::not_found("contact")),
        other => other?,
    };
    let identities = state.store.contact_identities(workspace, &id).await?;
    let filter = ConversationFilter {
        contact_id: Some(id.clone()),
        limit: PROFILE_CONVERSATIONS,
        ..Default::default()
    };
    let conversations = state.store.conversations(workspace, &filter).await?;
    Ok(Json(ContactProfile {
        contact: (&contact).into(),
        identities: views(&identities),
        conversations: views(&conversations),
    }))
}
