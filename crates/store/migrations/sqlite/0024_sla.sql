-- SLA policies and the deadlines a conversation runs under (business-hours targets, computed
-- when a policy is applied), whether it was warned, and the report index with the deadlines.
CREATE TABLE sla_policies (
    id TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES workspaces(id),
    name TEXT NOT NULL,
    policy TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    UNIQUE (workspace_id, name)
);
ALTER TABLE conversations ADD COLUMN sla_policy_id TEXT;
ALTER TABLE conversations ADD COLUMN sla_first_due_at INTEGER;
ALTER TABLE conversations ADD COLUMN sla_resolution_due_at INTEGER;
DROP INDEX conversations_report;
CREATE INDEX conversations_report ON conversations(workspace_id, created_at, id, channel_id,
    assignee_id, team_id, contact_id, status, first_contact_at, last_contact_at,
    first_agent_response_at, first_bot_at, resolved_at, reopened, waiting_since_at, rating, nps,
    complaint, bot_resolved, sla_first_due_at, sla_resolution_due_at);
