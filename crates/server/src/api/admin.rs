//! Workspace administration: agents, channels (widget settings), canned replies and tags.
//! Listing is open to every agent; changing needs the permission the route table names
//! (`app::access`), and only owners touch owners.

use crate::api::audit;
use crate::api::brands::check_brand;
use axum::extract::State;
use axum::http::StatusCode;
use madoguchi_core::agent::{check_password, Email, Role};
use madoguchi_core::automation::Automation;
use madoguchi_core::message::MessageBody;
use madoguchi_core::permissions::{allows, Permission};
use madoguchi_core::scenario::Scenario;
use madoguchi_core::widget::WidgetSettings;
use madoguchi_core::InvalidValue;
use madoguchi_store::agents::Agent;
use madoguchi_store::agents::NewAgent;
use madoguchi_store::templates::{Tag, Template, TemplateFields};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::auth::{
    end_sessions, hash_password, hash_token, new_secret, AgentAuth, API_TOKEN_PREFIX,
};
use crate::app::AppState;
use crate::channels::instagram::{InstagramConnection, GRAPH_API};
use crate::channels::line::{LineConnection, LINE_API};
use crate::http::error::{
    check_id, ApiResult, AppError, ErrorBody, ErrorCode, Json, OrNotFound, Path,
};
use crate::http::views::views;
use crate::inbox::settings::{channel_automation, channel_scenario, widget_settings};
use crate::web::forms::form_of;
use madoguchi_core::form::FormDefinition;
use madoguchi_store::workspaces::{Channel, ChannelField};

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ChannelView {
    pub id: String,
    pub kind: String,
    pub name: String,
    /// The key in the widget's embed snippet (public).
    pub public_key: String,
    #[schema(value_type = Object)]
    pub settings: WidgetSettings,
    /// Whether signed-in customers' user ids are verified (an identity secret is set).
    pub identity_verification: bool,
    /// An e-mail channel's support address.
    pub email_address: Option<String>,
    /// The IMAP mailbox an e-mail channel reads (never its password).
    pub imap: Option<MailboxView>,
    /// A LINE channel's connection.
    pub line: Option<LineView>,
    /// An Instagram channel's connection.
    pub instagram: Option<InstagramView>,
    /// A form channel's title and fields (its page: `/forms/{public_key}`).
    #[schema(value_type = Option<Object>)]
    pub form: Option<FormDefinition>,
    /// The brand it belongs to (`null`: the whole workspace's).
    pub brand_id: Option<String>,
    pub created_at: i64,
    /// An API channel's token, in the answer that created the channel only (kept hashed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_token: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MailboxView {
    pub host: String,
    pub port: u16,
    /// tls, starttls or none
    pub tls: String,
    pub user: String,
    pub folder: String,
}

/// A channel of the workspace; others (and malformed ids) are not found.
pub(super) async fn channel_of(
    state: &AppState,
    workspace_id: &str,
    id: &str,
) -> ApiResult<Channel> {
    check_id(id, "channel")?;
    state
        .store
        .channel(workspace_id, id)
        .await
        .or_not_found("channel")
}

fn to_json(value: &impl Serialize) -> ApiResult<String> {
    serde_json::to_string(value).map_err(|err| AppError::new(ErrorCode::Internal, err.to_string()))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InstagramRequest {
    app_secret: String,
    verify_token: String,
    access_token: String,
    /// Default `https://graph.facebook.com/v21.0`; another base for a proxy or a test.
    graph_base: Option<String>,
}

impl InstagramRequest {
    fn connection(self, allow_private: bool) -> Result<InstagramConnection, InvalidValue> {
        let given = [&self.app_secret, &self.verify_token, &self.access_token];
        if given.iter().any(|s| {
            s.trim().is_empty() || s.len() > 1000 || !s.trim().bytes().all(|b| b.is_ascii_graphic())
        }) {
            return Err(InvalidValue::new(
                "instagram",
                "app_secret, verify_token and access_token must be given",
            ));
        }
        let graph_base = provider_base(
            self.graph_base,
            GRAPH_API,
            allow_private,
            "instagram.graph_base",
        )?;
        Ok(InstagramConnection {
            app_secret: self.app_secret.trim().to_owned(),
            verify_token: self.verify_token.trim().to_owned(),
            access_token: self.access_token.trim().to_owned(),
            graph_base,
        })
    }
}

/// A provider's API base an admin gave (else `default`): https, or http to a local stand-in
/// where private addresses are allowed.
fn provider_base(
    given: Option<String>,
    default: &str,
    allow_private: bool,
    field: &'static str,
) -> Result<String, InvalidValue> {
    let base = given
        .map(|b| b.trim().trim_end_matches('/').to_owned())
        .unwrap_or_else(|| default.to_owned());
    let parsed =
        reqwest::Url::parse(&base).map_err(|_| InvalidValue::new(field, "is not a URL"))?;
    let https = parsed.scheme() == "https";
    if !(https || (allow_private && parsed.scheme() == "http")) || parsed.host_str().is_none() {
        return Err(InvalidValue::new(field, "must be an https:// URL"));
    }
    Ok(base)
}

/// An Instagram channel's connection as admins see it (never its secrets).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct InstagramView {
    pub graph_base: String,
    /// The callback URL for the Meta app's webhook (with the verify token chosen for it).
    pub webhook_url: String,
}

