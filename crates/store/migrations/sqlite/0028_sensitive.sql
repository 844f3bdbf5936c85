-- Which sensitive data a workspace masks in customers' messages before storing them (JSON;
-- NULL: all of card numbers, My Number and passwords).
ALTER TABLE workspaces ADD COLUMN sensitive TEXT;
