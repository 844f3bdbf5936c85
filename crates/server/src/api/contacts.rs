//! The contact profile: identities and every conversation on every channel; editing it.
//! [`ContactRequest`] is shared with the widget, where visitors leave their own details.

use axum::extract::State;
use madoguchi_core::agent::Email;
use madoguchi_core::shop_data::ShopData;
use madoguchi_core::InvalidValue;
use madoguchi_store::contacts::ContactPatch;
use madoguchi_store::contacts::{Contact, Identity};
use madoguchi_store::conversations::ConversationFilter;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::admin::parse_name;
use crate::app::auth::sight;
use crate::app::auth::AgentAuth;
use crate::app::AppState;
use crate::http::error::{check_id, ApiResult, ErrorBody, Json, OrNotFound, Path};
use crate::http::views::{views, ConversationView};

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ContactView {
    pub id: String,
    pub name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    /// When the contact's data was erased (nothing of it is left).
    pub erased_at: Option<i64>,
    /// What the shop's systems sent about them: attributes and recent orders.
    #[schema(value_type = Object)]
    pub shop: ShopData,
    pub created_at: i64,
    pub updated_at: i64,
}

impl From<&Contact> for ContactView {
    fn from(c: &Contact) -> Self {
        Self {
            id: c.id.clone(),
            name: c.name.clone(),
            email: c.email.clone(),
            phone: c.phone.clone(),
            erased_at: c.erased_at,
            // Stored only after it was checked; an unreadable row shows as nothing sent.
            shop: c
                .shop_data
                .as_deref()
                .and_then(|d| serde_json::from_str(d).ok())
                .unwrap_or_default(),
            created_at: c.created_at,
            updated_at: c.updated_at,
        }
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct IdentityView {
    /// visitor, email, phone or user (a signed-in customer's id on the shop's site)
    pub kind: String,
    /// Empty for visitor identities (their token is a secret).
    pub value: String,
    pub created_at: i64,
}

impl From<&Identity> for IdentityView {
    fn from(i: &Identity) -> Self {
        Self {
            kind: i.kind.clone(),
            value: i.value.clone(),
            created_at: i.created_at,
        }
    }
}

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(
        get_contact,
        update_contact,
        super::privacy::erase_contact
    ))
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
    let contact = state
        .store
        .contact(workspace, &id)
        .await
        .or_not_found("contact")?;
    let identities = state.store.contact_identities(workspace, &id).await?;
    let filter = ConversationFilter {
        contact_id: Some(id.clone()),
        sight: sight(&state, &auth.agent).await?,
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

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContactRequest {
    name: Option<String>,
    email: Option<String>,
    phone: Option<String>,
}

/// A phone number: digits with an optional leading `+`, spaces and dashes, 6–20 digits.
fn parse_phone(raw: &str) -> Result<String, InvalidValue> {
    let trimmed = raw.trim();
    let digits: String = trimmed.chars().filter(char::is_ascii_digit).collect();
    let allowed = trimmed
        .chars()
        .enumerate()
        .all(|(i, c)| c.is_ascii_digit() || c == ' ' || c == '-' || (c == '+' && i == 0));
    if !allowed || !(6..=20).contains(&digits.len()) {
        return Err(InvalidValue::new(
            "phone",
            "must be a phone number of 6-20 digits",
        ));
    }
    Ok(if trimmed.starts_with('+') {
        format!("+{digits}")
    } else {
        digits
    })
}

impl ContactRequest {
    pub(super) fn new(name: Option<String>, email: Option<String>) -> Self {
        Self {
            name,
            email,
            phone: None,
        }
    }

    pub(super) fn parse(&self) -> Result<ContactPatch, InvalidValue> {
        let name = self.name.as_deref().map(parse_name).transpose()?;
        Ok(ContactPatch {
            name,
            email: self
                .email
                .as_deref()
                .map(Email::parse)
                .transpose()?
                .map(|e| e.as_str().to_owned()),
            phone: self.phone.as_deref().map(parse_phone).transpose()?,
        })
    }
}

/// Edit a contact's name, e-mail address or phone number.
#[utoipa::path(patch, path = "/api/v1/contacts/{id}", tag = "agent", params(("id" = String, Path)), request_body = ContactRequest,
    responses((status = 200, body = ContactView), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update_contact(
    State(state): State<AppState>,
    auth: AgentAuth,
    Path(id): Path<String>,
    Json(request): Json<ContactRequest>,
) -> ApiResult<Json<ContactView>> {
    check_id(&id, "contact")?;
    let patch = request.parse()?;
    let contact = crate::inbox::contacts::update(&state, &auth.agent.workspace_id, &id, &patch)
        .await
        .or_not_found("contact")?;
    Ok(Json((&contact).into()))
}

#[cfg(test)]
mod tests {
    use super::parse_phone;

    #[test]
    fn phones_are_normalised() {
        assert_eq!(parse_phone("090-1234-5678").unwrap(), "09012345678");
        assert_eq!(parse_phone("+81 90 1234 5678").unwrap(), "+819012345678");
        assert!(parse_phone("12345").is_err());
        assert!(parse_phone("090+1234").is_err());
        assert!(parse_phone("abc-defg-hijk").is_err());
    }
}
