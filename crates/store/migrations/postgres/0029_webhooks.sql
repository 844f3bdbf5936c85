-- Outgoing webhooks: a workspace's subscriptions (signed as Standard Webhooks says, with a
-- secret of their own), how many attempts in a row failed (disabled after too many), and a log
-- of every delivery attempt.
CREATE TABLE webhooks (
    id TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES workspaces(id),
    url TEXT NOT NULL,
    secret TEXT NOT NULL,
    events TEXT NOT NULL,
    include_private BIGINT NOT NULL DEFAULT 0,
    enabled BIGINT NOT NULL DEFAULT 1,
    failures BIGINT NOT NULL DEFAULT 0,
    disabled_reason TEXT,
    created_at BIGINT NOT NULL
);
CREATE INDEX webhooks_workspace ON webhooks (workspace_id);
CREATE TABLE webhook_attempts (
    id TEXT PRIMARY KEY,
    webhook_id TEXT NOT NULL REFERENCES webhooks(id),
    message_id TEXT NOT NULL,
    event_type TEXT NOT NULL,
    status_code BIGINT,
    error TEXT,
    ok BIGINT NOT NULL,
    duration_ms BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX webhook_attempts_webhook ON webhook_attempts (webhook_id, created_at);
