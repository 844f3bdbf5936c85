-- Facts the KPIs read, kept by the writes that change them: when the customer first and last
-- wrote, when the bot first answered, whether the conversation was ever reopened after being
-- resolved. Filled in for the conversations that exist.
-- A workspace's KPI targets (JSON; defaults when unset).
ALTER TABLE workspaces ADD COLUMN kpi_targets TEXT;
ALTER TABLE conversations ADD COLUMN first_contact_at INTEGER;
ALTER TABLE conversations ADD COLUMN last_contact_at INTEGER;
ALTER TABLE conversations ADD COLUMN first_bot_at INTEGER;
ALTER TABLE conversations ADD COLUMN reopened INTEGER NOT NULL DEFAULT 0;
UPDATE conversations SET
    first_contact_at = (SELECT MIN(m.created_at) FROM messages m WHERE m.conversation_id = conversations.id AND m.sender_kind = 'contact'),
    last_contact_at = (SELECT MAX(m.created_at) FROM messages m WHERE m.conversation_id = conversations.id AND m.sender_kind = 'contact'),
    first_bot_at = (SELECT MIN(m.created_at) FROM messages m WHERE m.conversation_id = conversations.id AND m.sender_kind = 'bot');
CREATE INDEX conversations_workspace_created ON conversations(workspace_id, created_at);
CREATE INDEX conversations_contact_created ON conversations(contact_id, created_at);
CREATE INDEX bot_turns_conversation ON bot_turns(conversation_id);
