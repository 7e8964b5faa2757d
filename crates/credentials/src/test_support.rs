//! Test-only helpers: a tiny seeded RNG so hashing tests are reproducible
//! without pulling in another crate. It is NOT cryptographically secure; the
//! `CryptoRng` marker is claimed only so it can stand in for one in tests.

use rand_core::{CryptoRng, RngCore};

/// SplitMix64: small, fast, and well distributed enough for test salts.
pub(crate) struct SeededRng(u64);

impl SeededRng {
    pub(crate) fn new(seed: u64) -> Self {
        Self(seed)
    }
}

impl RngCore for SeededRng {
    fn next_u32(&mut self) -> u32 {
        (self.next_u64() >> 32) as u32
    }

    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn fill_bytes(&mut self, dest: &mut [u8]) {
        rand_core::impls::fill_bytes_via_next(self, dest);
    }

    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}

impl CryptoRng for SeededRng {}

/// A password whose text tests can search for in any rendered output.
pub(crate) const SENTINEL: &str = "Sentinel-Pa55word-Zq9";
