-- Channels of other kinds (LINE, forms): what the kind needs as JSON (a LINE connection with its
-- secrets, like an e-mail channel's IMAP password; a form's fields); the newest reply token a
-- conversation's customer gave (LINE answers free with it while it is fresh); and what became
-- of each message sent out to a provider (sent, retrying or failed, with the reason).
ALTER TABLE channels ADD COLUMN config TEXT;
ALTER TABLE conversations ADD COLUMN reply_token TEXT;
ALTER TABLE conversations ADD COLUMN reply_token_at BIGINT;
ALTER TABLE messages ADD COLUMN delivery TEXT;
ALTER TABLE messages ADD COLUMN delivery_detail TEXT;
