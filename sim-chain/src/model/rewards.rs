//! End-of-epoch counters, rewards and claims: the performance summaries.

use super::universe::Model;
use super::wire::{EpochStats, PerformanceSummary};
use crate::prng::{Purpose, Rng};

impl Model {
    /// End-of-epoch counters of participant `i` in `epoch` (zeros for ~15%).
    pub(super) fn totals(&self, epoch: u64, i: usize) -> EpochStats {
        let mut r = Rng::new(self.universe.seed, Purpose::Totals, &[epoch, i as u64]);
        if r.percent(15) {
            return EpochStats::default();
        }
        let inference_count = r.range(1, 2_000);
        let missed_requests = if r.percent(50) {
            0
        } else {
            r.range(1, (inference_count / 30).max(2))
        };
        let validated_inferences = inference_count * r.range(70, 100) / 100;
        let invalidated_inferences = if r.percent(65) { 0 } else { r.range(1, 12) };
        EpochStats {
            inference_count,
            missed_requests,
            validated_inferences,
            invalidated_inferences,
            ..EpochStats::default()
        }
    }

    /// Final counters of `address` in `epoch` (no reward), if it took part.
    pub fn epoch_totals(&self, epoch: u64, address: &str) -> Option<EpochStats> {
        let i = self.index_of(address)?;
        self.member(epoch, i).then(|| self.totals(epoch, i))
    }

    /// `(rewarded_coins, claimed)`. A reward is claimed some epochs after its
    /// epoch ended (or never), so `claimed` only ever turns true as the
    /// current epoch advances.
    fn reward(&self, epoch: u64, i: usize) -> (u64, bool) {
        let mut r = Rng::new(self.universe.seed, Purpose::Reward, &[epoch, i as u64]);
        let forfeited = r.percent(12);
        let per_weight = r.range(900_000_000, 1_100_000_000);
        let claim_after = match r.below(10) {
            0..=4 => 1,
            5..=7 => 2,
            8 => 4,
            _ => u64::MAX,
        };
        let weight = self.epoch_weight(epoch, i).max(0) as u64;
        let idle = self.totals(epoch, i) == EpochStats::default();
        if forfeited || idle || weight == 0 {
            return (0, false);
        }
        let age = self.current_epoch.saturating_sub(epoch);
        (weight * per_weight, age >= claim_after)
    }

    /// The performance summary the chain serves, or `None` where it answers
    /// 404: unknown participant, not in that epoch, `epoch < 1`, or
    /// `epoch >= current` (the current epoch has no summary yet).
    pub fn performance_summary(&self, epoch: u64, address: &str) -> Option<PerformanceSummary> {
        let i = self.index_of(address)?;
        if epoch < 1 || epoch >= self.current_epoch || !self.member(epoch, i) {
            return None;
        }
        let (rewarded_coins, claimed) = self.reward(epoch, i);
        Some(PerformanceSummary {
            epoch_index: epoch,
            participant_id: address.to_string(),
            stats: EpochStats {
                rewarded_coins,
                ..self.totals(epoch, i)
            },
            claimed,
        })
    }

    /// Sum of `rewarded_coins` over the participants of a finished epoch
    /// (`None` for epochs without summaries).
    pub fn epoch_total_rewarded_coins(&self, epoch: u64) -> Option<u128> {
        if epoch < 1 || epoch >= self.current_epoch {
            return None;
        }
        Some(
            (0..self.participant_count())
                .filter(|&i| self.member(epoch, i))
                .map(|i| u128::from(self.reward(epoch, i).0))
                .sum(),
        )
    }
}
