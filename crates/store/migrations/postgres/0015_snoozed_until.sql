-- Until when a snoozed conversation sleeps (a job reopens it then); NULL: no time set.
ALTER TABLE conversations ADD COLUMN snoozed_until BIGINT;
