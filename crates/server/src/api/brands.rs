//! Brands: the shops one workspace answers for (name, help-center address, colour, logo,
//! e-mail sender), which channels belong to each, and which brands an agent is limited to.
//! Every agent reads the list (the inbox filters by brand); changing needs the permission the
//! route table names, and every change is audited.

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use madoguchi_core::agent::Email;
use madoguchi_core::InvalidValue;
use madoguchi_store::brands::{Brand, BrandFields};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::admin::parse_name;
use super::workspace::{logo_type, MAX_LOGO_BYTES};
use crate::api::audit;
use crate::app::auth::AgentAuth;
use crate::app::AppState;
use crate::http::error::{check_id, ApiResult, ErrorBody, Json, OrNotFound, Path};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_brands, create_brand))
        .routes(routes!(update_brand, delete_brand))
        .routes(routes!(put_brand_logo))
        .routes(routes!(put_channel_brand))
        .routes(routes!(put_agent_brands))
        .layer(DefaultBodyLimit::max(MAX_LOGO_BYTES + 1))
}

/// Refuses a brand that is not one of the workspace's (`None` passes: every brand's).
pub(super) async fn check_brand(
    state: &AppState,
    workspace_id: &str,
    brand_id: Option<&str>,
) -> ApiResult<()> {
    if let Some(id) = brand_id {
        check_id(id, "brand")?;
        state
            .store
            .brand(workspace_id, id)
            .await
            .map_err(|_| InvalidValue::new("brand_id", "is not a brand of this workspace"))?;
    }
    Ok(())
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BrandView {
    id: String,
    /// The help center's address: `/help/{slug}`.
    slug: String,
    name: String,
    color: Option<String>,
    sender_name: Option<String>,
    sender_email: Option<String>,
    /// Whether a logo was uploaded (shown at `/help/{slug}/logo`).
    has_logo: bool,
    /// The agents limited to this brand (among others they may have).
    agent_ids: Vec<String>,
    created_at: i64,
}

fn view(brand: Brand, agent_ids: Vec<String>) -> BrandView {
    BrandView {
        id: brand.id,
        slug: brand.slug,
        name: brand.name,
        color: brand.color,
        sender_name: brand.sender_name,
        sender_email: brand.sender_email,
        has_logo: brand.has_logo,
        agent_ids,
        created_at: brand.created_at,
    }
}

/// The workspace's brands, oldest first.
#[utoipa::path(get, path = "/api/v1/brands", tag = "agent",
    responses((status = 200, body = [BrandView]), (status = 401, body = ErrorBody)))]
