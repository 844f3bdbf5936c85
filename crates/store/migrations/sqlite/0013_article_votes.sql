-- 「この記事は役に立ちましたか？」 in the help center: one row per answer (helpful 1 or 0).
CREATE TABLE article_votes (
    id TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES workspaces(id),
    article_id TEXT NOT NULL,
    helpful BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX article_votes_workspace ON article_votes (workspace_id, created_at);
