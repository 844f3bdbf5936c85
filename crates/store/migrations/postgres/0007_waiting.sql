-- The first customer message still waiting for a human reply, kept on the conversation so that
-- sending a message needs no extra query to know it.
ALTER TABLE conversations ADD COLUMN waiting_since BIGINT;
UPDATE conversations SET waiting_since = (
    SELECT MIN(m.seq) FROM messages m
    WHERE m.conversation_id = conversations.id AND m.sender_kind = 'contact'
      AND m.seq > COALESCE((SELECT MAX(a.seq) FROM messages a
                            WHERE a.conversation_id = conversations.id
                              AND a.sender_kind = 'agent' AND a.private = 0), 0)
);
