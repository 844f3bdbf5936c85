//! Teams and routing over HTTP: teams and their members, whether agents see every
//! conversation or only their teams', each agent's capacity and away switch, the ordered
//! routing rules and the SLA policies they apply, the categories conversations are classified
//! into. Reading is for every agent; changing is for admins, except an agent's own
//! away switch.

use axum::extract::State;
use axum::http::StatusCode;
use madoguchi_core::classification::{validate as validate_categories, Category};
use madoguchi_core::permissions::{allows, Permission};
use madoguchi_core::routing::Rule;
use madoguchi_core::sla::Policy;
use madoguchi_core::InvalidValue;
use madoguchi_store::teams::{StoredPolicy, StoredRule, Team};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::api::audit;
use crate::app::auth::AgentAuth;
use crate::app::AppState;
use crate::http::error::{
    check_id, ApiResult, AppError, ErrorBody, ErrorCode, Json, OrNotFound, Path,
};
use crate::knowledge::classifier::{categories, Method};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_teams, create_team))
        .routes(routes!(update_team, delete_team))
        .routes(routes!(get_settings, put_settings))
        .routes(routes!(get_agent_routing, put_agent_routing))
        .routes(routes!(list_rules, create_rule))
        .routes(routes!(update_rule, delete_rule))
        .routes(routes!(list_policies, create_policy))
        .routes(routes!(update_policy))
        .routes(routes!(get_classification, put_classification))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TeamRequest {
    name: String,
    /// Agent ids; round robin goes through them in the order agents were made.
    #[serde(default)]
    members: Vec<String>,
}

impl TeamRequest {
    fn name(&self) -> Result<&str, InvalidValue> {
        let name = self.name.trim();
        if name.is_empty() || name.chars().count() > 50 {
            return Err(InvalidValue::new("name", "must be 1-50 characters"));
        }
        Ok(name)
    }
}

/// The workspace's teams with their members.
#[utoipa::path(get, path = "/api/v1/teams", tag = "agent",
    responses((status = 200, body = [Object]), (status = 401, body = ErrorBody)))]
async fn list_teams(State(state): State<AppState>, auth: AgentAuth) -> ApiResult<Json<Vec<Team>>> {
    Ok(Json(state.store.teams(&auth.agent.workspace_id).await?))
}

/// Make a team.
#[utoipa::path(post, path = "/api/v1/teams", tag = "admin", request_body = TeamRequest,
    responses((status = 201, body = Object), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_team(
    State(state): State<AppState>,
    AgentAuth { agent: admin, .. }: AgentAuth,
    Json(request): Json<TeamRequest>,
) -> ApiResult<(StatusCode, Json<Team>)> {
    let name = request.name()?;
    let team = state.store.create_team(&admin.workspace_id, name).await?;
    let team = state
        .store
        .update_team(&admin.workspace_id, &team.id, name, &request.members)
        .await?;
    audit(
        &state,
        &admin,
        "team.created",
        &team.id,
        serde_json::json!({"name": team.name, "members": team.members}),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(team)))
}

/// Rename a team and set its members.
#[utoipa::path(put, path = "/api/v1/teams/{id}", tag = "admin", params(("id" = String, Path)), request_body = TeamRequest,
    responses((status = 200, body = Object), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update_team(
    State(state): State<AppState>,
    AgentAuth { agent: admin, .. }: AgentAuth,
    Path(id): Path<String>,
    Json(request): Json<TeamRequest>,
) -> ApiResult<Json<Team>> {
    check_id(&id, "team")?;
    let name = request.name()?;
    let team = state
        .store
        .update_team(&admin.workspace_id, &id, name, &request.members)
        .await
        .or_not_found("team")?;
    audit(
        &state,
        &admin,
        "team.updated",
        &team.id,
        serde_json::json!({"name": team.name, "members": team.members}),
    )
    .await?;
    Ok(Json(team))
}

/// Delete a team; its conversations keep their assignee.
#[utoipa::path(delete, path = "/api/v1/teams/{id}", tag = "admin", params(("id" = String, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)))]
async fn delete_team(
    State(state): State<AppState>,
    AgentAuth { agent: admin, .. }: AgentAuth,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    check_id(&id, "team")?;
    state
        .store
        .delete_team(&admin.workspace_id, &id)
        .await
        .or_not_found("team")?;
    audit(&state, &admin, "team.deleted", &id, serde_json::json!({})).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoutingSettings {
    /// `all`: agents see every conversation; `teams`: agents see their teams' only (admins
    /// always see all).
    agent_scope: String,
    /// Minutes (1-1440) an assigned agent may leave a waiting customer unanswered before the
    /// conversation goes to their team's next free agent; `null`: never.
    #[serde(default)]
    reassign_after_mins: Option<i64>,
}

/// Who sees which conversations.
#[utoipa::path(get, path = "/api/v1/routing/settings", tag = "agent",
    responses((status = 200, body = RoutingSettings)))]
