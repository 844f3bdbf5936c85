//! The public help center: server-rendered, searchable, readable on a phone, with titles,
//! descriptions and plain links for search engines. `/help/{channel_key}` lists the published
//! articles by category (or search results for `?q=`); `/help/{channel_key}/articles/{id}` shows
//! one. Pages come from askama templates (`templates/help/`, compiled in, escaping by
//! default); article Markdown is rendered with raw HTML escaped and unsafe link schemes dropped.

use askama::Template;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use madoguchi_store::knowledge::Article;
use pulldown_cmark::{html, CowStr, Event, Options, Parser, Tag};
use serde::Deserialize;

use crate::app::AppState;
use crate::http::error::{check_id, ApiResult, AppError, OrNotFound, Path, Query};
use crate::web::pages::{rendered, strings};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/help/{channel_key}", get(index_page))
        .route("/help/{channel_key}/articles/{id}", get(article_page))
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

/// The help center's words in one language.
struct Words {
    search: String,
    results: String,
    no_results: String,
}

/// One article as a link.
struct Link {
    id: String,
    title: String,
}

struct Category {
    name: String,
    articles: Vec<Link>,
}

#[derive(Template)]
#[template(path = "help/index.html")]
struct IndexPage<'a> {
    lang: &'a str,
    title: String,
    description: String,
    key: &'a str,
    q: &'a str,
    t: Words,
    /// Search results for `?q=`; `None` lists every article by category.
    results: Option<Vec<Link>>,
    categories: Vec<Category>,
}

#[derive(Template)]
#[template(path = "help/article.html")]
struct ArticlePage<'a> {
    lang: &'a str,
    title: String,
    description: String,
    key: &'a str,
    back: &'a str,
    heading: &'a str,
    /// Rendered by [`render_markdown`], which escapes raw HTML.
    body_html: String,
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
    let q = query.q.unwrap_or_default();
    let link = |article: &Article| Link {
        id: article.id.clone(),
        title: article.title.clone(),
    };
    let mut categories: Vec<Category> = Vec::new();
    let results = if q.trim().is_empty() {
        for article in state.store.articles(&channel.workspace_id, true).await? {
            let name = if article.category.is_empty() {
                word("help.other")
            } else {
                article.category.clone()
            };
            match categories.last_mut() {
                Some(last) if last.name == name => last.articles.push(link(&article)),
                _ => categories.push(Category {
                    name,
                    articles: vec![link(&article)],
                }),
            }
        }
        None
    } else {
        let found = state
            .kb
            .search(&state.store, &channel.workspace_id, &q, 10)
            .await?;
        Some(
            found
                .hits
                .iter()
                .map(|(article, _)| link(article))
                .collect(),
        )
    };
    let page = IndexPage {
        lang,
        title: format!("{} | {}", word("help.title"), workspace.name),
        description: word("help.description"),
        key: &key,
        q: &q,
        t: Words {
            search: word("help.search"),
            results: word("help.results"),
            no_results: word("help.no_results"),
        },
        results,
        categories,
    };
    rendered(&page)
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
    let page = ArticlePage {
        lang: &article.locale,
        title: format!("{} | {}", article.title, workspace.name),
        description: article
            .body
            .chars()
            .filter(|c| !c.is_control())
            .take(120)
            .collect(),
        key: &key,
        back: t.get("help.back").and_then(|v| v.as_str()).unwrap_or(""),
        heading: &article.title,
        body_html: render_markdown(&article.body),
    };
    rendered(&page)
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
    }
}
