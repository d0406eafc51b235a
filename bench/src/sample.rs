//! Deterministic random samples of participants: the same seed picks the
//! same participants in every run, so two runs of the bench measure the
//! same work (and no `rand` dependency is needed for it).

/// splitmix64: small, fast and good enough to shuffle a list.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

/// Up to `k` distinct elements of `items` in random order (a partial
/// Fisher-Yates shuffle).
pub fn sample<T: Clone>(items: &[T], k: usize, seed: u64) -> Vec<T> {
    let mut pool: Vec<T> = items.to_vec();
    let k = k.min(pool.len());
    let mut rng = SplitMix(seed);
    for i in 0..k {
        let j = i + (rng.next() % (pool.len() - i) as u64) as usize;
        pool.swap(i, j);
    }
    pool.truncate(k);
    pool
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_are_distinct_repeatable_and_bounded() {
        let items: Vec<u32> = (0..1_000).collect();
        let a = sample(&items, 100, 7);
        assert_eq!(a.len(), 100);
        let mut sorted = a.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), 100, "no element twice");
        assert_eq!(a, sample(&items, 100, 7), "same seed, same sample");
        assert_ne!(a, sample(&items, 100, 8));
        assert_ne!(a, (0..100).collect::<Vec<u32>>(), "not just the first ones");
        assert_eq!(sample(&items[..5], 10, 1).len(), 5);
        assert!(sample::<u32>(&[], 3, 1).is_empty());
    }
}
