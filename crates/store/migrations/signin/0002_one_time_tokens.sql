-- One-time links (issue 9): a password reset, valid an hour, and an invitation to choose a first
-- password, valid seven days. The link carries a random token; only its SHA-256 (hex) is stored,
-- so a copy of this table opens no link. A token is used once (`used_at`), and only before
-- `expires_at`. `user_id` is the user's immutable id (no foreign key: the users table is in the
-- main database); `created_by` is who asked for the link (the actor's name, or the user for a
-- reset). Times are unix milliseconds.
CREATE TABLE one_time_tokens (
    token_hash TEXT PRIMARY KEY,
    purpose    TEXT NOT NULL,
    user_id    TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at    BIGINT,
    created_by TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX one_time_tokens_by_user ON one_time_tokens (user_id, purpose);
