-- Disabled agents cannot log in or use a token; tokens expire when idle.
ALTER TABLE agents ADD COLUMN disabled_at BIGINT;
ALTER TABLE agent_tokens ADD COLUMN last_used_at BIGINT;
