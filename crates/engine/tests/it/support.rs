//! The engine's test support: the store's harness (a fresh store per test on SQLite and
//! PostgreSQL, `scenarios!`), included from the store's tests, and contexts for actors of
//! different permissions.

use muster_engine::{Actor, Context, NoProgress, Source};

#[path = "../../../store/tests/it/harness.rs"]
mod harness;
pub use harness::*;

/// A fixed clock, so tests can compare times.
pub const NOW: i64 = 1_800_000_000_000;

/// A context for `actor` with the fixed clock and the system's random source.
pub fn context(actor: Actor) -> Context {
    let mut ctx = Context::system(Box::new(NoProgress));
    ctx.now = Box::new(|| NOW);
    ctx.actor = actor;
    ctx
}

/// The local operator, who holds every permission.
pub fn operator() -> Context {
    context(Actor::operator("tester", Source::Cli))
}