async fn get_settings(
    State(state): State<AppState>,
    auth: AgentAuth,
) -> ApiResult<Json<RoutingSettings>> {
    let workspace = state.store.workspace(&auth.agent.workspace_id).await?;
    Ok(Json(RoutingSettings {
        agent_scope: state.store.agent_scope(&auth.agent.workspace_id).await?,
        reassign_after_mins: workspace.reassign_after_mins,
    }))
}

#[utoipa::path(put, path = "/api/v1/routing/settings", tag = "admin", request_body = RoutingSettings,
    responses((status = 200, body = RoutingSettings), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn put_settings(
    State(state): State<AppState>,
    AgentAuth { agent: admin, .. }: AgentAuth,
    Json(settings): Json<RoutingSettings>,
) -> ApiResult<Json<RoutingSettings>> {
    if !matches!(settings.agent_scope.as_str(), "all" | "teams") {
        return Err(InvalidValue::new("agent_scope", "must be all or teams").into());
    }
    if settings
        .reassign_after_mins
        .is_some_and(|m| !(1..=1440).contains(&m))
    {
        return Err(InvalidValue::new("reassign_after_mins", "must be 1-1440 or null").into());
    }
    state
        .store
        .set_routing_settings(
            &admin.workspace_id,
            &settings.agent_scope,
            settings.reassign_after_mins,
        )
        .await?;
    let target = format!("workspace:{}", admin.workspace_id);
    audit(
        &state,
        &admin,
        "routing.scope_changed",
        &target,
        serde_json::json!({"agent_scope": settings.agent_scope, "reassign_after_mins": settings.reassign_after_mins}),
    )
    .await?;
    Ok(Json(settings))
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AgentRouting {
    /// The most open conversations routing hands them at once (`null`: no limit).
    capacity: Option<i64>,
    /// Away: routing skips them.
    away: bool,
    /// Whether they have the inbox open now (read only).
    #[serde(default, skip_deserializing)]
    online: bool,
}

/// An agent's capacity, away switch and whether they are online.
#[utoipa::path(get, path = "/api/v1/agents/{id}/routing", tag = "agent", params(("id" = String, Path)),
    responses((status = 200, body = AgentRouting), (status = 404, body = ErrorBody)))]
async fn get_agent_routing(
    State(state): State<AppState>,
    auth: AgentAuth,
    Path(id): Path<String>,
) -> ApiResult<Json<AgentRouting>> {
    check_id(&id, "agent")?;
    let (capacity, away) = state
        .store
        .agent_routing(&auth.agent.workspace_id, &id)
        .await
        .or_not_found("agent")?;
    Ok(Json(AgentRouting {
        capacity,
        away,
        online: state.hub.is_agent_online(&id).await,
    }))
}

