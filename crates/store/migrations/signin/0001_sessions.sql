-- The sign-in database (issue 9): everything a sign-in or a page view writes, kept apart from the
-- main database so that an import holding the main database's one SQLite write lock never blocks
-- a sign-in. On PostgreSQL these tables live in the main database. Users are referred to by their
-- immutable id (`users.id`) and never by a foreign key, which could not cross two SQLite files;
-- rows of deleted users are inert (ids are never reused) and removed opportunistically.
-- Times are unix milliseconds.

-- One row per session. The browser holds a random token; only its SHA-256 (hex) is stored, so a
-- copy of this table signs nobody in. `id` is the public name of a session (for listing and
-- revoking), never the token. A token is rotated by rewriting `token_hash`, so the old one is
-- gone the moment the new one exists.
CREATE TABLE sessions (
    token_hash      TEXT PRIMARY KEY,
    id              TEXT NOT NULL,
    user_id         TEXT NOT NULL,
    stage           TEXT NOT NULL,
    csrf            TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    last_seen_at    BIGINT NOT NULL,
    idle_expires_at BIGINT NOT NULL,
    expires_at      BIGINT NOT NULL,
    address         TEXT NOT NULL,
    user_agent      TEXT NOT NULL
) WITHOUT ROWID;
CREATE UNIQUE INDEX sessions_by_id ON sessions (id);
CREATE INDEX sessions_by_user ON sessions (user_id);
-- Sessions past their absolute end are removed a few at a time by later sign-ins, so the sessions
-- of users who never come back do not stay forever.
CREATE INDEX sessions_by_expiry ON sessions (expires_at);

-- Failed sign-ins counted per account (`scope` 'account') and per client address ('address'):
-- `failures` within the window that began at `window_started_at`; past the limit the subject is
-- locked until `locked_until`, for a period that doubles with each lockout (`lockouts`), which a
-- day without failures forgets.
CREATE TABLE signin_throttles (
    scope             TEXT NOT NULL,
    subject           TEXT NOT NULL,
    failures          BIGINT NOT NULL,
    window_started_at BIGINT NOT NULL,
    locked_until      BIGINT NOT NULL,
    lockouts          BIGINT NOT NULL,
    last_failure_at   BIGINT NOT NULL,
    PRIMARY KEY (scope, subject)
) WITHOUT ROWID;

-- The last successful sign-in of each user (the main database's `users.last_login_at` is not
-- written, because a sign-in must not need the main database's write lock).
CREATE TABLE last_sign_ins (
    user_id     TEXT PRIMARY KEY,
    signed_in_at BIGINT NOT NULL,
    address     TEXT NOT NULL
) WITHOUT ROWID;

-- The last TOTP time step a user's code was accepted for: a code is accepted only for a later
-- step, so none is accepted twice within its window.
CREATE TABLE totp_steps (
    user_id   TEXT PRIMARY KEY,
    last_step BIGINT NOT NULL
) WITHOUT ROWID;

-- Recovery codes of a user's second factor, SHA-256 (hex) of the normalised code; each is
-- accepted once (`used_at`).
CREATE TABLE recovery_codes (
    user_id    TEXT NOT NULL,
    code_hash  TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    used_at    BIGINT,
    PRIMARY KEY (user_id, code_hash)
) WITHOUT ROWID;
