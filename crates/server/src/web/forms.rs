//! Web forms: a form channel's page (`/forms/{channel_key}`), server-rendered so it can be
//! linked or embedded in an `<iframe>` on the shop's site (the page allows framing; it runs no
//! script), and its JSON twin (`GET /forms/{key}/definition`, `POST /forms/{key}/submissions`).
//! Bots are kept out without third parties: a honeypot field people never see (`website`), a
//! signed time token that must be at least [`MIN_FILL_MS`] old and at most a day, and the
//! per-address limit on new conversations. What a bot sends is dropped without a word (it gets
//! the same thanks); a person's submission becomes a conversation whose first message lists the
//! answers, from the contact with the form's e-mail address — replies go out by e-mail.

use askama::Template;
use axum::extract::{Form, State};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use madoguchi_core::form::{FieldKind, FormDefinition};
use madoguchi_core::message::MessageBody;
use madoguchi_core::InvalidValue;
use madoguchi_store::contacts::{ContactPatch, IDENTITY_EMAIL};
use madoguchi_store::workspaces::Channel;
use serde::{Deserialize, Serialize};

use crate::app::auth::ClientIp;
use crate::app::signing::{link_key, sign, verify};
use crate::app::AppState;
use crate::automation::intake::{self, Opening};
use crate::http::error::{ApiResult, AppError, ErrorCode, Json, Path};
use crate::web::pages::html_response;

/// A person takes longer than this to fill in a form.
pub const MIN_FILL_MS: i64 = 3_000;
/// A form page's token is good for a day.
const TOKEN_TTL_MS: i64 = 24 * 3_600_000;
/// The page may be framed by the shop's site; it loads nothing but our stylesheet.
const FORM_CSP: &str =
    "default-src 'none'; style-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors *";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/forms/{key}", get(page).post(post_page))
        .route("/forms/{key}/definition", get(definition))
        .route("/forms/{key}/submissions", axum::routing::post(post_json))
}

/// A form channel's definition (the default contact form until an admin saves one).
pub fn form_of(channel: &Channel) -> Result<FormDefinition, AppError> {
    match channel.config.as_deref() {
        None => Ok(FormDefinition::default()),
        Some(stored) => serde_json::from_str(stored).map_err(|err| {
            AppError::new(
                ErrorCode::CorruptSettings,
                format!("channel {}: its form cannot be read: {err}", channel.id),
            )
        }),
    }
}

async fn form_channel(state: &AppState, key: &str) -> ApiResult<(Channel, FormDefinition)> {
    let channel = state
        .store
        .channel_by_key(key)
        .await
        .ok()
        .filter(|c| c.kind == "form")
        .ok_or_else(|| AppError::not_found("form"))?;
    let form = form_of(&channel)?;
    Ok((channel, form))
}

/// A token saying when the page was handed out: `issued_ms.signature`.
async fn issue_token(state: &AppState, channel: &Channel) -> ApiResult<String> {
    let key = link_key(state).await?;
    let issued = state.clock.now_ms().to_string();
    Ok(format!(
        "{issued}.{}",
        sign(&key, &["form", &channel.id, &issued])
    ))
}

/// Whether the token is ours, for this form, and was handed out neither too soon (a bot
/// posting at once) nor too long ago.
async fn token_passes(state: &AppState, channel: &Channel, token: &str) -> ApiResult<bool> {
    let Some((issued, signature)) = token.split_once('.') else {
        return Ok(false);
    };
    let key = link_key(state).await?;
    if !verify(&key, &["form", &channel.id, issued], signature) {
        return Ok(false);
    }
    let age = issued
        .parse::<i64>()
        .map(|at| state.clock.now_ms() - at)
        .unwrap_or(-1);
    Ok((MIN_FILL_MS..=TOKEN_TTL_MS).contains(&age))
}

/// What became of a submission.
enum Outcome {
    Accepted,
    /// A bot: nothing was stored.
    Dropped,
}

/// Checks and stores one submission (`answers` by field key).
async fn submit(
    state: &AppState,
    channel: &Channel,
    form: &FormDefinition,
    ip: std::net::IpAddr,
    answers: &[(String, String)],
) -> ApiResult<Outcome> {
    let value = |key: &str| {
        answers
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    };
    let trapped = !value("website").is_empty();
    if trapped || !token_passes(state, channel, value("token")).await? {
        tracing::info!(channel = %channel.id, %ip, trapped, "a form submission was taken for a bot's and dropped");
        return Ok(Outcome::Dropped);
    }
    let submission = form.accept(answers)?;
    state
        .limits
        .visitor_conversations
        .check(&format!("form:{ip}"))?;
    let contact = state
        .store
        .identified_contact(&channel.workspace_id, IDENTITY_EMAIL, &submission.email)
        .await?;
    let patch = ContactPatch {
        name: submission.name.clone().filter(|_| contact.name.is_none()),
        email: contact.email.is_none().then(|| submission.email.clone()),
        phone: None,
    };
    if !patch.is_empty() {
        crate::inbox::contacts::update(state, &channel.workspace_id, &contact.id, &patch).await?;
    }
    let body = MessageBody::parse(&submission.message())?;
    intake::start_conversation(
        state,
        channel,
        &contact.id,
        Opening {
            subject: Some(&form.title),
            ip: Some(ip),
            ..Opening::chat(&body)
        },
    )
    .await?;
    Ok(Outcome::Accepted)
}

