//! The participant list at a height: every participant, with its counters
//! growing through the epoch.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;

use super::universe::Model;
use super::wire::{EpochStats, ListParticipant};
use crate::prng::{Purpose, Rng};

impl Model {
    fn list_entry(&self, h: u64, i: usize) -> ListParticipant {
        let p = self.participant(i);
        let epoch = self.epoch_at_height(h);
        let member = self.member(epoch, i);
        let mut r = Rng::new(self.universe.seed, Purpose::ListEntry, &[epoch, i as u64]);

        let status = if member { r.percent(10) } else { r.percent(60) };
        let status = if status { "RAMPING" } else { "ACTIVE" };
        let registered = member || r.percent(50);
        let stats = if member {
            // Counters grow linearly through the epoch.
            let elapsed =
                (h - self.effective_block_height(epoch) + 1).min(self.universe.epoch_length);
            let scale = |v: u64| v * elapsed / self.universe.epoch_length;
            let t = self.totals(epoch, i);
            EpochStats {
                inference_count: scale(t.inference_count),
                missed_requests: scale(t.missed_requests),
                validated_inferences: scale(t.validated_inferences),
                invalidated_inferences: scale(t.invalidated_inferences),
                ..EpochStats::default()
            }
        } else {
            EpochStats::default()
        };
        let last_inference_height = h.saturating_sub(r.below(50)).max(1);
        let coin_balance = if r.percent(80) {
            0
        } else {
            r.range(1, 10_000_000_000)
        };
        let consecutive_invalid = if stats.invalidated_inferences > 0 && r.percent(30) {
            r.range(1, 3)
        } else {
            0
        };
        let worker_public_key = if r.percent(10) {
            let mut key = [0u8; 33];
            r.fill(&mut key);
            BASE64.encode(key)
        } else {
            String::new()
        };
        let join_height = p.join_height.min(h.max(1));

        ListParticipant {
            index: p.address.clone(),
            address: p.address.clone(),
            weight: -1,
            join_time: self.block_time_unix_millis(join_height),
            join_height,
            last_inference_time: if stats.inference_count > 0 {
                self.block_time_unix_millis(last_inference_height)
            } else {
                0
            },
            inference_url: if registered {
                self.inference_url_of(i)
            } else {
                String::new()
            },
            status: status.to_string(),
            coin_balance,
            validator_key: if registered {
                p.validator_key.clone()
            } else {
                String::new()
            },
            consecutive_invalid_inferences: consecutive_invalid,
            worker_public_key,
            epochs_completed: (1..epoch).filter(|&e| self.member(e, i)).count() as u64,
            current_epoch_stats: stats,
        }
    }

    /// The list entry of `address` at height `h`.
    pub fn participant_list_entry(&self, h: u64, address: &str) -> Option<ListParticipant> {
        self.index_of(address).map(|i| self.list_entry(h, i))
    }

    /// The whole participant list at height `h`, in store order.
    pub fn participant_list(&self, h: u64) -> Vec<ListParticipant> {
        self.participant_list_page(h, 0, usize::MAX)
    }

    /// One page of the participant list at height `h`.
    pub fn participant_list_page(
        &self,
        h: u64,
        offset: usize,
        limit: usize,
    ) -> Vec<ListParticipant> {
        self.universe
            .list_order
            .iter()
            .skip(offset)
            .take(limit)
            .map(|&i| self.list_entry(h, i))
            .collect()
    }
}
