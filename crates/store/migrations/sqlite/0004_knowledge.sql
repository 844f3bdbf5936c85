-- Knowledge base articles, the workspace's synonyms, bot turns (the bot's log and quality loop),
-- and structured data on messages (buttons, article references).
CREATE TABLE articles (
    id TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES workspaces(id),
    category TEXT NOT NULL DEFAULT '',
    locale TEXT NOT NULL,
    status TEXT NOT NULL,
    title TEXT NOT NULL,
    body TEXT NOT NULL,
    alternatives TEXT NOT NULL DEFAULT '[]',
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX articles_workspace ON articles(workspace_id, status);
CREATE TABLE synonym_groups (
    id TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES workspaces(id),
    words TEXT NOT NULL
);
CREATE TABLE bot_turns (
    id TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES workspaces(id),
    conversation_id TEXT NOT NULL REFERENCES conversations(id),
    query TEXT NOT NULL,
    shown TEXT NOT NULL,
    confidence INTEGER NOT NULL,
    outcome TEXT NOT NULL,
    review TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX bot_turns_workspace ON bot_turns(workspace_id, created_at);
ALTER TABLE messages ADD COLUMN meta TEXT;
