-- Stable identities, versions, MFA state and the audit log (issue 8, SPEC §1 and §5).
--
-- Every user, group, role and department gets an immutable opaque id (a UUID as text), the one
-- that SCIM, the console's and API's URLs, the journal and the audit log name it by. Usernames
-- and names stay the import's matching keys, and a key may now change (a rename): every
-- reference to a key is declared ON UPDATE CASCADE, so a rename is one UPDATE of the record and
-- the memberships, grants and department references follow it inside the same statement.
-- SQLite cannot change a foreign key in place, so the directory tables are rebuilt: new tables
-- are made beside the old ones, filled, the old ones dropped (children first, so no drop
-- cascades into kept data) and the new ones renamed; both backends then rewrite the references
-- of the renamed tables themselves.
--
-- `version` counts the changes of a record; an update that carries the version it read is
-- refused when the record changed since (an ETag). It is bumped by every write that changes the
-- record, memberships included.
--
-- MUSTER_NEW_ID is replaced by the migration runner with the backend's expression for a fresh
-- random UUID (version 4) per row; ids made later by muster are time-ordered (version 7).
-- MUSTER_SERIAL_KEY becomes an auto-numbered BIGINT primary key on either backend.

CREATE TABLE departments_v3 (
    name_key    TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    id          TEXT NOT NULL UNIQUE,
    version     BIGINT NOT NULL DEFAULT 1
) WITHOUT ROWID;
INSERT INTO departments_v3 (name_key, name, description, created_at, updated_at, id)
SELECT name_key, name, description, created_at, updated_at, MUSTER_NEW_ID FROM departments;

CREATE TABLE user_groups_v3 (
    name_key    TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    id          TEXT NOT NULL UNIQUE,
    version     BIGINT NOT NULL DEFAULT 1
) WITHOUT ROWID;
INSERT INTO user_groups_v3 (name_key, name, description, created_at, updated_at, id)
SELECT name_key, name, description, created_at, updated_at, MUSTER_NEW_ID FROM user_groups;

CREATE TABLE roles_v3 (
    name_key    TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    id          TEXT NOT NULL UNIQUE,
    version     BIGINT NOT NULL DEFAULT 1
) WITHOUT ROWID;
INSERT INTO roles_v3 (name_key, name, description, created_at, updated_at, id)
SELECT name_key, name, description, created_at, updated_at, MUSTER_NEW_ID FROM roles;

CREATE TABLE role_permissions_v3 (
    role_key   TEXT NOT NULL REFERENCES roles_v3 (name_key) ON DELETE CASCADE ON UPDATE CASCADE,
    permission TEXT NOT NULL,
    PRIMARY KEY (role_key, permission)
) WITHOUT ROWID;
INSERT INTO role_permissions_v3 (role_key, permission)
SELECT role_key, permission FROM role_permissions;

CREATE TABLE users_v3 (
    username_key   TEXT PRIMARY KEY,
    username       TEXT NOT NULL,
    name           TEXT NOT NULL,
    email          TEXT,
    email_key      TEXT,
    phone          TEXT,
    department_key TEXT REFERENCES departments_v3 (name_key) ON UPDATE CASCADE,
    active         BIGINT NOT NULL DEFAULT 1,
    ignore_mfa     BIGINT NOT NULL DEFAULT 0,
    locale         TEXT,
    timezone       TEXT,
    password_hash  TEXT NOT NULL,
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL,
    last_login_at  BIGINT,
    id             TEXT NOT NULL,
    version        BIGINT NOT NULL DEFAULT 1
) WITHOUT ROWID;
INSERT INTO users_v3 (username_key, username, name, email, email_key, phone, department_key, active,
    ignore_mfa, locale, timezone, password_hash, created_at, updated_at, last_login_at, id)
SELECT username_key, username, name, email, email_key, phone, department_key, active, ignore_mfa,
    locale, timezone, password_hash, created_at, updated_at, last_login_at, MUSTER_NEW_ID FROM users;

