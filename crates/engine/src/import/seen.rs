//! Remembering which keys a file has already used, in memory that stays small for a million
//! rows: a 128-bit hash of each key (xxh3-128 with a seed drawn per import, so nobody can craft
//! a file whose keys pile into one bucket) instead of the key
//! itself. A false "duplicate" would need a 128-bit collision, which does not happen in practice.
//! The hash is stored as four `u32`s beside a `u32` row number: 20-byte entries, where a `u128`
//! key with a `u64` row would take 32 (a `u128` is 16-byte aligned). With two such sets (usernames
//! and e-mails) that is about 80 MB less at a million rows.

use std::collections::HashMap;
use std::hash::{BuildHasher, BuildHasherDefault, Hasher};

pub(crate) struct FileKeys {
    seed: u64,
    first_rows: HashMap<[u32; 4], u32, BuildHasherDefault<PrehashedKey>>,
}

impl Default for FileKeys {
    fn default() -> FileKeys {
        // The standard library's per-process random keys, used only to pick a seed.
        let seed = std::collections::hash_map::RandomState::new().hash_one(0x5345_454e_u64);
        FileKeys {
            seed,
            first_rows: HashMap::default(),
        }
    }
}

impl FileKeys {
    /// Records `key` at `row`; if the file used it before, returns that earlier row instead.
    pub fn first_seen(&mut self, key: &str, row: u64) -> Option<u64> {
        // Spreadsheets stop at about a million rows and our CSV cap is lower than 2^32; a
        // larger number would only be reported clamped.
        let row = u32::try_from(row).unwrap_or(u32::MAX);
        match self.first_rows.entry(key_hash(self.seed, key)) {
            std::collections::hash_map::Entry::Occupied(entry) => Some(u64::from(*entry.get())),
            std::collections::hash_map::Entry::Vacant(entry) => {
                entry.insert(row);
                None
            }
        }
    }
}

impl FileKeys {
    /// The row that used `key`, if the file has used it so far.
    pub fn row_of(&self, key: &str) -> Option<u64> {
        self.first_rows
            .get(&key_hash(self.seed, key))
            .map(|&row| u64::from(row))
    }
}

fn key_hash(seed: u64, key: &str) -> [u32; 4] {
    let h = xxhash_rust::xxh3::xxh3_128_with_seed(key.as_bytes(), seed);
    [
        (h >> 96) as u32,
        (h >> 64) as u32,
        (h >> 32) as u32,
        h as u32,
    ]
}

/// The map's keys are already seeded hashes, so hashing them again would only cost time: the
/// hasher keeps the bits it is given.
#[derive(Default)]
struct PrehashedKey(u64);

impl Hasher for PrehashedKey {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }

    fn write_u32(&mut self, n: u32) {
        self.0 = self.0.rotate_left(32) ^ u64::from(n);
    }
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
