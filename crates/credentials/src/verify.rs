//! Login-time verification against whatever is in the `password_hash`
//! column. Every stored value goes through the same parser as imports, so
//! the cost caps also protect logins from values written by other means.
//! All digest comparisons are constant-time (argon2 and bcrypt via their
//! crates, PBKDF2 via `subtle`), and the provisional marker never matches.

use crate::error::CredentialError;
use crate::hashing::{hash_with_salt, M_COST_KIB, OUTPUT_LEN, P_COST, T_COST};
use crate::imported::{parse, Parsed, Pbkdf2Parts};
use crate::password::PlainPassword;
use crate::stored::is_locked_marker;
use argon2::{Argon2, PasswordVerifier};
use password_hash::{PasswordHash, SaltString};
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// Outcome of a verification that ran to completion.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verification {
    Mismatch,
    /// `needs_rehash` is true unless the hash is argon2id with our current
    /// parameters; the caller should then store `hash_password`'s output.
    Match {
        needs_rehash: bool,
    },
}

/// Verifies a password against any stored secret (argon2id, bcrypt,
/// pbkdf2-sha256 in all accepted forms). The provisional marker (and any
/// other `!`-prefixed lock marker) never matches.
pub fn verify_password(
    stored: &str,
    password: &PlainPassword,
) -> Result<Verification, CredentialError> {
    if is_locked_marker(stored.trim()) {
        burn_equivalent_time(password)?;
        return Ok(Verification::Mismatch);
    }
    match parse(stored)? {
        Parsed::Argon2id { phc } => verify_argon2id(&phc, password),
        Parsed::Bcrypt { mcf } => verify_bcrypt(&mcf, password),
        Parsed::Pbkdf2(parts) => Ok(verify_pbkdf2(&parts, password)),
    }
}

/// Does the work of one argon2id verification and discards it, so answering
/// "no password set" takes as long as a real mismatch and does not reveal
/// which accounts are still provisional.
fn burn_equivalent_time(password: &PlainPassword) -> Result<(), CredentialError> {
    const FIXED_SALT: &str = "bXVzdGVyLXByb3Zpc2lvbmFs";
    let salt = SaltString::from_b64(FIXED_SALT).map_err(CredentialError::hashing)?;
    hash_with_salt(password, &salt).map(drop)
}

fn verify_argon2id(phc: &str, password: &PlainPassword) -> Result<Verification, CredentialError> {
    let hash = PasswordHash::new(phc).map_err(CredentialError::hashing)?;
    // The verifier takes algorithm, version and costs from `hash` itself.
    match Argon2::default().verify_password(password.expose().as_bytes(), &hash) {
        Ok(()) => Ok(Verification::Match {
            needs_rehash: !is_current_argon2(&hash),
        }),
        Err(password_hash::Error::Password) => Ok(Verification::Mismatch),
        Err(e) => Err(CredentialError::hashing(e)),
    }
}

/// True when `hash` was made with exactly the parameters `hash_password` uses.
fn is_current_argon2(hash: &PasswordHash<'_>) -> bool {
    let Ok(params) = argon2::Params::try_from(hash) else {
        return false;
    };
    hash.version == Some(0x13)
        && params.m_cost() == M_COST_KIB
        && params.t_cost() == T_COST
        && params.p_cost() == P_COST
        && params.output_len() == Some(OUTPUT_LEN)
        && params.keyid().is_empty()
        && params.data().is_empty()
}

/// bcrypt reads only the first 72 bytes, exactly as the system that made the
/// hash did, so long passwords still verify.
fn verify_bcrypt(mcf: &str, password: &PlainPassword) -> Result<Verification, CredentialError> {
    // bcrypt's error text can quote the hash, so it is replaced with ours.
    let matched = bcrypt::verify(password.expose(), mcf).map_err(|_| CredentialError::Hashing {
        detail: "bcrypt could not process the stored hash".to_owned(),
    })?;
    Ok(if matched {
        Verification::Match { needs_rehash: true }
    } else {
        Verification::Mismatch
    })
}

