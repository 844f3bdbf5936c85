-- The search index catches up from the store in time order after a restart.
CREATE INDEX messages_created ON messages (created_at, id);
