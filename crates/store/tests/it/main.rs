//! Integration tests of `muster-store`: every scenario runs on a fresh SQLite data directory and,
//! when `MUSTER_TEST_POSTGRES_URL` is set, on a fresh PostgreSQL database (see `support`).

mod support;

mod catalog;
mod database_url;
mod history;
mod migrations;
mod one_time_tokens;
mod pagination;
mod signin;
mod statistics;
mod transactions;
mod unique_email;
mod users;
