//! Integration tests of the `muster` binary: every scenario runs the real executable against a
//! fresh SQLite data directory and, when `MUSTER_TEST_POSTGRES_URL` is set, a fresh PostgreSQL
//! database (see `support`). Fixtures are generated here; nothing binary is committed.

mod support;

mod bad_inputs;
mod encodings;
mod excel;
mod exit_codes;
mod export_filters;
mod history;
mod hostile;
mod interrupt;
mod modes;
mod round_trip;
mod secrets;
mod templates;
mod updates;
mod warnings;
mod workbook;