/// One field as the page shows it, with what was typed (kept when the page comes back with an
/// error).
struct ShownField {
    key: String,
    label: String,
    kind: &'static str,
    required: bool,
    options: Vec<String>,
    value: String,
}

#[derive(Template)]
#[template(path = "form.html")]
struct FormPage<'a> {
    key: &'a str,
    title: &'a str,
    token: String,
    fields: Vec<ShownField>,
    error: Option<String>,
    thanks: Option<&'a str>,
}

fn kind_name(kind: FieldKind) -> &'static str {
    match kind {
        FieldKind::Text => "text",
        FieldKind::Email => "email",
        FieldKind::Tel => "tel",
        FieldKind::Textarea => "textarea",
        FieldKind::Select => "select",
    }
}

/// The page, framable by the shop's site.
fn form_response(page: &FormPage<'_>) -> ApiResult<Response> {
    let html = page
        .render()
        .map_err(|err| AppError::new(ErrorCode::Internal, format!("template: {err}")))?;
    let mut response = html_response(html);
    response.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(FORM_CSP),
    );
    Ok(response)
}

async fn render(
    state: &AppState,
    key: &str,
    channel: &Channel,
    form: &FormDefinition,
    answers: &[(String, String)],
    error: Option<String>,
    done: bool,
) -> ApiResult<Response> {
    let fields = form
        .fields
        .iter()
        .map(|f| ShownField {
            key: f.key.clone(),
            label: f.label.clone(),
            kind: kind_name(f.kind),
            required: f.required,
            options: f.options.clone(),
            value: answers
                .iter()
                .find(|(k, _)| *k == f.key)
                .map(|(_, v)| v.clone())
                .unwrap_or_default(),
        })
        .collect();
    form_response(&FormPage {
        key,
        title: &form.title,
        token: issue_token(state, channel).await?,
        fields,
        error,
        thanks: done.then_some(form.thanks.as_str()),
    })
}

async fn page(State(state): State<AppState>, Path(key): Path<String>) -> ApiResult<Response> {
    let (channel, form) = form_channel(&state, &key).await?;
    render(&state, &key, &channel, &form, &[], None, false).await
}

async fn post_page(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    Path(key): Path<String>,
    Form(answers): Form<Vec<(String, String)>>,
) -> ApiResult<Response> {
    let (channel, form) = form_channel(&state, &key).await?;
    match submit(&state, &channel, &form, ip, &answers).await {
        Ok(_) => render(&state, &key, &channel, &form, &[], None, true).await,
        Err(err) if err.code == ErrorCode::InvalidBody => {
            render(
                &state,
                &key,
                &channel,
                &form,
                &answers,
                Some(err.message),
                false,
            )
            .await
        }
        Err(err) => Err(err),
    }
}

#[derive(Debug, Serialize)]
struct Definition {
    #[serde(flatten)]
    form: FormDefinition,
    /// Send it back with the answers (at least 3 s later, within a day).
    token: String,
}

async fn definition(
    State(state): State<AppState>,
    Path(key): Path<String>,
) -> ApiResult<Json<Definition>> {
    let (channel, form) = form_channel(&state, &key).await?;
    let token = issue_token(&state, &channel).await?;
    Ok(Json(Definition { form, token }))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonSubmission {
    /// Answers by field key.
    fields: std::collections::BTreeMap<String, String>,
    token: String,
    /// The honeypot: empty for people.
    #[serde(default)]
    website: String,
}

async fn post_json(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    Path(key): Path<String>,
    Json(request): Json<JsonSubmission>,
) -> ApiResult<Response> {
    let (channel, form) = form_channel(&state, &key).await?;
    if request.fields.contains_key("token") || request.fields.contains_key("website") {
        return Err(InvalidValue::new("fields", "token and website are not answers").into());
    }
    let mut answers: Vec<(String, String)> = request.fields.into_iter().collect();
    answers.push(("token".into(), request.token));
    answers.push(("website".into(), request.website));
    submit(&state, &channel, &form, ip, &answers).await?;
    Ok((
        axum::http::StatusCode::ACCEPTED,
        Json(serde_json::json!({"message": form.thanks})),
    )
        .into_response())
}
