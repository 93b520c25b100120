//! Seeded random numbers: one ChaCha8 generator per purpose, each on its own stream of the
//! same key, so that every part of the world draws from a sequence that depends only on the
//! seed and on what that part is (never on threads or timing). Integer arithmetic only.

use rand_chacha::ChaCha8Rng;
use rand_chacha::rand_core::{RngCore, SeedableRng};

/// The stream of each purpose. Streams are 64-bit; cards use the upper half of the space.
pub(crate) mod stream {
    /// Issuers' master keys.
    pub(crate) const KEYS: u64 = 1;
    /// Which cards and files carry the counted faults.
    pub(crate) const PLANNER: u64 = 2;
    /// Partners' result faults, applied while the records are merged.
    pub(crate) const MERGER: u64 = 3;
    /// File copies (damaged, resent) and blacklists.
    pub(crate) const POST: u64 = 4;

    /// A lane's riders: what they do, where and when.
    pub(crate) fn lane_world(lane: u8) -> u64 {
        16 + 2 * u64::from(lane)
    }

    /// A lane's per-record faults (a stream apart, so that fault rates do not change the
    /// taps themselves).
    pub(crate) fn lane_faults(lane: u8) -> u64 {
        17 + 2 * u64::from(lane)
    }

    /// The card with this population index (its personalisation and its day's plan).
    pub(crate) fn card(index: u64) -> u64 {
        (1 << 40) + index
    }
}

/// A seeded generator with the integer helpers the simulator needs.
#[derive(Debug, Clone)]
pub(crate) struct Rng(ChaCha8Rng);

impl Rng {
    /// The generator of `stream` under `seed`.
    pub(crate) fn new(seed: u64, stream: u64) -> Rng {
        let mut key = [0u8; 32];
        key[..8].copy_from_slice(&seed.to_le_bytes());
        key[8..24].copy_from_slice(b"hutong simulate ");
        let mut rng = ChaCha8Rng::from_seed(key);
        rng.set_stream(stream);
        Rng(rng)
    }

    /// 64 random bits.
    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0.next_u64()
    }

    /// Fills `out` with random bytes.
    pub(crate) fn fill(&mut self, out: &mut [u8]) {
        self.0.fill_bytes(out);
    }

    /// Uniform in `0..n` (0 when `n` is 0), without bias (Lemire's multiply-and-reject).
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            return 0;
        }
        let threshold = n.wrapping_neg() % n;
        loop {
            let m = u128::from(self.next_u64()) * u128::from(n);
            if (m as u64) >= threshold {
                return (m >> 64) as u64;
            }
        }
    }

    /// Uniform in `lo..=hi` (`lo` when `hi < lo`).
    pub(crate) fn range(&mut self, lo: u64, hi: u64) -> u64 {
        if hi <= lo {
            return lo;
        }
        lo + self.below(hi - lo + 1)
    }

    /// Uniform in `lo..=hi` for signed values (`lo` when `hi < lo`).
    pub(crate) fn range_i64(&mut self, lo: i64, hi: i64) -> i64 {
        if hi <= lo {
            return lo;
        }
        lo + self.below(hi.abs_diff(lo) + 1) as i64
    }

    /// True with probability `ppm` parts per million.
    pub(crate) fn chance_ppm(&mut self, ppm: u32) -> bool {
        ppm > 0 && self.below(1_000_000) < u64::from(ppm)
    }

    /// An index drawn with the given weights (0 when they are all 0).
    pub(crate) fn weighted(&mut self, weights: &[u32]) -> usize {
        let total: u64 = weights.iter().map(|&w| u64::from(w)).sum();
        let mut x = self.below(total);
        for (i, &w) in weights.iter().enumerate() {
            if x < u64::from(w) {
                return i;
            }
            x -= u64::from(w);
        }
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_are_reproducible_and_distinct() {
        let a: Vec<u64> = (0..4).map(|_| Rng::new(7, 1).next_u64()).collect();
        assert!(a.windows(2).all(|w| w[0] == w[1]));
        let mut x = Rng::new(7, 1);
        let mut y = Rng::new(7, 2);
        let mut z = Rng::new(8, 1);
        let (x1, y1, z1) = (x.next_u64(), y.next_u64(), z.next_u64());
        assert_ne!(x1, y1);
        assert_ne!(x1, z1);
    }

    #[test]
    fn helpers_stay_in_range() {
        let mut r = Rng::new(1, 9);
        for _ in 0..2000 {
            assert!(r.below(7) < 7);
            let v = r.range(10, 12);
            assert!((10..=12).contains(&v));
            let s = r.range_i64(-5, 5);
            assert!((-5..=5).contains(&s));
            assert_eq!(r.weighted(&[0, 3, 0]), 1);
        }
        assert_eq!(r.below(0), 0);
        assert_eq!(r.range(5, 5), 5);
        assert!(!r.chance_ppm(0));
        assert!(r.chance_ppm(1_000_000));
    }
}
