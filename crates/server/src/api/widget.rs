//! The visitor API behind the chat widget: sessions, the visitor's own conversations and
//! messages, contact details for reply notifications, and the visitor WebSocket.

use axum::extract::{State, WebSocketUpgrade};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use madoguchi_core::message::{ClientId, MessageBody, SenderKind};
use madoguchi_core::text::check_visible;
use madoguchi_core::widget::WidgetSettings;
use madoguchi_core::InvalidValue;
use madoguchi_store::audit::AuditEntry;
use madoguchi_store::contacts::{Contact, IDENTITY_USER, IDENTITY_VISITOR};
use madoguchi_store::conversations::{Conversation, ConversationFilter, Reader};
use madoguchi_store::jobs::NO_JOBS;
use madoguchi_store::messages::NewMessage;
use madoguchi_store::workspaces::Channel;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::contacts::{ContactRequest, ContactView};
use super::conversations::ReadRequest;
use super::{AfterSeq, DEFAULT_LIMIT};
use crate::api::sockets::{self, SocketParams, Viewer};
use crate::app::auth::{
    hash_token, link_visitor_token, new_visitor_token, resolve_visitor, ClientIp, VisitorAuth,
    VISITOR_COOKIE,
};
use crate::app::settings::Cookie;
use crate::app::signing::{link_key, verify, verify_user_hash};
use crate::app::AppState;
use crate::automation::auto_replies::{reachable, Reachable};
use crate::automation::intake::{self, Opening};
use crate::http::error::{
    check_id, ApiResult, AppError, ErrorBody, ErrorCode, Json, OrNotFound, Path, Query,
};
use crate::http::views::{views, VisitorConversationView, VisitorMessageView};
use crate::inbox::conversations as inbox_conversations;
use crate::inbox::settings::{channel_automation, channel_scenario, widget_settings};
use crate::web::pages::rendered;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_session))
        .routes(routes!(list_conversations, start_conversation))
        .routes(routes!(list_messages, send_message))
        .routes(routes!(update_contact))
        .routes(routes!(socket))
        .routes(routes!(channel_config))
        .routes(routes!(resume_link))
        .routes(routes!(unsubscribe_page, unsubscribe))
        .routes(routes!(survey_page, answer_survey))
        .routes(routes!(bot_feedback))
        .routes(routes!(rate_conversation))
        .routes(routes!(answer_nps))
        .routes(routes!(scenario_click))
        .routes(routes!(mark_read))
}

/// The scenario's nodes with texts in `locale` (Japanese when a translation is missing) and
/// links to their articles in the help center.
async fn localized_scenario(
    state: &AppState,
    channel: &Channel,
    locale: &str,
) -> ApiResult<Vec<serde_json::Value>> {
    let scenario = channel_scenario(channel)?;
    let base = state.settings.public_url();
    let pick = |ja: &str, en: &str| {
        if locale == "en" && !en.is_empty() {
            en.to_owned()
        } else {
            ja.to_owned()
        }
    };
    let mut nodes = Vec::with_capacity(scenario.nodes.len());
    for node in &scenario.nodes {
        let article = match &node.article_id {
            // A deleted or unpublished article drops the link; a database error is an error.
            Some(id) => match state.store.article(&channel.workspace_id, id).await {
                Ok(a) if a.status == "published" => Some(
                    serde_json::json!({"title": a.title, "url": format!("{base}/help/{}/articles/{}", channel.public_key, a.id)}),
                ),
                Ok(_) | Err(madoguchi_store::StoreError::NotFound) => None,
                Err(err) => return Err(err.into()),
            },
            None => None,
        };
        let choices: Vec<serde_json::Value> = node
            .choices
            .iter()
            .map(|c| serde_json::json!({"label": pick(&c.label_ja, &c.label_en), "next": c.next}))
            .collect();
        nodes.push(serde_json::json!({
            "id": node.id,
            "text": pick(&node.text_ja, &node.text_en),
            "article": article,
            "ask_email": node.ask_email,
            "handover": node.handover,
            "choices": choices,
        }));
    }
    Ok(nodes)
}

/// Counts a visitor's step to a scenario node.
#[utoipa::path(post, path = "/widget/v1/channels/{key}/scenario/{node}", tag = "widget", params(("key" = String, Path), ("node" = String, Path)),
    responses((status = 204, description = "Counted"), (status = 404, body = ErrorBody)))]
