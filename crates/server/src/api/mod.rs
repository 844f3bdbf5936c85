//! HTTP routes, each documented for the OpenAPI document as it is registered (so a route
//! cannot be served without being documented): the agent, admin and knowledge APIs, the
//! widget's visitor API, and the WebSocket sessions of both ([`sockets`]).

mod accounts;
mod admin;
mod attachments;
mod audit_log;
mod auth;
mod brands;
mod channel_api;
mod contacts;
mod conversations;
mod harassment;
mod hooks;
mod knowledge;
mod mailbox;
mod privacy;
pub mod reports;
mod routing;
mod search;
pub mod sockets;
mod system;
mod two_factor;
mod webhooks;
mod widget;
pub mod workspace;

use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

use madoguchi_store::agents::Agent;
use madoguchi_store::audit::AuditEntry;

use crate::app::AppState;
use crate::http::error::ErrorBody;

#[derive(OpenApi)]
#[openapi(
    info(title = "Madoguchi API", description = "Customer conversations: widget (visitor) and agent APIs."),
    components(schemas(ErrorBody)),
    tags(
        (name = "widget", description = "Visitor API, authenticated by the visitor token"),
        (name = "agent", description = "Agent API, authenticated by bearer token or session cookie + CSRF token"),
        (name = "admin", description = "Workspace administration (admin role)"),
        (name = "channel", description = "API channel: a shop's own systems, authenticated by the channel token (Bearer mdc_…)"),
        (name = "system", description = "Health and metrics"),
    )
)]
struct ApiDoc;

pub fn api_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(widget::routes())
        .merge(accounts::routes())
        .merge(attachments::routes())
        .merge(audit_log::routes())
        .merge(auth::routes())
        .merge(brands::routes())
        .merge(channel_api::routes())
        .merge(conversations::routes())
        .merge(harassment::routes())
        .merge(hooks::routes())
        .merge(contacts::routes())
        .merge(knowledge::routes())
        .merge(admin::routes())
        .merge(mailbox::routes())
        .merge(privacy::routes())
        .merge(reports::routes())
        .merge(routing::routes())
        .merge(search::routes())
        .merge(system::routes())
        .merge(two_factor::routes())
        .merge(webhooks::routes())
        .merge(workspace::routes())
}

/// Paging through a conversation's messages by `seq`.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct AfterSeq {
    /// Only messages with a greater `seq`.
    after_seq: Option<i64>,
    /// At most this many (default 500, at most 1000).
    limit: Option<i64>,
}

impl AfterSeq {
    /// The page of a conversation's messages this asks for (notes only for agents); the caller
    /// has checked that the conversation may be read.
    async fn page(
        &self,
        state: &AppState,
        conversation_id: &str,
        include_private: bool,
    ) -> crate::http::error::ApiResult<Vec<madoguchi_store::messages::Message>> {
        let messages = state
            .store
            .messages_after(
                conversation_id,
                self.after_seq.unwrap_or(0),
                include_private,
                self.limit.unwrap_or(500),
            )
            .await?;
        Ok(messages)
    }
}

/// Most items a list returns when the client does not say.
const DEFAULT_LIMIT: i64 = 100;

/// Records what `agent` did to `target` in the workspace's audit log.
pub(crate) async fn audit(
    state: &AppState,
    agent: &Agent,
    action: &str,
    target: &str,
    detail: serde_json::Value,
) -> crate::http::error::ApiResult<()> {
    state
        .store
        .record_audit(&AuditEntry {
            workspace_id: &agent.workspace_id,
            actor: &format!("agent:{}", agent.id),
            action,
            target,
            detail: &detail,
        })
        .await?;
    Ok(())
}
