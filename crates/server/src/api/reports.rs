//! KPI reports for the support lead (admins): the ten KPIs over a period in the workspace's
//! time zone, grouped by day, week, month, channel, team, agent or priority, as JSON or CSV (one source
//! for both); the conversations behind any number (drill-down); the workspace's targets; and
//! a conversation's transcript as text or CSV, for records and handovers.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use chrono::{Duration, NaiveDate, TimeZone};
use chrono_tz::Tz;
use madoguchi_core::kpi::{
    compute, membership, ConversationFacts, GroupBy, Kpis, Targets, KPI_NAMES,
};
use madoguchi_core::InvalidValue;
use madoguchi_store::reports::Period;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::conversations::workspace_conversation;
use crate::api::audit;
use crate::app::auth::{sight, AgentAuth};
use crate::app::AppState;
use crate::http::error::{check_id, ApiResult, AppError, ErrorBody, ErrorCode, Json, Path, Query};
use crate::inbox::settings::{channel_automation, workspace_time_zone};
use madoguchi_store::agents::Agent;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(kpis))
        .routes(routes!(kpi_conversations))
        .routes(routes!(get_targets, put_targets))
        .routes(routes!(transcript))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ReportQuery {
    /// First day, `YYYY-MM-DD` in the workspace's time zone (default: 29 days before `to`).
    from: Option<String>,
    /// Last day, included (default: today).
    to: Option<String>,
    /// day, week, month, channel, team, agent or priority
    group_by: Option<String>,
    /// Only this channel.
    channel: Option<String>,
    /// Only this brand (`none`: conversations of no brand).
    brand: Option<String>,
    /// `csv` for CSV (as `Accept: text/csv` does).
    format: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Group {
    key: String,
    #[serde(flatten)]
    #[schema(value_type = Object)]
    kpis: Kpis,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Report {
    from: String,
    to: String,
    time_zone: String,
    #[schema(value_type = Object)]
    totals: Kpis,
    groups: Vec<Group>,
    #[schema(value_type = Object)]
    targets: Targets,
}

/// A report's scope, parsed.
pub struct Scope {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub group_by: Option<GroupBy>,
    pub channel: Option<String>,
    /// Only these brands' conversations (`none` for those of no brand): the brand asked for,
    /// within the brands the asking agent is limited to; `None`: every one.
    pub brands: Option<Vec<String>>,
}

fn parse_date(field: &'static str, raw: &str) -> Result<NaiveDate, InvalidValue> {
    NaiveDate::parse_from_str(raw, "%Y-%m-%d")
        .map_err(|_| InvalidValue::new(field, "must be a date, YYYY-MM-DD"))
}

impl Scope {
    fn parse(query: &ReportQuery, today: NaiveDate) -> Result<Self, InvalidValue> {
        let to = query
            .to
            .as_deref()
            .map(|d| parse_date("to", d))
            .transpose()?
            .unwrap_or(today);
        let from = match query.from.as_deref() {
            Some(d) => parse_date("from", d)?,
            None => to - Duration::days(29),
        };
        if from > to || (to - from).num_days() > 366 {
            return Err(InvalidValue::new(
                "from",
                "must be on or before to, at most 366 days before",
            ));
        }
        let group_by = query
            .group_by
            .as_deref()
            .map(|g| {
                GroupBy::parse(g).ok_or_else(|| {
                    InvalidValue::new(
                        "group_by",
                        "must be day, week, month, channel, team, brand, agent or priority",
                    )
                })
            })
            .transpose()?;
        if let Some(channel) = &query.channel {
            madoguchi_core::message::ClientId::parse(channel)
                .map_err(|_| InvalidValue::new("channel", "is not a channel id"))?;
        }
        Ok(Self {
            from,
            to,
            group_by,
            channel: query.channel.clone(),
            brands: query
                .brand
                .clone()
                .filter(|b| !b.is_empty())
                .map(|b| vec![b]),
        })
    }
}

impl Scope {
    /// The scope's days as Unix ms in `tz`: from its first midnight to the midnight after it.
    pub fn bounds_ms(&self, tz: Tz) -> (i64, i64) {
        (
            midnight(tz, self.from),
            midnight(tz, self.to + Duration::days(1)),
        )
    }
}

/// Unix ms of local midnight starting `date` in `tz`.
fn midnight(tz: Tz, date: NaiveDate) -> i64 {
    tz.from_local_datetime(&date.and_hms_opt(0, 0, 0).unwrap_or_default())
        .earliest()
        .map_or(0, |t| t.timestamp_millis())
}

async fn targets_of(state: &AppState, workspace_id: &str) -> ApiResult<Targets> {
    match state.store.kpi_targets(workspace_id).await? {
        Some(json) => serde_json::from_str(&json).map_err(|err| {
            AppError::new(
                ErrorCode::CorruptSettings,
                format!("workspace {workspace_id}: KPI targets: {err}"),
            )
        }),
        None => Ok(Targets::default()),
    }
}

/// The report of a scope, with the facts it was computed from.
pub async fn build_report(
    state: &AppState,
    workspace_id: &str,
    scope: &Scope,
) -> ApiResult<(Report, Vec<ConversationFacts>)> {
    let workspace = state.store.workspace(workspace_id).await?;
    let tz = workspace_time_zone(&workspace);
    let (from_ms, to_ms) = scope.bounds_ms(tz);
    let mut facts = state
        .store
        .conversation_facts(&Period {
            workspace_id,
            from_ms,
            to_ms,
            channel_id: scope.channel.as_deref(),
        })
        .await?;
    let channels = state.store.channels(workspace_id).await?;
    let hours: BTreeMap<String, _> = channels
        .iter()
        .map(|c| Ok((c.id.clone(), channel_automation(c)?.hours)))
        .collect::<ApiResult<_>>()?;
    let brands: BTreeMap<&str, Option<&String>> = channels
        .iter()
        .map(|c| (c.id.as_str(), c.brand_id.as_ref()))
        .collect();
    for f in &mut facts {
        f.brand_id = brands
            .get(f.channel_id.as_str())
            .copied()
            .flatten()
            .cloned();
    }
    if let Some(wanted) = &scope.brands {
        facts.retain(|f| wanted.contains(f.brand_id.as_ref().unwrap_or(&"none".to_owned())));
    }
    for f in &mut facts {
        if let (Some(_), Some(hours)) = (f.first_response_s(), hours.get(&f.channel_id)) {
            let at = |ms: Option<i64>| {
                chrono::DateTime::from_timestamp_millis(ms.unwrap_or(0)).unwrap_or_default()
            };
            f.business_first_response_s = Some(hours.open_seconds_between(
                tz,
                at(f.first_contact_at),
                at(f.first_agent_response_at),
            ));
        }
    }
    // Help-center votes are nobody's channel: counted only in a report of all channels and
    // brands.
    let votes = match (&scope.channel, &scope.brands) {
        (Some(_), _) | (_, Some(_)) => Vec::new(),
        (None, None) => {
            state
                .store
                .helpful_votes(workspace_id, from_ms, to_ms)
                .await?
        }
    };
    let targets = targets_of(state, workspace_id).await?;
    let now = state.clock.now_ms();
    let target = targets.first_response_s;
    let all: Vec<&ConversationFacts> = facts.iter().collect();
    let totals = compute(&all, now, target, votes.len());
    let groups = match scope.group_by {
        None => Vec::new(),
        Some(by) => {
            let mut keyed: BTreeMap<String, (Vec<&ConversationFacts>, usize)> = BTreeMap::new();
            if by.is_time() {
                // Every period of the range, empty ones included, so a chart has no gaps.
                let mut day = scope.from;
                while day <= scope.to {
                    keyed
                        .entry(by.period_of(tz, midnight(tz, day)))
                        .or_default();
                    day += Duration::days(1);
                }
                for at in &votes {
                    keyed.entry(by.period_of(tz, *at)).or_default().1 += 1;
                }
            }
            for f in &facts {
                keyed.entry(by.key_of(tz, f)).or_default().0.push(f);
            }
            keyed
                .into_iter()
                .map(|(key, (facts, votes))| Group {
                    key,
                    kpis: compute(&facts, now, target, votes),
                })
                .collect()
        }
    };
    let report = Report {
        from: scope.from.to_string(),
        to: scope.to.to_string(),
        time_zone: tz.name().to_owned(),
        totals,
        groups,
        targets,
    };
    Ok((report, facts))
}

/// One CSV field, quoted when it must be.
/// A message's text as a transcript shows it: a masked one by its categories only (the
/// original is in the case's evidence export).
fn shown_body(m: &madoguchi_store::messages::Message) -> String {
    match m.masked() {
        false => m.body.clone(),
        true => {
            let categories = m
                .flag
                .as_deref()
                .and_then(|f| serde_json::from_str::<madoguchi_core::harassment::Flag>(f).ok())
                .map(|f| f.categories.join(", "))
                .unwrap_or_default();
            format!("[masked: {categories}]")
        }
    }
}

pub(crate) fn csv_field(value: &str) -> String {
    if value.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value.to_owned()
    }
}

/// The report as CSV: a `total` row, then a row per group; the columns are the JSON's keys.
fn report_csv(report: &Report) -> String {
    let mut out = format!("key,{}\n", KPI_NAMES.join(","));
    let rows = std::iter::once(("total", &report.totals))
        .chain(report.groups.iter().map(|g| (g.key.as_str(), &g.kpis)));
    for (key, kpis) in rows {
        let values = serde_json::to_value(kpis).unwrap_or_default();
        let cells: Vec<String> = KPI_NAMES
            .iter()
            .map(|name| match &values[*name] {
                serde_json::Value::Null => String::new(),
                value => value.to_string(),
            })
            .collect();
        out.push_str(&format!("{},{}\n", csv_field(key), cells.join(",")));
    }
    out
}

pub(crate) fn wants_csv(headers: &HeaderMap, format: Option<&str>) -> bool {
    format == Some("csv")
        || headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|accept| accept.contains("text/csv"))
}

