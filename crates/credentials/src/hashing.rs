//! Hashing of passwords we set ourselves: argon2id with OWASP's minimum
//! recommended parameters (m = 19456 KiB, t = 2, p = 1) in PHC string form.
//! Bulk imports hash thousands of passwords, so `hash_passwords` spreads the
//! work over every core; salts are drawn from the caller's RNG before any
//! thread starts, which keeps the output deterministic for a seeded RNG.
//! The password's UTF-8 bytes are hashed exactly as given, not in PRECIS
//! form: imported hashes were computed over raw bytes, and verification must
//! treat every scheme the same way.

use crate::error::CredentialError;
use crate::password::PlainPassword;
use argon2::{Algorithm, Argon2, Params, PasswordHasher, Version};
use password_hash::SaltString;
use rand_core::{CryptoRng, RngCore};
use std::num::NonZeroUsize;
use std::thread;

/// OWASP Password Storage Cheat Sheet, argon2id option 5 (19 MiB, 2 passes,
/// 1 lane): the cheapest setting it endorses, which keeps bulk imports fast.
pub(crate) const M_COST_KIB: u32 = 19_456;
pub(crate) const T_COST: u32 = 2;
pub(crate) const P_COST: u32 = 1;
/// argon2's default tag length; also what `needs_rehash` expects.
pub(crate) const OUTPUT_LEN: usize = 32;

/// The argon2id instance for new hashes.
pub(crate) fn current_argon2() -> Result<Argon2<'static>, CredentialError> {
    let params = Params::new(M_COST_KIB, T_COST, P_COST, Some(OUTPUT_LEN))
        .map_err(CredentialError::hashing)?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

/// Argon2id with OWASP's parameters (m = 19456 KiB, t = 2, p = 1), PHC string output.
pub fn hash_password(
    password: &PlainPassword,
    rng: &mut (impl RngCore + CryptoRng),
) -> Result<String, CredentialError> {
    let salt = SaltString::generate(&mut *rng);
    hash_with_salt(password, &salt)
}

/// Bytes of salt `hash_password_salted` takes: the length `hash_password` draws.
pub const SALT_LEN: usize = password_hash::Salt::RECOMMENDED_LENGTH;

/// `hash_password` with salt bytes drawn beforehand, for callers that hash on another thread
/// than the one holding their random source (a server hashes off its async threads).
pub fn hash_password_salted(
    password: &PlainPassword,
    salt: &[u8; SALT_LEN],
) -> Result<String, CredentialError> {
    let salt = SaltString::encode_b64(salt).map_err(CredentialError::hashing)?;
    hash_with_salt(password, &salt)
}

/// Several at once using every core. Salts are drawn from `rng` up front, in
/// input order, so the result equals calling `hash_password` on each password
/// in turn with the same RNG. Output order matches input order.
pub fn hash_passwords(
    passwords: &[&PlainPassword],
    rng: &mut (impl RngCore + CryptoRng),
) -> Result<Vec<String>, CredentialError> {
    let jobs: Vec<(&PlainPassword, SaltString)> = passwords
        .iter()
        .map(|pw| (*pw, SaltString::generate(&mut *rng)))
        .collect();
    parallel_map(&jobs, available_workers(), |(pw, salt)| {
        hash_with_salt(pw, salt)
    })?
    .into_iter()
    .collect()
}

pub(crate) fn hash_with_salt(
    password: &PlainPassword,
    salt: &SaltString,
) -> Result<String, CredentialError> {
    current_argon2()?
        .hash_password(password.expose().as_bytes(), salt)
        .map(|hash| hash.to_string())
        .map_err(CredentialError::hashing)
}

fn available_workers() -> usize {
    thread::available_parallelism().map_or(1, NonZeroUsize::get)
}

