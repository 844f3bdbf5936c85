//! Teams and routing: teams with their members, who an agent's teams are, whether agents see
//! every conversation or only their teams' (the workspace's `agent_scope`), each agent's
//! capacity and away switch, the candidates a team can hand a conversation to, the
//! workspace's ordered routing rules and its SLA policies (both JSON).

use sqlx::any::AnyRow;
use sqlx::Row;

use crate::{is_unique_violation, new_id, now_ms, Result, Store, StoreError};

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Team {
    pub id: String,
    pub name: String,
    /// Agent ids, in the order round robin goes through them.
    pub members: Vec<String>,
}

/// An agent as routing sees them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub agent_id: String,
    pub capacity: Option<i64>,
    pub away: bool,
    /// Open or pending conversations assigned to them.
    pub open: i64,
}

/// A routing rule as stored: `rule` is its JSON (when, conditions, actions).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct StoredRule {
    pub id: String,
    pub name: String,
    pub position: i64,
    pub enabled: bool,
    pub rule: String,
    pub created_at: i64,
}

impl StoredRule {
    fn from_row(row: &AnyRow) -> Result<Self> {
        Ok(Self {
            id: row.try_get("id")?,
            name: row.try_get("name")?,
            position: row.try_get("position")?,
            enabled: row.try_get::<i64, _>("enabled")? != 0,
            rule: row.try_get("rule")?,
            created_at: row.try_get("created_at")?,
        })
    }
}

const RULE_COLUMNS: &str = "id, name, position, enabled, rule, created_at";

