-- Lifetimes and the purge (issue 17). API tokens get an expiry (revoking one sets it to the
-- moment of revocation); every table the purge walks gets an index on the column it is
-- purged by. Tokens issued before this migration get a full default lifetime (14 days)
-- from now, so an upgrade signs nobody out at once.
ALTER TABLE api_tokens ADD COLUMN expires_at BIGINT NOT NULL DEFAULT 0;
UPDATE api_tokens SET expires_at = CASE
  WHEN revoked_at IS NOT NULL THEN revoked_at
  ELSE CAST((julianday('now') - 2440587.5) * 86400000000 AS INTEGER) + 1209600000000
END;
CREATE INDEX api_tokens_expires ON api_tokens (expires_at);
CREATE INDEX sessions_expires ON sessions (expires_at);
CREATE INDEX client_tokens_expires ON client_tokens (expires_at);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);
