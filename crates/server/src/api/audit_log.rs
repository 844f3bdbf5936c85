//! The audit log for the people who answer for it: newest first, by actor, action or object,
//! as JSON or CSV, with the check of the workspace's chain (the same as `madoguchi audit
//! verify`). Reading it is a permission of its own, and each export is itself audited.

use axum::extract::State;
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use madoguchi_core::InvalidValue;
use madoguchi_store::audit::{AuditEvent, AuditFilter};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::api::audit;
use crate::api::reports::{csv_field, wants_csv};
use crate::app::auth::AgentAuth;
use crate::app::AppState;
use crate::http::error::{ApiResult, ErrorBody, Json, Query};

/// A filter's value, when one is given.
fn nonempty(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(audit_log))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    /// Part of who acted, as recorded: `agent:ID`, `contact:ID`, `system` (`agent:`: every agent).
    actor: Option<String>,
    /// Part of the action: `auth.`, `contact.erased`, `revealed`…
    action: Option<String>,
    /// Part of what it was done to, as recorded (`agent:ID`, a conversation or message id…).
    target: Option<String>,
    /// Events before this sequence number (the previous page's `next_before_seq`).
    before_seq: Option<i64>,
    /// 1-500, default 100.
    limit: Option<i64>,
    /// `json` (default) or `csv`.
    format: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ChainView {
    events: usize,
    /// The first event whose seal or link does not hold (`-1`: the newest were removed).
    first_broken_seq: Option<i64>,
    verified: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditPage {
    #[schema(value_type = Vec<Object>)]
    events: Vec<AuditEvent>,
    next_before_seq: Option<i64>,
    chain: ChainView,
}

/// The workspace's audit log, newest first, with the check of its hash chain.
#[utoipa::path(get, path = "/api/v1/audit", tag = "admin", params(AuditQuery),
    responses((status = 200, body = AuditPage, description = "JSON, or with format=csv a file"),
        (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn audit_log(
    State(state): State<AppState>,
    AgentAuth { agent, .. }: AgentAuth,
    headers: HeaderMap,
    Query(query): Query<AuditQuery>,
) -> ApiResult<Response> {
    let limit = query.limit.unwrap_or(100);
    if !(1..=500).contains(&limit) {
        return Err(InvalidValue::new("limit", "must be 1-500").into());
    }
    let filter = AuditFilter {
        actor: nonempty(&query.actor),
        action: nonempty(&query.action),
        target: nonempty(&query.target),
    };
    let events = state
        .store
        .audit_page(&agent.workspace_id, &filter, query.before_seq, limit + 1)
        .await?;
    let more = events.len() as i64 > limit;
    let events: Vec<AuditEvent> = events.into_iter().take(limit as usize).collect();
    if wants_csv(&headers, query.format.as_deref()) {
        audit(
            &state,
            &agent,
            "audit.exported",
            &format!("workspace:{}", agent.workspace_id),
            serde_json::json!({"events": events.len()}),
        )
        .await?;
        let mut csv = String::from("seq,created_at,actor,action,target,detail,hash\n");
        for e in &events {
            let cells = [
                e.seq.to_string(),
                e.created_at.to_string(),
                csv_field(&e.actor),
                csv_field(&e.action),
                csv_field(&e.target),
                csv_field(&e.detail),
                csv_field(&e.hash),
            ];
            csv.push_str(&cells.join(","));
            csv.push('\n');
        }
        return Ok((
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
                (
                    header::CONTENT_DISPOSITION,
                    "attachment; filename=\"audit.csv\"".to_owned(),
                ),
            ],
            csv,
        )
            .into_response());
    }
    let check = state.store.verify_audit_chain(&agent.workspace_id).await?;
    Ok(Json(AuditPage {
        next_before_seq: more.then(|| events.last().map(|e| e.seq)).flatten(),
        events,
        chain: ChainView {
            events: check.events,
            first_broken_seq: check.first_broken_seq,
            verified: check.first_broken_seq.is_none(),
        },
    })
    .into_response())
}