fn today(state: &AppState, tz: Tz) -> NaiveDate {
    chrono::DateTime::from_timestamp_millis(state.clock.now_ms())
        .unwrap_or_default()
        .with_timezone(&tz)
        .date_naive()
}

/// The scope asked for, narrowed to the brands the agent is limited to.
async fn scope_of(state: &AppState, agent: &Agent, query: &ReportQuery) -> ApiResult<Scope> {
    let workspace = state.store.workspace(&agent.workspace_id).await?;
    let mut scope = Scope::parse(query, today(state, workspace_time_zone(&workspace)))?;
    if let Some(limits) = sight(state, agent).await?.brands {
        scope.brands = Some(match scope.brands {
            Some(asked) => asked.into_iter().filter(|b| limits.contains(b)).collect(),
            None => limits,
        });
    }
    Ok(scope)
}

/// The KPIs of a period (admins). `Accept: text/csv` or `format=csv` gives the same as CSV.
#[utoipa::path(get, path = "/api/v1/reports/kpis", tag = "admin", params(ReportQuery),
    responses((status = 200, body = Report), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn kpis(
    State(state): State<AppState>,
    AgentAuth { agent: admin, .. }: AgentAuth,
    headers: HeaderMap,
    Query(query): Query<ReportQuery>,
) -> ApiResult<Response> {
    let scope = scope_of(&state, &admin, &query).await?;
    let (report, _) = build_report(&state, &admin.workspace_id, &scope).await?;
    if wants_csv(&headers, query.format.as_deref()) {
        let name = format!(
            "attachment; filename=\"kpis-{}-{}.csv\"",
            report.from, report.to
        );
        return Ok((
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
                (header::CONTENT_DISPOSITION, name),
            ],
            report_csv(&report),
        )
            .into_response());
    }
    Ok(Json(report).into_response())
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct DrillQuery {
    /// A KPI name of the report (`fcr_rate`, `missed`…).
    kpi: String,
    /// Only the conversations of this group of `group_by`.
    key: Option<String>,
    from: Option<String>,
    to: Option<String>,
    group_by: Option<String>,
    channel: Option<String>,
    brand: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Counted {
    id: String,
    created_at: i64,
    /// In the rate's numerator (for counts and durations: every one).
    hit: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CountedList {
    kpi: String,
    conversations: Vec<Counted>,
}

/// The conversations a KPI number counts (admins): for a rate, every conversation in its
/// denominator with `hit` for the numerator.
#[utoipa::path(get, path = "/api/v1/reports/kpis/conversations", tag = "admin", params(DrillQuery),
    responses((status = 200, body = CountedList), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn kpi_conversations(
    State(state): State<AppState>,
    AgentAuth { agent: admin, .. }: AgentAuth,
    Query(query): Query<DrillQuery>,
) -> ApiResult<Json<CountedList>> {
    let report_query = ReportQuery {
        from: query.from,
        to: query.to,
        group_by: query.group_by,
        channel: query.channel,
        brand: query.brand,
        format: None,
    };
    let scope = scope_of(&state, &admin, &report_query).await?;
    let workspace = state.store.workspace(&admin.workspace_id).await?;
    let tz = workspace_time_zone(&workspace);
    let (report, facts) = build_report(&state, &admin.workspace_id, &scope).await?;
    let now = state.clock.now_ms();
    let mut conversations = Vec::new();
    for f in &facts {
        if let (Some(key), Some(by)) = (&query.key, scope.group_by) {
            if &by.key_of(tz, f) != key {
                continue;
            }
        }
        match membership(&query.kpi, f, now, report.targets.first_response_s) {
            None => return Err(InvalidValue::new("kpi", "is not a KPI of the report").into()),
            Some(None) => {}
            Some(Some(hit)) => conversations.push(Counted {
                id: f.id.clone(),
                created_at: f.created_at,
                hit,
            }),
        }
    }
    Ok(Json(CountedList {
        kpi: query.kpi,
        conversations,
    }))
}

/// The workspace's KPI targets (defaults until set).
#[utoipa::path(get, path = "/api/v1/reports/targets", tag = "admin",
    responses((status = 200, body = Object), (status = 403, body = ErrorBody)))]
async fn get_targets(
    State(state): State<AppState>,
    AgentAuth { agent: admin, .. }: AgentAuth,
) -> ApiResult<Json<Targets>> {
    Ok(Json(targets_of(&state, &admin.workspace_id).await?))
}

/// Replace the workspace's KPI targets.
#[utoipa::path(put, path = "/api/v1/reports/targets", tag = "admin", request_body = Object,
    responses((status = 200, body = Object), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn put_targets(
    State(state): State<AppState>,
    AgentAuth { agent: admin, .. }: AgentAuth,
    Json(targets): Json<Targets>,
) -> ApiResult<Json<Targets>> {
    targets.validate()?;
    let json = serde_json::to_string(&targets)
        .map_err(|err| AppError::new(ErrorCode::Internal, err.to_string()))?;
    state
        .store
        .set_kpi_targets(&admin.workspace_id, &json)
        .await?;
    let target = format!("workspace:{}", admin.workspace_id);
    audit(
        &state,
        &admin,
        "reports.targets_updated",
        &target,
        serde_json::to_value(&targets).unwrap_or_default(),
    )
    .await?;
    Ok(Json(targets))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct TranscriptQuery {
    /// `text` (default) or `csv`.
    format: Option<String>,
}

/// A conversation's whole transcript with times (workspace time zone), sender kinds and
/// private notes marked, as plain text or CSV.
#[utoipa::path(get, path = "/api/v1/conversations/{id}/transcript", tag = "agent", params(("id" = String, Path), TranscriptQuery),
    responses((status = 200, description = "The transcript", content_type = "text/plain"), (status = 404, body = ErrorBody)))]
async fn transcript(
    State(state): State<AppState>,
    auth: AgentAuth,
    Path(id): Path<String>,
    Query(query): Query<TranscriptQuery>,
) -> ApiResult<Response> {
    check_id(&id, "conversation")?;
    if let Some(format) = query
        .format
        .as_deref()
        .filter(|f| !matches!(*f, "csv" | "text"))
    {
        return Err(InvalidValue::new("format", format!("{format:?}: use text or csv")).into());
    }
    let workspace_id = &auth.agent.workspace_id;
    let conversation = workspace_conversation(&state, &auth, &id).await?;
    let contact = state
        .store
        .contact(workspace_id, &conversation.contact_id)
        .await?;
    let tz = workspace_time_zone(&state.store.workspace(workspace_id).await?);
    let messages = state.store.all_messages(&id).await?;
    let time = |ms: i64| {
        chrono::DateTime::from_timestamp_millis(ms)
            .unwrap_or_default()
            .with_timezone(&tz)
            .format("%Y-%m-%d %H:%M:%S")
            .to_string()
    };
    let customer = contact
        .name
        .clone()
        .or(contact.email.clone())
        .unwrap_or_else(|| "customer".into());
    let sender = |m: &madoguchi_store::messages::Message| match m.sender_kind.as_str() {
        "contact" => customer.clone(),
        "agent" => m.sender_name.clone().unwrap_or_else(|| "agent".into()),
        other => other.to_owned(),
    };
    let csv = query.format.as_deref() == Some("csv");
    let mut out = String::new();
    if csv {
        out.push_str("seq,time,sender_kind,sender,private,body\n");
        for m in &messages {
            out.push_str(&format!(
                "{},{},{},{},{},{}\n",
                m.seq,
                time(m.created_at),
                m.sender_kind.as_str(),
                csv_field(&sender(m)),
                m.private,
                csv_field(&shown_body(m))
            ));
        }
    } else {
        let subject = conversation
            .subject
            .as_deref()
            .map(|s| format!(" — {s}"))
            .unwrap_or_default();
        out.push_str(&format!(
            "# {}{subject} ({} {})\n",
            conversation.id,
            tz.name(),
            time(conversation.created_at)
        ));
        for m in &messages {
            let note = if m.private { " (note)" } else { "" };
            out.push_str(&format!(
                "[{}] {} {}{note}: {}\n",
                time(m.created_at),
                m.sender_kind.as_str(),
                sender(m),
                shown_body(m).replace('\n', "\n    ")
            ));
        }
    }
    let content_type = if csv {
        "text/csv; charset=utf-8"
    } else {
        "text/plain; charset=utf-8"
    };
    let name = format!(
        "attachment; filename=\"transcript-{id}.{}\"",
        if csv { "csv" } else { "txt" }
    );
    Ok((
        [
            (header::CONTENT_TYPE, content_type.to_owned()),
            (header::CONTENT_DISPOSITION, name),
        ],
        out,
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_are_quoted_when_needed() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\"\nbye"), "\"say \"\"hi\"\"\nbye\"");
    }

    #[test]
    fn a_scope_defaults_to_thirty_days_and_refuses_odd_ranges() {
        let today = NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
        let query = |from: Option<&str>, to: Option<&str>| ReportQuery {
            from: from.map(str::to_owned),
            to: to.map(str::to_owned),
            group_by: None,
            channel: None,
            brand: None,
            format: None,
        };
        let scope = Scope::parse(&query(None, None), today).unwrap();
        assert_eq!(
            (scope.from.to_string(), scope.to.to_string()),
            ("2026-11-02".into(), "2026-12-01".into())
        );
        assert!(Scope::parse(&query(Some("2026-12-02"), Some("2026-12-01")), today).is_err());
        assert!(Scope::parse(&query(Some("2024-01-01"), None), today).is_err());
        assert!(Scope::parse(&query(Some("2026/12/01"), None), today).is_err());
    }
}
