//! A fast non-cryptographic hasher for the executor's hash tables (GROUP
//! BY, DISTINCT, hash joins, hashed subplans): the word-at-a-time
//! multiply-rotate hash of rustc's `FxHasher`, written out here. Like
//! PostgreSQL's own hash functions it is not keyed, so a hostile input can
//! make a hash table slow (never wrong, never a crash); the standard
//! library's SipHash costs more than the rest of a GROUP BY row.

use std::hash::{BuildHasherDefault, Hasher};

const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

#[derive(Clone, Copy, Default)]
pub struct FxHasher {
    hash: u64,
}

impl FxHasher {
    #[inline]
    fn add(&mut self, word: u64) {
        self.hash = (self.hash.rotate_left(5) ^ word).wrapping_mul(SEED);
    }
}

impl Hasher for FxHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            self.add(u64::from_le_bytes(c.try_into().expect("8 bytes")));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut last = [0u8; 8];
            last[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(last));
        }
    }

    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.add(i as u64);
    }

    #[inline]
    fn write_u32(&mut self, i: u32) {
        self.add(i as u64);
    }

    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }

    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }

    /// The product's best-mixed bits are in its middle: rotate them to
    /// the top, where the hash table takes its per-slot tag from.
    #[inline]
    fn finish(&self) -> u64 {
        self.hash.rotate_left(26)
    }
}

/// `HashMap<K, V, FxBuildHasher>`: build with `Default::default()`.
pub type FxBuildHasher = BuildHasherDefault<FxHasher>;

#[cfg(test)]
mod tests {
    use super::*;
    use std::hash::{BuildHasher, Hash};

    #[test]
    fn equal_keys_hash_equal_and_others_spread() {
        let b = FxBuildHasher::default();
        let h = |v: &dyn Fn(&mut FxHasher)| {
            let mut s = b.build_hasher();
            v(&mut s);
            s.finish()
        };
        assert_eq!(h(&|s| "abc".hash(s)), h(&|s| "abc".hash(s)));
        assert_ne!(h(&|s| "abc".hash(s)), h(&|s| "abd".hash(s)));
        let (mut top, mut low) = (
            std::collections::HashSet::new(),
            std::collections::HashSet::new(),
        );
        for i in 0..10_000i64 {
            top.insert(h(&|s| i.hash(s)) >> 50);
            low.insert(h(&|s| i.hash(s)) & 0x3fff);
        }
        assert!(top.len() > 7000, "top bits spread: {}", top.len());
        assert!(low.len() > 7000, "low bits spread: {}", low.len());
    }
}
