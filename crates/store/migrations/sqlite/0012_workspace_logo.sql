-- The shop's logo (help center, admin), an image by its sniffed type.
ALTER TABLE workspaces ADD COLUMN logo_type TEXT;
ALTER TABLE workspaces ADD COLUMN logo BLOB;
