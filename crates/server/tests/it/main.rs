//! Integration tests of the console: a real server on a free port of 127.0.0.1 over a fresh
//! store, on SQLite and (when `MUSTER_TEST_POSTGRES_URL` is set at build time) PostgreSQL,
//! driven by an HTTP client, and by a headless Chromium in `browser`.

mod browser;
mod console;
mod headers;
mod health;
mod links;
mod sections;
mod support;
