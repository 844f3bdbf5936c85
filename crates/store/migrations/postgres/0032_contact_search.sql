-- The search index keeps contacts too and catches up on them by time of change.
CREATE INDEX contacts_updated ON contacts(updated_at, id);
