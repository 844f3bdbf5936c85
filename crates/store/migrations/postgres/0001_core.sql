-- Core loop: workspaces, channels, agents, contacts, conversations, messages, tags, audit, jobs.
-- Times are Unix milliseconds (UTC); ids are UUIDv7 strings; flags are 0/1 integers.
CREATE TABLE workspaces (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    time_zone TEXT NOT NULL DEFAULT 'Asia/Tokyo',
    audit_seq BIGINT NOT NULL DEFAULT 0,
    audit_head TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL
);
CREATE TABLE channels (
    id TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES workspaces(id),
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    public_key TEXT NOT NULL UNIQUE,
    settings TEXT NOT NULL DEFAULT '{}',
    created_at BIGINT NOT NULL
);
CREATE TABLE agents (
    id TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES workspaces(id),
    email TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    role TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    locale TEXT NOT NULL DEFAULT 'ja',
    created_at BIGINT NOT NULL
);
CREATE TABLE agent_tokens (
    token_hash TEXT PRIMARY KEY,
    agent_id TEXT NOT NULL REFERENCES agents(id),
    kind TEXT NOT NULL,
    csrf_hash TEXT,
    created_at BIGINT NOT NULL,
    expires_at BIGINT
);
CREATE TABLE contacts (
    id TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES workspaces(id),
    name TEXT,
    email TEXT,
    phone TEXT,
    attributes TEXT NOT NULL DEFAULT '{}',
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE TABLE contact_identities (
    workspace_id TEXT NOT NULL REFERENCES workspaces(id),
    kind TEXT NOT NULL,
    value TEXT NOT NULL,
    contact_id TEXT NOT NULL REFERENCES contacts(id),
    created_at BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, kind, value)
);
CREATE INDEX contact_identities_contact ON contact_identities(contact_id);
CREATE TABLE teams (
    id TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES workspaces(id),
    name TEXT NOT NULL,
    UNIQUE (workspace_id, name)
);
CREATE TABLE conversations (
    id TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES workspaces(id),
    channel_id TEXT NOT NULL REFERENCES channels(id),
    contact_id TEXT NOT NULL REFERENCES contacts(id),
    status TEXT NOT NULL,
    assignee_id TEXT REFERENCES agents(id),
    team_id TEXT REFERENCES teams(id),
    priority TEXT NOT NULL,
    last_seq BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    first_agent_response_at BIGINT,
    last_activity_at BIGINT NOT NULL,
    resolved_at BIGINT
);
CREATE INDEX conversations_workspace_activity ON conversations(workspace_id, last_activity_at);
CREATE INDEX conversations_contact ON conversations(contact_id);
CREATE TABLE messages (
    id TEXT PRIMARY KEY,
    conversation_id TEXT NOT NULL REFERENCES conversations(id),
    seq BIGINT NOT NULL,
    sender_kind TEXT NOT NULL,
    sender_id TEXT NOT NULL,
    body TEXT NOT NULL,
    private BIGINT NOT NULL DEFAULT 0,
    client_id TEXT,
    created_at BIGINT NOT NULL,
    UNIQUE (conversation_id, seq),
    UNIQUE (sender_kind, sender_id, client_id)
);
CREATE TABLE tags (
    id TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES workspaces(id),
    name TEXT NOT NULL,
    UNIQUE (workspace_id, name)
);
CREATE TABLE conversation_tags (
    conversation_id TEXT NOT NULL REFERENCES conversations(id),
    tag_id TEXT NOT NULL REFERENCES tags(id),
    PRIMARY KEY (conversation_id, tag_id)
);
CREATE TABLE audit_events (
    workspace_id TEXT NOT NULL REFERENCES workspaces(id),
    seq BIGINT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    detail TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL,
    PRIMARY KEY (workspace_id, seq)
);
CREATE TABLE jobs (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL,
    due_at BIGINT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    last_error TEXT,
    locked_until BIGINT,
    created_at BIGINT NOT NULL,
    done_at BIGINT
);
CREATE INDEX jobs_due ON jobs(done_at, due_at);
