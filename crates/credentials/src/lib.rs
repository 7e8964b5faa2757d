//! Everything muster knows about password secrets, with no I/O: the policy a
//! new password must meet, argon2id hashing of passwords we set ourselves,
//! vetting of hashes imported from other systems (argon2id, bcrypt and the
//! three common PBKDF2-SHA256 encodings), and verification against whatever
//! ends up in the `password_hash` column. Randomness is always passed in so
//! callers (and tests) decide where it comes from, and no plaintext password
//! is ever written into an error, a `Debug` rendering or a log line.

mod common_passwords;
mod error;
mod hashing;
mod imported;
mod password;
mod policy;
mod stored;
mod verify;

pub use error::CredentialError;
pub use hashing::{hash_password, hash_password_salted, hash_passwords, SALT_LEN};
pub use imported::{check_imported_hash, HashRejection, HashScheme, ImportedHash};
pub use password::PlainPassword;
pub use policy::{PasswordPolicy, PolicyViolation};
pub use stored::{is_provisional, SecretKind, StoredSecret, PROVISIONAL};
pub use verify::{verify_password, Verification};

#[cfg(test)]
mod test_support;