async fn list_brands(
    State(state): State<AppState>,
    auth: AgentAuth,
) -> ApiResult<Json<Vec<BrandView>>> {
    let workspace = &auth.agent.workspace_id;
    let limits = state.store.brand_limits(workspace).await?;
    let brands = state.store.brands(workspace).await?;
    Ok(Json(
        brands
            .into_iter()
            .map(|brand| {
                let agents = limits
                    .iter()
                    .filter(|(_, b)| *b == brand.id)
                    .map(|(agent, _)| agent.clone())
                    .collect();
                view(brand, agents)
            })
            .collect(),
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BrandRequest {
    /// 2-40 characters of a-z, 0-9 and `-`: the help center's address `/help/{slug}`.
    slug: String,
    name: String,
    /// `#rrggbb`.
    color: Option<String>,
    sender_name: Option<String>,
    sender_email: Option<String>,
}

impl BrandRequest {
    fn fields(self) -> Result<BrandFields, InvalidValue> {
        let slug = self.slug.trim().to_owned();
        let slug_ok = (2..=40).contains(&slug.len())
            && slug
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !slug.starts_with('-');
        if !slug_ok {
            return Err(InvalidValue::new(
                "slug",
                "must be 2-40 characters of a-z, 0-9 and -",
            ));
        }
        let color = self.color.filter(|c| !c.trim().is_empty());
        if let Some(color) = &color {
            let ok = color.len() == 7
                && color.starts_with('#')
                && color[1..].bytes().all(|b| b.is_ascii_hexdigit());
            if !ok {
                return Err(InvalidValue::new("color", "must be #rrggbb"));
            }
        }
        let sender_name = self
            .sender_name
            .filter(|n| !n.trim().is_empty())
            .map(|n| parse_name(&n))
            .transpose()
            .map_err(|_| InvalidValue::new("sender_name", "must be 1-100 characters"))?;
        let sender_email = self
            .sender_email
            .filter(|e| !e.trim().is_empty())
            .map(|e| Email::parse(&e).map(|e| e.as_str().to_owned()))
            .transpose()
            .map_err(|_| InvalidValue::new("sender_email", "is not an e-mail address"))?;
        Ok(BrandFields {
            slug,
            name: parse_name(&self.name)?,
            color,
            sender_name,
            sender_email,
        })
    }
}

/// Add a brand.
#[utoipa::path(post, path = "/api/v1/brands", tag = "admin", request_body = BrandRequest,
    responses((status = 201, body = BrandView), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_brand(
    State(state): State<AppState>,
    AgentAuth { agent: admin, .. }: AgentAuth,
    Json(request): Json<BrandRequest>,
) -> ApiResult<(StatusCode, Json<BrandView>)> {
    let fields = request.fields()?;
    let brand = state
        .store
        .create_brand(&admin.workspace_id, &fields)
        .await?;
    let target = format!("brand:{}", brand.id);
    let detail = serde_json::json!({ "name": brand.name, "slug": brand.slug });
    audit(&state, &admin, "brand.created", &target, detail).await?;
    Ok((StatusCode::CREATED, Json(view(brand, Vec::new()))))
}

/// Change a brand's name, address, colour or sender.
#[utoipa::path(put, path = "/api/v1/brands/{id}", tag = "admin", params(("id" = String, Path)), request_body = BrandRequest,
    responses((status = 200, body = BrandView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update_brand(
    State(state): State<AppState>,
    AgentAuth { agent: admin, .. }: AgentAuth,
    Path(id): Path<String>,
    Json(request): Json<BrandRequest>,
) -> ApiResult<Json<BrandView>> {
    check_id(&id, "brand")?;
    let fields = request.fields()?;
    let brand = state
        .store
        .update_brand(&admin.workspace_id, &id, &fields)
        .await
        .or_not_found("brand")?;
    let agents = state
        .store
        .brand_limits(&admin.workspace_id)
        .await?
        .into_iter()
        .filter(|(_, b)| *b == id)
        .map(|(agent, _)| agent)
        .collect();
    let target = format!("brand:{id}");
    let detail = serde_json::json!({ "name": brand.name, "slug": brand.slug });
    audit(&state, &admin, "brand.updated", &target, detail).await?;
    Ok(Json(view(brand, agents)))
}

/// Remove a brand: its channels, conversations, articles and templates become the whole
/// workspace's again.
#[utoipa::path(delete, path = "/api/v1/brands/{id}", tag = "admin", params(("id" = String, Path)),
    responses((status = 204, description = "Removed"), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn delete_brand(
    State(state): State<AppState>,
    AgentAuth { agent: admin, .. }: AgentAuth,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    check_id(&id, "brand")?;
    state
        .store
        .delete_brand(&admin.workspace_id, &id)
        .await
        .or_not_found("brand")?;
    let target = format!("brand:{id}");
    audit(
        &state,
        &admin,
        "brand.deleted",
        &target,
        serde_json::json!({}),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Replace a brand's logo (the image itself as the body: PNG, JPEG, GIF or WebP, 512 KiB).
#[utoipa::path(put, path = "/api/v1/brands/{id}/logo", tag = "admin", params(("id" = String, Path)),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 204, description = "Stored"), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 413, body = ErrorBody), (status = 415, body = ErrorBody)))]
async fn put_brand_logo(
    State(state): State<AppState>,
    AgentAuth { agent: admin, .. }: AgentAuth,
    Path(id): Path<String>,
    bytes: Bytes,
) -> ApiResult<StatusCode> {
    check_id(&id, "brand")?;
    let content_type = logo_type(&bytes)?;
    state
        .store
        .set_brand_logo(&admin.workspace_id, &id, content_type, &bytes)
        .await
        .or_not_found("brand")?;
    let target = format!("brand:{id}");
    audit(&state, &admin, "brand.logo", &target, serde_json::json!({})).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChannelBrand {
    /// `null`: the channel is the whole workspace's.
    brand_id: Option<String>,
}

/// Put a channel in a brand; its conversations follow.
#[utoipa::path(put, path = "/api/v1/channels/{id}/brand", tag = "admin", params(("id" = String, Path)), request_body = ChannelBrand,
    responses((status = 204, description = "Moved"), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn put_channel_brand(
    State(state): State<AppState>,
    AgentAuth { agent: admin, .. }: AgentAuth,
    Path(id): Path<String>,
    Json(request): Json<ChannelBrand>,
) -> ApiResult<StatusCode> {
    check_id(&id, "channel")?;
    if let Some(brand) = &request.brand_id {
        check_id(brand, "brand")?;
    }
    state
        .store
        .set_channel_brand(&admin.workspace_id, &id, request.brand_id.as_deref())
        .await
        .or_not_found("channel or brand")?;
    let target = format!("channel:{id}");
    let detail = serde_json::json!({ "brand_id": request.brand_id });
    audit(&state, &admin, "channel.brand", &target, detail).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AgentBrands {
    /// The brands whose conversations the agent sees; empty: every brand's.
    brand_ids: Vec<String>,
}

/// Limit an agent to some brands (or lift the limit with an empty list).
#[utoipa::path(put, path = "/api/v1/agents/{id}/brands", tag = "admin", params(("id" = String, Path)), request_body = AgentBrands,
    responses((status = 204, description = "Set"), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn put_agent_brands(
    State(state): State<AppState>,
    AgentAuth { agent: admin, .. }: AgentAuth,
    Path(id): Path<String>,
    Json(request): Json<AgentBrands>,
) -> ApiResult<StatusCode> {
    check_id(&id, "agent")?;
    state
        .store
        .agent(&admin.workspace_id, &id)
        .await
        .or_not_found("agent")?;
    state
        .store
        .set_agent_brands(&admin.workspace_id, &id, &request.brand_ids)
        .await?;
    let target = format!("agent:{id}");
    let detail = serde_json::json!({ "brand_ids": request.brand_ids });
    audit(&state, &admin, "agent.brands", &target, detail).await?;
    Ok(StatusCode::NO_CONTENT)
}