/// Applies `f` to every item on up to `workers` scoped threads, one contiguous
/// chunk each, and returns the results in input order. Contiguous chunks keep
/// ordering trivial; argon2 cost is uniform so load stays balanced.
pub(crate) fn parallel_map<T: Sync, R: Send>(
    items: &[T],
    workers: usize,
    f: impl Fn(&T) -> R + Sync,
) -> Result<Vec<R>, CredentialError> {
    if items.is_empty() {
        return Ok(Vec::new());
    }
    let chunk_len = items.len().div_ceil(workers.clamp(1, items.len()));
    let f = &f;
    let joined: Vec<thread::Result<Vec<R>>> = thread::scope(|scope| {
        let handles: Vec<_> = items
            .chunks(chunk_len)
            .map(|chunk| scope.spawn(move || chunk.iter().map(f).collect::<Vec<R>>()))
            .collect();
        // Join every handle (not just up to the first failure) so a second
        // panicking worker cannot make `scope` itself panic.
        handles.into_iter().map(|h| h.join()).collect()
    });
    let mut out = Vec::with_capacity(items.len());
    for chunk in joined {
        out.extend(chunk.map_err(|_| CredentialError::WorkerPanicked)?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{SeededRng, SENTINEL};
    use crate::verify::{verify_password, Verification};
    use std::collections::HashSet;

    fn pw(s: &str) -> PlainPassword {
        PlainPassword::new(s.to_owned())
    }

    #[test]
    fn a_salted_hash_equals_the_hash_drawing_the_same_salt() {
        let password = pw(SENTINEL);
        let mut salt = [0u8; SALT_LEN];
        SeededRng::new(7).fill_bytes(&mut salt);
        let salted = hash_password_salted(&password, &salt).unwrap();
        assert_eq!(
            salted,
            hash_password(&password, &mut SeededRng::new(7)).unwrap()
        );
        assert_eq!(
            verify_password(&salted, &password).unwrap(),
            Verification::Match {
                needs_rehash: false
            }
        );
    }

    #[test]
    fn hash_is_owasp_argon2id_and_verifies() {
        let password = pw(SENTINEL);
        let hash = hash_password(&password, &mut SeededRng::new(1)).unwrap();
        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{hash}"
        );
        assert!(!hash.contains(SENTINEL));
        assert_eq!(
            verify_password(&hash, &password).unwrap(),
            Verification::Match {
                needs_rehash: false
            }
        );
        assert_eq!(
            verify_password(&hash, &pw("wrong password")).unwrap(),
            Verification::Mismatch
        );
    }

    #[test]
    fn seeded_rng_gives_deterministic_salts() {
        let password = pw("same input twice");
        let a = hash_password(&password, &mut SeededRng::new(7)).unwrap();
        let b = hash_password(&password, &mut SeededRng::new(7)).unwrap();
        let c = hash_password(&password, &mut SeededRng::new(8)).unwrap();
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn batch_matches_sequential_hashing_in_input_order() {
        let passwords = [
            pw("first-password"),
            pw("second-password"),
            pw("third-password"),
        ];
        let refs: Vec<&PlainPassword> = passwords.iter().collect();
        let batch = hash_passwords(&refs, &mut SeededRng::new(42)).unwrap();

        let mut rng = SeededRng::new(42);
        let sequential: Vec<String> = passwords
            .iter()
            .map(|p| hash_password(p, &mut rng).unwrap())
            .collect();
        assert_eq!(batch, sequential);
    }

    #[test]
    fn empty_batch() {
        assert!(hash_passwords(&[], &mut SeededRng::new(0))
            .unwrap()
            .is_empty());
    }

    #[test]
    fn parallel_map_uses_several_threads_and_keeps_order() {
        let items: Vec<u32> = (0..100).collect();
        let out = parallel_map(&items, 4, |i| (*i * 2, thread::current().id())).unwrap();
        let values: Vec<u32> = out.iter().map(|(v, _)| *v).collect();
        assert_eq!(values, (0..100).map(|i| i * 2).collect::<Vec<_>>());
        let threads: HashSet<_> = out.iter().map(|(_, id)| *id).collect();
        assert_eq!(threads.len(), 4);
        assert!(!threads.contains(&thread::current().id()));
    }

    #[test]
    fn parallel_map_with_more_workers_than_items() {
        let out = parallel_map(&[1, 2], 16, |i| i + 1).unwrap();
        assert_eq!(out, vec![2, 3]);
    }

    #[test]
    fn parallel_map_reports_a_panicking_worker() {
        let items: Vec<u32> = (0..8).collect();
        let result = parallel_map(&items, 4, |i| {
            assert!(*i % 2 == 0, "deliberate test panic");
            *i
        });
        assert_eq!(result, Err(CredentialError::WorkerPanicked));
    }
}
