//! The crate's error type for operations that can fail for reasons other
//! than "the password is wrong" or "the policy says no". Variants carry only
//! our own descriptions, never library error text that might quote inputs.

use crate::imported::HashRejection;

/// Failure of a hashing or verification operation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CredentialError {
    /// The hashing library refused to produce a hash; `detail` is our wording.
    #[error("password hashing failed: {detail}")]
    Hashing { detail: String },
    /// The value in the `password_hash` column cannot be used for verification.
    /// The cause is in the message, so it is not also `source()`, which would repeat it.
    #[error("the stored password hash cannot be used: {0}")]
    UnusableStoredSecret(HashRejection),
    /// A worker thread in `hash_passwords` panicked.
    #[error("a password hashing worker thread panicked")]
    WorkerPanicked,
}

impl From<HashRejection> for CredentialError {
    fn from(cause: HashRejection) -> CredentialError {
        CredentialError::UnusableStoredSecret(cause)
    }
}

impl CredentialError {
    /// Builds a `Hashing` error from a library error. The library's own text is
    /// kept because argon2/password-hash errors describe parameters, not inputs.
    pub(crate) fn hashing(err: impl std::fmt::Display) -> Self {
        Self::Hashing {
            detail: err.to_string(),
        }
    }
}
