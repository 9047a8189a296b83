//! Sets and maps keyed by passage id.

use std::{
    collections::HashSet,
    hash::{BuildHasherDefault, Hasher},
};

/// A set of passage ids, hashed with one multiplication: a filter's set of a hundred
/// thousand ids is built and probed far faster than with the default SipHash.
pub type IdSet = HashSet<u64, BuildHasherDefault<IdHasher>>;

/// The hasher of [`IdSet`]: Fibonacci hashing, which spreads sequential ids too.
#[derive(Default)]
pub struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        // Only u64 keys are hashed; anything else is folded in, for correctness.
        for b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*b);
        }
    }
    fn write_u64(&mut self, i: u64) {
        // The product's high bits, which depend on every bit of the id, folded into the low
        // bits that pick the bucket.
        let h = i.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        self.0 = h ^ (h >> 32);
    }
}
