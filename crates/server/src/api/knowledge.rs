//! The knowledge base API (articles, search, synonyms) and the bot's quality loop: the review
//! of bot turns (正答率), resolution (解決率) and satisfaction rates per day.

use axum::extract::State;
use axum::http::StatusCode;
use madoguchi_core::permissions::{allows, Permission};
use madoguchi_core::InvalidValue;
use madoguchi_store::knowledge::ArticleFields;
use madoguchi_store::knowledge::{Article, BotTurn};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::api::audit;
use crate::api::brands::check_brand;
use crate::app::auth::AgentAuth;
use crate::app::AppState;
use crate::bot::parse_review;
use crate::http::error::{
    check_id, ApiResult, AppError, ErrorBody, ErrorCode, Json, OrNotFound, Path, Query,
};
use crate::http::views::views;
use crate::knowledge::index::Shelf;

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ArticleView {
    pub id: String,
    pub category: String,
    pub locale: String,
    pub status: String,
    pub title: String,
    pub body: String,
    pub alternatives: Vec<String>,
    /// The one brand whose help center and bot show it; `null`: every brand's.
    pub brand_id: Option<String>,
    pub updated_at: i64,
}

impl From<&Article> for ArticleView {
    fn from(a: &Article) -> Self {
        Self {
            id: a.id.clone(),
            category: a.category.clone(),
            locale: a.locale.clone(),
            status: a.status.clone(),
            title: a.title.clone(),
            body: a.body.clone(),
            alternatives: a.alternatives.clone(),
            brand_id: a.brand_id.clone(),
            updated_at: a.updated_at,
        }
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BotTurnView {
    pub id: String,
    pub conversation_id: String,
    pub query: String,
    /// `[{"article_id", "title", "score"}]`
    #[schema(value_type = Object)]
    pub shown: serde_json::Value,
    pub confidence: f64,
    pub outcome: String,
    pub review: Option<String>,
    pub created_at: i64,
}

impl From<&BotTurn> for BotTurnView {
    fn from(t: &BotTurn) -> Self {
        Self {
            id: t.id.clone(),
            conversation_id: t.conversation_id.clone(),
            query: t.query.clone(),
            shown: serde_json::from_str(&t.shown).unwrap_or_default(),
            confidence: t.confidence as f64 / 1000.0,
            outcome: t.outcome.clone(),
            review: t.review.clone(),
            created_at: t.created_at,
        }
    }
}

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_articles, create_article))
        .routes(routes!(get_article, update_article, delete_article))
        .routes(routes!(search_articles))
        .routes(routes!(get_synonyms, put_synonyms))
        .routes(routes!(list_turns))
        .routes(routes!(review_turn))
        .routes(routes!(bot_rates))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ArticleRequest {
    #[serde(default)]
    category: String,
    /// ja (default) or en
    #[serde(default = "default_locale")]
    locale: String,
    /// draft (default) or published
    #[serde(default = "default_status")]
    status: String,
    /// The question the article answers.
    title: String,
    /// Markdown.
    body: String,
    /// Other wordings of the question.
    #[serde(default)]
    alternatives: Vec<String>,
    /// Only this brand's help center and bot show it (`null`: every brand's).
    #[serde(default)]
    brand_id: Option<String>,
}

fn default_locale() -> String {
    "ja".into()
}

fn default_status() -> String {
    "draft".into()
}

impl ArticleRequest {
    fn parse(self) -> Result<ArticleFields, InvalidValue> {
        if !matches!(self.locale.as_str(), "ja" | "en") {
            return Err(InvalidValue::new("locale", "must be ja or en"));
        }
        if !matches!(self.status.as_str(), "draft" | "published") {
            return Err(InvalidValue::new("status", "must be draft or published"));
        }
        let title = self.title.trim().to_owned();
        if title.is_empty() || title.chars().count() > 200 {
            return Err(InvalidValue::new("title", "must be 1-200 characters"));
        }
        if self.body.chars().count() > 50_000 || self.category.chars().count() > 100 {
            return Err(InvalidValue::new(
                "body",
                "body at most 50,000 characters, category at most 100",
            ));
        }
        let alternatives: Vec<String> = self
            .alternatives
            .iter()
            .map(|a| a.trim().to_owned())
            .filter(|a| !a.is_empty())
            .collect();
        if alternatives.len() > 100 || alternatives.iter().any(|a| a.chars().count() > 200) {
            return Err(InvalidValue::new(
                "alternatives",
                "at most 100 of at most 200 characters",
            ));
        }
        Ok(ArticleFields {
            category: self.category.trim().to_owned(),
            locale: self.locale,
            status: self.status,
            title,
            body: self.body,
            alternatives,
            brand_id: self.brand_id,
        })
    }
}

