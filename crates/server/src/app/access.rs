//! Who may call which agent route: [`ROUTES`] names the one [`Permission`] each `/api/v1`
//! route needs (or that it is open, or only for the signed-in agent's own account), and
//! [`authorize`], layered on every route, checks it against the role table in
//! `madoguchi_core::permissions` before the handler runs. A route missing from the table is
//! refused: a new endpoint cannot be served before someone decides who may use it.

use axum::extract::{MatchedPath, Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use madoguchi_core::permissions::{allows, Permission};

use crate::app::auth::AgentAuth;
use crate::app::AppState;
use crate::http::error::{AppError, ErrorCode};

/// What a route asks of its caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone (signing in).
    Open,
    /// Any signed-in agent, for their own account and session.
    Own,
    Needs(Permission),
}

use Access::{Needs, Open, Own};
use Permission::*;

/// Every agent route: method, path (as routed), access.
pub const ROUTES: &[(&str, &str, Access)] = &[
    ("POST", "/api/v1/auth/login", Open),
    ("POST", "/api/v1/auth/password-reset", Open),
    ("POST", "/api/v1/auth/accept", Open),
    ("POST", "/api/v1/auth/logout", Own),
    ("POST", "/api/v1/auth/logout-everywhere", Own),
    ("GET", "/api/v1/me", Own),
    ("PATCH", "/api/v1/me", Own),
    ("POST", "/api/v1/me/password", Own),
    ("POST", "/api/v1/me/totp", Own),
    ("POST", "/api/v1/me/totp/enable", Own),
    ("POST", "/api/v1/me/totp/disable", Own),
    // The inbox.
    ("GET", "/api/v1/conversations", Needs(ReadInbox)),
    ("GET", "/api/v1/conversations/{id}", Needs(ReadInbox)),
    (
        "GET",
        "/api/v1/conversations/{id}/messages",
        Needs(ReadInbox),
    ),
    (
        "GET",
        "/api/v1/conversations/{id}/transcript",
        Needs(ReadInbox),
    ),
    ("GET", "/api/v1/contacts/{id}", Needs(ReadInbox)),
    ("GET", "/api/v1/attachments/{id}", Needs(ReadInbox)),
    ("GET", "/api/v1/search", Needs(ReadInbox)),
    ("GET", "/api/v1/ws", Needs(ReadInbox)),
    ("POST", "/api/v1/conversations", Needs(Answer)),
    ("PATCH", "/api/v1/conversations/{id}", Needs(Answer)),
    ("POST", "/api/v1/conversations/{id}/messages", Needs(Answer)),
    ("POST", "/api/v1/conversations/{id}/read", Needs(Answer)),
    (
        "POST",
        "/api/v1/conversations/{id}/attachments",
        Needs(Answer),
    ),
    ("PATCH", "/api/v1/contacts/{id}", Needs(Answer)),
    ("POST", "/api/v1/messages/{id}/report", Needs(Answer)),
    ("POST", "/api/v1/messages/{id}/reveal", Needs(RevealMasked)),
    // What agents work by, read by all.
    ("GET", "/api/v1/agents", Needs(ReadInbox)),
    ("GET", "/api/v1/channels", Needs(ReadInbox)),
    ("GET", "/api/v1/channels/{id}/automation", Needs(ReadInbox)),
    ("GET", "/api/v1/channels/{id}/scenario", Needs(ReadInbox)),
    ("GET", "/api/v1/templates", Needs(ReadInbox)),
    ("GET", "/api/v1/tags", Needs(ReadInbox)),
    ("GET", "/api/v1/articles", Needs(ReadInbox)),
    ("GET", "/api/v1/articles/{id}", Needs(ReadInbox)),
    ("GET", "/api/v1/articles/search", Needs(ReadInbox)),
    ("GET", "/api/v1/synonyms", Needs(ReadInbox)),
    ("GET", "/api/v1/bot/turns", Needs(ReadInbox)),
    // The bot's quality figures: everyone tunes the bot from its log.
    ("GET", "/api/v1/bot/rates", Needs(ReadInbox)),
    (
        "GET",
        "/api/v1/channels/{id}/scenario/clicks",
        Needs(ReadInbox),
    ),
    ("PATCH", "/api/v1/bot/turns/{id}", Needs(Answer)),
    ("GET", "/api/v1/teams", Needs(ReadInbox)),
    ("GET", "/api/v1/routing/settings", Needs(ReadInbox)),
    ("GET", "/api/v1/routing/rules", Needs(ReadInbox)),
    ("GET", "/api/v1/sla/policies", Needs(ReadInbox)),
    ("GET", "/api/v1/classification", Needs(ReadInbox)),
    ("GET", "/api/v1/agents/{id}/routing", Needs(ReadInbox)),
    ("PUT", "/api/v1/agents/{id}/routing", Needs(Answer)),
    ("GET", "/api/v1/harassment/policy", Needs(ReadInbox)),
    ("GET", "/api/v1/harassment/blocks", Needs(ReadInbox)),
    ("GET", "/api/v1/privacy/masking", Needs(ReadInbox)),
    ("GET", "/api/v1/privacy/retention", Needs(ReadInbox)),
    ("GET", "/api/v1/workspace", Needs(ReadInbox)),
    ("GET", "/api/v1/brands", Needs(ReadInbox)),
    // Harassment cases.
    ("GET", "/api/v1/harassment/reviews", Needs(HandleHarassment)),
    (
        "POST",
        "/api/v1/harassment/reviews/{id}",
        Needs(HandleHarassment),
    ),
    ("POST", "/api/v1/harassment/blocks", Needs(HandleHarassment)),
    (
        "DELETE",
        "/api/v1/harassment/blocks/{id}",
        Needs(HandleHarassment),
    ),
    (
        "GET",
        "/api/v1/conversations/{id}/evidence",
        Needs(HandleHarassment),
    ),
    // Reports.
    ("GET", "/api/v1/reports/kpis", Needs(ReadReports)),
    (
        "GET",
        "/api/v1/reports/kpis/conversations",
        Needs(ReadReports),
    ),
    ("GET", "/api/v1/reports/targets", Needs(ReadReports)),
    ("GET", "/api/v1/harassment/stats", Needs(ReadReports)),
    // Knowledge and canned replies.
    ("POST", "/api/v1/articles", Needs(EditKnowledge)),
    ("PUT", "/api/v1/articles/{id}", Needs(EditKnowledge)),
    ("DELETE", "/api/v1/articles/{id}", Needs(EditKnowledge)),
    ("PUT", "/api/v1/synonyms", Needs(EditKnowledge)),
    ("POST", "/api/v1/templates", Needs(EditKnowledge)),
    ("PATCH", "/api/v1/templates/{id}", Needs(EditKnowledge)),
    ("DELETE", "/api/v1/templates/{id}", Needs(EditKnowledge)),
    ("POST", "/api/v1/tags", Needs(EditKnowledge)),
    ("DELETE", "/api/v1/tags/{id}", Needs(EditKnowledge)),
    // Settings.
    ("POST", "/api/v1/channels", Needs(ChangeSettings)),
    ("PATCH", "/api/v1/channels/{id}", Needs(ChangeSettings)),
    (
        "PUT",
        "/api/v1/channels/{id}/automation",
        Needs(ChangeSettings),
    ),
    (
        "PUT",
        "/api/v1/channels/{id}/scenario",
        Needs(ChangeSettings),
    ),
    (
        "POST",
        "/api/v1/channels/{id}/identity-secret",
        Needs(ChangeSettings),
    ),
    (
        "DELETE",
        "/api/v1/channels/{id}/identity-secret",
        Needs(ChangeSettings),
    ),
    ("PUT", "/api/v1/channels/{id}/imap", Needs(ChangeSettings)),
    ("PUT", "/api/v1/channels/{id}/form", Needs(ChangeSettings)),
    (
        "DELETE",
        "/api/v1/channels/{id}/imap",
        Needs(ChangeSettings),
    ),
    ("PATCH", "/api/v1/workspace", Needs(ChangeSettings)),
    ("PUT", "/api/v1/workspace/logo", Needs(ChangeSettings)),
    ("POST", "/api/v1/brands", Needs(ChangeSettings)),
    ("PUT", "/api/v1/brands/{id}", Needs(ChangeSettings)),
    ("DELETE", "/api/v1/brands/{id}", Needs(ChangeSettings)),
    ("PUT", "/api/v1/brands/{id}/logo", Needs(ChangeSettings)),
    ("PUT", "/api/v1/channels/{id}/brand", Needs(ChangeSettings)),
    ("PUT", "/api/v1/harassment/policy", Needs(ChangeSettings)),
    ("PUT", "/api/v1/privacy/masking", Needs(ChangeSettings)),
    ("PUT", "/api/v1/privacy/retention", Needs(ChangeSettings)),
    ("PUT", "/api/v1/reports/targets", Needs(ChangeSettings)),
    ("POST", "/api/v1/teams", Needs(ChangeSettings)),
    ("PUT", "/api/v1/teams/{id}", Needs(ChangeSettings)),
    ("DELETE", "/api/v1/teams/{id}", Needs(ChangeSettings)),
    ("PUT", "/api/v1/routing/settings", Needs(ChangeSettings)),
    ("POST", "/api/v1/routing/rules", Needs(ChangeSettings)),
    ("PUT", "/api/v1/routing/rules/{id}", Needs(ChangeSettings)),
    (
        "DELETE",
        "/api/v1/routing/rules/{id}",
        Needs(ChangeSettings),
    ),
    ("POST", "/api/v1/sla/policies", Needs(ChangeSettings)),
    ("PUT", "/api/v1/sla/policies/{id}", Needs(ChangeSettings)),
    ("PUT", "/api/v1/classification", Needs(ChangeSettings)),
    ("GET", "/api/v1/webhooks", Needs(ChangeSettings)),
    ("POST", "/api/v1/webhooks", Needs(ChangeSettings)),
    ("PUT", "/api/v1/webhooks/{id}", Needs(ChangeSettings)),
    ("DELETE", "/api/v1/webhooks/{id}", Needs(ChangeSettings)),
    (
        "GET",
        "/api/v1/webhooks/{id}/attempts",
        Needs(ChangeSettings),
    ),
    // Agents.
    ("POST", "/api/v1/agents", Needs(ManageAgents)),
    ("GET", "/api/v1/agents/invitations", Needs(ManageAgents)),
    ("POST", "/api/v1/agents/invitations", Needs(ManageAgents)),
    ("PATCH", "/api/v1/agents/{id}", Needs(ManageAgents)),
    ("DELETE", "/api/v1/agents/{id}", Needs(ManageAgents)),
    ("POST", "/api/v1/agents/{id}/disable", Needs(ManageAgents)),
    ("POST", "/api/v1/agents/{id}/enable", Needs(ManageAgents)),
    ("PUT", "/api/v1/agents/{id}/brands", Needs(ManageAgents)),
    // A customer's data.
    ("GET", "/api/v1/contacts/{id}/export", Needs(ExportData)),
    ("DELETE", "/api/v1/contacts/{id}", Needs(EraseData)),
    ("GET", "/api/v1/audit", Needs(ReadAudit)),
];

