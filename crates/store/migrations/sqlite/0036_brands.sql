-- Brands: one workspace answering for several shops. A brand groups channels and has its own
-- face (name, colour, logo, help-center address, e-mail sender); articles and templates may
-- belong to one brand (NULL: every brand's). A conversation keeps its channel's brand, so the
-- inbox filters and an agent limited to some brands sees only theirs.
CREATE TABLE brands (
    id TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES workspaces(id),
    slug TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    color TEXT,
    sender_name TEXT,
    sender_email TEXT,
    logo_type TEXT,
    logo BLOB,
    created_at BIGINT NOT NULL
);
CREATE INDEX brands_workspace ON brands(workspace_id, created_at);
ALTER TABLE channels ADD COLUMN brand_id TEXT REFERENCES brands(id);
ALTER TABLE conversations ADD COLUMN brand_id TEXT REFERENCES brands(id);
CREATE INDEX conversations_brand ON conversations(workspace_id, brand_id, last_activity_at);
ALTER TABLE articles ADD COLUMN brand_id TEXT REFERENCES brands(id);
ALTER TABLE templates ADD COLUMN brand_id TEXT REFERENCES brands(id);
CREATE TABLE agent_brands (
    agent_id TEXT NOT NULL REFERENCES agents(id),
    brand_id TEXT NOT NULL REFERENCES brands(id),
    PRIMARY KEY (agent_id, brand_id)
);
