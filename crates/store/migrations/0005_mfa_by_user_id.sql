-- A user's MFA enrolment is keyed by the user's immutable id, without a foreign key (issue 8).
--
-- Keyed by the username with ON DELETE CASCADE, every deleted user cost PostgreSQL a cascade
-- trigger run against this table, whether anyone was enrolled or not: three seconds of a
-- million-user revert. An id is never reused, so an enrolment left behind by a deleted user can
-- never attach to a later user of the same name, and a rename does not touch it. The use cases
-- that delete users remove enrolments themselves (`delete_user`, `PreparedWrites::delete_users`).

CREATE TABLE user_mfa_v5 (
    user_id        TEXT PRIMARY KEY,
    secret         TEXT NOT NULL,
    enrolled_at    BIGINT NOT NULL,
    last_used_step BIGINT
) WITHOUT ROWID;
INSERT INTO user_mfa_v5 (user_id, secret, enrolled_at, last_used_step)
SELECT u.id, m.secret, m.enrolled_at, m.last_used_step
FROM user_mfa m JOIN users u ON u.username_key = m.username_key;
DROP TABLE user_mfa;
ALTER TABLE user_mfa_v5 RENAME TO user_mfa;
