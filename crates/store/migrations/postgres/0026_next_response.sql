-- The next-response deadline a conversation runs under while the customer waits again after an
-- agent's answer, and how long an assigned agent may stay silent before their conversation goes
-- to the team's next agent (minutes; NULL: never).
ALTER TABLE conversations ADD COLUMN sla_next_due_at BIGINT;
ALTER TABLE workspaces ADD COLUMN reassign_after_mins BIGINT;
