//! [`Multiplied`]: a hasher of integer keys by one multiplication (Fibonacci hashing; two for a `u128`).
//!
//! The standard library's default hasher is built to resist keys chosen by an attacker; the maps that
//! use this one are keyed by the index's own numbers (key indices, packed grams of the lists' anchors and
//! of the gram table), looked up once per find or per gram, where the default hasher's cost showed in
//! profiles.

use std::hash::Hasher;

/// Hashes a `u64` or `usize` key by one multiplication, a `u128` by two; other bytes (unused here) byte
/// by byte.
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

    fn write_u128(&mut self, n: u128) {
        // Four packed characters (the anchor planner's grams): the high half mixed into the low one.
        self.write_u64(n as u64 ^ ((n >> 64) as u64).wrapping_mul(0xC2B2_AE3D_27D4_EB4F));
    }
}
