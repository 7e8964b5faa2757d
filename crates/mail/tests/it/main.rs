//! The mail transports: the outbox's files read back, and SMTP against a small sink in the test.

mod outbox;
mod smtp;
mod support;
