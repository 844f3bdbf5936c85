-- Links mailed to people for their account: an invitation to join a workspace (with the name
-- and role an admin chose) or a password reset. Single use, expiring; the link carries an HMAC
-- of the id, so the table holds no secret.
CREATE TABLE account_links (
    id TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES workspaces(id),
    kind TEXT NOT NULL,
    email TEXT NOT NULL,
    name TEXT,
    role TEXT,
    agent_id TEXT REFERENCES agents(id),
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT
);
CREATE INDEX account_links_workspace ON account_links(workspace_id, kind, created_at);
