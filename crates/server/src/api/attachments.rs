//! Files in conversations, both ways: a customer's photo of damaged goods, an agent's PDF. An
//! upload is the raw file as the request body (`?name=`), accepted only when its content is an
//! image or a PDF (see `madoguchi_core::attachment`), and posted as a message whose `meta` names
//! it. Files are served with their sniffed type, `nosniff` and a sandboxing CSP; a private
//! note's file never to the customer.

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use madoguchi_core::attachment::{parse_file_name, shown_inline, sniff, MAX_ATTACHMENT_BYTES};
use madoguchi_core::message::{ClientId, MessageBody, SenderKind};
use madoguchi_store::attachments::{Attachment, NewAttachment};
use madoguchi_store::conversations::Conversation;
use madoguchi_store::jobs::NO_JOBS;
use madoguchi_store::messages::NewMessage;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::conversations::workspace_conversation;
use super::widget::own_conversation;
use crate::app::auth::{AgentAuth, ClientIp, VisitorAuth};
use crate::app::AppState;
use crate::automation::intake;
use crate::http::error::{
    check_id, ApiResult, AppError, ErrorBody, ErrorCode, Json, OrNotFound, Path, Query,
};
use crate::http::views::{MessageView, VisitorMessageView};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(visitor_upload))
        .routes(routes!(agent_upload))
        .layer(DefaultBodyLimit::max(MAX_ATTACHMENT_BYTES + 1))
        .routes(routes!(visitor_file))
        .routes(routes!(agent_file))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct UploadQuery {
    /// The file's name as the uploader's device calls it.
    name: String,
    /// The uploader's own id for this message; sending it again returns the same message.
    client_id: Option<String>,
    /// Agents only: attach to a private note.
    #[serde(default)]
    private: bool,
}

/// A checked upload: its type (by content), shown name and client id.
struct Upload {
    content_type: &'static str,
    name: String,
    body: MessageBody,
    client_id: Option<ClientId>,
}

fn check_upload(query: &UploadQuery, bytes: &[u8]) -> ApiResult<Upload> {
    let name = parse_file_name(&query.name)?;
    let content_type =
        sniff(bytes).map_err(|err| AppError::new(ErrorCode::UnsupportedMediaType, err.reason))?;
    Ok(Upload {
        content_type,
        body: MessageBody::parse(&name)?,
        name,
        client_id: query
            .client_id
            .as_deref()
            .map(ClientId::parse)
            .transpose()?,
    })
}

/// Stores the file and returns the message `meta` that shows it.
async fn store_file(
    state: &AppState,
    conversation: &Conversation,
    uploaded_by: &str,
    private: bool,
    upload: &Upload,
    bytes: &[u8],
) -> ApiResult<String> {
    let attachment = state
        .store
        .create_attachment(&NewAttachment {
            workspace_id: &conversation.workspace_id,
            conversation_id: &conversation.id,
            uploaded_by,
            private,
            name: &upload.name,
            content_type: upload.content_type,
            data: bytes,
            at: state.clock.now_ms(),
        })
        .await?;
    let meta = serde_json::json!({"attachments": [{
        "id": attachment.id,
        "name": attachment.name,
        "content_type": attachment.content_type,
        "size": attachment.size,
    }]});
    Ok(meta.to_string())
}

/// The file as a response that cannot run script in Madoguchi's origin.
fn file_response(attachment: &Attachment, data: Vec<u8>) -> Response {
    let inline = shown_inline(&attachment.content_type);
    let disposition = format!(
        "{}; filename*=UTF-8''{}",
        if inline { "inline" } else { "attachment" },
        percent_encoded(&attachment.name)
    );
    let mut response = data.into_response();
    let headers = response.headers_mut();
    let pairs = [
        (header::CONTENT_TYPE, attachment.content_type.clone()),
        (header::CONTENT_DISPOSITION, disposition),
        (
            header::CONTENT_SECURITY_POLICY,
            // A mail's HTML keeps its inline styles and embedded images; nothing else loads
            // (no script, no tracking pixels), and `sandbox` gives it an origin of its own.
            "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:".into(),
        ),
        (header::CACHE_CONTROL, "private, max-age=86400".into()),
    ];
    for (name, value) in pairs {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(name, value);
        }
    }
    response
}

/// RFC 5987 encoding for `filename*`: unreserved ASCII as is, every other byte as `%XX`.
fn percent_encoded(name: &str) -> String {
    name.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn created(appended_created: bool) -> StatusCode {
    if appended_created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    }
}

