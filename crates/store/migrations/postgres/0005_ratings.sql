-- Customer satisfaction: one rating (1-5, optional comment) per conversation, the latest kept.
CREATE TABLE ratings (
    conversation_id TEXT PRIMARY KEY REFERENCES conversations(id),
    workspace_id TEXT NOT NULL REFERENCES workspaces(id),
    score BIGINT NOT NULL,
    comment TEXT,
    created_at BIGINT NOT NULL
);
CREATE INDEX ratings_workspace ON ratings(workspace_id, created_at);
