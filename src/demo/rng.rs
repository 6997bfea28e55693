//! Deterministic randomness and ids for the demo generator.
//!
//! Draws go through [`Dice`], which reads raw `u64`s from ChaCha8 and does its own integer
//! arithmetic, so the output does not depend on how a `rand` release samples ranges. No
//! transcendental float functions are used anywhere in the generator, because their last bits
//! may differ between platforms.

use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// A seeded random source with the few draws the generator needs.
pub(super) struct Dice(ChaCha8Rng);

impl Dice {
    /// Opens stream `stream` of the ChaCha8 generator keyed by `seed`. Streams never overlap.
    pub fn new(seed: u64, stream: u64) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(stream);
        Dice(rng)
    }

    /// A number in `0..n`, or 0 when `n` is 0.
    pub fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.0.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// An index into a collection of `len` items.
    pub fn index(&mut self, len: usize) -> usize {
        self.below(len as u64) as usize
    }

    /// A number in `lo..hi`, or `lo` when the range is empty.
    pub fn between(&mut self, lo: i64, hi: i64) -> i64 {
        if hi <= lo {
            lo
        } else {
            lo + self.below((hi - lo) as u64) as i64
        }
    }

    /// A count in `lo..=hi`.
    pub fn count(&mut self, lo: usize, hi: usize) -> usize {
        lo + self.index(hi.saturating_sub(lo) + 1)
    }

    /// A float in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.0.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// One item of a non-empty slice.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.index(items.len())]
    }

    /// An index chosen with the given weights (not all zero).
    pub fn weighted(&mut self, weights: &[u32]) -> usize {
        let total: u64 = weights.iter().map(|&w| u64::from(w)).sum();
        let mut roll = self.below(total);
        for (i, &w) in weights.iter().enumerate() {
            if roll < u64::from(w) {
                return i;
            }
            roll -= u64::from(w);
        }
        weights.len() - 1
    }

    /// An item of a list of `(item, weight)` pairs.
    pub fn weighted_pick<T: Copy>(&mut self, items: &[(T, u32)]) -> T {
        let total: u64 = items.iter().map(|&(_, w)| u64::from(w)).sum();
        let mut roll = self.below(total);
        for &(item, w) in items {
            if roll < u64::from(w) {
                return item;
            }
            roll -= u64::from(w);
        }
        items[items.len() - 1].0
    }

    /// How many further steps a process takes that goes on with probability `p`, at most `max`.
    pub fn geometric(&mut self, p: f64, max: usize) -> usize {
        let mut n = 0;
        while n < max && self.chance(p) {
            n += 1;
        }
        n
    }

    /// Shuffles a slice in place (Fisher–Yates).
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.index(i + 1);
            items.swap(i, j);
        }
    }
}

/// The splitmix64 finaliser: a bijection on `u64` that scatters nearby inputs.
pub(super) fn mix64(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

const MASK62: u64 = (1 << 62) - 1;

/// A bijection on the numbers below 2^62 (each step is invertible modulo 2^62).
fn mix62(mut x: u64) -> u64 {
    x &= MASK62;
    x ^= x >> 31;
    x = x.wrapping_mul(0xbf58_476d_1ce4_e5b9) & MASK62;
    x ^= x >> 29;
    x = x.wrapping_mul(0x94d0_49bb_1331_11eb) & MASK62;
    x ^ (x >> 32)
}

/// A version-4-shaped UUID string for `(customer, serial)` within one seed.
///
/// The low 62 bits are a bijection of `customer << 32 | serial`, so two different pairs never
/// share an id as long as `customer < 2^30` and `serial < 2^32`.
pub(super) fn uuid(seed: u64, customer: u64, serial: u32) -> String {
    let salt = mix64(seed ^ 0x6465_6d6f_2d69_6473);
    let lo = (1 << 63) | mix62(((customer << 32) | u64::from(serial)) ^ salt);
    let hi = (mix64(salt ^ mix64(customer) ^ u64::from(serial)) & !0xf000) | 0x4000;
    format!(
        "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        hi >> 32,
        (hi >> 16) & 0xffff,
        hi & 0xffff,
        lo >> 48,
        lo & 0xffff_ffff_ffff
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mix62_is_injective_on_a_sample() {
        let mut seen = std::collections::HashSet::new();
        for customer in 0..200u64 {
            for serial in 0..200u64 {
                assert!(seen.insert(mix62((customer << 32) | serial)));
            }
        }
    }

    #[test]
    fn uuid_has_the_v4_shape() {
        let id = uuid(42, 7, 3);
        assert_eq!(id.len(), 36);
        assert_eq!(&id[14..15], "4");
        assert!(matches!(&id[19..20], "8" | "9" | "a" | "b"), "{id}");
        assert_ne!(id, uuid(42, 7, 4));
        assert_ne!(id, uuid(43, 7, 3));
    }

    #[test]
    fn dice_is_reproducible_and_stays_in_range() {
        let (mut a, mut b) = (Dice::new(1, 2), Dice::new(1, 2));
        for _ in 0..1000 {
            let x = a.between(-5, 5);
            assert_eq!(x, b.between(-5, 5));
            assert!((-5..5).contains(&x));
        }
        assert_eq!(a.between(3, 3), 3);
        assert_eq!(a.weighted(&[0, 0, 5]), 2);
    }
}
