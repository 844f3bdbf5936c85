-- Files attached to messages (images, PDF), kept in the database so every node serves them.
CREATE TABLE attachments (
    id TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES workspaces(id),
    conversation_id TEXT NOT NULL REFERENCES conversations(id),
    uploaded_by TEXT NOT NULL,
    -- 1 when attached to a private note: never served to the customer.
    private BIGINT NOT NULL DEFAULT 0,
    name TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size BIGINT NOT NULL,
    data BYTEA NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX attachments_conversation ON attachments (conversation_id);