/// Set an agent's capacity (admins) and away switch (admins, or the agent themselves).
#[utoipa::path(put, path = "/api/v1/agents/{id}/routing", tag = "agent", params(("id" = String, Path)), request_body = AgentRouting,
    responses((status = 200, body = AgentRouting), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn put_agent_routing(
    State(state): State<AppState>,
    auth: AgentAuth,
    Path(id): Path<String>,
    Json(mut routing): Json<AgentRouting>,
) -> ApiResult<Json<AgentRouting>> {
    check_id(&id, "agent")?;
    let workspace_id = &auth.agent.workspace_id;
    let (capacity, _) = state
        .store
        .agent_routing(workspace_id, &id)
        .await
        .or_not_found("agent")?;
    let manager = allows(auth.agent.role, Permission::ManageAgents);
    if !manager && (auth.agent.id != id || routing.capacity != capacity) {
        return Err(AppError::new(
            ErrorCode::Forbidden,
            "only admins change others' routing or capacities",
        ));
    }
    if routing.capacity.is_some_and(|c| !(0..=1000).contains(&c)) {
        return Err(InvalidValue::new("capacity", "must be 0-1000 or null").into());
    }
    state
        .store
        .set_agent_routing(workspace_id, &id, routing.capacity, routing.away)
        .await?;
    let target = format!("agent:{id}");
    audit(
        &state,
        &auth.agent,
        "agent.routing_changed",
        &target,
        serde_json::json!({"capacity": routing.capacity, "away": routing.away}),
    )
    .await?;
    routing.online = state.hub.is_agent_online(&id).await;
    Ok(Json(routing))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RuleRequest {
    name: String,
    #[serde(default = "enabled")]
    enabled: bool,
    /// Its place in the order (lower first); a new rule goes last when left out.
    position: Option<i64>,
    /// `{"when": "created" | "customer_message", "conditions": {…}, "actions": {…}}`
    #[schema(value_type = Object)]
    rule: Rule,
}

fn enabled() -> bool {
    true
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RuleView {
    id: String,
    name: String,
    position: i64,
    enabled: bool,
    #[schema(value_type = Object)]
    rule: serde_json::Value,
}

impl From<StoredRule> for RuleView {
    fn from(r: StoredRule) -> Self {
        Self {
            id: r.id,
            name: r.name,
            position: r.position,
            enabled: r.enabled,
            rule: serde_json::from_str(&r.rule).unwrap_or_default(),
        }
    }
}

impl RuleRequest {
    /// The name and the rule as stored, checked (teams and agents named must exist).
    async fn checked(&self, state: &AppState, workspace_id: &str) -> ApiResult<(String, String)> {
        let name = self.name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(InvalidValue::new("name", "must be 1-100 characters").into());
        }
        self.rule.validate()?;
        if let Some(team) = &self.rule.actions.team_id {
            check_id(team, "team")?;
            state
                .store
                .team(workspace_id, team)
                .await
                .or_not_found("team")?;
        }
        if let Some(policy) = &self.rule.actions.sla_policy_id {
            check_id(policy, "SLA policy")?;
            state
                .store
                .sla_policy(workspace_id, policy)
                .await
                .or_not_found("SLA policy")?;
        }
        if let Some(agent) = &self.rule.actions.agent_id {
            check_id(agent, "agent")?;
            state
                .store
                .agent(workspace_id, agent)
                .await
                .or_not_found("agent")?;
        }
        Ok((
            name.to_owned(),
            serde_json::to_string(&self.rule).unwrap_or_default(),
        ))
    }
}

/// The routing rules in the order they are looked at.
#[utoipa::path(get, path = "/api/v1/routing/rules", tag = "agent",
    responses((status = 200, body = [RuleView])))]
async fn list_rules(
    State(state): State<AppState>,
    auth: AgentAuth,
) -> ApiResult<Json<Vec<RuleView>>> {
    let rules = state.store.routing_rules(&auth.agent.workspace_id).await?;
    Ok(Json(rules.into_iter().map(RuleView::from).collect()))
}

