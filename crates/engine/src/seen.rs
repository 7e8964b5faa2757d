//! Remembering which keys a file has already used, in memory that stays small for a million
//! rows: a 128-bit hash of each key (two SipHash passes with different seeds) instead of the key
//! itself. A false "duplicate" would need a 128-bit collision, which does not happen in practice.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};

#[derive(Default)]
pub(crate) struct FileKeys {
    first_rows: HashMap<u128, u64>,
}

impl FileKeys {
    /// Records `key` at `row`; if the file used it before, returns that earlier row instead.
    pub fn first_seen(&mut self, key: &str, row: u64) -> Option<u64> {
        match self.first_rows.entry(key_hash(key)) {
            std::collections::hash_map::Entry::Occupied(entry) => Some(*entry.get()),
            std::collections::hash_map::Entry::Vacant(entry) => {
                entry.insert(row);
                None
            }
        }
    }
}

pub(crate) fn key_hash(key: &str) -> u128 {
    let half = |seed: u64| {
        #[allow(deprecated)]
        let mut hasher = std::hash::SipHasher::new_with_keys(seed, !seed);
        key.hash(&mut hasher);
        hasher.finish()
    };
    (u128::from(half(0x6d75_7374_6572)) << 64) | u128::from(half(0x6b65_7973))
}

#[cfg(test)]
mod tests {
    #[test]
    fn reports_the_first_row_of_a_repeated_key() {
        let mut keys = super::FileKeys::default();
        assert_eq!(keys.first_seen("alice", 2), None);
        assert_eq!(keys.first_seen("bob", 3), None);
        assert_eq!(keys.first_seen("alice", 9), Some(2));
    }
}
