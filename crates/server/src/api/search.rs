//! Search for agents: `GET /api/v1/search` over every message (notes included) and e-mail
//! subject of the workspace, all history, through the node's full-text index; conversations
//! (one hit per conversation), contacts (name, e-mail, phone, shop ids: in the index too) and help-center
//! articles too. Filters (status, channel, tag, assignee, dates) and the agent's team scope are
//! applied from the store, so a hit never outlives a change of its conversation.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::State;
use chrono::{NaiveDate, TimeZone};
use madoguchi_core::InvalidValue;
use madoguchi_store::contacts::Contact;
use madoguchi_store::conversations::Conversation;
use madoguchi_text::search::{escaped, kind, snippet, Found, Request, SearchIndex};
use madoguchi_text::Analyzer;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::api::contacts::ContactView;
use crate::app::auth::{sight, AgentAuth};
use crate::app::AppState;
use crate::http::error::{ApiResult, AppError, ErrorBody, ErrorCode, Json, Query};
use crate::inbox::settings::workspace_time_zone;
use crate::knowledge::index::Shelf;
use crate::knowledge::search::IndexedContact;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(search))
}

const MAX_LIMIT: usize = 50;
/// How many index hits are read per hit returned, for the filters to choose from.
const OVERFETCH: usize = 5;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SearchQuery {
    /// Words (all must match), "quoted phrases", e-mail addresses, order numbers.
    q: String,
    /// messages (default), conversations, contacts or articles
    #[serde(rename = "type")]
    kind: Option<String>,
    status: Option<String>,
    channel: Option<String>,
    /// A brand id.
    brand: Option<String>,
    tag: Option<String>,
    /// An agent id, or `none` for unassigned.
    assignee: Option<String>,
    /// First and last day (YYYY-MM-DD, the workspace's time zone).
    from: Option<String>,
    to: Option<String>,
    /// 1-50, default 20.
    limit: Option<usize>,
    /// From the previous page's `next_cursor`.
    cursor: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SearchHit {
    /// message, conversation, contact or article
    #[serde(rename = "type")]
    kind: &'static str,
    conversation_id: Option<String>,
    message_id: Option<String>,
    /// The matching message's place in its conversation (open it there).
    seq: Option<i64>,
    /// contact, agent, bot or system
    sender_kind: Option<String>,
    /// A private note.
    private: bool,
    created_at: Option<i64>,
    /// HTML: the matched words in `<mark>`, everything else escaped.
    snippet: String,
    status: Option<String>,
    subject: Option<String>,
    contact: Option<ContactView>,
    article_id: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SearchResults {
    hits: Vec<SearchHit>,
    next_cursor: Option<String>,
    /// False while this node's index is still catching up with the store (results may miss
    /// recent history).
    complete: bool,
}

/// Search every conversation, message and contact of the workspace.
#[utoipa::path(get, path = "/api/v1/search", tag = "agent", params(SearchQuery),
    responses((status = 200, body = SearchResults), (status = 422, body = ErrorBody)))]
async fn search(
    State(state): State<AppState>,
    auth: AgentAuth,
    Query(query): Query<SearchQuery>,
) -> ApiResult<Json<SearchResults>> {
    let text = query.q.trim();
    if text.is_empty() || text.chars().count() > 200 {
        return Err(InvalidValue::new("q", "1-200 characters").into());
    }
    let limit = query.limit.unwrap_or(20);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(InvalidValue::new("limit", "must be 1-50").into());
    }
    let offset: usize = match query.cursor.as_deref() {
        None => 0,
        Some(c) => c
            .parse()
            .map_err(|_| InvalidValue::new("cursor", "not a cursor from this search"))?,
    };
    let workspace_id = &auth.agent.workspace_id;
    let wanted = offset + limit + 1;
    let found = match query.kind.as_deref().unwrap_or("messages") {
        "messages" => conversation_hits(&state, &auth, &query, text, wanted, false).await?,
        "conversations" => conversation_hits(&state, &auth, &query, text, wanted, true).await?,
        "contacts" => contact_hits(&state, workspace_id, text, wanted).await?,
        "articles" => state
            .kb
            .search(&state.store, workspace_id, Shelf::All, text, wanted)
            .await
            .map_err(AppError::from)?
            .hits
            .into_iter()
            .map(|(article, _)| SearchHit {
                kind: "article",
                snippet: escaped(&article.title),
                article_id: Some(article.id),
                ..SearchHit::empty()
            })
            .collect(),
        _ => {
            return Err(
                InvalidValue::new("type", "messages, conversations, contacts or articles").into(),
            )
        }
    };
    let more = found.len() > offset + limit;
    let hits: Vec<SearchHit> = found.into_iter().skip(offset).take(limit).collect();
    Ok(Json(SearchResults {
        hits,
        next_cursor: more.then(|| (offset + limit).to_string()),
        complete: state.search.is_ready(),
    }))
}