impl Store {
    /// Makes a team; a name taken in the workspace is a [`StoreError::Conflict`].
    pub async fn create_team(&self, workspace_id: &str, name: &str) -> Result<Team> {
        let mut w = self.begin_write().await?;
        let id = new_id();
        let inserted = sqlx::query(
            "INSERT INTO teams (id, workspace_id, name, created_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(&id)
        .bind(workspace_id)
        .bind(name)
        .bind(now_ms())
        .execute(&mut *w.tx)
        .await;
        match inserted {
            Ok(_) => w.commit().await.map(|()| Team {
                id,
                name: name.to_owned(),
                members: Vec::new(),
            }),
            Err(err) if is_unique_violation(&err) => Err(StoreError::Conflict(format!(
                "a team named {name:?} exists"
            ))),
            Err(err) => Err(err.into()),
        }
    }

    /// The workspace's teams with their members, by name.
    pub async fn teams(&self, workspace_id: &str) -> Result<Vec<Team>> {
        let rows = sqlx::query("SELECT id, name FROM teams WHERE workspace_id = $1 ORDER BY name")
            .bind(workspace_id)
            .fetch_all(self.pool())
            .await?;
        let members = sqlx::query(
            "SELECT m.team_id, m.agent_id FROM team_members m JOIN teams t ON t.id = m.team_id \
             JOIN agents a ON a.id = m.agent_id WHERE t.workspace_id = $1 ORDER BY a.created_at, a.id",
        )
        .bind(workspace_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|row| {
                let id: String = row.try_get("id")?;
                let mut team_members = Vec::new();
                for m in &members {
                    if m.try_get::<String, _>("team_id")? == id {
                        team_members.push(m.try_get("agent_id")?);
                    }
                }
                Ok(Team {
                    name: row.try_get("name")?,
                    id,
                    members: team_members,
                })
            })
            .collect()
    }

    /// A team of the workspace.
    pub async fn team(&self, workspace_id: &str, id: &str) -> Result<Team> {
        self.teams(workspace_id)
            .await?
            .into_iter()
            .find(|t| t.id == id)
            .ok_or(StoreError::NotFound)
    }

    /// Renames a team and replaces its members (agents of the same workspace only).
    pub async fn update_team(
        &self,
        workspace_id: &str,
        id: &str,
        name: &str,
        members: &[String],
    ) -> Result<Team> {
        let mut w = self.begin_write().await?;
        let renamed = sqlx::query("UPDATE teams SET name = $3 WHERE id = $1 AND workspace_id = $2")
            .bind(id)
            .bind(workspace_id)
            .bind(name)
            .execute(&mut *w.tx)
            .await;
        match renamed {
            Ok(done) if done.rows_affected() == 0 => return Err(StoreError::NotFound),
            Ok(_) => {}
            Err(err) if is_unique_violation(&err) => {
                return Err(StoreError::Conflict(format!(
                    "a team named {name:?} exists"
                )))
            }
            Err(err) => return Err(err.into()),
        }
        sqlx::query("DELETE FROM team_members WHERE team_id = $1")
            .bind(id)
            .execute(&mut *w.tx)
            .await?;
        for agent in members {
            let added = sqlx::query(
                "INSERT INTO team_members (team_id, agent_id) SELECT $1, id FROM agents \
                 WHERE id = $2 AND workspace_id = $3 ON CONFLICT DO NOTHING",
            )
            .bind(id)
            .bind(agent)
            .bind(workspace_id)
            .execute(&mut *w.tx)
            .await?;
            if added.rows_affected() == 0 {
                return Err(StoreError::InvalidReference(format!(
                    "no agent {agent} in this workspace"
                )));
            }
        }
        w.commit().await?;
        self.team(workspace_id, id).await
    }

    /// Deletes a team; its conversations keep their assignee and lose the team.
    pub async fn delete_team(&self, workspace_id: &str, id: &str) -> Result<()> {
        let mut w = self.begin_write().await?;
        sqlx::query(
            "UPDATE conversations SET team_id = NULL WHERE team_id = $1 AND workspace_id = $2",
        )
        .bind(id)
        .bind(workspace_id)
        .execute(&mut *w.tx)
        .await?;
        sqlx::query("DELETE FROM team_members WHERE team_id = $1 AND team_id IN (SELECT id FROM teams WHERE workspace_id = $2)")
            .bind(id)
            .bind(workspace_id)
            .execute(&mut *w.tx)
            .await?;
        let deleted = sqlx::query("DELETE FROM teams WHERE id = $1 AND workspace_id = $2")
            .bind(id)
            .bind(workspace_id)
            .execute(&mut *w.tx)
            .await?;
        if deleted.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        w.commit().await
    }

    /// The teams an agent belongs to.
    pub async fn agent_teams(&self, agent_id: &str) -> Result<Vec<String>> {
        let rows =
            sqlx::query("SELECT team_id FROM team_members WHERE agent_id = $1 ORDER BY team_id")
                .bind(agent_id)
                .fetch_all(self.pool())
                .await?;
        rows.iter().map(|r| Ok(r.try_get("team_id")?)).collect()
    }

    /// `all` (agents see every conversation) or `teams` (agents see their teams' only; admins
    /// always see all).
    pub async fn agent_scope(&self, workspace_id: &str) -> Result<String> {
        Ok(
            sqlx::query("SELECT agent_scope FROM workspaces WHERE id = $1")
                .bind(workspace_id)
                .fetch_one(self.pool())
                .await?
                .try_get("agent_scope")?,
        )
    }

    /// Sets who sees what, and the silence limit before reassignment (minutes; `None`: never).
    pub async fn set_routing_settings(
        &self,
        workspace_id: &str,
        scope: &str,
        reassign_after_mins: Option<i64>,
    ) -> Result<()> {
        let mut w = self.begin_write().await?;
        sqlx::query(
            "UPDATE workspaces SET agent_scope = $2, reassign_after_mins = $3 WHERE id = $1",
        )
        .bind(workspace_id)
        .bind(scope)
        .bind(reassign_after_mins)
        .execute(&mut *w.tx)
        .await?;
        w.commit().await?;
        self.caches.workspaces.clear();
        Ok(())
    }

    /// An agent's capacity (`None`: no limit) and away switch.
    pub async fn agent_routing(
        &self,
        workspace_id: &str,
        agent_id: &str,
    ) -> Result<(Option<i64>, bool)> {
        let row =
            sqlx::query("SELECT capacity, away FROM agents WHERE id = $1 AND workspace_id = $2")
                .bind(agent_id)
                .bind(workspace_id)
                .fetch_optional(self.pool())
                .await?
                .ok_or(StoreError::NotFound)?;
        Ok((
            row.try_get("capacity")?,
            row.try_get::<i64, _>("away")? != 0,
        ))
    }

    pub async fn set_agent_routing(
        &self,
        workspace_id: &str,
        agent_id: &str,
        capacity: Option<i64>,
        away: bool,
    ) -> Result<()> {
        let mut w = self.begin_write().await?;
        let done = sqlx::query(
            "UPDATE agents SET capacity = $3, away = $4 WHERE id = $1 AND workspace_id = $2",
        )
        .bind(agent_id)
        .bind(workspace_id)
        .bind(capacity)
        .bind(i64::from(away))
        .execute(&mut *w.tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        w.commit().await
    }

    /// A team's enabled members, in round-robin order, with their load, and the agent it
    /// handed a conversation to last.
    pub async fn team_members(&self, team_id: &str) -> Result<(Vec<Member>, Option<String>)> {
        let rows = sqlx::query(
            "SELECT a.id, a.capacity, a.away, (SELECT COUNT(*) FROM conversations c WHERE c.assignee_id = a.id \
             AND c.status IN ('open', 'pending')) AS open FROM team_members m JOIN agents a ON a.id = m.agent_id \
             WHERE m.team_id = $1 AND a.disabled_at IS NULL ORDER BY a.created_at, a.id",
        )
        .bind(team_id)
        .fetch_all(self.pool())
        .await?;
        let members = rows
            .iter()
            .map(|r| {
                Ok(Member {
                    agent_id: r.try_get("id")?,
                    capacity: r.try_get("capacity")?,
                    away: r.try_get::<i64, _>("away")? != 0,
                    open: r.try_get("open")?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let last = sqlx::query("SELECT last_assigned_agent_id FROM teams WHERE id = $1")
            .bind(team_id)
            .fetch_optional(self.pool())
            .await?
            .map(|r| r.try_get::<Option<String>, _>("last_assigned_agent_id"))
            .transpose()?
            .flatten();
        Ok((members, last))
    }

    /// Remembers who a team handed a conversation to last (round robin goes on from there).
    pub async fn set_last_assigned(&self, team_id: &str, agent_id: &str) -> Result<()> {
        let mut w = self.begin_write().await?;
        sqlx::query("UPDATE teams SET last_assigned_agent_id = $2 WHERE id = $1")
            .bind(team_id)
            .bind(agent_id)
            .execute(&mut *w.tx)
            .await?;
        w.commit().await
    }

    /// The workspace's routing rules in order.
    pub async fn routing_rules(&self, workspace_id: &str) -> Result<Vec<StoredRule>> {
        self.caches
            .rules
            .get_or_load(workspace_id, || async {
                let rows = sqlx::query(&format!(
                    "SELECT {RULE_COLUMNS} FROM routing_rules WHERE workspace_id = $1 ORDER BY position, created_at"
                ))
                .bind(workspace_id)
                .fetch_all(self.pool())
                .await?;
                rows.iter().map(StoredRule::from_row).collect()
            })
            .await
    }

    /// Adds a rule at the end of the list.
    pub async fn create_rule(
        &self,
        workspace_id: &str,
        name: &str,
        enabled: bool,
        rule: &str,
    ) -> Result<StoredRule> {
        let mut w = self.begin_write().await?;
        let row = sqlx::query(&format!(
            "INSERT INTO routing_rules (id, workspace_id, name, position, enabled, rule, created_at) \
             VALUES ($1, $2, $3, (SELECT COALESCE(MAX(position), 0) + 1 FROM routing_rules WHERE workspace_id = $2), $4, $5, $6) \
             RETURNING {RULE_COLUMNS}"
        ))
        .bind(new_id())
        .bind(workspace_id)
        .bind(name)
        .bind(i64::from(enabled))
        .bind(rule)
        .bind(now_ms())
        .fetch_one(&mut *w.tx)
        .await?;
        w.commit().await?;
        self.caches.rules.clear();
        StoredRule::from_row(&row)
    }

    /// Replaces a rule's name, switch, place in the order and content.
    pub async fn update_rule(
        &self,
        workspace_id: &str,
        id: &str,
        name: &str,
        enabled: bool,
        position: i64,
        rule: &str,
    ) -> Result<StoredRule> {
        let mut w = self.begin_write().await?;
        let row = sqlx::query(&format!(
            "UPDATE routing_rules SET name = $3, enabled = $4, position = $5, rule = $6 \
             WHERE id = $1 AND workspace_id = $2 RETURNING {RULE_COLUMNS}"
        ))
        .bind(id)
        .bind(workspace_id)
        .bind(name)
        .bind(i64::from(enabled))
        .bind(position)
        .bind(rule)
        .fetch_optional(&mut *w.tx)
        .await?
        .ok_or(StoreError::NotFound)?;
        w.commit().await?;
        self.caches.rules.clear();
        StoredRule::from_row(&row)
    }

    pub async fn delete_rule(&self, workspace_id: &str, id: &str) -> Result<()> {
        let mut w = self.begin_write().await?;
        let done = sqlx::query("DELETE FROM routing_rules WHERE id = $1 AND workspace_id = $2")
            .bind(id)
            .bind(workspace_id)
            .execute(&mut *w.tx)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        w.commit().await?;
        self.caches.rules.clear();
        Ok(())
    }

    /// The workspace's SLA policies by name.
    pub async fn sla_policies(&self, workspace_id: &str) -> Result<Vec<StoredPolicy>> {
        let rows = sqlx::query(
            "SELECT id, name, policy FROM sla_policies WHERE workspace_id = $1 ORDER BY name",
        )
        .bind(workspace_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(StoredPolicy {
                    id: r.try_get("id")?,
                    name: r.try_get("name")?,
                    policy: r.try_get("policy")?,
                })
            })
            .collect()
    }

    pub async fn sla_policy(&self, workspace_id: &str, id: &str) -> Result<StoredPolicy> {
        self.sla_policies(workspace_id)
            .await?
            .into_iter()
            .find(|p| p.id == id)
            .ok_or(StoreError::NotFound)
    }

    /// Makes a policy, or replaces the one with `id`; a name taken is a conflict.
    pub async fn save_sla_policy(
        &self,
        workspace_id: &str,
        id: Option<&str>,
        name: &str,
        policy: &str,
    ) -> Result<StoredPolicy> {
        let mut w = self.begin_write().await?;
        let new = new_id();
        let saved = match id {
            None => {
                sqlx::query(
                    "INSERT INTO sla_policies (id, workspace_id, name, policy, created_at) VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(&new)
                .bind(workspace_id)
                .bind(name)
                .bind(policy)
                .bind(now_ms())
                .execute(&mut *w.tx)
                .await
            }
            Some(id) => {
                sqlx::query(
                    "UPDATE sla_policies SET name = $3, policy = $4 WHERE id = $1 AND workspace_id = $2",
                )
                .bind(id)
                .bind(workspace_id)
                .bind(name)
                .bind(policy)
                .execute(&mut *w.tx)
                .await
            }
        };
        match saved {
            Ok(done) if done.rows_affected() == 0 => return Err(StoreError::NotFound),
            Ok(_) => {}
            Err(err) if is_unique_violation(&err) => {
                return Err(StoreError::Conflict(format!(
                    "a policy named {name:?} exists"
                )))
            }
            Err(err) => return Err(err.into()),
        }
        w.commit().await?;
        Ok(StoredPolicy {
            id: id.map_or(new, str::to_owned),
            name: name.to_owned(),
            policy: policy.to_owned(),
        })
    }
}

/// An SLA policy as stored: `policy` is its JSON (targets per priority, warning).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct StoredPolicy {
    pub id: String,
    pub name: String,
    pub policy: String,
}
