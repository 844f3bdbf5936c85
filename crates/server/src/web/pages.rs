//! The browser UI: the embeddable widget script, the agent inbox, admin, reports and guideline pages (HTML shells
//! with small vanilla JavaScript modules), their assets and locale files — all embedded in the
//! binary. Pages send a Content Security Policy without inline scripts or styles.

use askama::Template;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use serde_json::{Map, Value};

use crate::app::AppState;
use crate::http::error::{AppError, ErrorCode, Path};

const WIDGET_JS: &str = include_str!("../../assets/widget.js");
const INBOX_JS: &str = include_str!("../../assets/inbox.js");
const ADMIN_JS: &str = include_str!("../../assets/admin.js");
const REPORTS_JS: &str = include_str!("../../assets/reports.js");
const GUIDELINE_JS: &str = include_str!("../../assets/guideline.js");
const LOGIN_JS: &str = include_str!("../../assets/login.js");
const ACCOUNT_JS: &str = include_str!("../../assets/account.js");
const COMMON_JS: &str = include_str!("../../assets/common.js");
const UI_CSS: &str = include_str!("../../assets/ui.css");
const LOCALE_JA: &str = include_str!("../../locales/ja.json");
const LOCALE_EN: &str = include_str!("../../locales/en.json");

/// Pages may load scripts, styles and connections from this origin only.
const PAGE_CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; \
     connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'; object-src 'none'";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(|| async { Redirect::to("/inbox") }))
        .route(
            "/widget.js",
            get(|| async { asset("application/javascript; charset=utf-8", WIDGET_JS) }),
        )
        .route("/assets/{name}", get(asset_by_name))
        .route("/login", get(|| async { page("login", "login.js") }))
        .route("/account", get(|| async { page("login", "account.js") }))
        .route("/inbox", get(|| async { page("inbox", "inbox.js") }))
        .route("/admin", get(|| async { page("admin", "admin.js") }))
        .route("/reports", get(|| async { page("reports", "reports.js") }))
        .route(
            "/guideline",
            get(|| async { page("guideline", "guideline.js") }),
        )
        .route("/chat/{channel_key}", get(chat_page))
}

/// A page of our own that shows only the widget, opened: where links in notifications lead.
async fn chat_page(Path(channel_key): Path<String>) -> Result<Response, AppError> {
    let well_formed = channel_key.len() == 35
        && channel_key.starts_with("ch_")
        && channel_key[3..].chars().all(|c| c.is_ascii_hexdigit());
    if !well_formed {
        return Err(AppError::not_found("channel"));
    }
    rendered(&ChatPage {
        channel_key: &channel_key,
    })
}

pub fn html_response(html: String) -> Response {
    let mut response = (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        html,
    )
        .into_response();
    response.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(PAGE_CSP),
    );
    response
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "public, max-age=300"),
        ],
        body,
    )
        .into_response()
}

async fn asset_by_name(Path(name): Path<String>) -> Result<Response, AppError> {
    let (content_type, body) = match name.as_str() {
        "inbox.js" => ("application/javascript; charset=utf-8", INBOX_JS),
        "admin.js" => ("application/javascript; charset=utf-8", ADMIN_JS),
        "reports.js" => ("application/javascript; charset=utf-8", REPORTS_JS),
        "guideline.js" => ("application/javascript; charset=utf-8", GUIDELINE_JS),
        "login.js" => ("application/javascript; charset=utf-8", LOGIN_JS),
        "account.js" => ("application/javascript; charset=utf-8", ACCOUNT_JS),
        "common.js" => ("application/javascript; charset=utf-8", COMMON_JS),
        "ui.css" => ("text/css; charset=utf-8", UI_CSS),
        "ja.json" => ("application/json", LOCALE_JA),
        "en.json" => ("application/json", LOCALE_EN),
        _ => return Err(AppError::not_found("asset")),
    };
    Ok(asset(content_type, body))
}

/// An HTML shell: the page's script fills it in, in the agent's language.
fn page(name: &'static str, script: &'static str) -> Response {
    rendered(&Shell { name, script }).unwrap_or_else(IntoResponse::into_response)
}

#[derive(Template)]
#[template(path = "shell.html")]
struct Shell {
    name: &'static str,
    script: &'static str,
}

#[derive(Template)]
#[template(path = "chat.html")]
struct ChatPage<'a> {
    channel_key: &'a str,
}

/// A page rendered from its template, with our security headers.
pub fn rendered(page: &impl Template) -> Result<Response, AppError> {
    let html = page
        .render()
        .map_err(|err| AppError::new(ErrorCode::Internal, format!("template: {err}")))?;
    Ok(html_response(html))
}

/// The strings of one locale (`ja` unless `en`) whose keys start with `prefix`.
pub fn strings(locale: &str, prefix: &str) -> Map<String, Value> {
    let source = if locale == "en" { LOCALE_EN } else { LOCALE_JA };
    match serde_json::from_str::<Map<String, Value>>(source) {
        Ok(all) => all
            .into_iter()
            .filter(|(key, _)| key.starts_with(prefix))
            .collect(),
        Err(_) => Map::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locales_have_the_same_keys_and_parse() {
        let ja = strings("ja", "");
        let en = strings("en", "");
        assert!(ja.len() > 50);
        let mut ja_keys: Vec<_> = ja.keys().collect();
        let mut en_keys: Vec<_> = en.keys().collect();
        ja_keys.sort();
        en_keys.sort();
        assert_eq!(ja_keys, en_keys);
        assert_eq!(strings("ja", "widget.")["widget.send"], "送信");
        assert_eq!(
            strings("fr", "widget.")["widget.send"],
            "送信",
            "Japanese is the default"
        );
    }

    #[test]
    fn widget_stays_within_its_budget() {
        assert!(
            WIDGET_JS.len() < 40 * 1024,
            "widget.js is {} bytes",
            WIDGET_JS.len()
        );
        assert!(
            !WIDGET_JS.contains("innerHTML"),
            "the widget inserts text only"
        );
    }
}