impl SearchHit {
    fn empty() -> Self {
        Self {
            kind: "message",
            conversation_id: None,
            message_id: None,
            seq: None,
            sender_kind: None,
            private: false,
            created_at: None,
            snippet: String::new(),
            status: None,
            subject: None,
            contact: None,
            article_id: None,
        }
    }
}

/// A day's first millisecond in the workspace's time zone.
fn day_start(field: &'static str, raw: &str, tz: chrono_tz::Tz) -> Result<i64, InvalidValue> {
    let day = NaiveDate::parse_from_str(raw, "%Y-%m-%d")
        .map_err(|_| InvalidValue::new(field, "must be a date, YYYY-MM-DD"))?;
    let midnight = day.and_hms_opt(0, 0, 0).unwrap_or_default();
    Ok(tz
        .from_local_datetime(&midnight)
        .earliest()
        .map_or(0, |t| t.timestamp_millis()))
}

/// Message and subject hits in conversations the agent may see that pass the filters; with
/// `grouped`, the best one per conversation.
/// Contacts found by the index (the shared analysis: readings, widths, whole addresses and
/// numbers), then by a substring of their name, e-mail, phone or ids (a phone number's last
/// digits), best first.
/// Runs a query on the blocking pool: tantivy reads and scores on the thread that calls it,
/// which must not be one of the runtime's.
async fn run(
    index: Arc<SearchIndex>,
    analyzer: Arc<Analyzer>,
    request: Request<'_>,
) -> ApiResult<Found> {
    let internal = |err: String| AppError::new(ErrorCode::Internal, err);
    let (workspace, text) = (request.workspace_id.to_owned(), request.text.to_owned());
    let kinds: Vec<String> = request.kinds.iter().map(|k| (*k).to_owned()).collect();
    let (include_private, from, to, limit) = (
        request.include_private,
        request.from,
        request.to,
        request.limit,
    );
    tokio::task::spawn_blocking(move || {
        let kinds: Vec<&str> = kinds.iter().map(String::as_str).collect();
        index.search(
            &analyzer,
            &Request {
                workspace_id: &workspace,
                text: &text,
                kinds: &kinds,
                include_private,
                from,
                to,
                limit,
            },
        )
    })
    .await
    .map_err(|err| internal(err.to_string()))?
    .map_err(|err| internal(err.to_string()))
}

async fn contact_hits(
    state: &AppState,
    workspace_id: &str,
    text: &str,
    wanted: usize,
) -> ApiResult<Vec<SearchHit>> {
    let analyzer = state.kb.analyzer().await.map_err(AppError::from)?;
    let (ids, marks) = match state.search.index() {
        Some(index) => {
            let found = run(
                index,
                analyzer.clone(),
                Request {
                    workspace_id,
                    text,
                    kinds: &[kind::CONTACT],
                    limit: wanted,
                    ..Request::default()
                },
            )
            .await?;
            let ids: Vec<String> = found.hits.into_iter().map(|h| h.key).collect();
            (ids, found.marks)
        }
        None => Default::default(),
    };
    let mut by_id: HashMap<String, (Contact, Vec<String>)> = state
        .store
        .contacts_by_ids(Some(workspace_id), &ids)
        .await?
        .into_iter()
        .map(|found| (found.0.id.clone(), found))
        .collect();
    let mut found: Vec<(Contact, Vec<String>)> =
        ids.iter().filter_map(|id| by_id.remove(id)).collect();
    for contact in state
        .store
        .find_contacts(workspace_id, text, wanted as i64)
        .await?
    {
        if found.len() >= wanted {
            break;
        }
        if !found.iter().any(|(c, _)| c.id == contact.id) {
            found.push((contact, Vec::new()));
        }
    }
    Ok(found
        .iter()
        .map(|(contact, identities)| SearchHit {
            kind: "contact",
            snippet: snippet(
                &analyzer,
                &IndexedContact::of(contact, identities).text,
                &marks,
            ),
            contact: Some(contact.into()),
            created_at: Some(contact.created_at),
            ..SearchHit::empty()
        })
        .collect())
}