/// The visitor attaches an image or PDF to one of their conversations (body: the file).
#[utoipa::path(post, path = "/widget/v1/conversations/{id}/attachments", tag = "widget", params(("id" = String, Path), UploadQuery),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 201, body = VisitorMessageView), (status = 404, body = ErrorBody), (status = 413, body = ErrorBody), (status = 415, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn visitor_upload(
    State(state): State<AppState>,
    visitor: VisitorAuth,
    ClientIp(ip): ClientIp,
    Path(id): Path<String>,
    Query(query): Query<UploadQuery>,
    bytes: Bytes,
) -> ApiResult<(StatusCode, Json<VisitorMessageView>)> {
    if query.private {
        return Err(madoguchi_core::InvalidValue::new("private", "only agents write notes").into());
    }
    let conversation = own_conversation(&state, &visitor, &id).await?;
    state
        .limits
        .visitor_messages
        .check(&conversation.contact_id)?;
    let upload = check_upload(&query, &bytes)?;
    let uploaded_by = format!("contact:{}", conversation.contact_id);
    let meta = store_file(&state, &conversation, &uploaded_by, false, &upload, &bytes).await?;
    let appended = intake::customer_message(
        &state,
        &visitor.channel,
        NewMessage {
            workspace_id: &conversation.workspace_id,
            conversation_id: &conversation.id,
            sender_kind: SenderKind::Contact,
            sender_id: &conversation.contact_id,
            body: &upload.body,
            private: false,
            client_id: upload.client_id.as_ref(),
            meta: Some(&meta),
            sender_name: None,
            jobs: &NO_JOBS,
            at: state.clock.now_ms(),
        },
        intake::Reactions::All,
        Some(ip),
    )
    .await
    .or_not_found("conversation")?;
    Ok((created(appended.created), Json((&appended.message).into())))
}

/// An agent attaches an image or PDF to a reply (or a private note with `private=true`).
#[utoipa::path(post, path = "/api/v1/conversations/{id}/attachments", tag = "agent", params(("id" = String, Path), UploadQuery),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 201, body = MessageView), (status = 404, body = ErrorBody), (status = 413, body = ErrorBody), (status = 415, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn agent_upload(
    State(state): State<AppState>,
    auth: AgentAuth,
    Path(id): Path<String>,
    Query(query): Query<UploadQuery>,
    bytes: Bytes,
) -> ApiResult<(StatusCode, Json<MessageView>)> {
    let conversation = workspace_conversation(&state, &auth, &id).await?;
    let upload = check_upload(&query, &bytes)?;
    let uploaded_by = format!("agent:{}", auth.agent.id);
    let meta = store_file(
        &state,
        &conversation,
        &uploaded_by,
        query.private,
        &upload,
        &bytes,
    )
    .await?;
    let appended = intake::agent_message(
        &state,
        NewMessage {
            workspace_id: &conversation.workspace_id,
            conversation_id: &conversation.id,
            sender_kind: SenderKind::Agent,
            sender_id: &auth.agent.id,
            body: &upload.body,
            private: query.private,
            client_id: upload.client_id.as_ref(),
            meta: Some(&meta),
            sender_name: Some(&auth.agent.name),
            jobs: &NO_JOBS,
            at: state.clock.now_ms(),
        },
    )
    .await
    .or_not_found("conversation")?;
    Ok((created(appended.created), Json((&appended.message).into())))
}

/// A file of one of the visitor's conversations (never one from a private note).
#[utoipa::path(get, path = "/widget/v1/attachments/{id}", tag = "widget", params(("id" = String, Path)),
    responses((status = 200, description = "The file", content_type = "application/octet-stream"), (status = 404, body = ErrorBody)))]
async fn visitor_file(
    State(state): State<AppState>,
    visitor: VisitorAuth,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    check_id(&id, "attachment")?;
    let contact = visitor
        .contact
        .as_ref()
        .ok_or_else(|| AppError::not_found("attachment"))?;
    let (attachment, data) = state
        .store
        .attachment(&contact.workspace_id, &id)
        .await
        .or_not_found("attachment")?;
    let conversation = state
        .store
        .conversation(&contact.workspace_id, &attachment.conversation_id)
        .await?;
    if attachment.private || conversation.contact_id != contact.id {
        return Err(AppError::not_found("attachment"));
    }
    Ok(file_response(&attachment, data))
}

/// A file of a conversation in the agent's workspace.
#[utoipa::path(get, path = "/api/v1/attachments/{id}", tag = "agent", params(("id" = String, Path)),
    responses((status = 200, description = "The file", content_type = "application/octet-stream"), (status = 404, body = ErrorBody)))]
async fn agent_file(
    State(state): State<AppState>,
    auth: AgentAuth,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    check_id(&id, "attachment")?;
    let (attachment, data) = state
        .store
        .attachment(&auth.agent.workspace_id, &id)
        .await
        .or_not_found("attachment")?;
    // An agent who sees only their teams' conversations gets only those files.
    workspace_conversation(&state, &auth, &attachment.conversation_id)
        .await
        .map_err(|_| AppError::not_found("attachment"))?;
    Ok(file_response(&attachment, data))
}

#[cfg(test)]
mod tests {
    use super::percent_encoded;

    #[test]
    fn file_names_in_headers_are_encoded() {
        assert_eq!(percent_encoded("a b.png"), "a%20b.png");
        assert_eq!(percent_encoded("写真.jpg"), "%E5%86%99%E7%9C%9F.jpg");
        assert_eq!(percent_encoded("x\";\r\n.pdf"), "x%22%3B%0D%0A.pdf");
    }
}
