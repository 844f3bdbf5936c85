-- Sentence vectors of published articles, one per text (the question, each alternative) and
-- model, little-endian f32; an edit of the article drops its rows, a new model makes its own.
CREATE TABLE article_vectors (
    article_id TEXT NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
    workspace_id TEXT NOT NULL,
    model TEXT NOT NULL,
    digest TEXT NOT NULL,
    vector BLOB NOT NULL,
    PRIMARY KEY (article_id, model, digest)
);
CREATE INDEX article_vectors_workspace ON article_vectors (workspace_id, model);
