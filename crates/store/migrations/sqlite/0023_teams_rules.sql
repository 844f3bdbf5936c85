-- Teams and routing: who belongs to which team, how a team hands out conversations (round robin
-- keeps its place), each agent's capacity and away switch, whether agents see every
-- conversation or only their teams', and the workspace's ordered routing rules.
CREATE TABLE team_members (
    team_id TEXT NOT NULL REFERENCES teams(id),
    agent_id TEXT NOT NULL REFERENCES agents(id),
    PRIMARY KEY (team_id, agent_id)
);
CREATE INDEX team_members_agent ON team_members (agent_id);
ALTER TABLE teams ADD COLUMN last_assigned_agent_id TEXT;
ALTER TABLE teams ADD COLUMN created_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE agents ADD COLUMN capacity INTEGER;
ALTER TABLE agents ADD COLUMN away INTEGER NOT NULL DEFAULT 0;
ALTER TABLE workspaces ADD COLUMN agent_scope TEXT NOT NULL DEFAULT 'all';
CREATE TABLE routing_rules (
    id TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES workspaces(id),
    name TEXT NOT NULL,
    position INTEGER NOT NULL,
    enabled INTEGER NOT NULL DEFAULT 1,
    rule TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX routing_rules_workspace ON routing_rules (workspace_id, position);
CREATE INDEX conversations_team ON conversations (workspace_id, team_id, status);
