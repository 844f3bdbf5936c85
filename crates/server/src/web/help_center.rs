//! The public help center: server-rendered, searchable, readable on a phone, with titles,
//! descriptions and plain links for search engines. Every page shows the shop's name and logo,
//! a search box and a link to the chat. A help center is a channel's (`/help/{channel_key}`) or
//! a brand's (`/help/{brand_slug}`): either shows the brand's name, logo and colour and only its
//! own articles and the shared ones (a channel of no brand: the workspace's name and the shared
//! articles). `/help/{key}` lists the published articles by
//! category (or search results for `?q=`); `/help/{key}/articles/{id}` shows one and
//! asks 「この記事は役に立ちましたか？」 (a plain form, counted per article). Pages come from askama templates (`templates/help/`, compiled in, escaping by
//! default); article Markdown is rendered with raw HTML escaped and unsafe link schemes dropped.

use askama::Template;
use axum::extract::{Form, State};
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use madoguchi_core::InvalidValue;
use madoguchi_store::brands::Brand;
use madoguchi_store::knowledge::Article;
use madoguchi_store::StoreError;
use pulldown_cmark::{html, CowStr, Event, Options, Parser, Tag};
use serde::Deserialize;

use crate::app::auth::ClientIp;
use crate::app::AppState;
use crate::http::error::{check_id, ApiResult, AppError, OrNotFound, Path, Query};
use crate::knowledge::index::Shelf;
use crate::web::pages::{rendered, strings};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/help/{key}", get(index_page))
        .route("/help/{key}/logo", get(logo))
        .route("/help/{key}/theme.css", get(theme))
        .route("/help/{key}/articles/{id}", get(article_page))
        .route("/help/{key}/articles/{id}/feedback", post(vote))
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
    title: String,
    description: String,
    other: String,
    search: String,
    results: String,
    no_results: String,
    no_articles: String,
    chat: String,
    back: String,
    helpful: String,
    yes: String,
    no: String,
    thanks: String,
    sorry: String,
}

impl Words {
    fn of(lang: &str) -> Self {
        let t = strings(lang, "help.");
        let word = |k: &str| t.get(k).and_then(|v| v.as_str()).unwrap_or("").to_owned();
        Words {
            title: word("help.title"),
            description: word("help.description"),
            other: word("help.other"),
            search: word("help.search"),
            results: word("help.results"),
            no_results: word("help.no_results"),
            no_articles: word("help.no_articles"),
            chat: word("help.chat"),
            back: word("help.back"),
            helpful: word("help.helpful"),
            yes: word("help.yes"),
            no: word("help.no"),
            thanks: word("help.thanks"),
            sorry: word("help.sorry"),
        }
    }
}

/// What every help page shows around its content: the shop (name, logo, colour), a search
/// box and a way to the chat.
struct Shop {
    /// The help center's key in its links: a channel key or a brand slug.
    key: String,
    workspace_id: String,
    /// The brand whose articles it shows (with the shared ones).
    brand: Option<Brand>,
    name: String,
    has_logo: bool,
    /// The chat the "write to us" link opens: the channel, or the brand's first widget.
    chat_key: Option<String>,
}

impl Shop {
    fn shelf(&self) -> Shelf<'_> {
        Shelf::Brand(self.brand.as_ref().map(|b| b.id.as_str()))
    }

    fn has_theme(&self) -> bool {
        self.brand.as_ref().is_some_and(|b| b.color.is_some())
    }

    /// Whether this help center shows the article (published, and its brand's or shared).
    fn shows(&self, article: &Article) -> bool {
        article.status == "published"
            && (article.brand_id.is_none()
                || article.brand_id.as_deref() == self.brand.as_ref().map(|b| b.id.as_str()))
    }
}

/// The help center at `key`: a channel's key, else a brand's slug.
async fn shop(state: &AppState, key: &str) -> ApiResult<Shop> {
    let (workspace_id, brand, chat_key) = match state.store.channel_by_key(key).await {
        Ok(channel) => {
            let brand = match &channel.brand_id {
                Some(id) => Some(state.store.brand(&channel.workspace_id, id).await?),
                None => None,
            };
            (channel.workspace_id, brand, Some(key.to_owned()))
        }
        Err(StoreError::NotFound) => {
            let brand = state
                .store
                .brand_by_slug(key)
                .await
                .or_not_found("help center")?;
            let chat = state
                .store
                .channels(&brand.workspace_id)
                .await?
                .into_iter()
                .find(|c| c.kind == "widget" && c.brand_id.as_deref() == Some(&brand.id))
                .map(|c| c.public_key);
            (brand.workspace_id.clone(), Some(brand), chat)
        }
        Err(err) => return Err(err.into()),
    };
    let (name, has_logo) = match &brand {
        Some(brand) => (brand.name.clone(), brand.has_logo),
        None => {
            let workspace = state.store.workspace(&workspace_id).await?;
            let has_logo = state.store.has_workspace_logo(&workspace_id).await?;
            (workspace.name, has_logo)
        }
    };
    Ok(Shop {
        key: key.to_owned(),
        workspace_id,
        brand,
        name,
        has_logo,
        chat_key,
    })
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
    shop: Shop,
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
    shop: Shop,
    q: &'a str,
    t: Words,
    id: &'a str,
    heading: &'a str,
    /// Rendered by [`render_markdown`], which escapes raw HTML.
    body_html: String,
    /// The reader's answer just given to 「役に立ちましたか？」.
    voted: Option<bool>,
}

