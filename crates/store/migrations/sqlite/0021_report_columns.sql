-- What the reports read, on the conversation itself (kept by the writes that change it), so a
-- report over a month reads one covering index instead of five lookups per conversation: the
-- rating, the NPS answer, the complaint tag, the bot's resolution, and since when the
-- customer has been waiting (a time, beside the waiting seq).
ALTER TABLE conversations ADD COLUMN rating INTEGER;
ALTER TABLE conversations ADD COLUMN nps INTEGER;
ALTER TABLE conversations ADD COLUMN complaint INTEGER NOT NULL DEFAULT 0;
ALTER TABLE conversations ADD COLUMN bot_resolved INTEGER NOT NULL DEFAULT 0;
ALTER TABLE conversations ADD COLUMN waiting_since_at INTEGER;
UPDATE conversations SET
    rating = (SELECT r.score FROM ratings r WHERE r.conversation_id = conversations.id),
    nps = (SELECT a.score FROM nps_answers a WHERE a.conversation_id = conversations.id),
    complaint = CASE WHEN EXISTS (SELECT 1 FROM conversation_tags ct JOIN tags t ON t.id = ct.tag_id
        WHERE ct.conversation_id = conversations.id AND t.name = 'complaint') THEN 1 ELSE 0 END,
    bot_resolved = CASE WHEN EXISTS (SELECT 1 FROM bot_turns b WHERE b.conversation_id = conversations.id
        AND b.outcome = 'resolved') THEN 1 ELSE 0 END,
    waiting_since_at = (SELECT m.created_at FROM messages m WHERE m.conversation_id = conversations.id
        AND m.seq = conversations.waiting_since);
DROP INDEX conversations_workspace_created;
CREATE INDEX conversations_report ON conversations(workspace_id, created_at, id, channel_id,
    assignee_id, team_id, contact_id, status, first_contact_at, last_contact_at,
    first_agent_response_at, first_bot_at, resolved_at, reopened, waiting_since_at, rating, nps,
    complaint, bot_resolved);
