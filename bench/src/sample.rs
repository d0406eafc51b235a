//! Deterministic random samples of participants: the same seed picks the
//! same participants in every run (a seeded, portable generator from
//! `rand`), so two runs of the bench measure the same work.

use rand::rngs::Xoshiro256PlusPlus;
use rand::seq::IndexedRandom;
use rand::SeedableRng;

/// Up to `k` distinct elements of `items`, in random order.
pub fn sample<T: Clone>(items: &[T], k: usize, seed: u64) -> Vec<T> {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    items
        .sample(&mut rng, k.min(items.len()))
        .cloned()
        .collect()
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