async fn conversation_hits(
    state: &AppState,
    auth: &AgentAuth,
    query: &SearchQuery,
    text: &str,
    wanted: usize,
    grouped: bool,
) -> ApiResult<Vec<SearchHit>> {
    let workspace_id = &auth.agent.workspace_id;
    let Some(index) = state.search.index() else {
        return Err(AppError::new(
            ErrorCode::Unavailable,
            "the search index is starting; try again in a moment",
        ));
    };
    let tz = workspace_time_zone(&state.store.workspace(workspace_id).await?);
    let from = query
        .from
        .as_deref()
        .map(|d| day_start("from", d, tz))
        .transpose()?;
    let to = query
        .to
        .as_deref()
        .map(|d| day_start("to", d, tz).map(|t| t + 86_400_000))
        .transpose()?;
    let analyzer = state.kb.analyzer().await.map_err(AppError::from)?;
    let kinds = [kind::MESSAGE, kind::SUBJECT];
    let request = Request {
        workspace_id,
        text,
        kinds: &kinds,
        include_private: true,
        from,
        to,
        limit: wanted * OVERFETCH,
    };
    let found = run(index, analyzer.clone(), request).await?;
    let mut ids: Vec<String> = found
        .hits
        .iter()
        .map(|h| h.conversation_id.clone())
        .collect();
    ids.sort();
    ids.dedup();
    let conversations: HashMap<String, Conversation> = state
        .store
        .conversations_by_ids(workspace_id, &ids)
        .await?
        .into_iter()
        .map(|c| (c.id.clone(), c))
        .collect();
    let sight = sight(state, &auth.agent).await?;
    let passes = |c: &Conversation| {
        sight.sees(c.team_id.as_deref(), c.brand_id.as_deref())
            && query
                .status
                .as_deref()
                .is_none_or(|s| c.status.as_str() == s)
            && query.channel.as_deref().is_none_or(|ch| c.channel_id == ch)
            && query
                .brand
                .as_deref()
                .filter(|b| !b.is_empty())
                .is_none_or(|b| c.brand_id.as_deref() == Some(b))
            && query
                .tag
                .as_deref()
                .is_none_or(|t| c.tags.iter().any(|x| x == t))
            && match query.assignee.as_deref() {
                None => true,
                Some("none") => c.assignee_id.is_none(),
                Some(a) => c.assignee_id.as_deref() == Some(a),
            }
    };
    let mut seen = std::collections::HashSet::new();
    let mut chosen = Vec::new();
    for hit in &found.hits {
        let Some(conversation) = conversations
            .get(&hit.conversation_id)
            .filter(|c| passes(c))
        else {
            continue;
        };
        if grouped && !seen.insert(hit.conversation_id.clone()) {
            continue;
        }
        chosen.push((hit, conversation));
        if chosen.len() >= wanted {
            break;
        }
    }
    // The texts come from the store (the index keeps none), as they are now: masked or not.
    let message_ids: Vec<String> = chosen
        .iter()
        .filter(|(h, _)| h.kind == kind::MESSAGE)
        .map(|(h, _)| h.key.clone())
        .collect();
    let bodies: HashMap<String, String> = state
        .store
        .messages_by_ids(workspace_id, &message_ids)
        .await?
        .into_iter()
        .filter(|m| !m.masked() && !m.body.is_empty())
        .map(|m| (m.id, m.body))
        .collect();
    #[derive(Deserialize, Default)]
    struct Detail {
        seq: Option<i64>,
        sender_kind: Option<String>,
    }
    let mut hits = Vec::new();
    for (hit, conversation) in chosen {
        let is_message = hit.kind == kind::MESSAGE;
        let text = match is_message {
            true => bodies.get(&hit.key).cloned(),
            false => conversation.subject.clone(),
        };
        let Some(text) = text else {
            continue;
        };
        let detail: Detail = serde_json::from_str(&hit.detail).unwrap_or_default();
        hits.push(SearchHit {
            kind: if grouped { "conversation" } else { "message" },
            conversation_id: Some(hit.conversation_id.clone()),
            message_id: is_message.then(|| hit.key.clone()),
            seq: detail.seq,
            sender_kind: detail.sender_kind.filter(|_| is_message),
            private: hit.private,
            created_at: Some(hit.created_at),
            snippet: snippet(&analyzer, &text, &found.marks),
            status: Some(conversation.status.as_str().to_owned()),
            subject: conversation.subject.clone(),
            ..SearchHit::empty()
        });
    }
    Ok(hits)
}
