//! The API channel: a shop's own systems (order system, app) write as their customers, with
//! the channel's token (`Authorization: Bearer mdc_…`, shown once when the channel is made).
//! They keep contacts by their own ids (`PUT /channel/v1/contacts/{external_id}`), open
//! conversations and post messages as the customer through the same door as every channel,
//! and read a conversation back (agents' replies, the bot; never notes). Agents answer in the
//! inbox as usual; the shop's system hears of replies with `GET …/messages` or the outgoing
//! webhooks. A conversation of another channel is simply not found.

use axum::extract::State;
use axum::http::StatusCode;
use madoguchi_core::message::SenderKind;
use madoguchi_core::shop_data::ShopData;
use madoguchi_core::InvalidValue;
use madoguchi_store::contacts::{Contact, IDENTITY_EXTERNAL};
use madoguchi_store::conversations::Conversation;
use madoguchi_store::jobs::NO_JOBS;
use madoguchi_store::messages::NewMessage;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::contacts::{ContactRequest, ContactView};
use super::widget::VisitorMessageRequest;
use super::AfterSeq;
use crate::app::auth::ChannelAuth;
use crate::app::AppState;
use crate::automation::intake::{self, Opening};
use crate::http::error::{check_id, ApiResult, AppError, ErrorBody, Json, OrNotFound, Path, Query};
use crate::http::views::{views, ConversationView, MessageView};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(put_contact))
        .routes(routes!(put_orders))
        .routes(routes!(start_conversation))
        .routes(routes!(list_messages, post_message))
}

/// A shop's own id for a customer: 1-200 visible characters.
fn external_id(raw: &str) -> Result<&str, InvalidValue> {
    let id = raw.trim();
    if id.is_empty() || id.chars().count() > 200 || id.chars().any(char::is_control) {
        return Err(InvalidValue::new(
            "external_id",
            "must be 1-200 characters without control characters",
        ));
    }
    Ok(id)
}

/// The channel's workspace contact with this external id, made on first use.
async fn contact_of(state: &AppState, auth: &ChannelAuth, raw: &str) -> ApiResult<Contact> {
    let id = external_id(raw)?;
    Ok(state
        .store
        .identified_contact(&auth.0.workspace_id, IDENTITY_EXTERNAL, id)
        .await?)
}

/// A conversation of this channel.
async fn conversation_of(
    state: &AppState,
    auth: &ChannelAuth,
    id: &str,
) -> ApiResult<Conversation> {
    check_id(id, "conversation")?;
    let conversation = state
        .store
        .conversation(&auth.0.workspace_id, id)
        .await
        .or_not_found("conversation")?;
    if conversation.channel_id != auth.0.id {
        return Err(AppError::not_found("conversation"));
    }
    Ok(conversation)
}

