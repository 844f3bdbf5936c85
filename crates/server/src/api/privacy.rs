//! Customer data handled with care over HTTP: which sensitive data (card numbers, My Number,
//! passwords) is masked in customers' messages before they are stored. Reading is for every
//! agent; changing is for admins, and audited.

use axum::extract::State;
use madoguchi_core::sensitive::Rules;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::api::audit;
use crate::app::auth::{AdminAuth, AgentAuth};
use crate::app::AppState;
use crate::http::error::{ApiResult, AppError, ErrorBody, ErrorCode, Json};
use crate::inbox::settings::sensitive_rules;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(get_masking, put_masking))
}

/// Which sensitive data is masked in customers' messages (`card`, `my_number`, `password`).
#[utoipa::path(get, path = "/api/v1/privacy/masking", tag = "agent",
    responses((status = 200, body = Object)))]
async fn get_masking(State(state): State<AppState>, auth: AgentAuth) -> ApiResult<Json<Rules>> {
    let workspace = state.store.workspace(&auth.agent.workspace_id).await?;
    Ok(Json(sensitive_rules(&workspace)?))
}

#[utoipa::path(put, path = "/api/v1/privacy/masking", tag = "admin", request_body = Object,
    responses((status = 200, body = Object), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn put_masking(
    State(state): State<AppState>,
    AdminAuth(admin): AdminAuth,
    Json(rules): Json<Rules>,
) -> ApiResult<Json<Rules>> {
    let json = serde_json::to_string(&rules)
        .map_err(|err| AppError::new(ErrorCode::Internal, err.to_string()))?;
    state
        .store
        .set_sensitive_rules(&admin.workspace_id, &json)
        .await?;
    let target = format!("workspace:{}", admin.workspace_id);
    audit(
        &state,
        &admin,
        "privacy.masking_changed",
        &target,
        serde_json::to_value(rules).unwrap_or_default(),
    )
    .await?;
    Ok(Json(rules))
}
