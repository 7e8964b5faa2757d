-- A password that must be changed at the next sign-in (issue 9): set for the bootstrap
-- administrator, whose first password was printed on a terminal, and cleared when the user
-- chooses their own. Imports and the directory's use cases leave it as it is (it defaults to 0
-- for every user they create), so an administrator setting a password does not force a change.

ALTER TABLE users ADD COLUMN must_change_password BIGINT NOT NULL DEFAULT 0;