/// The fields, once their brand is known to be the workspace's.
async fn own_brand(
    state: &AppState,
    workspace_id: &str,
    fields: ArticleFields,
) -> ApiResult<ArticleFields> {
    check_brand(state, workspace_id, fields.brand_id.as_deref()).await?;
    Ok(fields)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ArticleList {
    articles: Vec<ArticleView>,
}

/// All articles of the workspace, drafts included.
#[utoipa::path(get, path = "/api/v1/articles", tag = "agent", responses((status = 200, body = ArticleList), (status = 401, body = ErrorBody)))]
async fn list_articles(
    State(state): State<AppState>,
    auth: AgentAuth,
) -> ApiResult<Json<ArticleList>> {
    let articles = state
        .store
        .articles(&auth.agent.workspace_id, false)
        .await?;
    Ok(Json(ArticleList {
        articles: views(&articles),
    }))
}

/// Write an article.
#[utoipa::path(post, path = "/api/v1/articles", tag = "admin", request_body = ArticleRequest,
    responses((status = 201, body = ArticleView), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_article(
    State(state): State<AppState>,
    AgentAuth { agent: admin, .. }: AgentAuth,
    Json(request): Json<ArticleRequest>,
) -> ApiResult<(StatusCode, Json<ArticleView>)> {
    let article = state
        .store
        .create_article(
            &admin.workspace_id,
            &own_brand(&state, &admin.workspace_id, request.parse()?).await?,
        )
        .await?;
    state.kb.refresh(&state.store, &admin.workspace_id);
    let target = format!("article:{}", article.id);
    audit(
        &state,
        &admin,
        "article.created",
        &target,
        serde_json::json!({}),
    )
    .await?;
    Ok((StatusCode::CREATED, Json((&article).into())))
}

/// One article.
#[utoipa::path(get, path = "/api/v1/articles/{id}", tag = "agent", params(("id" = String, Path)),
    responses((status = 200, body = ArticleView), (status = 404, body = ErrorBody)))]
async fn get_article(
    State(state): State<AppState>,
    auth: AgentAuth,
    Path(id): Path<String>,
) -> ApiResult<Json<ArticleView>> {
    check_id(&id, "article")?;
    let article = state
        .store
        .article(&auth.agent.workspace_id, &id)
        .await
        .or_not_found("article")?;
    Ok(Json((&article).into()))
}

/// Replace an article.
#[utoipa::path(put, path = "/api/v1/articles/{id}", tag = "admin", params(("id" = String, Path)), request_body = ArticleRequest,
    responses((status = 200, body = ArticleView), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update_article(
    State(state): State<AppState>,
    AgentAuth { agent: admin, .. }: AgentAuth,
    Path(id): Path<String>,
    Json(request): Json<ArticleRequest>,
) -> ApiResult<Json<ArticleView>> {
    check_id(&id, "article")?;
    let article = state
        .store
        .update_article(
            &admin.workspace_id,
            &id,
            &own_brand(&state, &admin.workspace_id, request.parse()?).await?,
        )
        .await
        .or_not_found("article")?;
    state.kb.refresh(&state.store, &admin.workspace_id);
    audit(
        &state,
        &admin,
        "article.updated",
        &format!("article:{id}"),
        serde_json::json!({}),
    )
    .await?;
    Ok(Json((&article).into()))
}

/// Delete an article.
#[utoipa::path(delete, path = "/api/v1/articles/{id}", tag = "admin", params(("id" = String, Path)),
    responses((status = 204, description = "Deleted"), (status = 404, body = ErrorBody)))]