/// A LINE channel's connection as admins see it (never its secrets).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LineView {
    pub api_base: String,
    /// The URL to paste into the LINE Developers console as the webhook URL.
    pub webhook_url: String,
}

impl ChannelView {
    /// The channel as admins see it; `public_url` is the server's address (for webhook URLs).
    pub fn of(c: &Channel, public_url: &str) -> ApiResult<Self> {
        let line = match c.kind.as_str() {
            "line" => Some(LineView {
                api_base: LineConnection::of(c)
                    .map_err(|err| AppError::new(ErrorCode::CorruptSettings, err))?
                    .api_base,
                webhook_url: format!("{public_url}/hooks/line/{}", c.public_key),
            }),
            _ => None,
        };
        let instagram = match c.kind.as_str() {
            "instagram" => Some(InstagramView {
                graph_base: InstagramConnection::of(c)
                    .map_err(|err| AppError::new(ErrorCode::CorruptSettings, err))?
                    .graph_base,
                webhook_url: format!("{public_url}/hooks/instagram/{}", c.public_key),
            }),
            _ => None,
        };
        let form = match c.kind.as_str() {
            "form" => Some(form_of(c)?),
            _ => None,
        };
        Ok(Self {
            line,
            instagram,
            form,
            id: c.id.clone(),
            kind: c.kind.clone(),
            name: c.name.clone(),
            public_key: c.public_key.clone(),
            settings: widget_settings(c)?,
            identity_verification: c.identity_secret.is_some(),
            email_address: c.email_address.clone(),
            imap: crate::automation::mail_reader::mailbox_of(c)
                .map_err(|err| AppError::new(ErrorCode::Internal, err))?
                .map(|m| MailboxView {
                    tls: serde_json::to_value(m.tls)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_owned))
                        .unwrap_or_default(),
                    host: m.host,
                    port: m.port,
                    user: m.user,
                    folder: m.folder,
                }),
            brand_id: c.brand_id.clone(),
            created_at: c.created_at,
            api_token: None,
        })
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AgentView {
    pub id: String,
    pub workspace_id: String,
    pub email: String,
    pub name: String,
    /// owner, admin, supervisor, agent or analyst
    pub role: String,
    /// What the role may do (`madoguchi_core::permissions`): the UI shows what fits.
    pub permissions: Vec<&'static str>,
    pub locale: String,
    /// Disabled agents cannot log in (deleted ones are disabled too).
    pub disabled: bool,
}

