//! Throttling of failed sign-ins, kept in the sign-in database: per account (or per unknown
//! identifier, counted the same way so the throttle does not reveal which accounts exist) and
//! per client address. A subject with too many failures within the window is locked for a
//! period that doubles with each lockout, up to a cap; a day without failures forgets the
//! lockouts. Locked subjects are refused before any password is verified, so a locked account
//! costs an attacker no argon2 work of ours either. The same counters guard the current
//! password of a password change and the codes of the second factor.

use muster_store::signin::{self as db, ThrottleRow, ThrottleScope};
use muster_store::Store;

use crate::error::{Error, Unavailable};

/// How many failures lock a subject, and for how long.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ThrottlePolicy {
    /// Failures of one account within the window that lock it.
    pub account_failures: i64,
    /// Failures from one client address within the window that lock it.
    pub address_failures: i64,
    pub window_ms: i64,
    /// The first lock's length; each further lockout doubles it.
    pub lock_ms: i64,
    pub max_lock_ms: i64,
}

impl Default for ThrottlePolicy {
    /// 5 failures of an account or 20 from an address within 15 minutes lock it for 15
    /// minutes, then 30, 60… up to a day.
    fn default() -> ThrottlePolicy {
        ThrottlePolicy {
            account_failures: 5,
            address_failures: 20,
            window_ms: 15 * 60 * 1000,
            lock_ms: 15 * 60 * 1000,
            max_lock_ms: DAY_MS,
        }
    }
}

const DAY_MS: i64 = 24 * 60 * 60 * 1000;

/// The subjects one attempt is counted against.
pub(super) struct Subjects {
    /// `id:{user id}` for a known user, `name:{identifier}` otherwise.
    pub account: String,
    /// The client address; None when the front-end has none (failures then count per account
    /// only).
    pub address: Option<String>,
}

impl Subjects {
    pub fn for_user(user_id: &str, address: &str) -> Subjects {
        Subjects::new(format!("id:{user_id}"), address)
    }

    pub fn for_unknown(identifier: &str, address: &str) -> Subjects {
        Subjects::new(format!("name:{identifier}"), address)
    }

    fn new(account: String, address: &str) -> Subjects {
        let address = address.trim();
        Subjects {
            account,
            address: (!address.is_empty()).then(|| address.to_owned()),
        }
    }

    fn each(&self) -> impl Iterator<Item = (ThrottleScope, &str)> {
        std::iter::once((ThrottleScope::Account, self.account.as_str())).chain(
            self.address
                .as_deref()
                .map(|address| (ThrottleScope::Address, address)),
        )
    }
}

/// Refuses with `Throttled` while the account or the address is locked at `now`.
pub(super) async fn check(store: &Store, now: i64, subjects: &Subjects) -> Result<(), Error> {
    let mut conn = store.acquire_signin().await?;
    let mut locked_until = 0;
    for (scope, subject) in subjects.each() {
        if let Some(row) = db::throttle(&mut conn, scope, subject).await? {
            locked_until = locked_until.max(row.locked_until);
        }
    }
    if locked_until > now {
        let retry_after_s = u64::try_from((locked_until - now + 999) / 1000).unwrap_or(1);
        return Err(Error::Unavailable(Unavailable::Throttled { retry_after_s }));
    }
    Ok(())
}

/// Counts one failure against every subject, locking those that reach their limit.
pub(super) async fn record_failure(
    store: &Store,
    policy: &ThrottlePolicy,
    now: i64,
    subjects: &Subjects,
) -> Result<(), Error> {
    let mut tx = store.begin_signin().await?;
    for (scope, subject) in subjects.each() {
        let limit = match scope {
            ThrottleScope::Account => policy.account_failures,
            ThrottleScope::Address => policy.address_failures,
        };
        let before = db::throttle(&mut tx, scope, subject).await?;
        let after = count_failure(policy, limit, before.unwrap_or_default(), now);
        db::put_throttle(&mut tx, scope, subject, &after).await?;
    }
    tx.commit().await.map_err(muster_store::StoreError::from)?;
    Ok(())
}

/// Forgets the account's failures after a success (the address keeps its count: one good
/// password must not clear a guesser's record from the same place).
pub(super) async fn clear_account(
    conn: &mut muster_store::Connection,
    subjects: &Subjects,
) -> Result<(), Error> {
    db::clear_throttle(conn, ThrottleScope::Account, &subjects.account).await?;
    Ok(())
}

/// The row after one more failure at `now`.
fn count_failure(
    policy: &ThrottlePolicy,
    limit: i64,
    mut row: ThrottleRow,
    now: i64,
) -> ThrottleRow {
    if now - row.last_failure_at >= DAY_MS {
        row.lockouts = 0;
    }
    if now - row.window_started_at >= policy.window_ms {
        row.failures = 0;
        row.window_started_at = now;
    }
    row.failures += 1;
    row.last_failure_at = now;
    if row.failures >= limit.max(1) {
        let doublings = u32::try_from(row.lockouts.clamp(0, 20)).unwrap_or(20);
        let lock = policy
            .lock_ms
            .saturating_mul(1 << doublings)
            .min(policy.max_lock_ms);
        row.locked_until = now + lock;
        row.lockouts += 1;
        row.failures = 0;
        row.window_started_at = now;
    }
    row
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINUTE: i64 = 60_000;

    #[test]
    fn the_fifth_failure_in_the_window_locks_for_the_lock_period() {
        let policy = ThrottlePolicy::default();
        let mut row = ThrottleRow::default();
        for i in 0..4 {
            row = count_failure(&policy, 5, row, 1_000_000 + i * MINUTE);
            assert_eq!(row.locked_until, 0, "failure {} must not lock", i + 1);
        }
        row = count_failure(&policy, 5, row, 1_000_000 + 4 * MINUTE);
        assert_eq!(row.locked_until, 1_000_000 + 4 * MINUTE + 15 * MINUTE);
        assert_eq!(row.lockouts, 1);
    }

    #[test]
    fn failures_outside_the_window_start_a_new_count() {
        let policy = ThrottlePolicy::default();
        let mut row = ThrottleRow::default();
        for i in 0..4 {
            row = count_failure(&policy, 5, row, 1_000_000 + i * MINUTE);
        }
        row = count_failure(&policy, 5, row, 1_000_000 + 20 * MINUTE);
        assert_eq!(row.failures, 1);
        assert_eq!(row.locked_until, 0);
    }

    #[test]
    fn each_lockout_doubles_the_lock_up_to_the_cap_and_a_quiet_day_forgets() {
        let policy = ThrottlePolicy::default();
        let mut row = ThrottleRow::default();
        let mut now = 1_000_000;
        let mut locks = Vec::new();
        for _ in 0..8 {
            for _ in 0..5 {
                row = count_failure(&policy, 5, row, now);
            }
            locks.push(row.locked_until - now);
            now = row.locked_until;
        }
        assert_eq!(
            &locks[..4],
            &[15 * MINUTE, 30 * MINUTE, 60 * MINUTE, 120 * MINUTE]
        );
        assert_eq!(*locks.last().unwrap(), DAY_MS);
        for _ in 0..5 {
            row = count_failure(&policy, 5, row, now + 2 * DAY_MS);
        }
        assert_eq!(row.locked_until - (now + 2 * DAY_MS), 15 * MINUTE);
    }
}
