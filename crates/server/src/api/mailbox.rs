//! An e-mail channel's IMAP mailbox (admin): `PUT` connects it (the login is tried first, so a
//! wrong password is a clear `422`, not a silent retry loop), `DELETE` disconnects it. The
//! password is stored for the reader and never shown again.

use axum::extract::State;
use axum::http::StatusCode;
use madoguchi_store::workspaces::ChannelField;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::admin::{clear_channel_field, ChannelView};
use crate::api::audit;
use crate::app::auth::AgentAuth;
use crate::app::AppState;
use crate::channels::email::imap::{ImapMailbox, Session};
use crate::http::error::{ApiResult, AppError, ErrorBody, ErrorCode, Json, Path};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(connect_mailbox, disconnect_mailbox))
}

/// Read this e-mail channel's mail from an IMAP mailbox (`tls`: `tls`, `starttls`, or `none`
/// for a server on this machine). New mail is read within seconds where the server offers
/// IDLE, else every minute; connecting reads the last three days.
#[utoipa::path(put, path = "/api/v1/channels/{id}/imap", tag = "admin", params(("id" = String, Path)),
    request_body(content = Object, description = "host, port, tls, user, password, folder (default INBOX)"),
    responses((status = 200, body = ChannelView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn connect_mailbox(
    State(state): State<AppState>,
    AgentAuth { agent: admin, .. }: AgentAuth,
    Path(id): Path<String>,
    Json(mailbox): Json<ImapMailbox>,
) -> ApiResult<Json<ChannelView>> {
    let channel = super::admin::channel_of(&state, &admin.workspace_id, &id).await?;
    if channel.kind != "email" {
        return Err(
            madoguchi_core::InvalidValue::new("channel", "is not an e-mail channel").into(),
        );
    }
    mailbox.validate()?;
    let mut session = Session::open(&mailbox).await.map_err(|err| {
        AppError::new(
            ErrorCode::InvalidBody,
            format!("cannot log in to the mailbox: {err}"),
        )
    })?;
    session.select(&mailbox.folder).await.map_err(|err| {
        AppError::new(
            ErrorCode::InvalidBody,
            format!("cannot open the folder: {err}"),
        )
    })?;
    session.logout().await;
    let settings = serde_json::to_string(&mailbox)
        .map_err(|err| AppError::new(ErrorCode::Internal, err.to_string()))?;
    let channel = state
        .store
        .set_channel_field(
            &admin.workspace_id,
            &id,
            ChannelField::Imap,
            Some(&settings),
        )
        .await?;
    let target = format!("channel:{id}");
    audit(
        &state,
        &admin,
        "channel.imap_connected",
        &target,
        serde_json::json!({"host": mailbox.host, "user": mailbox.user, "folder": mailbox.folder}),
    )
    .await?;
    Ok(Json(super::admin::ChannelView::of(
        &channel,
        &state.settings.public_url(),
    )?))
}

/// Stop reading the channel's IMAP mailbox (mail already read stays).
#[utoipa::path(delete, path = "/api/v1/channels/{id}/imap", tag = "admin", params(("id" = String, Path)),
    responses((status = 204, description = "Disconnected"), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn disconnect_mailbox(
    State(state): State<AppState>,
    AgentAuth { agent: admin, .. }: AgentAuth,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    clear_channel_field(
        &state,
        &admin,
        &id,
        ChannelField::Imap,
        "channel.imap_disconnected",
    )
    .await
}
