-- Import history (SPEC §3.5–3.6): one row per import, preview, apply or revert, and beside it
-- three chunked tables. Each chunk holds one batch of the import as one value, because a
-- million-row import would otherwise write a second million rows of bookkeeping:
--   import_changes  the plan / journal: every record the import creates or changes, with its
--                   image before and after (JSON). A preview applies it, a revert undoes it.
--   import_failures the failed rows and their problems (JSON), for `imports show` and the
--                   error workbook.
--   import_archive  the uploaded file with every secret cell blanked, in pieces of 1 MiB.
-- These tables keep their rowid on SQLite: their rows are large, which WITHOUT ROWID is not for.

CREATE TABLE imports (
    id            BIGINT PRIMARY KEY,
    kind          TEXT NOT NULL,
    actor         TEXT NOT NULL,
    owner         TEXT NOT NULL,
    started_at    BIGINT NOT NULL,
    finished_at   BIGINT,
    applied_at    BIGINT,
    file_name     TEXT NOT NULL,
    file_size     BIGINT NOT NULL,
    sha256        TEXT NOT NULL,
    format        TEXT,
    options       TEXT NOT NULL,
    status        TEXT NOT NULL,
    created       BIGINT NOT NULL DEFAULT 0,
    updated       BIGINT NOT NULL DEFAULT 0,
    unchanged     BIGINT NOT NULL DEFAULT 0,
    failed        BIGINT NOT NULL DEFAULT 0,
    summary       TEXT NOT NULL,
    fixes_id      BIGINT,
    revert_of     BIGINT,
    reverted_by   BIGINT
);

CREATE INDEX imports_by_sha256 ON imports (sha256);
CREATE INDEX imports_by_status ON imports (status);

CREATE TABLE import_changes (
    import_id BIGINT NOT NULL REFERENCES imports (id) ON DELETE CASCADE,
    seq       BIGINT NOT NULL,
    data      TEXT NOT NULL,
    PRIMARY KEY (import_id, seq)
);

CREATE TABLE import_failures (
    import_id BIGINT NOT NULL REFERENCES imports (id) ON DELETE CASCADE,
    seq       BIGINT NOT NULL,
    data      TEXT NOT NULL,
    PRIMARY KEY (import_id, seq)
);

CREATE TABLE import_archive (
    import_id BIGINT NOT NULL REFERENCES imports (id) ON DELETE CASCADE,
    seq       BIGINT NOT NULL,
    data      BYTEA NOT NULL,
    PRIMARY KEY (import_id, seq)
);