fn verify_pbkdf2(parts: &Pbkdf2Parts, password: &PlainPassword) -> Verification {
    let mut computed = vec![0u8; parts.hash.len()];
    pbkdf2::pbkdf2_hmac::<Sha256>(
        password.expose().as_bytes(),
        &parts.salt,
        parts.rounds,
        &mut computed,
    );
    if bool::from(computed.ct_eq(&parts.hash)) {
        Verification::Match { needs_rehash: true }
    } else {
        Verification::Mismatch
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hashing::hash_password;
    use crate::imported::{check_imported_hash, HashRejection, HashScheme};
    use crate::stored::PROVISIONAL;
    use crate::test_support::{SeededRng, SENTINEL};
    use argon2::{Algorithm, Params, PasswordHasher, Version};
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
    use base64::Engine;

    const RIGHT: &str = "correct-Horse-7";
    const WRONG: &str = "correct-Horse-8";
    const REHASH: Verification = Verification::Match { needs_rehash: true };

    fn pw(s: &str) -> PlainPassword {
        PlainPassword::new(s.to_owned())
    }

    /// Imports `text`, checks the scheme, then verifies the stored form with
    /// the right and the wrong password.
    fn assert_imported_round_trip(text: &str, scheme: HashScheme) -> String {
        let imported = check_imported_hash(text).unwrap();
        assert_eq!(imported.scheme, scheme);
        assert_eq!(
            verify_password(&imported.stored, &pw(RIGHT)).unwrap(),
            REHASH
        );
        assert_eq!(
            verify_password(&imported.stored, &pw(WRONG)).unwrap(),
            Verification::Mismatch
        );
        imported.stored
    }

    fn pbkdf2_sha256(password: &str, salt: &[u8], rounds: u32) -> [u8; 32] {
        let mut out = [0u8; 32];
        pbkdf2::pbkdf2_hmac::<Sha256>(password.as_bytes(), salt, rounds, &mut out);
        out
    }

    #[test]
    fn imported_argon2id_with_other_params() {
        let params = Params::new(8192, 1, 2, None).unwrap();
        let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
        let salt = SaltString::generate(&mut SeededRng::new(3));
        let text = argon2
            .hash_password(RIGHT.as_bytes(), &salt)
            .unwrap()
            .to_string();
        assert_eq!(
            assert_imported_round_trip(&text, HashScheme::Argon2id),
            text
        );
        // Django's "argon2$" prefix is stripped on import.
        let django = format!("argon2{text}");
        assert_eq!(check_imported_hash(&django).unwrap().stored, text);
        assert_eq!(verify_password(&django, &pw(RIGHT)).unwrap(), REHASH);
    }

    #[test]
    fn our_own_hash_needs_no_rehash_but_other_output_length_does() {
        let ours = hash_password(&pw(RIGHT), &mut SeededRng::new(5)).unwrap();
        let imported = check_imported_hash(&ours).unwrap();
        assert_eq!(imported.stored, ours);
        assert_eq!(
            verify_password(&ours, &pw(RIGHT)).unwrap(),
            Verification::Match {
                needs_rehash: false
            }
        );

        let params = Params::new(M_COST_KIB, T_COST, P_COST, Some(64)).unwrap();
        let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
        let salt = SaltString::generate(&mut SeededRng::new(6));
        let long = argon2
            .hash_password(RIGHT.as_bytes(), &salt)
            .unwrap()
            .to_string();
        assert_eq!(verify_password(&long, &pw(RIGHT)).unwrap(), REHASH);
    }

    #[test]
    fn imported_bcrypt_in_each_variant() {
        let parts = bcrypt::hash_with_salt(RIGHT, 4, [7u8; 16]).unwrap();
        for version in [
            bcrypt::Version::TwoA,
            bcrypt::Version::TwoB,
            bcrypt::Version::TwoY,
        ] {
            let text = parts.format_for_version(version);
            assert_eq!(assert_imported_round_trip(&text, HashScheme::Bcrypt), text);
        }
    }

    #[test]
    fn bcrypt_uses_the_first_72_bytes_like_other_systems() {
        let long = "x".repeat(80);
        let text = bcrypt::hash_with_salt(&long, 4, [9u8; 16])
            .unwrap()
            .to_string();
        assert_eq!(verify_password(&text, &pw(&long)).unwrap(), REHASH);
        assert_eq!(
            verify_password(&text, &pw(&"x".repeat(72))).unwrap(),
            REHASH
        );
        assert_eq!(
            verify_password(&text, &pw(&"x".repeat(71))).unwrap(),
            Verification::Mismatch
        );
    }

    #[test]
    fn imported_pbkdf2_phc_from_the_pbkdf2_crate() {
        let salt = SaltString::encode_b64(b"0123456789abcdef").unwrap();
        let params = pbkdf2::Params {
            rounds: 1_000,
            output_length: 32,
        };
        let text = pbkdf2::Pbkdf2
            .hash_password_customized(RIGHT.as_bytes(), None, None, params, &salt)
            .unwrap()
            .to_string();
        assert!(text.starts_with("$pbkdf2-sha256$i=1000,l=32$"), "{text}");
        assert_eq!(
            assert_imported_round_trip(&text, HashScheme::Pbkdf2Sha256),
            text
        );
    }

    #[test]
    fn imported_pbkdf2_passlib_form() {
        // These salt bytes encode to "+" characters, which passlib writes as ".".
        let salt = [
            0xfb, 0xef, 0xbe, 0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa,
            0xbb, 0xcc,
        ];
        let hash = pbkdf2_sha256(RIGHT, &salt, 29_000);
        let ab64 = |b: &[u8]| STANDARD_NO_PAD.encode(b).replace('+', ".");
        let text = format!("$pbkdf2-sha256$29000${}${}", ab64(&salt), ab64(&hash));
        assert!(text.contains('.'));
        let stored = assert_imported_round_trip(&text, HashScheme::Pbkdf2Sha256);
        assert!(
            stored.starts_with("$pbkdf2-sha256$i=29000,l=32$"),
            "{stored}"
        );
        // The original form verifies too, should one reach the column unconverted.
        assert_eq!(verify_password(&text, &pw(RIGHT)).unwrap(), REHASH);
    }

    #[test]
    fn passlib_documentation_example() {
        // From passlib's pbkdf2_sha256 documentation: the hash of "toomanysecrets"
        // (cross-checked with Python's hashlib.pbkdf2_hmac).
        let text = "$pbkdf2-sha256$29000$N2YMIWQsBWBMae09x1jrPQ$1t8iyB2A.WF/Z5JZv.lfCIhXXN33N23OSgQYThBYRfk";
        let stored = check_imported_hash(text).unwrap().stored;
        assert_eq!(
            verify_password(&stored, &pw("toomanysecrets")).unwrap(),
            REHASH
        );
        assert_eq!(
            verify_password(&stored, &pw("TooManySecrets")).unwrap(),
            Verification::Mismatch
        );
    }

    #[test]
    fn imported_pbkdf2_django_form() {
        let salt = "Rr5mXDu4ReJnmVbXkDvGtk";
        let hash = pbkdf2_sha256(RIGHT, salt.as_bytes(), 1_200);
        let text = format!("pbkdf2_sha256$1200${salt}${}", STANDARD.encode(hash));
        let stored = assert_imported_round_trip(&text, HashScheme::Pbkdf2Sha256);
        assert!(
            stored.starts_with("$pbkdf2-sha256$i=1200,l=32$"),
            "{stored}"
        );
        assert_eq!(verify_password(&text, &pw(RIGHT)).unwrap(), REHASH);

        // A salt too long for PHC is kept in Django form and still verifies.
        let long_salt = "L".repeat(60);
        let hash = pbkdf2_sha256(RIGHT, long_salt.as_bytes(), 1_000);
        let text = format!("pbkdf2_sha256$1000${long_salt}${}", STANDARD.encode(hash));
        assert_eq!(
            assert_imported_round_trip(&text, HashScheme::Pbkdf2Sha256),
            text
        );
    }

    #[test]
    fn provisional_never_verifies() {
        for candidate in ["", RIGHT, PROVISIONAL, "provisional", SENTINEL] {
            assert_eq!(
                verify_password(PROVISIONAL, &pw(candidate)).unwrap(),
                Verification::Mismatch
            );
        }
        assert_eq!(
            verify_password("!locked", &pw("!locked")).unwrap(),
            Verification::Mismatch
        );
    }

    #[test]
    fn unusable_stored_values_are_errors_without_echo() {
        let stored_values = [
            SENTINEL.to_owned(),
            String::new(),
            format!("$2b$31${}", "a".repeat(53)),
            format!("$argon2i${SENTINEL}"),
            format!("pbkdf2_sha256$1000$salt${SENTINEL}"),
        ];
        for stored in stored_values {
            let err = verify_password(&stored, &pw(SENTINEL)).unwrap_err();
            assert!(
                matches!(err, CredentialError::UnusableStoredSecret(_)),
                "{err:?}"
            );
            for rendered in [err.to_string(), format!("{err:?}")] {
                assert!(!rendered.contains("Sentinel"), "{rendered}");
            }
        }
        let err = verify_password("junk", &pw(RIGHT)).unwrap_err();
        assert_eq!(
            err,
            CredentialError::UnusableStoredSecret(HashRejection::Unrecognised)
        );
    }

    #[test]
    fn every_error_display_is_free_of_the_password() {
        let errors = [
            CredentialError::hashing(password_hash::Error::Password),
            CredentialError::WorkerPanicked,
            CredentialError::UnusableStoredSecret(HashRejection::Unrecognised),
        ];
        for e in errors {
            assert!(!e.to_string().contains("Sentinel"));
        }
        assert!(!format!("{:?}", pw(SENTINEL)).contains("Sentinel"));
    }
}