impl From<&Agent> for AgentView {
    fn from(a: &Agent) -> Self {
        Self {
            id: a.id.clone(),
            workspace_id: a.workspace_id.clone(),
            email: a.email.clone(),
            name: a.name.clone(),
            role: a.role.as_str().to_owned(),
            permissions: Permission::ALL
                .iter()
                .filter(|p| allows(a.role, **p))
                .map(|p| p.as_str())
                .collect(),
            locale: a.locale.clone(),
            disabled: a.disabled_at.is_some(),
        }
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TemplateView {
    pub id: String,
    pub name: String,
    pub body: String,
    /// Offered in this brand's conversations only (`null`: in every brand's).
    pub brand_id: Option<String>,
}

impl From<&Template> for TemplateView {
    fn from(t: &Template) -> Self {
        Self {
            id: t.id.clone(),
            name: t.name.clone(),
            body: t.body.clone(),
            brand_id: t.brand_id.clone(),
        }
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TagView {
    pub id: String,
    pub name: String,
    pub conversations: i64,
}

impl From<&Tag> for TagView {
    fn from(t: &Tag) -> Self {
        Self {
            id: t.id.clone(),
            name: t.name.clone(),
            conversations: t.conversations,
        }
    }
}

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_agents, create_agent))
        .routes(routes!(update_agent, delete_agent))
        .routes(routes!(disable_agent))
        .routes(routes!(enable_agent))
        .routes(routes!(list_channels, create_channel))
        .routes(routes!(update_channel))
        .routes(routes!(put_form))
        .routes(routes!(get_automation, put_automation))
        .routes(routes!(get_scenario, put_scenario))
        .routes(routes!(scenario_clicks))
        .routes(routes!(rotate_identity_secret, remove_identity_secret))
        .routes(routes!(list_templates, create_template))
        .routes(routes!(update_template, delete_template))
        .routes(routes!(list_tags, create_tag))
        .routes(routes!(delete_tag))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AgentList {
    agents: Vec<AgentView>,
}

/// The workspace's agents.
#[utoipa::path(get, path = "/api/v1/agents", tag = "admin", responses((status = 200, body = AgentList), (status = 401, body = ErrorBody)))]
async fn list_agents(State(state): State<AppState>, auth: AgentAuth) -> ApiResult<Json<AgentList>> {
    let agents = state.store.agents(&auth.agent.workspace_id).await?;
    Ok(Json(AgentList {
        agents: views(&agents),
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAgentRequest {
    email: String,
    password: String,
    name: String,
    /// owner, admin, supervisor, agent or analyst
    role: String,
}

/// Parses a display name: 1-100 characters after trimming.
pub fn parse_name(raw: &str) -> Result<String, InvalidValue> {
    let name = raw.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(InvalidValue::new("name", "must be 1-100 characters"));
    }
    madoguchi_core::text::check_visible("name", name, false)?;
    Ok(name.to_owned())
}

/// Add an agent to the workspace (no per-seat limit).
#[utoipa::path(post, path = "/api/v1/agents", tag = "admin", request_body = NewAgentRequest,
    responses((status = 201, body = AgentView), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_agent(
    State(state): State<AppState>,
    AgentAuth { agent: admin, .. }: AgentAuth,
    Json(request): Json<NewAgentRequest>,
) -> ApiResult<(StatusCode, Json<AgentView>)> {
    let email = Email::parse(&request.email)?;
    let role = Role::parse(&request.role)?;
    may_give(&admin, role)?;
    let name = parse_name(&request.name)?;
    check_password(&request.password)?;
    let password_hash = hash_password(request.password).await?;
    let agent = state
        .store
        .create_agent(NewAgent {
            workspace_id: &admin.workspace_id,
            email: &email,
            name: &name,
            role,
            password_hash: &password_hash,
        })
        .await?;
    let target = format!("agent:{}", agent.id);
    audit(
        &state,
        &admin,
        "agent.created",
        &target,
        serde_json::json!({ "role": role }),
    )
    .await?;
    Ok((StatusCode::CREATED, Json((&agent).into())))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ChannelList {
    channels: Vec<ChannelView>,
}

/// The workspace's channels.
#[utoipa::path(get, path = "/api/v1/channels", tag = "admin", responses((status = 200, body = ChannelList), (status = 401, body = ErrorBody)))]
async fn list_channels(
    State(state): State<AppState>,
    auth: AgentAuth,
) -> ApiResult<Json<ChannelList>> {
    let channels = state.store.channels(&auth.agent.workspace_id).await?;
    Ok(Json(ChannelList {
        channels: channels
            .iter()
            .map(|c| ChannelView::of(c, &state.settings.public_url()))
            .collect::<ApiResult<_>>()?,
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewChannelRequest {
    name: String,
    /// `widget` (the default), `email`, `api` or `line`.
    kind: Option<String>,
    /// For `email`: the support address customers write to (mail for it, and for
    /// `local+anything@domain`, lands in this channel).
    email_address: Option<String>,
    /// For `line`: the channel's Messaging API credentials (from the LINE Developers console).
    line: Option<LineRequest>,
    /// For `instagram`: the Meta app's secret, the verify token chosen for the webhook, and
    /// the page access token.
    instagram: Option<InstagramRequest>,
    /// For `form`: its title and fields (default: name, e-mail, order number, category, text).
    #[schema(value_type = Option<Object>)]
    form: Option<FormDefinition>,
}

/// Change a form channel's title and fields.
#[utoipa::path(put, path = "/api/v1/channels/{id}/form", tag = "admin", params(("id" = String, Path)),
    request_body(content = Object, description = "`{title, thanks?, fields: [{key, label, type: text|email|tel|textarea|select, required?, options?}]}`"),
    responses((status = 200, body = ChannelView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn put_form(
    State(state): State<AppState>,
    AgentAuth { agent: admin, .. }: AgentAuth,
    Path(id): Path<String>,
    Json(form): Json<FormDefinition>,
) -> ApiResult<Json<ChannelView>> {
    let channel = channel_of(&state, &admin.workspace_id, &id).await?;
    if channel.kind != "form" {
        return Err(AppError::not_found("form channel"));
    }
    form.validate()?;
    let channel = state
        .store
        .set_channel_field(
            &admin.workspace_id,
            &id,
            ChannelField::Config,
            Some(&to_json(&form)?),
        )
        .await?;
    let target = format!("channel:{id}");
    let detail = serde_json::json!({ "fields": form.fields.len() });
    audit(&state, &admin, "channel.form", &target, detail).await?;
    Ok(Json(ChannelView::of(
        &channel,
        &state.settings.public_url(),
    )?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LineRequest {
    channel_secret: String,
    channel_access_token: String,
    /// Default `https://api.line.me`; another base for a proxy or a test.
    api_base: Option<String>,
}

impl LineRequest {
    /// The connection to store; `allow_private` lets the API base be a local address.
    fn connection(self, allow_private: bool) -> Result<LineConnection, InvalidValue> {
        let secret = self.channel_secret.trim().to_owned();
        let token = self.channel_access_token.trim().to_owned();
        let printable =
            |s: &str| !s.is_empty() && s.len() <= 1000 && s.bytes().all(|b| b.is_ascii_graphic());
        if !printable(&secret) || !printable(&token) {
            return Err(InvalidValue::new(
                "line",
                "channel_secret and channel_access_token must be given, as in the LINE console",
            ));
        }
        let api_base = provider_base(self.api_base, LINE_API, allow_private, "line.api_base")?;
        Ok(LineConnection {
            channel_secret: secret,
            channel_access_token: token,
            api_base,
        })
    }
}

/// Add a channel: a web widget, or an e-mail support address.
#[utoipa::path(post, path = "/api/v1/channels", tag = "admin", request_body = NewChannelRequest,
    responses((status = 201, body = ChannelView), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_channel(
    State(state): State<AppState>,
    AgentAuth { agent: admin, .. }: AgentAuth,
    Json(request): Json<NewChannelRequest>,
) -> ApiResult<(StatusCode, Json<ChannelView>)> {
    let name = parse_name(&request.name)?;
    let kind = request.kind.as_deref().unwrap_or("widget");
    let config = match (kind, request.instagram) {
        ("instagram", Some(ig)) => Some(to_json(
            &ig.connection(state.settings.webhooks_allow_private)?,
        )?),
        ("instagram", None) => {
            return Err(InvalidValue::new("instagram", "is required for Instagram").into())
        }
        (_, Some(_)) => {
            return Err(InvalidValue::new("instagram", "is only for Instagram channels").into())
        }
        (_, None) => None,
    };
    let config = match (kind, request.line, request.form) {
        (_, None, None) if config.is_some() => config,
        ("line", Some(line), None) => Some(to_json(
            &line.connection(state.settings.webhooks_allow_private)?,
        )?),
        ("line", None, _) => return Err(InvalidValue::new("line", "is required for LINE").into()),
        ("form", None, form) => {
            let form = form.unwrap_or_default();
            form.validate()?;
            Some(to_json(&form)?)
        }
        (_, Some(_), _) => {
            return Err(InvalidValue::new("line", "is only for LINE channels").into())
        }
        (_, _, Some(_)) => {
            return Err(InvalidValue::new("form", "is only for form channels").into())
        }
        (_, None, None) => None,
    };
    let address = match (kind, request.email_address.as_deref()) {
        ("widget" | "api" | "line" | "form" | "instagram", None) => None,
        ("email", Some(address)) => {
            let address = Email::parse(address)?.as_str().to_lowercase();
            if address
                .split('@')
                .next()
                .is_some_and(|local| local.contains('+'))
            {
                return Err(InvalidValue::new(
                    "email_address",
                    "must not contain '+' (plus addresses reach the channel already)",
                )
                .into());
            }
            if state.store.channel_by_email_address(&address).await.is_ok() {
                return Err(AppError::new(
                    ErrorCode::Conflict,
                    "this address cannot be used for a channel",
                ));
            }
            Some(address)
        }
        ("email", None) => {
            return Err(InvalidValue::new("email_address", "is required for e-mail").into())
        }
        ("widget" | "api" | "line" | "form" | "instagram", Some(_)) => {
            return Err(InvalidValue::new("email_address", "is only for e-mail channels").into())
        }
        _ => {
            return Err(InvalidValue::new(
                "kind",
                "must be widget, email, api, line, instagram or form",
            )
            .into())
        }
    };
    let mut channel = state
        .store
        .create_channel(&admin.workspace_id, kind, &name)
        .await?;
    if let Some(config) = &config {
        channel = state
            .store
            .set_channel_field(
                &admin.workspace_id,
                &channel.id,
                ChannelField::Config,
                Some(config),
            )
            .await?;
    }
    if let Some(address) = &address {
        channel = state
            .store
            .set_channel_field(
                &admin.workspace_id,
                &channel.id,
                ChannelField::EmailAddress,
                Some(address),
            )
            .await?;
    }
    let target = format!("channel:{}", channel.id);
    audit(
        &state,
        &admin,
        "channel.created",
        &target,
        serde_json::json!({ "name": name, "kind": kind, "email_address": address }),
    )
    .await?;
    let mut view = ChannelView::of(&channel, &state.settings.public_url())?;
    if kind == "api" {
        let token = format!("{API_TOKEN_PREFIX}{}", new_secret());
        state
            .store
            .set_channel_api_token(&channel.id, &hash_token(&token))
            .await?;
        view.api_token = Some(token);
    }
    Ok((StatusCode::CREATED, Json(view)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChannelUpdate {
    name: Option<String>,
    #[schema(value_type = Option<Object>)]
    settings: Option<WidgetSettings>,
}

/// Rename a channel or change its widget settings.
#[utoipa::path(patch, path = "/api/v1/channels/{id}", tag = "admin", params(("id" = String, Path)), request_body = ChannelUpdate,
    responses((status = 200, body = ChannelView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update_channel(
    State(state): State<AppState>,
    AgentAuth { agent: admin, .. }: AgentAuth,
    Path(id): Path<String>,
    Json(update): Json<ChannelUpdate>,
) -> ApiResult<Json<ChannelView>> {
    let channel = channel_of(&state, &admin.workspace_id, &id).await?;
    let name = match &update.name {
        Some(name) => parse_name(name)?,
        None => channel.name.clone(),
    };
    let settings = match update.settings {
        Some(settings) => settings,
        None => widget_settings(&channel)?,
    };
    settings.validate()?;
    let settings = serde_json::to_string(&settings)
        .map_err(|err| AppError::new(ErrorCode::Internal, err.to_string()))?;
    let channel = state
        .store
        .update_channel(&admin.workspace_id, &id, &name, &settings)
        .await?;
    let target = format!("channel:{id}");
    audit(
        &state,
        &admin,
        "channel.updated",
        &target,
        serde_json::json!({ "name": name }),
    )
    .await?;
    Ok(Json(ChannelView::of(
        &channel,
        &state.settings.public_url(),
    )?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AgentUpdate {
    name: String,
    /// owner, admin, supervisor, agent or analyst
    role: String,
}

/// Rename an agent or change their role (the workspace keeps at least one admin).
#[utoipa::path(patch, path = "/api/v1/agents/{id}", tag = "admin", params(("id" = String, Path)), request_body = AgentUpdate,
    responses((status = 200, body = AgentView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update_agent(
    State(state): State<AppState>,
    AgentAuth { agent: admin, .. }: AgentAuth,
    Path(id): Path<String>,
    Json(update): Json<AgentUpdate>,
) -> ApiResult<Json<AgentView>> {
    check_id(&id, "agent")?;
    let name = parse_name(&update.name)?;
    let role = Role::parse(&update.role)?;
    may_give(&admin, role)?;
    let before = state
        .store
        .agent(&admin.workspace_id, &id)
        .await
        .or_not_found("agent")?;
    may_give(&admin, before.role)?;
    let agent = state
        .store
        .update_agent(&admin.workspace_id, &id, &name, role)
        .await
        .or_not_found("agent")?;
    let target = format!("agent:{}", agent.id);
    audit(
        &state,
        &admin,
        "agent.updated",
        &target,
        serde_json::json!({ "role": role }),
    )
    .await?;
    Ok(Json((&agent).into()))
}

/// An admin acts on another agent (never on themselves: that is how a shop locks itself out),
/// and only an owner on an owner.
async fn another_agent(state: &AppState, admin: &Agent, id: &str) -> ApiResult<()> {
    check_id(id, "agent")?;
    if admin.id == id {
        return Err(AppError::new(
            ErrorCode::Conflict,
            "you cannot do this to your own account",
        ));
    }
    let agent = state
        .store
        .agent(&admin.workspace_id, id)
        .await
        .or_not_found("agent")?;
    may_give(admin, agent.role)
}

/// Only an owner gives the owner role or changes an owner's account.
pub(super) fn may_give(admin: &Agent, role: Role) -> ApiResult<()> {
    if role == Role::Owner && !allows(admin.role, Permission::ManageOwners) {
        return Err(AppError::new(
            ErrorCode::Forbidden,
            "only an owner may do this to an owner",
        ));
    }
    Ok(())
}

/// Disable an agent: they cannot log in, every session and token ends and their open
/// WebSockets close at once. Their conversations stay.
#[utoipa::path(post, path = "/api/v1/agents/{id}/disable", tag = "admin", params(("id" = String, Path)),
    responses((status = 200, body = AgentView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn disable_agent(
    State(state): State<AppState>,
    AgentAuth { agent: admin, .. }: AgentAuth,
    Path(id): Path<String>,
) -> ApiResult<Json<AgentView>> {
    another_agent(&state, &admin, &id).await?;
    let agent = state
        .store
        .set_agent_disabled(&admin.workspace_id, &id, Some(state.clock.now_ms()))
        .await
        .or_not_found("agent")?;
    let ended = end_sessions(&state, &id, None).await?;
    let target = format!("agent:{id}");
    audit(
        &state,
        &admin,
        "agent.disabled",
        &target,
        serde_json::json!({ "sessions_ended": ended }),
    )
    .await?;
    Ok(Json((&agent).into()))
}

/// Let a disabled agent log in again.
#[utoipa::path(post, path = "/api/v1/agents/{id}/enable", tag = "admin", params(("id" = String, Path)),
    responses((status = 200, body = AgentView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn enable_agent(
    State(state): State<AppState>,
    AgentAuth { agent: admin, .. }: AgentAuth,
    Path(id): Path<String>,
) -> ApiResult<Json<AgentView>> {
    another_agent(&state, &admin, &id).await?;
    let agent = state
        .store
        .set_agent_disabled(&admin.workspace_id, &id, None)
        .await
        .or_not_found("agent")?;
    let target = format!("agent:{id}");
    audit(
        &state,
        &admin,
        "agent.enabled",
        &target,
        serde_json::json!({}),
    )
    .await?;
    Ok(Json((&agent).into()))
}

/// Delete an agent: anonymised and disabled (their e-mail address is free again), every
/// session ends; their conversations and messages stay, shown as 「削除された担当者」.
#[utoipa::path(delete, path = "/api/v1/agents/{id}", tag = "admin", params(("id" = String, Path)),
    responses((status = 204, description = "Deleted"), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn delete_agent(
    State(state): State<AppState>,
    AgentAuth { agent: admin, .. }: AgentAuth,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    another_agent(&state, &admin, &id).await?;
    state
        .store
        .delete_agent(&admin.workspace_id, &id, state.clock.now_ms())
        .await
        .or_not_found("agent")?;
    end_sessions(&state, &id, None).await?;
    let target = format!("agent:{id}");
    audit(
        &state,
        &admin,
        "agent.deleted",
        &target,
        serde_json::json!({}),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TemplateList {
    templates: Vec<TemplateView>,
}

/// Canned replies of the workspace.
#[utoipa::path(get, path = "/api/v1/templates", tag = "admin", responses((status = 200, body = TemplateList), (status = 401, body = ErrorBody)))]
async fn list_templates(
    State(state): State<AppState>,
    auth: AgentAuth,
) -> ApiResult<Json<TemplateList>> {
    let templates = state.store.templates(&auth.agent.workspace_id).await?;
    Ok(Json(TemplateList {
        templates: views(&templates),
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTemplateRequest {
    name: String,
    /// May use `{{contact.name}}` and `{{agent.name}}`.
    body: String,
    /// Offered in this brand's conversations only (`null`: in every brand's).
    #[serde(default)]
    brand_id: Option<String>,
}

/// Add a canned reply.
#[utoipa::path(post, path = "/api/v1/templates", tag = "admin", request_body = NewTemplateRequest,
    responses((status = 201, body = TemplateView), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_template(
    State(state): State<AppState>,
    AgentAuth { agent: admin, .. }: AgentAuth,
    Json(request): Json<NewTemplateRequest>,
) -> ApiResult<(StatusCode, Json<TemplateView>)> {
    let name = parse_name(&request.name)?;
    let body = MessageBody::parse(&request.body)?;
    check_brand(&state, &admin.workspace_id, request.brand_id.as_deref()).await?;
    let template = state
        .store
        .create_template(
            &admin.workspace_id,
            &TemplateFields {
                name: &name,
                body: body.as_str(),
                brand_id: request.brand_id.as_deref(),
            },
        )
        .await?;
    let target = format!("template:{}", template.id);
    audit(
        &state,
        &admin,
        "template.created",
        &target,
        serde_json::json!({ "name": name }),
    )
    .await?;
    Ok((StatusCode::CREATED, Json((&template).into())))
}

/// Rename or rewrite a canned reply.
#[utoipa::path(patch, path = "/api/v1/templates/{id}", tag = "admin", params(("id" = String, Path)), request_body = NewTemplateRequest,
    responses((status = 200, body = TemplateView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update_template(
    State(state): State<AppState>,
    AgentAuth { agent: admin, .. }: AgentAuth,
    Path(id): Path<String>,
    Json(request): Json<NewTemplateRequest>,
) -> ApiResult<Json<TemplateView>> {
    check_id(&id, "template")?;
    let name = parse_name(&request.name)?;
    let body = MessageBody::parse(&request.body)?;
    check_brand(&state, &admin.workspace_id, request.brand_id.as_deref()).await?;
    let template = state
        .store
        .update_template(
            &admin.workspace_id,
            &id,
            &TemplateFields {
                name: &name,
                body: body.as_str(),
                brand_id: request.brand_id.as_deref(),
            },
        )
        .await
        .or_not_found("template")?;
    let target = format!("template:{id}");
    audit(
        &state,
        &admin,
        "template.updated",
        &target,
        serde_json::json!({ "name": name }),
    )
    .await?;
    Ok(Json((&template).into()))
}

/// Delete a canned reply.
#[utoipa::path(delete, path = "/api/v1/templates/{id}", tag = "admin", params(("id" = String, Path)),
    responses((status = 204, description = "Deleted"), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn delete_template(
    State(state): State<AppState>,
    AgentAuth { agent: admin, .. }: AgentAuth,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    check_id(&id, "template")?;
    state
        .store
        .delete_template(&admin.workspace_id, &id)
        .await?;
    let target = format!("template:{id}");
    audit(
        &state,
        &admin,
        "template.deleted",
        &target,
        serde_json::json!({}),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TagList {
    tags: Vec<TagView>,
}

/// Tags of the workspace with their conversation counts.
#[utoipa::path(get, path = "/api/v1/tags", tag = "admin", responses((status = 200, body = TagList), (status = 401, body = ErrorBody)))]
async fn list_tags(State(state): State<AppState>, auth: AgentAuth) -> ApiResult<Json<TagList>> {
    let tags = state.store.tags(&auth.agent.workspace_id).await?;
    Ok(Json(TagList { tags: views(&tags) }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTagRequest {
    name: String,
}

/// Add a tag.
#[utoipa::path(post, path = "/api/v1/tags", tag = "admin", request_body = NewTagRequest,
    responses((status = 201, body = TagView), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_tag(
    State(state): State<AppState>,
    AgentAuth { agent: admin, .. }: AgentAuth,
    Json(request): Json<NewTagRequest>,
) -> ApiResult<(StatusCode, Json<TagView>)> {
    let name = request.name.trim();
    if name.is_empty() || name.chars().count() > 50 {
        return Err(AppError::new(
            ErrorCode::InvalidBody,
            "name: must be 1-50 characters",
        ));
    }
    let tag = state.store.create_tag(&admin.workspace_id, name).await?;
    let target = format!("tag:{}", tag.id);
    audit(
        &state,
        &admin,
        "tag.created",
        &target,
        serde_json::json!({ "name": name }),
    )
    .await?;
    Ok((StatusCode::CREATED, Json((&tag).into())))
}

/// Delete a tag (it is removed from every conversation).
#[utoipa::path(delete, path = "/api/v1/tags/{id}", tag = "admin", params(("id" = String, Path)),
    responses((status = 204, description = "Deleted"), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn delete_tag(
    State(state): State<AppState>,
    AgentAuth { agent: admin, .. }: AgentAuth,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    check_id(&id, "tag")?;
    state.store.delete_tag(&admin.workspace_id, &id).await?;
    let target = format!("tag:{id}");
    audit(
        &state,
        &admin,
        "tag.deleted",
        &target,
        serde_json::json!({}),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A channel's business hours, auto-replies and notification settings.
#[utoipa::path(get, path = "/api/v1/channels/{id}/automation", tag = "admin", params(("id" = String, Path)),
    responses((status = 200, body = Object), (status = 404, body = ErrorBody)))]
async fn get_automation(
    State(state): State<AppState>,
    auth: AgentAuth,
    Path(id): Path<String>,
) -> ApiResult<Json<Automation>> {
    check_id(&id, "channel")?;
    let channel = state
        .store
        .channel(&auth.agent.workspace_id, &id)
        .await
        .or_not_found("channel")?;
    Ok(Json(channel_automation(&channel)?))
}

/// Replace a channel's business hours, auto-replies and notification settings (fields left
/// out take their defaults).
#[utoipa::path(put, path = "/api/v1/channels/{id}/automation", tag = "admin", params(("id" = String, Path)),
    request_body = Object,
    responses((status = 200, body = Object), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn put_automation(
    State(state): State<AppState>,
    AgentAuth { agent: admin, .. }: AgentAuth,
    Path(id): Path<String>,
    Json(automation): Json<Automation>,
) -> ApiResult<Json<Automation>> {
    check_id(&id, "channel")?;
    automation.validate()?;
    let text = serde_json::to_string(&automation)
        .map_err(|err| AppError::new(ErrorCode::Internal, err.to_string()))?;
    {
        let updated = state
            .store
            .set_channel_field(
                &admin.workspace_id,
                &id,
                ChannelField::Automation,
                Some(&text),
            )
            .await
            .or_not_found("channel")?;
        let target = format!("channel:{id}");
        audit(
            &state,
            &admin,
            "channel.automation_updated",
            &target,
            serde_json::json!({}),
        )
        .await?;
        Ok(Json(channel_automation(&updated)?))
    }
}

/// A channel's bot scenario (button tree).
#[utoipa::path(get, path = "/api/v1/channels/{id}/scenario", tag = "admin", params(("id" = String, Path)),
    responses((status = 200, body = Object), (status = 404, body = ErrorBody)))]
async fn get_scenario(
    State(state): State<AppState>,
    auth: AgentAuth,
    Path(id): Path<String>,
) -> ApiResult<Json<Scenario>> {
    check_id(&id, "channel")?;
    let channel = state
        .store
        .channel(&auth.agent.workspace_id, &id)
        .await
        .or_not_found("channel")?;
    Ok(Json(channel_scenario(&channel)?))
}

/// Replace a channel's bot scenario.
#[utoipa::path(put, path = "/api/v1/channels/{id}/scenario", tag = "admin", params(("id" = String, Path)), request_body = Object,
    responses((status = 200, body = Object), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn put_scenario(
    State(state): State<AppState>,
    AgentAuth { agent: admin, .. }: AgentAuth,
    Path(id): Path<String>,
    Json(scenario): Json<Scenario>,
) -> ApiResult<Json<Scenario>> {
    check_id(&id, "channel")?;
    scenario.validate()?;
    let text = serde_json::to_string(&scenario)
        .map_err(|err| AppError::new(ErrorCode::Internal, err.to_string()))?;
    {
        let updated = state
            .store
            .set_channel_field(
                &admin.workspace_id,
                &id,
                ChannelField::Scenario,
                Some(&text),
            )
            .await
            .or_not_found("channel")?;
        let target = format!("channel:{id}");
        audit(
            &state,
            &admin,
            "channel.scenario_updated",
            &target,
            serde_json::json!({}),
        )
        .await?;
        Ok(Json(channel_scenario(&updated)?))
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct NodeClicks {
    node_id: String,
    clicks: i64,
}

/// How often visitors reached each node of the channel's scenario.
#[utoipa::path(get, path = "/api/v1/channels/{id}/scenario/clicks", tag = "admin", params(("id" = String, Path)),
    responses((status = 200, body = Vec<NodeClicks>), (status = 404, body = ErrorBody)))]
async fn scenario_clicks(
    State(state): State<AppState>,
    auth: AgentAuth,
    Path(id): Path<String>,
) -> ApiResult<Json<Vec<NodeClicks>>> {
    check_id(&id, "channel")?;
    let channel = state
        .store
        .channel(&auth.agent.workspace_id, &id)
        .await
        .or_not_found("channel")?;
    let clicks = state.store.scenario_clicks(&channel.id).await?;
    Ok(Json(
        clicks
            .into_iter()
            .map(|(node_id, clicks)| NodeClicks { node_id, clicks })
            .collect(),
    ))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct IdentitySecret {
    /// Shown once: the shop's server signs its customers' user ids with it (HMAC-SHA256, hex).
    secret: String,
}

/// Turn on identity verification for a channel, or replace its secret (the old one stops working
/// at once). The secret is shown only in this answer.
#[utoipa::path(post, path = "/api/v1/channels/{id}/identity-secret", tag = "admin", params(("id" = String, Path)),
    responses((status = 200, body = IdentitySecret), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn rotate_identity_secret(
    State(state): State<AppState>,
    AgentAuth { agent: admin, .. }: AgentAuth,
    Path(id): Path<String>,
) -> ApiResult<Json<IdentitySecret>> {
    check_id(&id, "channel")?;
    let secret = new_secret();
    state
        .store
        .set_channel_field(
            &admin.workspace_id,
            &id,
            ChannelField::IdentitySecret,
            Some(&secret),
        )
        .await
        .or_not_found("channel")?;
    let target = format!("channel:{id}");
    audit(
        &state,
        &admin,
        "channel.identity_secret.rotated",
        &target,
        serde_json::json!({}),
    )
    .await?;
    Ok(Json(IdentitySecret { secret }))
}

/// Turn identity verification off: user ids from the shop's page are ignored again.
#[utoipa::path(delete, path = "/api/v1/channels/{id}/identity-secret", tag = "admin", params(("id" = String, Path)),
    responses((status = 204, description = "Off"), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn remove_identity_secret(
    State(state): State<AppState>,
    AgentAuth { agent: admin, .. }: AgentAuth,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    clear_channel_field(
        &state,
        &admin,
        &id,
        ChannelField::IdentitySecret,
        "channel.identity_secret.removed",
    )
    .await
}

/// Turns one of a channel's settings off (`field` to `NULL`), audited as `action`.
pub(super) async fn clear_channel_field(
    state: &AppState,
    admin: &Agent,
    id: &str,
    field: ChannelField,
    action: &str,
) -> ApiResult<StatusCode> {
    check_id(id, "channel")?;
    state
        .store
        .set_channel_field(&admin.workspace_id, id, field, None)
        .await
        .or_not_found("channel")?;
    let target = format!("channel:{id}");
    audit(state, admin, action, &target, serde_json::json!({})).await?;
    Ok(StatusCode::NO_CONTENT)
}