/// Add a routing rule (last in the order unless `position` says otherwise).
#[utoipa::path(post, path = "/api/v1/routing/rules", tag = "admin", request_body = RuleRequest,
    responses((status = 201, body = RuleView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_rule(
    State(state): State<AppState>,
    AgentAuth { agent: admin, .. }: AgentAuth,
    Json(request): Json<RuleRequest>,
) -> ApiResult<(StatusCode, Json<RuleView>)> {
    let (name, rule) = request.checked(&state, &admin.workspace_id).await?;
    let mut stored = state
        .store
        .create_rule(&admin.workspace_id, &name, request.enabled, &rule)
        .await?;
    if let Some(position) = request.position {
        stored = state
            .store
            .update_rule(
                &admin.workspace_id,
                &stored.id,
                &name,
                request.enabled,
                position,
                &rule,
            )
            .await?;
    }
    audit(
        &state,
        &admin,
        "routing.rule_created",
        &stored.id,
        serde_json::json!({"name": name, "rule": request.rule}),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(stored.into())))
}

/// Replace a routing rule.
#[utoipa::path(put, path = "/api/v1/routing/rules/{id}", tag = "admin", params(("id" = String, Path)), request_body = RuleRequest,
    responses((status = 200, body = RuleView), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update_rule(
    State(state): State<AppState>,
    AgentAuth { agent: admin, .. }: AgentAuth,
    Path(id): Path<String>,
    Json(request): Json<RuleRequest>,
) -> ApiResult<Json<RuleView>> {
    check_id(&id, "rule")?;
    let (name, rule) = request.checked(&state, &admin.workspace_id).await?;
    let current = state
        .store
        .routing_rules(&admin.workspace_id)
        .await?
        .into_iter()
        .find(|r| r.id == id)
        .ok_or_else(|| AppError::not_found("rule"))?;
    let stored = state
        .store
        .update_rule(
            &admin.workspace_id,
            &id,
            &name,
            request.enabled,
            request.position.unwrap_or(current.position),
            &rule,
        )
        .await
        .or_not_found("rule")?;
    audit(
        &state,
        &admin,
        "routing.rule_updated",
        &id,
        serde_json::json!({"name": name, "enabled": request.enabled, "rule": request.rule}),
    )
    .await?;
    Ok(Json(stored.into()))
}

#[utoipa::path(delete, path = "/api/v1/routing/rules/{id}", tag = "admin", params(("id" = String, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)))]
async fn delete_rule(
    State(state): State<AppState>,
    AgentAuth { agent: admin, .. }: AgentAuth,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    check_id(&id, "rule")?;
    state
        .store
        .delete_rule(&admin.workspace_id, &id)
        .await
        .or_not_found("rule")?;
    audit(
        &state,
        &admin,
        "routing.rule_deleted",
        &id,
        serde_json::json!({}),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PolicyRequest {
    name: String,
    /// `{"low"|"normal"|"high"|"urgent": {"first_response_mins", "resolution_mins"}, "warn_before_mins"}`
    #[schema(value_type = Object)]
    policy: Policy,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PolicyView {
    id: String,
    name: String,
    #[schema(value_type = Object)]
    policy: serde_json::Value,
}

impl From<StoredPolicy> for PolicyView {
    fn from(p: StoredPolicy) -> Self {
        Self {
            id: p.id,
            name: p.name,
            policy: serde_json::from_str(&p.policy).unwrap_or_default(),
        }
    }
}

impl PolicyRequest {
    fn checked(&self) -> ApiResult<(String, String)> {
        let name = self.name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(InvalidValue::new("name", "must be 1-100 characters").into());
        }
        self.policy.validate()?;
        Ok((
            name.to_owned(),
            serde_json::to_string(&self.policy).unwrap_or_default(),
        ))
    }
}

/// The workspace's SLA policies (a routing rule applies one).
#[utoipa::path(get, path = "/api/v1/sla/policies", tag = "agent",
    responses((status = 200, body = [PolicyView])))]
async fn list_policies(
    State(state): State<AppState>,
    auth: AgentAuth,
) -> ApiResult<Json<Vec<PolicyView>>> {
    let policies = state.store.sla_policies(&auth.agent.workspace_id).await?;
    Ok(Json(policies.into_iter().map(PolicyView::from).collect()))
}

/// Make an SLA policy: targets per priority in business minutes, and a warning.
#[utoipa::path(post, path = "/api/v1/sla/policies", tag = "admin", request_body = PolicyRequest,
    responses((status = 201, body = PolicyView), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_policy(
    State(state): State<AppState>,
    AgentAuth { agent: admin, .. }: AgentAuth,
    Json(request): Json<PolicyRequest>,
) -> ApiResult<(StatusCode, Json<PolicyView>)> {
    let (name, policy) = request.checked()?;
    let saved = state
        .store
        .save_sla_policy(&admin.workspace_id, None, &name, &policy)
        .await?;
    audit(
        &state,
        &admin,
        "sla.policy_created",
        &saved.id,
        serde_json::json!({"name": name, "policy": request.policy}),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(saved.into())))
}

/// Replace an SLA policy (conversations keep the deadlines already set).
#[utoipa::path(put, path = "/api/v1/sla/policies/{id}", tag = "admin", params(("id" = String, Path)), request_body = PolicyRequest,
    responses((status = 200, body = PolicyView), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update_policy(
    State(state): State<AppState>,
    AgentAuth { agent: admin, .. }: AgentAuth,
    Path(id): Path<String>,
    Json(request): Json<PolicyRequest>,
) -> ApiResult<Json<PolicyView>> {
    check_id(&id, "SLA policy")?;
    let (name, policy) = request.checked()?;
    let saved = state
        .store
        .save_sla_policy(&admin.workspace_id, Some(&id), &name, &policy)
        .await
        .or_not_found("SLA policy")?;
    audit(
        &state,
        &admin,
        "sla.policy_updated",
        &id,
        serde_json::json!({"name": name, "policy": request.policy}),
    )
    .await?;
    Ok(Json(saved.into()))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CategoriesRequest {
    /// In order; the last catches what no keyword names. `null`: back to the defaults.
    #[schema(value_type = Option<Vec<Object>>)]
    categories: Option<Vec<Category>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Classification {
    #[schema(value_type = Vec<Object>)]
    categories: Vec<Category>,
    /// Whether the workspace's own model or the keyword rule classifies now.
    classifier: Method,
}

async fn classification(state: &AppState, workspace_id: &str) -> ApiResult<Classification> {
    let workspace = state.store.workspace(workspace_id).await?;
    let analyzer = state.kb.analyzer().await.map_err(AppError::from)?;
    let classifier = state
        .classifiers
        .method(&state.store, analyzer, &workspace)
        .await
        .map_err(AppError::from)?;
    Ok(Classification {
        categories: categories(&workspace),
        classifier,
    })
}

/// The categories new conversations are sorted into, and how they are sorted now.
#[utoipa::path(get, path = "/api/v1/classification", tag = "agent",
    responses((status = 200, body = Classification)))]
async fn get_classification(
    State(state): State<AppState>,
    auth: AgentAuth,
) -> ApiResult<Json<Classification>> {
    Ok(Json(
        classification(&state, &auth.agent.workspace_id).await?,
    ))
}

#[utoipa::path(put, path = "/api/v1/classification", tag = "admin", request_body = CategoriesRequest,
    responses((status = 200, body = Classification), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn put_classification(
    State(state): State<AppState>,
    AgentAuth { agent: admin, .. }: AgentAuth,
    Json(request): Json<CategoriesRequest>,
) -> ApiResult<Json<Classification>> {
    let json = match &request.categories {
        Some(list) => {
            validate_categories(list)?;
            Some(
                serde_json::to_string(list)
                    .map_err(|err| AppError::new(ErrorCode::Internal, err.to_string()))?,
            )
        }
        None => None,
    };
    state
        .store
        .set_categories(&admin.workspace_id, json.as_deref())
        .await?;
    let target = format!("workspace:{}", admin.workspace_id);
    audit(
        &state,
        &admin,
        "classification.categories_changed",
        &target,
        serde_json::json!({"categories": request.categories}),
    )
    .await?;
    Ok(Json(classification(&state, &admin.workspace_id).await?))
}
