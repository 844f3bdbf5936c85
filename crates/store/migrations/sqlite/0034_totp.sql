-- Two-factor sign-in (TOTP): the secret (Base32), when it was switched on, the last step a code
-- was accepted for (a code works once), and the hashes of the unused recovery codes (JSON).
ALTER TABLE agents ADD COLUMN totp_secret TEXT;
ALTER TABLE agents ADD COLUMN totp_enabled_at BIGINT;
ALTER TABLE agents ADD COLUMN totp_last_step BIGINT;
ALTER TABLE agents ADD COLUMN totp_recovery TEXT;
