//! The models the chain serves (`models_all`), their 24 h stats
//! (`models_stats_by_time`) and the restrictions' end block.

use serde::{Deserialize, Serialize};

use super::params::{MODEL_NAMES, RESTRICTION_END_EPOCH};
use super::universe::Model;
use crate::prng::{Purpose, Rng};

/// A model nobody hosts, added by governance when the current epoch took
/// effect: `models_all` at an older height (any finished epoch's canonical
/// height) does not list it. Its
/// `validation_threshold` is null.
pub const LATE_MODEL: &str = "google/gemma-3-27b-it";

/// A chain `Model` (uint64 fields as strings, as the gateway prints them).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainModel {
    pub proposed_by: String,
    pub id: String,
    pub units_of_compute_per_token: String,
    pub hf_repo: String,
    pub hf_commit: String,
    pub model_args: Vec<String>,
    pub v_ram: String,
    pub throughput_per_nonce: String,
    pub validation_threshold: Option<Threshold>,
}

/// The chain's `Decimal`: `value × 10^exponent`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Threshold {
    pub value: String,
    pub exponent: i32,
}

/// One model's 24 h counts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelStatsEntry {
    pub model: String,
    pub ai_tokens: String,
    pub inferences: i64,
}

impl Model {
    /// The height [`LATE_MODEL`] was added at.
    pub fn late_model_height(&self) -> u64 {
        self.effective_block_height(self.current_epoch)
    }

    /// `models_all` at `height`, sorted by id (the chain's store order).
    pub fn models_all(&self, height: u64) -> Vec<ChainModel> {
        let mut ids: Vec<&str> = MODEL_NAMES.to_vec();
        if height >= self.late_model_height() {
            ids.push(LATE_MODEL);
        }
        ids.sort_unstable();
        ids.into_iter()
            .enumerate()
            .map(|(k, id)| {
                let mut r = Rng::new(self.seed(), Purpose::Misc, &[0x6d6f64, k as u64]);
                let late = id == LATE_MODEL;
                ChainModel {
                    proposed_by: "genesis".into(),
                    id: id.into(),
                    units_of_compute_per_token: r.range(100, 1_000).to_string(),
                    hf_repo: id.into(),
                    hf_commit: hex::encode(r.range(1 << 40, 1 << 48).to_be_bytes()),
                    model_args: vec!["--max-model-len".into(), "240000".into()],
                    v_ram: r.range(24, 640).to_string(),
                    throughput_per_nonce: r.range(1_000, 100_000).to_string(),
                    validation_threshold: (!late).then(|| Threshold {
                        value: r.range(90_000, 99_999).to_string(),
                        exponent: -5,
                    }),
                }
            })
            .collect()
    }

    /// The last 24 h's counts of the hosted models, in a per-epoch shuffled
    /// order (the chain iterates a Go map).
    pub fn models_stats(&self) -> Vec<ModelStatsEntry> {
        let c = self.current_epoch;
        let mut out: Vec<(u64, ModelStatsEntry)> = MODEL_NAMES
            .iter()
            .enumerate()
            .map(|(k, id)| {
                let mut r = Rng::new(self.seed(), Purpose::Misc, &[0x737461, c, k as u64]);
                let inferences = r.range(100, 50_000);
                let entry = ModelStatsEntry {
                    model: (*id).into(),
                    ai_tokens: (inferences * r.range(200, 4_000)).to_string(),
                    inferences: inferences as i64,
                };
                (r.below(1_000), entry)
            })
            .collect();
        out.sort_by_key(|(order, _)| *order);
        out.into_iter().map(|(_, e)| e).collect()
    }

    /// `restriction_end_block` of the restrictions params.
    pub fn restriction_end_block(&self) -> u64 {
        self.poc_start_block_height(RESTRICTION_END_EPOCH)
    }
}
