-- NPS answers (0-10, optional comment), one per conversation, changeable for 7 days.
CREATE TABLE nps_answers (
    conversation_id TEXT PRIMARY KEY REFERENCES conversations(id),
    workspace_id TEXT NOT NULL REFERENCES workspaces(id),
    score INTEGER NOT NULL,
    comment TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