CREATE TABLE user_roles_v3 (
    username_key TEXT NOT NULL REFERENCES users_v3 (username_key) ON DELETE CASCADE ON UPDATE CASCADE,
    role_key     TEXT NOT NULL REFERENCES roles_v3 (name_key) ON DELETE CASCADE ON UPDATE CASCADE,
    PRIMARY KEY (username_key, role_key)
) WITHOUT ROWID;
INSERT INTO user_roles_v3 (username_key, role_key) SELECT username_key, role_key FROM user_roles;

CREATE TABLE group_members_v3 (
    username_key TEXT NOT NULL REFERENCES users_v3 (username_key) ON DELETE CASCADE ON UPDATE CASCADE,
    group_key    TEXT NOT NULL REFERENCES user_groups_v3 (name_key) ON DELETE CASCADE ON UPDATE CASCADE,
    PRIMARY KEY (username_key, group_key)
) WITHOUT ROWID;
INSERT INTO group_members_v3 (username_key, group_key) SELECT username_key, group_key FROM group_members;

DROP TABLE group_members;
DROP TABLE user_roles;
DROP TABLE role_permissions;
DROP TABLE users;
DROP TABLE departments;
DROP TABLE user_groups;
DROP TABLE roles;

ALTER TABLE departments_v3 RENAME TO departments;
ALTER TABLE user_groups_v3 RENAME TO user_groups;
ALTER TABLE roles_v3 RENAME TO roles;
ALTER TABLE role_permissions_v3 RENAME TO role_permissions;
ALTER TABLE users_v3 RENAME TO users;
ALTER TABLE user_roles_v3 RENAME TO user_roles;
ALTER TABLE group_members_v3 RENAME TO group_members;

-- A user's id and e-mail are unique by indexes of their own rather than column constraints, so
-- a first import into an empty directory can build them at the end like the filter indexes
-- below (store/src/bulk.rs); the import checks both itself meanwhile.
CREATE UNIQUE INDEX users_by_id ON users (id);
CREATE UNIQUE INDEX users_by_email ON users (email_key);
-- Filters of the users list and the export: without these, a department, role or group filter
-- reads every user or every membership.
CREATE INDEX users_by_department ON users (department_key);
CREATE INDEX user_roles_by_role ON user_roles (role_key);
CREATE INDEX group_members_by_group ON group_members (group_key);

-- Roles a group gives its members (SPEC §5: a role is granted directly or through a group).
CREATE TABLE group_roles (
    group_key TEXT NOT NULL REFERENCES user_groups (name_key) ON DELETE CASCADE ON UPDATE CASCADE,
    role_key  TEXT NOT NULL REFERENCES roles (name_key) ON DELETE CASCADE ON UPDATE CASCADE,
    PRIMARY KEY (group_key, role_key)
) WITHOUT ROWID;
CREATE INDEX group_roles_by_role ON group_roles (role_key);

-- A user's TOTP enrolment (SPEC §5). Kept beside the user rather than in it: the import's
-- bulk reads and writes never carry it, and resetting MFA is deleting the row.
CREATE TABLE user_mfa (
    username_key   TEXT PRIMARY KEY REFERENCES users (username_key) ON DELETE CASCADE ON UPDATE CASCADE,
    secret         TEXT NOT NULL,
    enrolled_at    BIGINT NOT NULL,
    last_used_step BIGINT
) WITHOUT ROWID;

-- Every change made by any use case (SPEC §5): who, from where, when, what, and the fields before
-- and after as JSON (never a secret: a password change is the field "password" with the value
-- "set"). An import is one entry naming the import, not a copy of its rows.
CREATE TABLE audit_log (
    id          MUSTER_SERIAL_KEY,
    at          BIGINT NOT NULL,
    actor_id    TEXT,
    actor       TEXT NOT NULL,
    source      TEXT NOT NULL,
    action      TEXT NOT NULL,
    target_kind TEXT NOT NULL,
    target_id   TEXT,
    target_name TEXT NOT NULL,
    import_id   BIGINT,
    outcome     TEXT NOT NULL,
    changes     TEXT NOT NULL
);
CREATE INDEX audit_by_time ON audit_log (at);
CREATE INDEX audit_by_target ON audit_log (target_id);
CREATE INDEX audit_by_actor ON audit_log (actor);
