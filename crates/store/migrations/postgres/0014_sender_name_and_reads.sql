-- The agent's display name kept with each of their messages (the customer sees who wrote), and
-- how far each side has read a conversation (read receipts, unread counts).
ALTER TABLE messages ADD COLUMN sender_name TEXT;
ALTER TABLE conversations ADD COLUMN agent_read_seq BIGINT NOT NULL DEFAULT 0;
ALTER TABLE conversations ADD COLUMN contact_read_seq BIGINT NOT NULL DEFAULT 0;
