-- Messaging channels (LINE, Instagram): the channel's connection to the provider as JSON (its
-- secrets included, like an e-mail channel's IMAP password); the newest reply token a
-- conversation's customer gave (LINE answers free with it while it is fresh); and what became
-- of each message sent out to a provider (sent, retrying or failed, with the reason).
ALTER TABLE channels ADD COLUMN connection TEXT;
ALTER TABLE conversations ADD COLUMN reply_token TEXT;
ALTER TABLE conversations ADD COLUMN reply_token_at BIGINT;
ALTER TABLE messages ADD COLUMN delivery TEXT;
ALTER TABLE messages ADD COLUMN delivery_detail TEXT;
