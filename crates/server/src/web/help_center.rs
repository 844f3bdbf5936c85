//! The public help center: server-rendered, searchable, readable on a phone, with titles,
//! descriptions and plain links for search engines. `/help/{channel_key}` lists the published
//! articles by category (or search results for `?q=`); `/help/{channel_key}/articles/{id}` shows
//! one. Article Markdown is rendered with raw HTML escaped and unsafe link schemes dropped.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use pulldown_cmark::{html, CowStr, Event, Options, Parser, Tag};
use serde::Deserialize;

use crate::app::AppState;
use crate::http::error::{check_id, ApiResult, AppError, OrNotFound, Path, Query};
use crate::web::pages::{html_response, strings};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/help/{channel_key}", get(index_page))
        .route("/help/{channel_key}/articles/{id}", get(article_page))
}

/// Escapes text for HTML content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

fn safe_url(url: CowStr<'_>) -> CowStr<'_> {
    let lower = url.trim().to_ascii_lowercase();
    if ["javascript:", "vbscript:", "data:"]
        .iter()
        .any(|s| lower.starts_with(s))
    {
        CowStr::Borrowed("#")
    } else {
        url
    }
}

/// Markdown to HTML; raw HTML in the source is shown as text.
pub fn render_markdown(markdown: &str) -> String {
    let events = Parser::new_ext(
        markdown,
        Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH,
    )
    .map(|event| match event {
        Event::Html(raw) | Event::InlineHtml(raw) => Event::Text(raw),
        Event::Start(Tag::Link {
            link_type,
            dest_url,
            title,
            id,
        }) => Event::Start(Tag::Link {
            link_type,
            dest_url: safe_url(dest_url),
            title,
            id,
        }),
        Event::Start(Tag::Image {
            link_type,
            dest_url,
            title,
            id,
        }) => Event::Start(Tag::Image {
            link_type,
            dest_url: safe_url(dest_url),
            title,
            id,
        }),
        other => other,
    });
    let mut out = String::new();
    html::push_html(&mut out, events);
    out
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct HelpQuery {
    q: Option<String>,
    locale: Option<String>,
}

struct Page<'a> {
    lang: &'a str,
    title: String,
    description: String,
    body: String,
}

fn page(p: Page<'_>) -> Response {
    html_response(format!(
        "<!doctype html>\n<html lang=\"{}\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{}</title><meta name=\"description\" content=\"{}\">\
         <link rel=\"stylesheet\" href=\"/assets/ui.css\"></head><body class=\"page-help\"><main class=\"help\">{}</main></body></html>\n",
        escape(p.lang),
        escape(&p.title),
        escape(&p.description),
        p.body
    ))
}

fn search_form(key: &str, t: &serde_json::Map<String, serde_json::Value>, q: &str) -> String {
    let label = t.get("help.search").and_then(|v| v.as_str()).unwrap_or("");
    format!(
        "<form class=\"help-search\" method=\"get\" action=\"/help/{}\" role=\"search\">\
         <input type=\"search\" name=\"q\" value=\"{}\" aria-label=\"{}\" placeholder=\"{}\"><button type=\"submit\">{}</button></form>",
        escape(key),
        escape(q),
        escape(label),
        escape(label),
        escape(label)
    )
}

async fn index_page(
    State(state): State<AppState>,
    Path(key): Path<String>,
    Query(query): Query<HelpQuery>,
) -> ApiResult<Response> {
    let channel = state
        .store
        .channel_by_key(&key)
        .await
        .or_not_found("help center")?;
    let workspace = state.store.workspace(&channel.workspace_id).await?;
    let lang = if query.locale.as_deref() == Some("en") {
        "en"
    } else {
        "ja"
    };
    let t = strings(lang, "help.");
    let word = |k: &str| t.get(k).and_then(|v| v.as_str()).unwrap_or("").to_owned();
    let title = format!("{} | {}", word("help.title"), workspace.name);
    let q = query.q.unwrap_or_default();
    let link = |id: &str, text: &str| {
        format!(
            "<li><a href=\"/help/{}/articles/{}\">{}</a></li>",
            escape(&key),
            escape(id),
            escape(text)
        )
    };
    let mut body = format!("<h1>{}</h1>{}", escape(&title), search_form(&key, &t, &q));
    if !q.trim().is_empty() {
        let found = state
            .kb
            .search(&state.store, &channel.workspace_id, &q, 10)
            .await?;
        body.push_str(&format!("<h2>{}</h2>", escape(&word("help.results"))));
        if found.hits.is_empty() {
            body.push_str(&format!("<p>{}</p>", escape(&word("help.no_results"))));
        }
        body.push_str("<ul class=\"results\">");
        for (article, _) in &found.hits {
            body.push_str(&link(&article.id, &article.title));
        }
        body.push_str("</ul>");
    } else {
        let articles = state.store.articles(&channel.workspace_id, true).await?;
        let mut category = None;
        for article in &articles {
            if category != Some(&article.category) {
                if category.is_some() {
                    body.push_str("</ul>");
                }
                let name = if article.category.is_empty() {
                    word("help.other")
                } else {
                    article.category.clone()
                };
                body.push_str(&format!("<h2>{}</h2><ul>", escape(&name)));
                category = Some(&article.category);
            }
            body.push_str(&link(&article.id, &article.title));
        }
        if category.is_some() {
            body.push_str("</ul>");
        }
    }
    Ok(page(Page {
        lang,
        title,
        description: word("help.description"),
        body,
    }))
}

async fn article_page(
    State(state): State<AppState>,
    Path((key, id)): Path<(String, String)>,
) -> ApiResult<Response> {
    check_id(&id, "article")?;
    let channel = state
        .store
        .channel_by_key(&key)
        .await
        .or_not_found("help center")?;
    let article = state
        .store
        .article(&channel.workspace_id, &id)
        .await
        .or_not_found("article")?;
    if article.status != "published" {
        return Err(AppError::not_found("article"));
    }
    let workspace = state.store.workspace(&channel.workspace_id).await?;
    let t = strings(&article.locale, "help.");
    let back = t.get("help.back").and_then(|v| v.as_str()).unwrap_or("");
    let description: String = article
        .body
        .chars()
        .filter(|c| !c.is_control())
        .take(120)
        .collect();
    let body = format!(
        "<nav><a href=\"/help/{}\">{}</a></nav><article><h1>{}</h1>{}</article>",
        escape(&key),
        escape(back),
        escape(&article.title),
        render_markdown(&article.body)
    );
    let title = format!("{} | {}", article.title, workspace.name);
    Ok(page(Page {
        lang: &article.locale,
        title,
        description,
        body,
    })
    .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_escapes_raw_html_and_unsafe_links() {
        let html = render_markdown(
            "**太字** <script>alert(1)</script> [x](javascript:alert(1)) [ok](https://example.jp)",
        );
        assert!(html.contains("<strong>太字</strong>"));
        assert!(
            html.contains("&lt;script&gt;") && !html.contains("<script>"),
            "{html}"
        );
        assert!(
            html.contains("href=\"#\"") && html.contains("href=\"https://example.jp\""),
            "{html}"
        );
        assert_eq!(
            escape("<a href=\"x\">'&"),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;"
        );
    }
}
