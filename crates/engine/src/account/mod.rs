//! Accounts: what a person does with their own account (signing in, passwords, one-time links).

pub mod mail;
