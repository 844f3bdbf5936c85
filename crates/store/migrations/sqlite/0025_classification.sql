-- Classification: the category a conversation was sorted into, how sure the classifier was and
-- who decided (model, keywords, agent: an agent's choice is a training example), and the
-- workspace's categories (JSON; NULL: the defaults) with a count of agents' choices (models
-- retrain when it moves).
ALTER TABLE conversations ADD COLUMN category TEXT;
ALTER TABLE conversations ADD COLUMN category_confidence REAL;
ALTER TABLE conversations ADD COLUMN category_source TEXT;
ALTER TABLE workspaces ADD COLUMN categories TEXT;
ALTER TABLE workspaces ADD COLUMN labels_version INTEGER NOT NULL DEFAULT 0;
CREATE INDEX conversations_labelled ON conversations (workspace_id, category_source, created_at);
