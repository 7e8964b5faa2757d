//! Integration tests of the engine's use cases on a real store: every scenario runs on SQLite
//! and, when `MUSTER_TEST_POSTGRES_URL` is set at build time, on a fresh PostgreSQL database
//! (see `support`). The actors differ in permissions, so the permission checks and the
//! no-escalation rule are exercised here once for every front-end; the CLI's suite keeps to
//! flags, output and exit codes.

mod account;
mod busy;
mod catalog_fixtures;
mod departments;
mod error_kinds;
mod first_import;
mod groups;
mod identities;
mod import_access;
mod leases;
mod one_time_tokens;
mod problems;
mod renames;
mod roles;
mod sources;
mod support;
mod users;
