-- An API channel (a shop's own systems writing as their customers) is reached with a channel
-- token; the channel keeps its SHA-256 only.
ALTER TABLE channels ADD COLUMN api_token_hash TEXT;
CREATE UNIQUE INDEX channels_api_token ON channels(api_token_hash);
