//! Remembering which keys a file has already used, in memory that stays small for a million
//! rows: a 128-bit hash of each key (xxh3-128, fast and well distributed) instead of the key
//! itself. A false "duplicate" would need a 128-bit collision, which does not happen in practice.
//! The hash is stored as four `u32`s beside a `u32` row number: 20-byte entries, where a `u128`
//! key with a `u64` row would take 32 (a `u128` is 16-byte aligned). With two such sets (usernames
//! and e-mails) that is about 80 MB less at a million rows.

use std::collections::HashMap;

#[derive(Default)]
pub(crate) struct FileKeys {
    first_rows: HashMap<[u32; 4], u32>,
}

impl FileKeys {
    /// Records `key` at `row`; if the file used it before, returns that earlier row instead.
    pub fn first_seen(&mut self, key: &str, row: u64) -> Option<u64> {
        // Spreadsheets stop at about a million rows and our CSV cap is lower than 2^32; a
        // larger number would only be reported clamped.
        let row = u32::try_from(row).unwrap_or(u32::MAX);
        match self.first_rows.entry(key_hash(key)) {
            std::collections::hash_map::Entry::Occupied(entry) => Some(u64::from(*entry.get())),
            std::collections::hash_map::Entry::Vacant(entry) => {
                entry.insert(row);
                None
            }
        }
    }
}

pub(crate) fn key_hash(key: &str) -> [u32; 4] {
    let h = xxhash_rust::xxh3::xxh3_128(key.as_bytes());
    [(h >> 96) as u32, (h >> 64) as u32, (h >> 32) as u32, h as u32]
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
