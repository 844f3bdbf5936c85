-- Harassment (カスハラ): why a customer message was flagged (JSON, by the check or an agent's
-- report) and a supervisor's decision on it; the workspace's policy (JSON); blocked senders;
-- audit events found by what they are about (a case's evidence).
ALTER TABLE messages ADD COLUMN flag TEXT;
ALTER TABLE messages ADD COLUMN flag_decision TEXT;
ALTER TABLE messages ADD COLUMN flag_decided_by TEXT;
ALTER TABLE messages ADD COLUMN flag_decided_at BIGINT;
CREATE INDEX messages_flagged ON messages (created_at) WHERE flag IS NOT NULL;
ALTER TABLE workspaces ADD COLUMN harassment TEXT NOT NULL DEFAULT '{}';
CREATE TABLE blocks (
    id TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES workspaces(id),
    kind TEXT NOT NULL,
    value TEXT NOT NULL,
    reason TEXT NOT NULL,
    conversation_id TEXT,
    until_at BIGINT,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    lifted_at BIGINT
);
CREATE INDEX blocks_active ON blocks (workspace_id, kind, value) WHERE lifted_at IS NULL;
CREATE INDEX audit_events_target ON audit_events (workspace_id, target);
