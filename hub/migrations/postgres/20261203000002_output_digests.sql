-- Money integrity (issue 12): the SHA-256 of each settlement file, statement and outbound
-- package as it was written, so that `hutong verify` can show the bytes on disk are still
-- those bytes. NULL for outputs written before this migration.
ALTER TABLE window_outputs ADD COLUMN sha256 TEXT;
