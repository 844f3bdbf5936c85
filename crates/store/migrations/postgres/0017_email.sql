-- The e-mail channel: a channel's support address (one channel per address, across workspaces),
-- a conversation's subject, and the Message-IDs of the mails in a conversation, both ways, for
-- threading replies (per contact: replies of different people to one mailing stay apart).
ALTER TABLE channels ADD COLUMN email_address TEXT;
CREATE UNIQUE INDEX channels_email_address ON channels(email_address);
ALTER TABLE conversations ADD COLUMN subject TEXT;
CREATE TABLE mail_ids (
    workspace_id TEXT NOT NULL REFERENCES workspaces(id),
    message_id TEXT NOT NULL,
    contact_id TEXT NOT NULL REFERENCES contacts(id),
    conversation_id TEXT NOT NULL REFERENCES conversations(id),
    created_at BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, message_id, contact_id)
);
CREATE INDEX mail_ids_conversation ON mail_ids(conversation_id, created_at);