/// What the route `path` (as routed, `{id}` and all) asks for `method`; `None` when the table
/// does not name it.
pub fn access(method: &Method, path: &str) -> Option<Access> {
    ROUTES
        .iter()
        .find(|(m, p, _)| *m == method.as_str() && *p == path)
        .map(|(_, _, access)| *access)
}

/// Checks an agent route's access before its handler: the agent is authenticated once here
/// (their [`AgentAuth`] is handed on to the handler) and their role must allow the route's
/// permission. Widget and page routes pass through; an agent route the table does not name is
/// refused.
pub async fn authorize(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let Some(path) = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
    else {
        return next.run(request).await;
    };
    if !path.starts_with("/api/v1/") {
        return next.run(request).await;
    }
    let needed = match access(request.method(), &path) {
        Some(Open) => return next.run(request).await,
        Some(Own) => None,
        Some(Needs(permission)) => Some(permission),
        None => {
            return AppError::new(
                ErrorCode::Forbidden,
                "no one has been given this endpoint yet",
            )
            .into_response()
        }
    };
    let (mut parts, body) = request.into_parts();
    let auth = match AgentAuth::authenticate(&mut parts, &state).await {
        Ok(auth) => auth,
        Err(err) => return err.into_response(),
    };
    if let Some(permission) = needed {
        if !allows(auth.agent.role, permission) {
            return AppError::new(
                ErrorCode::Forbidden,
                format!(
                    "the {} role may not do this ({permission})",
                    auth.agent.role
                ),
            )
            .into_response();
        }
    }
    parts.extensions.insert(auth);
    next.run(Request::from_parts(parts, body)).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_route_is_named_once() {
        for (i, (method, path, _)) in ROUTES.iter().enumerate() {
            assert!(
                !ROUTES[i + 1..]
                    .iter()
                    .any(|(m, p, _)| m == method && p == path),
                "{method} {path} twice"
            );
        }
        assert_eq!(
            access(&Method::DELETE, "/api/v1/contacts/{id}"),
            Some(Needs(EraseData))
        );
        assert_eq!(access(&Method::GET, "/api/v1/nothing"), None);
    }
}