async fn delete_article(
    State(state): State<AppState>,
    AgentAuth { agent: admin, .. }: AgentAuth,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    check_id(&id, "article")?;
    state
        .store
        .delete_article(&admin.workspace_id, &id)
        .await
        .or_not_found("article")?;
    audit(
        &state,
        &admin,
        "article.deleted",
        &format!("article:{id}"),
        serde_json::json!({}),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct SearchQuery {
    q: String,
    limit: Option<usize>,
    /// Search as this brand's customers and bot do (its articles and the shared ones).
    brand: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SearchHit {
    article: ArticleView,
    score: f32,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SearchResults {
    hits: Vec<SearchHit>,
    /// The bot's confidence in the first hit (0-1).
    confidence: f32,
}

/// Search the published articles with the bot's retrieval (Japanese and English).
#[utoipa::path(get, path = "/api/v1/articles/search", tag = "agent", params(SearchQuery),
    responses((status = 200, body = SearchResults), (status = 401, body = ErrorBody)))]
async fn search_articles(
    State(state): State<AppState>,
    auth: AgentAuth,
    Query(query): Query<SearchQuery>,
) -> ApiResult<Json<SearchResults>> {
    let found = state
        .kb
        .search(
            &state.store,
            &auth.agent.workspace_id,
            match query.brand.as_deref() {
                None | Some("") => Shelf::All,
                Some(brand) => Shelf::Brand(Some(brand)),
            },
            &query.q,
            query.limit.unwrap_or(10).clamp(1, 50),
        )
        .await?;
    let hits = found
        .hits
        .iter()
        .map(|(a, score)| SearchHit {
            article: a.into(),
            score: *score,
        })
        .collect();
    Ok(Json(SearchResults {
        hits,
        confidence: found.confidence,
    }))
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SynonymList {
    /// Groups of interchangeable words, e.g. `[["返品", "返却"]]`.
    groups: Vec<Vec<String>>,
}

/// The workspace's synonym groups.
#[utoipa::path(get, path = "/api/v1/synonyms", tag = "agent", responses((status = 200, body = SynonymList)))]
async fn get_synonyms(
    State(state): State<AppState>,
    auth: AgentAuth,
) -> ApiResult<Json<SynonymList>> {
    Ok(Json(SynonymList {
        groups: state.store.synonym_groups(&auth.agent.workspace_id).await?,
    }))
}

/// Replace the synonym groups.
#[utoipa::path(put, path = "/api/v1/synonyms", tag = "admin", request_body = SynonymList,
    responses((status = 200, body = SynonymList), (status = 422, body = ErrorBody)))]
async fn put_synonyms(
    State(state): State<AppState>,
    AgentAuth { agent: admin, .. }: AgentAuth,
    Json(list): Json<SynonymList>,
) -> ApiResult<Json<SynonymList>> {
    let groups: Vec<Vec<String>> = list
        .groups
        .into_iter()
        .map(|g| {
            g.into_iter()
                .map(|w| w.trim().replace(',', ""))
                .filter(|w| !w.is_empty())
                .collect::<Vec<_>>()
        })
        .filter(|g| g.len() > 1)
        .collect();
    if groups.len() > 1000 {
        return Err(InvalidValue::new("groups", "at most 1000 groups").into());
    }
    state
        .store
        .set_synonym_groups(&admin.workspace_id, &groups)
        .await?;
    let target = format!("workspace:{}", admin.workspace_id);
    audit(
        &state,
        &admin,
        "synonyms.replaced",
        &target,
        serde_json::json!({ "groups": groups.len() }),
    )
    .await?;
    Ok(Json(SynonymList { groups }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TurnList {
    turns: Vec<BotTurnView>,
}

/// The bot's latest turns, for review.
#[utoipa::path(get, path = "/api/v1/bot/turns", tag = "agent", responses((status = 200, body = TurnList)))]
async fn list_turns(State(state): State<AppState>, auth: AgentAuth) -> ApiResult<Json<TurnList>> {
    let turns = state.store.bot_turns(&auth.agent.workspace_id, 200).await?;
    Ok(Json(TurnList {
        turns: views(&turns),
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TurnReview {
    /// correct or wrong
    review: String,
    /// For a wrong answer: the article that answers it; the customer's wording becomes one of
    /// its alternative questions.
    correct_article_id: Option<String>,
}

/// Mark a bot answer correct or wrong (and teach the right article the customer's wording).
#[utoipa::path(patch, path = "/api/v1/bot/turns/{id}", tag = "agent", params(("id" = String, Path)), request_body = TurnReview,
    responses((status = 200, body = BotTurnView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn review_turn(
    State(state): State<AppState>,
    auth: AgentAuth,
    Path(id): Path<String>,
    Json(review): Json<TurnReview>,
) -> ApiResult<Json<BotTurnView>> {
    check_id(&id, "bot turn")?;
    let ws = &auth.agent.workspace_id;
    let verdict = parse_review(&review.review)?;
    let turn = state
        .store
        .bot_turn(ws, &id)
        .await
        .or_not_found("bot turn")?;
    if let Some(article_id) = &review.correct_article_id {
        // Teaching changes the knowledge base: the same permission and checks as a PUT, audited.
        if !allows(auth.agent.role, Permission::EditKnowledge) {
            return Err(AppError::new(
                ErrorCode::Forbidden,
                "teaching an article needs the permission to edit the knowledge base",
            ));
        }
        check_id(article_id, "article")?;
        let article = state
            .store
            .article(ws, article_id)
            .await
            .or_not_found("article")?;
        let mut alternatives = article.alternatives.clone();
        if !alternatives.contains(&turn.query) && turn.query != article.title {
            alternatives.push(turn.query.clone());
        }
        let fields = ArticleRequest {
            category: article.category,
            locale: article.locale,
            status: article.status,
            title: article.title,
            body: article.body,
            alternatives,
            brand_id: article.brand_id,
        }
        .parse()?;
        state.store.update_article(ws, article_id, &fields).await?;
        state.kb.refresh(&state.store, ws);
        let detail = serde_json::json!({ "turn_id": id, "wording": turn.query });
        let target = format!("article:{article_id}");
        audit(&state, &auth.agent, "article.taught", &target, detail).await?;
    }
    state.store.review_bot_turn(ws, &id, verdict).await?;
    let turn = state.store.bot_turn(ws, &id).await?;
    Ok(Json((&turn).into()))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct RatesQuery {
    /// Days back from today (default 30).
    days: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DayRates {
    /// YYYY-MM-DD (UTC)
    date: String,
    /// 正答率: correct / reviewed
    accuracy: Option<f64>,
    /// 解決率: resolved / asked
    resolution: Option<f64>,
    /// 満足率: ratings of 4 or 5 / ratings
    satisfaction: Option<f64>,
    reviewed: i64,
    asked: i64,
    rated: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Rates {
    days: Vec<DayRates>,
    accuracy: Option<f64>,
    resolution: Option<f64>,
    satisfaction: Option<f64>,
    /// Help-center readers who answered 「役に立ちましたか？」 with yes / all who answered
    /// (self-resolution in the help center).
    helpful: Option<f64>,
    /// Per article: readers' yes and no answers in the period.
    articles: Vec<ArticleVotes>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ArticleVotes {
    article_id: String,
    helpful: i64,
    not_helpful: i64,
}

fn ratio(part: i64, whole: i64) -> Option<f64> {
    (whole > 0).then(|| part as f64 / whole as f64)
}

/// Answer accuracy (正答率), resolution (解決率) and satisfaction (満足率) per day.
#[utoipa::path(get, path = "/api/v1/bot/rates", tag = "agent", params(RatesQuery), responses((status = 200, body = Rates)))]
async fn bot_rates(
    State(state): State<AppState>,
    auth: AgentAuth,
    Query(query): Query<RatesQuery>,
) -> ApiResult<Json<Rates>> {
    let now = state.clock.now_ms();
    let days = query.days.unwrap_or(30).clamp(1, 366);
    let since = now - days * 86_400_000;
    let counts = state
        .store
        .bot_day_counts(&auth.agent.workspace_id, since, now + 1)
        .await?;
    let votes = state
        .store
        .article_votes(&auth.agent.workspace_id, since)
        .await?;
    let (yes, no) = votes
        .iter()
        .fold((0, 0), |(y, n), (_, yes, no)| (y + yes, n + no));
    let sum =
        |f: fn(&madoguchi_store::knowledge::DayCounts) -> i64| counts.iter().map(f).sum::<i64>();
    let days = counts
        .iter()
        .map(|d| DayRates {
            date: chrono::DateTime::from_timestamp(d.day * 86_400, 0)
                .map(|t| t.format("%Y-%m-%d").to_string())
                .unwrap_or_default(),
            accuracy: ratio(d.correct, d.reviewed),
            resolution: ratio(d.resolved, d.asked),
            satisfaction: ratio(d.satisfied, d.rated),
            reviewed: d.reviewed,
            asked: d.asked,
            rated: d.rated,
        })
        .collect();
    Ok(Json(Rates {
        days,
        accuracy: ratio(sum(|d| d.correct), sum(|d| d.reviewed)),
        resolution: ratio(sum(|d| d.resolved), sum(|d| d.asked)),
        satisfaction: ratio(sum(|d| d.satisfied), sum(|d| d.rated)),
        helpful: ratio(yes, yes + no),
        articles: votes
            .into_iter()
            .map(|(article_id, helpful, not_helpful)| ArticleVotes {
                article_id,
                helpful,
                not_helpful,
            })
            .collect(),
    }))
}
