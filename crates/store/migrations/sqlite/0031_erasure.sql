-- A contact's data rights: an erased contact stays as a row without personal data (its
-- conversations keep their place in the reports), marked with the time of erasure. Retention:
-- how long a workspace keeps resolved conversations and attachments (JSON; NULL: for ever).
ALTER TABLE contacts ADD COLUMN erased_at BIGINT;
ALTER TABLE workspaces ADD COLUMN retention TEXT;
