//! [`Multiplied`]: a hasher of integer keys by one multiplication (Fibonacci hashing).
//!
//! The standard library's default hasher is built to resist keys chosen by an attacker; the maps that
//! use this one are keyed by the index's own numbers (key indices, packed grams of the lists' anchors),
//! looked up once per find or per gram, where the default hasher's cost showed in profiles.

use std::hash::Hasher;

/// Hashes a `u64` or `usize` key by one multiplication; other bytes (unused here) byte by byte.
#[derive(Default, Clone, Copy)]
pub struct Multiplied(u64);

impl Hasher for Multiplied {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x100_0000_01B3);
        }
    }

    fn write_u64(&mut self, n: u64) {
        // The product's high bits mix every bit of the key, its low bits only the key's low bits: the
        // map takes its buckets from the low bits, so the high ones are folded in.
        let product = n.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        self.0 = product ^ product >> 32;
    }

    fn write_usize(&mut self, n: usize) {
        self.write_u64(n as u64);
    }
}
