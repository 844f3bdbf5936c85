-- Automation: job de-duplication, per-channel automation settings, reply-notification state,
-- unsubscribes, and server-wide secrets (signing keys for links in e-mails).
ALTER TABLE jobs ADD COLUMN dedupe_key TEXT;
CREATE UNIQUE INDEX jobs_pending_key ON jobs(dedupe_key) WHERE done_at IS NULL;
ALTER TABLE channels ADD COLUMN automation TEXT NOT NULL DEFAULT '{}';
ALTER TABLE conversations ADD COLUMN notified_seq BIGINT NOT NULL DEFAULT 0;
ALTER TABLE contacts ADD COLUMN unsubscribed_at BIGINT;
CREATE TABLE server_secrets (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
