//! What an import is given besides the file: its options, the clock and randomness (parameters,
//! so tests control them), and a progress sink the CLI draws as a bar.

use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};

use muster_domain::Entity;

use crate::access::Actor;
use muster_sheets::Limits;
use rand_core::{CryptoRng, RngCore};

use crate::lease::LeaseTimes;

#[derive(Clone, Debug, Default)]
pub struct ImportOptions {
    /// Overrides recognition from the sheet name or headers.
    pub entity: Option<Entity>,
    /// Validate and plan, write nothing.
    pub dry_run: bool,
    /// Apply the valid rows even when others fail (the default is all or nothing).
    pub partial: bool,
    /// Existing keys are errors instead of updates.
    pub create_only: bool,
    /// Groups named in a users sheet are created when missing instead of being errors.
    pub create_groups: bool,
    pub sheet: Option<String>,
    pub delimiter: Option<u8>,
    pub encoding: Option<String>,
    pub limits: Limits,
    /// Files larger than this are refused before reading; None means the 200 MB default.
    pub max_file_bytes: Option<u64>,
}

/// Receives counts as an import advances. Called from the planner between batches.
pub trait Progress: Send + Sync {
    fn rows_done(&self, rows: u64);
}

pub struct NoProgress;

impl Progress for NoProgress {
    fn rows_done(&self, _rows: u64) {}
}

/// A random source for salts: any cryptographic RNG, boxed so callers can pass a seeded one.
pub trait SecureRng: RngCore + CryptoRng + Send {}
impl<T: RngCore + CryptoRng + Send> SecureRng for T {}

/// The system clock in unix milliseconds: the default `now` of every use case.
pub fn system_now() -> i64 {
    let since = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
    since.map(|d| d.as_millis() as i64).unwrap_or(0)
}

pub struct Context {
    /// Unix milliseconds; read once per import so every row of it carries the same time.
    pub now: Box<dyn Fn() -> i64 + Send + Sync>,
    pub rng: Mutex<Box<dyn SecureRng>>,
    pub progress: Box<dyn Progress>,
    /// Who runs the use case, from where, with which permissions.
    pub actor: Actor,
    /// Set (by Ctrl-C, say) to stop a running import; it then rolls back and is recorded as
    /// cancelled. A job's heartbeat sets it too when the job's lease was taken over.
    pub cancel: Arc<AtomicBool>,
    /// How long a job's lease lasts and how often its heartbeat renews it (tests shorten them).
    pub lease: LeaseTimes,
}

impl Context {
    /// The real clock and the operating system's random source.
    pub fn system(progress: Box<dyn Progress>) -> Context {
        Context {
            now: Box::new(system_now),
            rng: Mutex::new(Box::new(rand_core::OsRng)),
            progress,
            actor: Actor::system("engine"),
            cancel: Arc::new(AtomicBool::new(false)),
            lease: LeaseTimes::default(),
        }
    }
}

/// Lends a boxed random source to functions that take `&mut impl RngCore + CryptoRng`.
pub(crate) struct RngRef<'a>(pub &'a mut dyn SecureRng);

impl RngCore for RngRef<'_> {
    fn next_u32(&mut self) -> u32 {
        self.0.next_u32()
    }
    fn next_u64(&mut self) -> u64 {
        self.0.next_u64()
    }
    fn fill_bytes(&mut self, dest: &mut [u8]) {
        self.0.fill_bytes(dest)
    }
    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
        self.0.try_fill_bytes(dest)
    }
}

impl CryptoRng for RngRef<'_> {}
