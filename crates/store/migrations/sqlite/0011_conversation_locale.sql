-- The language of a conversation (the widget's, or the customer's first message): auto-replies
-- and the bot speak it. NULL: the channel's.
ALTER TABLE conversations ADD COLUMN locale TEXT;