/// Create or update a customer by the shop's own id (name, e-mail, phone).
#[utoipa::path(put, path = "/channel/v1/contacts/{external_id}", tag = "channel",
    params(("external_id" = String, Path)), request_body = ContactRequest,
    responses((status = 200, body = ContactView), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn put_contact(
    State(state): State<AppState>,
    auth: ChannelAuth,
    Path(raw): Path<String>,
    Json(request): Json<ContactRequest>,
) -> ApiResult<Json<ContactView>> {
    let patch = request.parse()?;
    let mut contact = contact_of(&state, &auth, &raw).await?;
    if !patch.is_empty() {
        contact =
            crate::inbox::contacts::update(&state, &contact.workspace_id, &contact.id, &patch)
                .await
                .or_not_found("contact")?;
    }
    Ok(Json((&contact).into()))
}

/// Tell what the shop knows about a customer: attributes (member rank, points…) and recent
/// orders, shown to agents beside the conversation. Replaces what was sent before.
#[utoipa::path(put, path = "/channel/v1/contacts/{external_id}/orders", tag = "channel",
    params(("external_id" = String, Path)),
    request_body(content = Object, description = "`{attributes?: {name: value}, orders?: [{id, placed_at, status?, total?, items?, url?}]}`"),
    responses((status = 200, body = ContactView), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn put_orders(
    State(state): State<AppState>,
    auth: ChannelAuth,
    Path(raw): Path<String>,
    Json(data): Json<ShopData>,
) -> ApiResult<Json<ContactView>> {
    let contact = contact_of(&state, &auth, &raw).await?;
    let contact =
        crate::inbox::contacts::set_shop_data(&state, &contact.workspace_id, &contact.id, &data)
            .await?;
    Ok(Json((&contact).into()))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StartRequest {
    /// The customer, by the shop's own id (made on first use).
    external_id: String,
    body: String,
    /// The shop's id for this message; sending it again returns the same conversation.
    client_id: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Started {
    conversation: ConversationView,
    message: MessageView,
}

/// Open a conversation as the customer, with their first message.
#[utoipa::path(post, path = "/channel/v1/conversations", tag = "channel", request_body = StartRequest,
    responses((status = 201, body = Started), (status = 200, description = "Replay of an earlier client_id", body = Started),
        (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn start_conversation(
    State(state): State<AppState>,
    auth: ChannelAuth,
    Json(request): Json<StartRequest>,
) -> ApiResult<(StatusCode, Json<Started>)> {
    let message = VisitorMessageRequest::new(request.body, request.client_id);
    let (body, client_id) = message.parse()?;
    let contact = contact_of(&state, &auth, &request.external_id).await?;
    let started = intake::start_conversation(
        &state,
        &auth.0,
        &contact.id,
        Opening {
            client_id: client_id.as_ref(),
            ..Opening::chat(&body)
        },
    )
    .await?;
    let status = match started.created {
        true => StatusCode::CREATED,
        false => StatusCode::OK,
    };
    Ok((
        status,
        Json(Started {
            conversation: (&started.conversation).into(),
            message: (&started.message).into(),
        }),
    ))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MessageList {
    messages: Vec<MessageView>,
}

/// A conversation of this channel, as its customer sees it (no notes for agents).
#[utoipa::path(get, path = "/channel/v1/conversations/{id}/messages", tag = "channel",
    params(("id" = String, Path), AfterSeq),
    responses((status = 200, body = MessageList), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn list_messages(
    State(state): State<AppState>,
    auth: ChannelAuth,
    Path(id): Path<String>,
    Query(query): Query<AfterSeq>,
) -> ApiResult<Json<MessageList>> {
    conversation_of(&state, &auth, &id).await?;
    let messages = query.page(&state, &id, false).await?;
    Ok(Json(MessageList {
        messages: views(&messages),
    }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Posted {
    message: MessageView,
}

/// A further message from the conversation's customer.
#[utoipa::path(post, path = "/channel/v1/conversations/{id}/messages", tag = "channel",
    params(("id" = String, Path)), request_body = VisitorMessageRequest,
    responses((status = 201, body = Posted), (status = 200, description = "Replay of an earlier client_id", body = Posted),
        (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn post_message(
    State(state): State<AppState>,
    auth: ChannelAuth,
    Path(id): Path<String>,
    Json(request): Json<VisitorMessageRequest>,
) -> ApiResult<(StatusCode, Json<Posted>)> {
    let conversation = conversation_of(&state, &auth, &id).await?;
    let (body, client_id) = request.parse()?;
    let appended = intake::customer_message(
        &state,
        &auth.0,
        NewMessage {
            workspace_id: &conversation.workspace_id,
            conversation_id: &conversation.id,
            sender_kind: SenderKind::Contact,
            sender_id: &conversation.contact_id,
            body: &body,
            private: false,
            client_id: client_id.as_ref(),
            meta: None,
            sender_name: None,
            jobs: &NO_JOBS,
            at: state.clock.now_ms(),
        },
        intake::Reactions::All,
        None,
    )
    .await
    .or_not_found("conversation")?;
    let status = match appended.created {
        true => StatusCode::CREATED,
        false => StatusCode::OK,
    };
    Ok((
        status,
        Json(Posted {
            message: (&appended.message).into(),
        }),
    ))
}
