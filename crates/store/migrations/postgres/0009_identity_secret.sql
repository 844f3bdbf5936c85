-- The secret a shop's server signs its signed-in customers' user ids with (identity
-- verification); NULL: off.
ALTER TABLE channels ADD COLUMN identity_secret TEXT;
