//! Integration tests of the `muster` binary: every scenario runs the real executable against a
//! fresh SQLite data directory and, when `MUSTER_TEST_POSTGRES_URL` is set, a fresh PostgreSQL
//! database (see `support`). Fixtures are generated here, except the stores written by the
//! previous release in `tests/fixtures/store-v2`, which `upgrade` opens.

mod support;

mod access;
mod bad_inputs;
mod encodings;
mod excel;
mod exit_codes;
mod export_filters;
mod history;
mod honest_cli;
mod hostile;
mod interrupt;
mod invite;
mod jobs;
mod modes;
mod ods_files;
mod office;
mod office_support;
mod round_trip;
mod secrets;
mod semantics;
mod serve;
mod templates;
mod transfer;
mod updates;
mod upgrade;
mod warnings;
mod workbook;
