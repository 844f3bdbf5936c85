-- When the customer asked for a person (「いいえ」 to the bot, "talk to a person", a scenario's
-- hand-over node): from then on the bot stays out of the conversation.
ALTER TABLE conversations ADD COLUMN handed_over_at BIGINT;
UPDATE conversations SET handed_over_at = (
    SELECT MIN(t.updated_at) FROM bot_turns t
    WHERE t.conversation_id = conversations.id AND t.outcome = 'not_resolved'
);
