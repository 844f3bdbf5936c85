-- Inbound mail by IMAP for e-mail channels: the mailbox to read (JSON: host, port, tls, user,
-- password, folder), and how far it has been read (UIDVALIDITY and the last UID stored).
ALTER TABLE channels ADD COLUMN imap TEXT;
CREATE TABLE imap_state (
    channel_id TEXT PRIMARY KEY REFERENCES channels(id),
    uid_validity INTEGER NOT NULL,
    last_uid INTEGER NOT NULL
);
