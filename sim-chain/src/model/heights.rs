//! Block heights and times: the epoch grid, stage heights and block
//! timestamps.

use super::params::{
    CREATED_DELAY, EFFECTIVE_DELAY, INFERENCE_VALIDATION_CUTOFF, POC_STAGE_DURATION,
    POC_START_OFFSET, POC_VALIDATION_DELAY, POC_VALIDATION_DURATION, SET_NEW_VALIDATORS_DELAY,
};
use super::universe::Model;
use super::wire::{BlockWindow, EpochStages};
use crate::prng::{Purpose, Rng};
use crate::time::rfc3339_nanos;

impl Model {
    pub fn poc_start_block_height(&self, epoch: u64) -> u64 {
        POC_START_OFFSET + epoch * self.universe.epoch_length
    }

    pub fn effective_block_height(&self, epoch: u64) -> u64 {
        self.poc_start_block_height(epoch) + EFFECTIVE_DELAY
    }

    pub fn created_at_block_height(&self, epoch: u64) -> u64 {
        self.poc_start_block_height(epoch) + CREATED_DELAY
    }

    /// Where the chain head starts: halfway through the current epoch.
    pub fn starting_head(&self) -> u64 {
        self.effective_block_height(self.current_epoch) + self.universe.epoch_length / 2
    }

    /// The chain head: the starting head, plus (when heights advance) one
    /// block per interval since then, up to the current epoch's last block.
    pub fn latest_block_height(&self) -> u64 {
        self.latest_block_height_at(crate::time::now_unix_ms())
    }

    /// [`Self::latest_block_height`] at wall-clock time `now_ms` (moved by
    /// the head knobs' offset, if any).
    pub fn latest_block_height_at(&self, now_ms: i64) -> u64 {
        let start = self.starting_head();
        let elapsed = if self.clock.advancing {
            (now_ms - self.clock.anchor_ms).max(0) as u64 / self.clock.interval_ms
        } else {
            0
        };
        let last = self.poc_start_block_height(self.current_epoch + 1) - 1;
        let head = (start + elapsed) as i64 + self.clock.head_offset;
        (head.max(start as i64) as u64).min(last.max(start))
    }

    /// The average block time in seconds (the jitter averages out over
    /// 10,000 blocks to well under 0.01 s).
    pub fn block_interval_secs(&self) -> f64 {
        self.clock.interval_ms as f64 / 1000.0
    }

    /// The epoch whose participants are in charge at height `h`: the last epoch
    /// with `effective_block_height <= h` (0 before epoch 1 takes effect).
    pub fn epoch_at_height(&self, h: u64) -> u64 {
        match h.checked_sub(self.effective_block_height(0)) {
            Some(since) => since / self.universe.epoch_length,
            None => 0,
        }
    }

    /// Unix time of block `h` as (seconds, nanoseconds): the clock's anchor
    /// block at its wall-clock time, the others one interval apart, plus up
    /// to 0.9 s of jitter, so times strictly increase.
    pub fn block_time_unix(&self, h: u64) -> (i64, u32) {
        let jitter_ns = Rng::new(self.universe.seed, Purpose::BlockTime, &[h]).below(900_000_000);
        let blocks = i128::from(h) - i128::from(self.clock.anchor_height);
        let total_ns = i128::from(self.clock.anchor_ms) * 1_000_000
            + blocks * i128::from(self.clock.interval_ms) * 1_000_000
            + i128::from(jitter_ns);
        (
            total_ns.div_euclid(1_000_000_000) as i64,
            total_ns.rem_euclid(1_000_000_000) as u32,
        )
    }

    /// Block time of `h` in RFC 3339 with nanoseconds, as CometBFT prints it.
    pub fn block_time(&self, h: u64) -> String {
        let (secs, nanos) = self.block_time_unix(h);
        rfc3339_nanos(secs, nanos)
    }

    /// Block time of `h` in Unix milliseconds.
    pub fn block_time_unix_millis(&self, h: u64) -> u64 {
        let (secs, nanos) = self.block_time_unix(h);
        secs.max(0) as u64 * 1000 + u64::from(nanos / 1_000_000)
    }

    /// Stage heights of `epoch`.
    pub fn epoch_stages(&self, epoch: u64) -> EpochStages {
        let p = self.poc_start_block_height(epoch);
        let generation_end = p + POC_STAGE_DURATION;
        let validation_start = generation_end + POC_VALIDATION_DELAY;
        let validation_end = validation_start + POC_VALIDATION_DURATION;
        let set_new_validators = validation_end + SET_NEW_VALIDATORS_DELAY;
        let next_poc_start = p + self.universe.epoch_length;
        EpochStages {
            epoch_index: epoch,
            poc_start: p,
            poc_generation_wind_down: generation_end - 12,
            poc_generation_end: generation_end,
            poc_validation_start: validation_start,
            poc_validation_wind_down: validation_end - 2,
            poc_validation_end: validation_end,
            set_new_validators,
            claim_money: set_new_validators + 1,
            inference_validation_cutoff: next_poc_start - INFERENCE_VALIDATION_CUTOFF,
            next_poc_start,
            poc_exchange_window: BlockWindow {
                start: p + 1,
                end: validation_start,
            },
            poc_validation_exchange_window: BlockWindow {
                start: validation_start + 1,
                end: validation_end,
            },
        }
    }
}