async fn scenario_click(
    State(state): State<AppState>,
    Path((key, node)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let channel = state
        .store
        .channel_by_key(&key)
        .await
        .or_not_found("channel")?;
    if channel_scenario(&channel)?.node(&node).is_none() {
        return Err(AppError::not_found("scenario node"));
    }
    state.store.count_scenario_click(&channel.id, &node).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The visitor has read their conversation up to `seq` (staff see it as read).
#[utoipa::path(post, path = "/widget/v1/conversations/{id}/read", tag = "widget", params(("id" = String, Path)),
    request_body = ReadRequest, responses((status = 204, description = "Recorded"), (status = 404, body = ErrorBody)))]
async fn mark_read(
    State(state): State<AppState>,
    visitor: VisitorAuth,
    Path(id): Path<String>,
    Json(request): Json<ReadRequest>,
) -> ApiResult<StatusCode> {
    let conversation = own_conversation(&state, &visitor, &id).await?;
    inbox_conversations::read(&state, &conversation, Reader::Contact, request.seq).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RatingRequest {
    /// 1 (poor) to 5 (excellent).
    score: i64,
    comment: Option<String>,
}

/// A survey answer's optional comment: trimmed, visible text, at most 2,000 characters.
fn survey_comment(raw: Option<&str>) -> Result<Option<String>, InvalidValue> {
    let Some(comment) = raw.map(str::trim).filter(|c| !c.is_empty()) else {
        return Ok(None);
    };
    if comment.chars().count() > 2000 {
        return Err(InvalidValue::new(
            "comment",
            "must be at most 2000 characters",
        ));
    }
    madoguchi_core::text::check_visible("comment", comment, true)?;
    Ok(Some(comment.to_owned()))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NpsRequest {
    /// 0 (would not recommend) to 10 (certainly would).
    score: i64,
    comment: Option<String>,
}

/// The visitor's answer to the NPS question of a conversation; changeable for 7 days.
#[utoipa::path(post, path = "/widget/v1/conversations/{id}/nps", tag = "widget", params(("id" = String, Path)),
    request_body = NpsRequest, responses((status = 204, description = "Recorded"), (status = 404, body = ErrorBody),
        (status = 409, description = "Answered more than 7 days ago", body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn answer_nps(
    State(state): State<AppState>,
    visitor: VisitorAuth,
    Path(id): Path<String>,
    Json(answer): Json<NpsRequest>,
) -> ApiResult<StatusCode> {
    let conversation = own_conversation(&state, &visitor, &id).await?;
    if !(0..=10).contains(&answer.score) {
        return Err(InvalidValue::new("score", "must be 0-10").into());
    }
    let comment = survey_comment(answer.comment.as_deref())?;
    state
        .store
        .answer_nps(
            &conversation.workspace_id,
            &conversation.id,
            answer.score,
            comment.as_deref(),
            state.clock.now_ms(),
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The visitor's satisfaction with a conversation (満足率).
#[utoipa::path(post, path = "/widget/v1/conversations/{id}/rating", tag = "widget", params(("id" = String, Path)),
    request_body = RatingRequest, responses((status = 204, description = "Recorded"), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn rate_conversation(
    State(state): State<AppState>,
    visitor: VisitorAuth,
    Path(id): Path<String>,
    Json(rating): Json<RatingRequest>,
) -> ApiResult<StatusCode> {
    let conversation = own_conversation(&state, &visitor, &id).await?;
    if !(1..=5).contains(&rating.score) {
        return Err(InvalidValue::new("score", "must be 1-5").into());
    }
    let comment = survey_comment(rating.comment.as_deref())?;
    state
        .store
        .rate_conversation(
            &conversation.workspace_id,
            &id,
            rating.score,
            comment.as_deref(),
            state.clock.now_ms(),
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BotFeedback {
    turn_id: String,
    /// true for 「はい」 (solved); false for 「いいえ」 or "talk to a person".
    resolved: bool,
}

/// The visitor's answer to the bot's 「解決しましたか？」.
#[utoipa::path(post, path = "/widget/v1/conversations/{id}/bot-feedback", tag = "widget", params(("id" = String, Path)),
    request_body = BotFeedback, responses((status = 204, description = "Recorded"), (status = 404, body = ErrorBody)))]
async fn bot_feedback(
    State(state): State<AppState>,
    visitor: VisitorAuth,
    Path(id): Path<String>,
    Json(feedback): Json<BotFeedback>,
) -> ApiResult<StatusCode> {
    let conversation = own_conversation(&state, &visitor, &id).await?;
    check_id(&feedback.turn_id, "bot turn")?;
    intake::bot_feedback(&state, &conversation, &feedback.turn_id, feedback.resolved)
        .await
        .or_not_found("bot turn")?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ConfigQuery {
    /// `ja` (default) or `en`.
    locale: Option<String>,
    /// The page's URL path, checked against the display rules.
    path: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WidgetConfig {
    /// Whether the widget shows on `path`.
    show: bool,
    #[schema(value_type = Object)]
    settings: WidgetSettings,
    /// UI strings of the locale.
    #[schema(value_type = Object)]
    strings: serde_json::Map<String, serde_json::Value>,
    /// The bot's button scenario in the locale: `[{id, text, article?, ask_email, handover, choices: [{label, next}]}]`.
    #[schema(value_type = Object)]
    scenario: Vec<serde_json::Value>,
    /// How replies can reach a visitor who left (the widget offers only these).
    notify: Reachable,
}

/// Public widget configuration of a channel: settings, display decision, UI strings.
#[utoipa::path(get, path = "/widget/v1/channels/{key}", tag = "widget", params(("key" = String, Path), ConfigQuery),
    responses((status = 200, body = WidgetConfig), (status = 404, body = ErrorBody)))]
async fn channel_config(
    State(state): State<AppState>,
    Path(key): Path<String>,
    Query(query): Query<ConfigQuery>,
) -> ApiResult<Json<WidgetConfig>> {
    let channel = state
        .store
        .channel_by_key(&key)
        .await
        .or_not_found("channel")?;
    let settings = widget_settings(&channel)?;
    let show = settings.shows_on(query.path.as_deref().unwrap_or("/"));
    let strings = crate::web::pages::strings(query.locale.as_deref().unwrap_or("ja"), "widget.");
    let locale = query.locale.as_deref().unwrap_or("ja");
    let scenario = localized_scenario(&state, &channel, locale).await?;
    let notify = reachable(&state, &channel_automation(&channel)?);
    Ok(Json(WidgetConfig {
        show,
        settings,
        strings,
        scenario,
        notify,
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SessionRequest {
    /// The widget channel's public key (from the embed snippet).
    channel_key: String,
    /// A token from an earlier session; an unknown one starts a new visitor.
    visitor_token: Option<String>,
    /// A customer signed in on the shop's site, vouched for by the shop's server.
    user: Option<SignedInUser>,
}

/// A signed-in customer as the shop's page names them (see the README's identity verification).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignedInUser {
    /// The shop's own id for the customer.
    id: String,
    /// Hex HMAC-SHA256 of `id` with the channel's identity secret, made by the shop's server.
    hash: String,
    name: Option<String>,
    email: Option<String>,
}

/// Most characters of a shop user id.
const MAX_USER_ID: usize = 128;

impl SignedInUser {
    /// Whether the channel's identity secret vouches for this id. Without a secret, or with a
    /// wrong hash, the id is ignored: an id the page merely claims is never believed.
    fn verified_by(&self, channel: &Channel) -> bool {
        let Some(secret) = &channel.identity_secret else {
            return false;
        };
        let usable = !self.id.is_empty()
            && self.id.chars().count() <= MAX_USER_ID
            && check_visible("user.id", &self.id, false).is_ok();
        usable && verify_user_hash(secret, &self.id, &self.hash)
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SessionResponse {
    visitor_token: String,
    /// `null` until the visitor first writes (a page view stores nothing).
    contact_id: Option<String>,
    /// The visitor's own details, when known (the pre-chat form asks only for what is missing).
    contact: Option<ContactView>,
    /// Whether the page's signed-in user was verified (only then does the widget pass on the
    /// name and e-mail address the page gives for them).
    user_verified: bool,
    conversations: Vec<VisitorConversationView>,
}

/// How long the visitor cookie lives: a year.
const VISITOR_COOKIE_MAX_AGE: i64 = 365 * 24 * 3600;

/// Create or restore a visitor session. Nothing is stored: a new visitor's contact is created
/// when they first write or leave an address.
#[utoipa::path(post, path = "/widget/v1/session", tag = "widget", request_body = SessionRequest,
    responses((status = 200, body = SessionResponse), (status = 404, body = ErrorBody), (status = 429, body = ErrorBody)))]
async fn create_session(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    Json(request): Json<SessionRequest>,
) -> ApiResult<Response> {
    let channel = state
        .store
        .channel_by_key(&request.channel_key)
        .await
        .or_not_found("channel")?;
    let restored = match &request.visitor_token {
        Some(token) => resolve_visitor(&state, token)
            .await?
            .filter(|known| known.channel.workspace_id == channel.workspace_id)
            .map(|known| (token.clone(), known)),
        None => None,
    };
    let user = request.user.as_ref().filter(|u| u.verified_by(&channel));
    let wanted = user.map(|u| u.id.as_str());
    let (token, visitor) = match restored {
        // The same person as before: a visitor who is still anonymous, or the same signed-in user.
        Some((token, known)) if known.user_id() == wanted => (token, known),
        earlier => {
            state.limits.visitor_session.check(&ip.to_string())?;
            let key = link_key(&state).await?;
            let token = new_visitor_token(&key, &channel.public_key, wanted);
            let mut visitor = resolve_visitor(&state, &token).await?.ok_or_else(|| {
                AppError::new(ErrorCode::Internal, "a fresh token did not resolve")
            })?;
            // An anonymous visitor who signs in brings their conversations along.
            let anonymous =
                earlier.and_then(|(_, known)| known.user_id().is_none().then_some(known.contact));
            if let (Some(id), None, Some(Some(contact))) = (wanted, &visitor.contact, anonymous) {
                state
                    .store
                    .add_identity(&channel.workspace_id, &contact.id, IDENTITY_USER, id)
                    .await?;
                state.hub.contact_changed(&contact.id).await;
                visitor.contact = Some(contact);
            }
            (token, visitor)
        }
    };
    let mut contact = visitor.contact;
    if let (Some(user), Some(known)) = (user, &contact) {
        contact = Some(shop_details(&state, known, user).await?);
    }
    let conversations = match &contact {
        Some(contact) => {
            let filter = ConversationFilter {
                contact_id: Some(contact.id.clone()),
                // A brand's widget shows the conversations with that brand only.
                brand_id: Some(channel.brand_id.clone()),
                limit: DEFAULT_LIMIT,
                ..Default::default()
            };
            state
                .store
                .conversations(&channel.workspace_id, &filter)
                .await?
        }
        None => Vec::new(),
    };
    let cookie = state.settings.cookie(Cookie {
        name: VISITOR_COOKIE,
        value: &token,
        path: "/widget/",
        max_age: VISITOR_COOKIE_MAX_AGE,
        http_only: true,
        same_site: "Lax",
    });
    let body = SessionResponse {
        visitor_token: token,
        contact_id: contact.as_ref().map(|c| c.id.clone()),
        contact: contact.as_ref().map(Into::into),
        user_verified: user.is_some(),
        conversations: views(&conversations),
    };
    Ok(([(header::SET_COOKIE, cookie)], Json(body)).into_response())
}

/// A signed-in customer's name and e-mail address as the shop's server knows them; written only
/// when they changed. Details that do not parse are left out rather than failing the session.
async fn shop_details(
    state: &AppState,
    contact: &Contact,
    user: &SignedInUser,
) -> ApiResult<Contact> {
    let given = ContactRequest::new(user.name.clone(), user.email.clone());
    let Ok(patch) = given.parse() else {
        return Ok(contact.clone());
    };
    let changed = patch
        .name
        .as_ref()
        .is_some_and(|n| contact.name.as_ref() != Some(n))
        || patch
            .email
            .as_ref()
            .is_some_and(|e| contact.email.as_ref() != Some(e));
    if !changed {
        return Ok(contact.clone());
    }
    Ok(crate::inbox::contacts::update(state, &contact.workspace_id, &contact.id, &patch).await?)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct VisitorConversationList {
    conversations: Vec<VisitorConversationView>,
}

/// The visitor's own conversations, most recent first.
#[utoipa::path(get, path = "/widget/v1/conversations", tag = "widget",
    responses((status = 200, body = VisitorConversationList), (status = 401, body = ErrorBody)))]
async fn list_conversations(
    State(state): State<AppState>,
    visitor: VisitorAuth,
) -> ApiResult<Json<VisitorConversationList>> {
    let Some(contact) = &visitor.contact else {
        return Ok(Json(VisitorConversationList {
            conversations: Vec::new(),
        }));
    };
    let filter = ConversationFilter {
        contact_id: Some(contact.id.clone()),
        brand_id: Some(visitor.channel.brand_id.clone()),
        limit: DEFAULT_LIMIT,
        ..Default::default()
    };
    let conversations = state
        .store
        .conversations(&contact.workspace_id, &filter)
        .await?;
    Ok(Json(VisitorConversationList {
        conversations: views(&conversations),
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VisitorMessageRequest {
    body: String,
    /// The widget's own id for this message; sending it again returns the same message.
    client_id: Option<String>,
}

impl VisitorMessageRequest {
    pub(super) fn new(body: String, client_id: Option<String>) -> Self {
        Self { body, client_id }
    }

    pub(super) fn parse(&self) -> Result<(MessageBody, Option<ClientId>), InvalidValue> {
        Ok((
            MessageBody::parse(&self.body)?,
            self.client_id.as_deref().map(ClientId::parse).transpose()?,
        ))
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct VisitorStarted {
    conversation: VisitorConversationView,
    message: VisitorMessageView,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VisitorStartRequest {
    body: String,
    /// The widget's own id for this message; sending it again returns the same message.
    client_id: Option<String>,
    /// The scenario node the visitor was on when they wrote; a hand-over node (「担当者と話す」)
    /// keeps the bot out of the new conversation.
    scenario_node: Option<String>,
    /// Name and e-mail address from the pre-chat form (or the shop's page).
    contact: Option<ContactRequest>,
    /// The widget's language, `ja` or `en`: auto-replies and the bot answer in it.
    locale: Option<String>,
}

/// Start a conversation with its first message (idempotent on `client_id`).
#[utoipa::path(post, path = "/widget/v1/conversations", tag = "widget", request_body = VisitorStartRequest,
    responses((status = 201, body = VisitorStarted), (status = 200, description = "Replay of an earlier client_id", body = VisitorStarted),
        (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn start_conversation(
    State(state): State<AppState>,
    visitor: VisitorAuth,
    ClientIp(ip): ClientIp,
    Json(request): Json<VisitorStartRequest>,
) -> ApiResult<(StatusCode, Json<VisitorStarted>)> {
    let body = MessageBody::parse(&request.body)?;
    let client_id = request
        .client_id
        .as_deref()
        .map(ClientId::parse)
        .transpose()?;
    let details = request
        .contact
        .as_ref()
        .map(ContactRequest::parse)
        .transpose()?;
    let locale = match request.locale.as_deref() {
        None => None,
        Some(l @ ("ja" | "en")) => Some(l),
        Some(_) => return Err(InvalidValue::new("locale", "must be ja or en").into()),
    };
    let mut contact = visitor.contact(&state).await?;
    state.limits.visitor_conversations.check(&contact.id)?;
    state.limits.visitor_messages.check(&contact.id)?;
    if let Some(patch) = details.filter(|p| !p.is_empty()) {
        contact =
            crate::inbox::contacts::update(&state, &contact.workspace_id, &contact.id, &patch)
                .await?;
    }
    // An unknown node (a scenario edited meanwhile) just means no hand-over.
    let handed_over = match request.scenario_node.as_deref() {
        Some(node) => channel_scenario(&visitor.channel)?
            .node(node)
            .is_some_and(|node| node.handover),
        None => false,
    };
    let started = intake::start_conversation(
        &state,
        &visitor.channel,
        &contact.id,
        Opening {
            client_id: client_id.as_ref(),
            handed_over,
            locale,
            ip: Some(ip),
            ..Opening::chat(&body)
        },
    )
    .await?;
    let status = if started.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    let view = VisitorStarted {
        conversation: (&started.conversation).into(),
        message: (&started.message).into(),
    };
    Ok((status, Json(view)))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct VisitorMessageList {
    messages: Vec<VisitorMessageView>,
}

/// The visitor's contact, when they have one: a visitor who never wrote has no conversation.
fn known(visitor: &VisitorAuth) -> ApiResult<&Contact> {
    visitor
        .contact
        .as_ref()
        .ok_or_else(|| AppError::not_found("conversation"))
}

/// Checks that the conversation is the visitor's own; anyone else's is simply not found.
pub(super) async fn own_conversation(
    state: &AppState,
    visitor: &VisitorAuth,
    id: &str,
) -> ApiResult<Conversation> {
    check_id(id, "conversation")?;
    let contact = known(visitor)?;
    let conversation = state
        .store
        .conversation(&contact.workspace_id, id)
        .await
        .or_not_found("conversation")?;
    if conversation.contact_id != contact.id {
        return Err(AppError::not_found("conversation"));
    }
    Ok(conversation)
}

/// Messages of one of the visitor's conversations (never private notes).
#[utoipa::path(get, path = "/widget/v1/conversations/{id}/messages", tag = "widget", params(("id" = String, Path), AfterSeq),
    responses((status = 200, body = VisitorMessageList), (status = 404, body = ErrorBody)))]
async fn list_messages(
    State(state): State<AppState>,
    visitor: VisitorAuth,
    Path(id): Path<String>,
    Query(query): Query<AfterSeq>,
) -> ApiResult<Json<VisitorMessageList>> {
    own_conversation(&state, &visitor, &id).await?;
    let messages = query.page(&state, &id, false).await?;
    Ok(Json(VisitorMessageList {
        messages: views(&messages),
    }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct VisitorSent {
    message: VisitorMessageView,
}

/// Send a message in one of the visitor's conversations (idempotent on `client_id`).
#[utoipa::path(post, path = "/widget/v1/conversations/{id}/messages", tag = "widget", params(("id" = String, Path)),
    request_body = VisitorMessageRequest,
    responses((status = 201, body = VisitorSent), (status = 200, description = "Replay of an earlier client_id", body = VisitorSent),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn send_message(
    State(state): State<AppState>,
    visitor: VisitorAuth,
    ClientIp(ip): ClientIp,
    Path(id): Path<String>,
    Json(request): Json<VisitorMessageRequest>,
) -> ApiResult<(StatusCode, Json<VisitorSent>)> {
    // The store appends a contact's message only to their own conversation.
    let contact = known(&visitor)?;
    state.limits.visitor_messages.check(&contact.id)?;
    check_id(&id, "conversation")?;
    let (body, client_id) = request.parse()?;
    let appended = intake::customer_message(
        &state,
        &visitor.channel,
        NewMessage {
            workspace_id: &contact.workspace_id,
            conversation_id: &id,
            sender_kind: SenderKind::Contact,
            sender_id: &contact.id,
            body: &body,
            private: false,
            client_id: client_id.as_ref(),
            meta: None,
            sender_name: None,
            jobs: &NO_JOBS,
            at: state.clock.now_ms(),
        },
        intake::Reactions::All,
        Some(ip),
    )
    .await
    .or_not_found("conversation")?;
    let status = if appended.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((
        status,
        Json(VisitorSent {
            message: (&appended.message).into(),
        }),
    ))
}

/// Leave a name, e-mail address or phone number so replies can reach the visitor later.
#[utoipa::path(patch, path = "/widget/v1/contact", tag = "widget", request_body = ContactRequest,
    responses((status = 200, body = ContactView), (status = 422, body = ErrorBody)))]
async fn update_contact(
    State(state): State<AppState>,
    visitor: VisitorAuth,
    Json(request): Json<ContactRequest>,
) -> ApiResult<Json<ContactView>> {
    let patch = request.parse()?;
    let contact = visitor.contact(&state).await?;
    let contact =
        crate::inbox::contacts::update(&state, &contact.workspace_id, &contact.id, &patch).await?;
    Ok(Json((&contact).into()))
}

/// The visitor's WebSocket: their own conversations' messages (never notes) and status changes.
#[utoipa::path(get, path = "/widget/v1/ws", tag = "widget", params(SocketParams),
    responses((status = 101, description = "Switching to the WebSocket protocol"), (status = 401, body = ErrorBody)))]
async fn socket(
    State(state): State<AppState>,
    visitor: VisitorAuth,
    Query(params): Query<SocketParams>,
    ClientIp(ip): ClientIp,
    upgrade: WebSocketUpgrade,
) -> ApiResult<Response> {
    if let Some(id) = &params.conversation_id {
        own_conversation(&state, &visitor, id).await?;
    }
    // Nothing can come for a visitor who never wrote; the widget connects after the first message.
    let contact = visitor.contact.ok_or_else(|| {
        AppError::new(
            ErrorCode::Unauthenticated,
            "this visitor has no conversation yet",
        )
    })?;
    let viewer = Viewer::Visitor {
        workspace_id: contact.workspace_id,
        contact_id: contact.id,
    };
    sockets::upgrade(upgrade, state, viewer, params, ip)
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ResumeQuery {
    workspace: String,
    conversation: String,
    contact: String,
    /// Unix milliseconds after which the link no longer works.
    expires: i64,
    signature: String,
}

/// Opens a conversation from the link in a reply notification: checks the signature and expiry,
/// gives this browser a visitor token for the contact, and shows the conversation in the widget.
#[utoipa::path(get, path = "/widget/v1/resume", tag = "widget", params(ResumeQuery),
    responses((status = 303, description = "Redirect to the conversation"), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn resume_link(
    State(state): State<AppState>,
    Query(query): Query<ResumeQuery>,
) -> ApiResult<Response> {
    let key = link_key(&state).await?;
    let expires = query.expires.to_string();
    let parts = [
        "resume",
        &query.workspace,
        &query.conversation,
        &query.contact,
        &expires,
    ];
    if !verify(&key, &parts, &query.signature) {
        return Err(AppError::new(
            ErrorCode::Forbidden,
            "this link is not valid",
        ));
    }
    if query.expires < state.clock.now_ms() {
        return Err(AppError::new(ErrorCode::Forbidden, "this link has expired"));
    }
    let conversation = state
        .store
        .conversation(&query.workspace, &query.conversation)
        .await
        .or_not_found("conversation")?;
    if conversation.contact_id != query.contact {
        return Err(AppError::not_found("conversation"));
    }
    let channel = state
        .store
        .channel(&conversation.workspace_id, &conversation.channel_id)
        .await?;
    // The same link gives the same token: replays add no identity and no new credential.
    let token = link_visitor_token(&key, &channel.public_key, &query.signature);
    state
        .store
        .add_identity(
            &conversation.workspace_id,
            &conversation.contact_id,
            IDENTITY_VISITOR,
            &hash_token(&token),
        )
        .await?;
    state
        .store
        .record_audit(&AuditEntry {
            workspace_id: &conversation.workspace_id,
            actor: &format!("contact:{}", conversation.contact_id),
            action: "visitor.resume_token_issued",
            target: &format!("conversation:{}", conversation.id),
            detail: &serde_json::json!({}),
        })
        .await?;
    // Readable by the widget on the hosted chat page, which keeps it like any other token.
    let cookie = state.settings.cookie(Cookie {
        name: &format!("mdg_visitor_{}", channel.public_key),
        value: &token,
        path: "/",
        max_age: VISITOR_COOKIE_MAX_AGE,
        http_only: false,
        same_site: "Lax",
    });
    let location = format!(
        "/chat/{}?conversation={}",
        channel.public_key, conversation.id
    );
    Ok((
        StatusCode::SEE_OTHER,
        [(header::SET_COOKIE, cookie), (header::LOCATION, location)],
    )
        .into_response())
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct UnsubscribeQuery {
    workspace: String,
    contact: String,
    signature: String,
}

#[derive(askama::Template)]
#[template(path = "unsubscribe.html")]
struct UnsubscribePage {
    done: bool,
}

/// Checks the signature of an unsubscribe link.
async fn verified(state: &AppState, query: &UnsubscribeQuery) -> ApiResult<()> {
    let key = link_key(state).await?;
    if !verify(
        &key,
        &["unsubscribe", &query.workspace, &query.contact],
        &query.signature,
    ) {
        return Err(AppError::new(
            ErrorCode::Forbidden,
            "this link is not valid",
        ));
    }
    Ok(())
}

/// The page an unsubscribe link opens: it asks, and changes nothing (mail scanners open links).
#[utoipa::path(get, path = "/widget/v1/unsubscribe", tag = "widget", params(UnsubscribeQuery),
    responses((status = 200, content_type = "text/html", body = String), (status = 403, body = ErrorBody)))]
async fn unsubscribe_page(
    State(state): State<AppState>,
    Query(query): Query<UnsubscribeQuery>,
) -> ApiResult<Response> {
    verified(&state, &query).await?;
    rendered(&UnsubscribePage { done: false })
}

/// Stops reply notifications to the contact named by the signed link: the page's button, or
/// a mail client's one-click unsubscribe (`List-Unsubscribe-Post`).
#[utoipa::path(post, path = "/widget/v1/unsubscribe", tag = "widget", params(UnsubscribeQuery),
    responses((status = 200, content_type = "text/html", body = String), (status = 403, body = ErrorBody)))]
async fn unsubscribe(
    State(state): State<AppState>,
    Query(query): Query<UnsubscribeQuery>,
) -> ApiResult<Response> {
    verified(&state, &query).await?;
    state
        .store
        .unsubscribe_contact(&query.workspace, &query.contact)
        .await
        .or_not_found("contact")?;
    rendered(&UnsubscribePage { done: true })
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct SurveyQuery {
    workspace: String,
    conversation: String,
    expires: i64,
    signature: String,
}

#[derive(Debug, Deserialize)]
pub struct SurveyForm {
    rating: i64,
    nps: Option<String>,
    comment: Option<String>,
}

#[derive(askama::Template)]
#[template(path = "survey.html")]
struct SurveyPage {
    done: bool,
    nps: bool,
}

/// The conversation a survey link names, when its signature holds and it has not expired.
async fn surveyed(state: &AppState, query: &SurveyQuery) -> ApiResult<(Conversation, bool)> {
    let key = link_key(state).await?;
    let expires = query.expires.to_string();
    let signed = verify(
        &key,
        &["survey", &query.workspace, &query.conversation, &expires],
        &query.signature,
    );
    if !signed || query.expires < state.clock.now_ms() {
        return Err(AppError::new(
            ErrorCode::Forbidden,
            "this link is not valid (or has expired)",
        ));
    }
    let conversation = state
        .store
        .conversation(&query.workspace, &query.conversation)
        .await
        .or_not_found("conversation")?;
    let channel = state
        .store
        .channel(&conversation.workspace_id, &conversation.channel_id)
        .await?;
    Ok((conversation, channel_automation(&channel)?.nps))
}

/// The survey a mailed link opens: it asks, and records nothing (mail scanners open links).
#[utoipa::path(get, path = "/widget/v1/survey", tag = "widget", params(SurveyQuery),
    responses((status = 200, content_type = "text/html", body = String), (status = 403, body = ErrorBody)))]
async fn survey_page(
    State(state): State<AppState>,
    Query(query): Query<SurveyQuery>,
) -> ApiResult<Response> {
    let (_, nps) = surveyed(&state, &query).await?;
    rendered(&SurveyPage { done: false, nps })
}

/// The survey's answers: the rating (1–5), and NPS (0–10) where asked, with a comment.
#[utoipa::path(post, path = "/widget/v1/survey", tag = "widget", params(SurveyQuery),
    request_body(content = String, content_type = "application/x-www-form-urlencoded"),
    responses((status = 200, content_type = "text/html", body = String), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn answer_survey(
    State(state): State<AppState>,
    Query(query): Query<SurveyQuery>,
    axum::extract::Form(form): axum::extract::Form<SurveyForm>,
) -> ApiResult<Response> {
    let (conversation, asks_nps) = surveyed(&state, &query).await?;
    if !(1..=5).contains(&form.rating) {
        return Err(InvalidValue::new("rating", "must be 1-5").into());
    }
    let nps = match form.nps.as_deref().map(str::trim).filter(|n| !n.is_empty()) {
        Some(n) if asks_nps => Some(
            n.parse::<i64>()
                .ok()
                .filter(|n| (0..=10).contains(n))
                .ok_or_else(|| InvalidValue::new("nps", "must be 0-10"))?,
        ),
        _ => None,
    };
    let comment = survey_comment(form.comment.as_deref())?;
    let now = state.clock.now_ms();
    state
        .store
        .rate_conversation(
            &conversation.workspace_id,
            &conversation.id,
            form.rating,
            comment.as_deref(),
            now,
        )
        .await?;
    if let Some(score) = nps {
        state
            .store
            .answer_nps(
                &conversation.workspace_id,
                &conversation.id,
                score,
                None,
                now,
            )
            .await?;
    }
    rendered(&SurveyPage {
        done: true,
        nps: asks_nps,
    })
}