async fn index_page(
    State(state): State<AppState>,
    Path(key): Path<String>,
    Query(query): Query<HelpQuery>,
) -> ApiResult<Response> {
    let shop = shop(&state, &key).await?;
    let lang = if query.locale.as_deref() == Some("en") {
        "en"
    } else {
        "ja"
    };
    let t = Words::of(lang);
    let q = query.q.unwrap_or_default();
    let link = |article: &Article| Link {
        id: article.id.clone(),
        title: article.title.clone(),
    };
    let mut categories: Vec<Category> = Vec::new();
    let results = if q.trim().is_empty() {
        let articles = state.store.articles(&shop.workspace_id, true).await?;
        for article in articles.iter().filter(|a| shop.shows(a)) {
            let name = if article.category.is_empty() {
                t.other.clone()
            } else {
                article.category.clone()
            };
            match categories.last_mut() {
                Some(last) if last.name == name => last.articles.push(link(article)),
                _ => categories.push(Category {
                    name,
                    articles: vec![link(article)],
                }),
            }
        }
        None
    } else {
        let found = state
            .kb
            .search(&state.store, &shop.workspace_id, shop.shelf(), &q, 10)
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
        title: format!("{} | {}", t.title, shop.name),
        description: t.description.clone(),
        shop,
        q: &q,
        t,
        results,
        categories,
    };
    rendered(&page)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ArticleQuery {
    /// `yes` or `no` after the reader answered 「役に立ちましたか？」.
    voted: Option<String>,
}

async fn article_page(
    State(state): State<AppState>,
    Path((key, id)): Path<(String, String)>,
    Query(query): Query<ArticleQuery>,
) -> ApiResult<Response> {
    check_id(&id, "article")?;
    let shop = shop(&state, &key).await?;
    let article = state
        .store
        .article(&shop.workspace_id, &id)
        .await
        .or_not_found("article")?;
    if !shop.shows(&article) {
        return Err(AppError::not_found("article"));
    }
    let page = ArticlePage {
        lang: &article.locale,
        title: format!("{} | {}", article.title, shop.name),
        description: article
            .body
            .chars()
            .filter(|c| !c.is_control())
            .take(120)
            .collect(),
        shop,
        q: "",
        t: Words::of(&article.locale),
        id: &article.id,
        heading: &article.title,
        body_html: render_markdown(&article.body),
        voted: query.voted.as_deref().map(|v| v == "yes"),
    };
    rendered(&page)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Vote {
    /// `yes` or `no`.
    helpful: String,
}

/// 「この記事は役に立ちましたか？」: counted (the help center's share in self-resolution), then
/// back to the article with thanks. Votes are limited per client address.
async fn vote(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    Path((key, id)): Path<(String, String)>,
    Form(vote): Form<Vote>,
) -> ApiResult<Response> {
    check_id(&id, "article")?;
    let helpful = match vote.helpful.as_str() {
        "yes" => true,
        "no" => false,
        _ => return Err(InvalidValue::new("helpful", "must be yes or no").into()),
    };
    state.limits.visitor_session.check(&format!("vote:{ip}"))?;
    let shop = shop(&state, &key).await?;
    let article = state
        .store
        .article(&shop.workspace_id, &id)
        .await
        .or_not_found("article")?;
    if !shop.shows(&article) {
        return Err(AppError::not_found("article"));
    }
    state
        .store
        .record_article_vote(&shop.workspace_id, &id, helpful, state.clock.now_ms())
        .await
        .or_not_found("article")?;
    let answer = if helpful { "yes" } else { "no" };
    Ok(Redirect::to(&format!("/help/{key}/articles/{id}?voted={answer}#helpful")).into_response())
}

/// The brand's colour on its help center (a stylesheet: the pages allow no inline styles).
async fn theme(State(state): State<AppState>, Path(key): Path<String>) -> ApiResult<Response> {
    let shop = shop(&state, &key).await?;
    // Stored only as `#rrggbb` (checked when saved), so it cannot break out of the rule.
    let color = shop
        .brand
        .and_then(|b| b.color)
        .ok_or_else(|| AppError::not_found("theme"))?;
    let css = format!(
        ".help-header {{ border-bottom: 4px solid {color}; }}\n\
         .help-header .shop span, .help a {{ color: {color}; }}\n"
    );
    Ok((
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=60"),
        ],
        css,
    )
        .into_response())
}

/// The shop's logo: the brand's, else the workspace's (public: the help center shows it).
async fn logo(State(state): State<AppState>, Path(key): Path<String>) -> ApiResult<Response> {
    let shop = shop(&state, &key).await?;
    let (content_type, data) = match &shop.brand {
        Some(brand) => state.store.brand_logo(&brand.id).await,
        None => state.store.workspace_logo(&shop.workspace_id).await,
    }
    .or_not_found("logo")?;
    Ok((
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "public, max-age=300".to_owned()),
            (
                header::CONTENT_SECURITY_POLICY,
                "sandbox; default-src 'none'".to_owned(),
            ),
        ],
        data,
    )
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
    }
}
