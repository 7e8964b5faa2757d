-- The first schema of muster. One file for both backends: only types and syntax that SQLite and
-- PostgreSQL read the same way (TEXT, BIGINT, ON CONFLICT). Flags are BIGINT 0/1 and times are
-- unix milliseconds, because sqlx's Any driver moves exactly those types identically on both.
-- The one exception is the table option WITHOUT ROWID, which the migration runner removes for
-- PostgreSQL: tables keyed by text are stored in key order on SQLite instead of keeping a rowid
-- tree beside a key index, which halves the B-tree work of a large import.

CREATE TABLE departments (
    name_key    TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
) WITHOUT ROWID;

CREATE TABLE user_groups (
    name_key    TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
) WITHOUT ROWID;

CREATE TABLE roles (
    name_key    TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
) WITHOUT ROWID;

CREATE TABLE role_permissions (
    role_key   TEXT NOT NULL REFERENCES roles (name_key) ON DELETE CASCADE,
    permission TEXT NOT NULL,
    PRIMARY KEY (role_key, permission)
) WITHOUT ROWID;

-- username_key is the PRECIS UsernameCaseMapped form (RFC 8265): the identity of a user on every
-- backend, never a collation. username keeps the form the administrator typed.
CREATE TABLE users (
    username_key   TEXT PRIMARY KEY,
    username       TEXT NOT NULL,
    name           TEXT NOT NULL,
    email          TEXT,
    email_key      TEXT UNIQUE,
    phone          TEXT,
    department_key TEXT REFERENCES departments (name_key),
    active         BIGINT NOT NULL DEFAULT 1,
    ignore_mfa     BIGINT NOT NULL DEFAULT 0,
    locale         TEXT,
    timezone       TEXT,
    password_hash  TEXT NOT NULL,
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL,
    last_login_at  BIGINT
) WITHOUT ROWID;

CREATE TABLE user_roles (
    username_key TEXT NOT NULL REFERENCES users (username_key) ON DELETE CASCADE,
    role_key     TEXT NOT NULL REFERENCES roles (name_key) ON DELETE CASCADE,
    PRIMARY KEY (username_key, role_key)
) WITHOUT ROWID;

CREATE TABLE group_members (
    username_key TEXT NOT NULL REFERENCES users (username_key) ON DELETE CASCADE,
    group_key    TEXT NOT NULL REFERENCES user_groups (name_key) ON DELETE CASCADE,
    PRIMARY KEY (username_key, group_key)
) WITHOUT ROWID;

-- The built-in administrator role holds the whole permission catalog (SPEC §1).
INSERT INTO roles (name_key, name, description, created_at, updated_at)
VALUES ('administrator', 'administrator', 'Built-in role holding every permission', 0, 0);
INSERT INTO role_permissions (role_key, permission) VALUES
    ('administrator', 'users.read'), ('administrator', 'users.write'),
    ('administrator', 'users.import'), ('administrator', 'users.export'),
    ('administrator', 'groups.read'), ('administrator', 'groups.write'),
    ('administrator', 'roles.read'), ('administrator', 'roles.write'),
    ('administrator', 'departments.read'), ('administrator', 'departments.write'),
    ('administrator', 'users.credentials'), ('administrator', 'imports.read'),
    ('administrator', 'imports.revert'), ('administrator', 'audit.read'),
    ('administrator', 'tokens.manage');
