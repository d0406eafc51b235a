//! Response bodies, field for field as the frontend expects (docs/contract.md 1.3,
//! 1.5).

use serde::Serialize;

use crate::domain::{MlNodeView, ParticipantStats, RewardView, WarmKey};
use crate::table::{BlockInfo, EpochSnapshot};

/// `GET /v1/inference/current` and `/v1/inference/epochs/{id}`. The rows
/// are any sequence that serialises as `ParticipantStats` objects (the
/// stored rows, or those rows with jail and health merged one at a time).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InferenceResponse<P> {
    pub epoch_id: u64,
    pub height: u64,
    pub participants: P,
    pub cached_at: Option<String>,
    pub is_current: bool,
    pub total_assigned_rewards_gnk: Option<u64>,
    pub current_block_height: Option<u64>,
    pub current_block_timestamp: Option<String>,
    pub avg_block_time: Option<f64>,
    pub next_poc_start_block: Option<u64>,
    pub set_new_validators_block: Option<u64>,
}

impl<'a> InferenceResponse<&'a [ParticipantStats]> {
    pub fn new(snapshot: &'a EpochSnapshot, is_current: bool, total: Option<u64>) -> Self {
        let h = &snapshot.header;
        // The chain-tip fields describe the current epoch only.
        let block = if is_current {
            h.block.clone()
        } else {
            BlockInfo::default()
        };
        Self {
            epoch_id: h.epoch_id,
            height: h.height,
            participants: &snapshot.participants,
            cached_at: Some(crate::time::rfc3339_ms(h.fetched_at_ms)),
            is_current,
            total_assigned_rewards_gnk: if is_current { None } else { total },
            current_block_height: block.current_block_height,
            current_block_timestamp: block.current_block_timestamp,
            avg_block_time: block.avg_block_time,
            next_poc_start_block: block.next_poc_start_block,
            set_new_validators_block: block.set_new_validators_block,
        }
    }

    /// The same answer with other rows.
    pub fn with_participants<Q>(self, participants: Q) -> InferenceResponse<Q> {
        InferenceResponse {
            epoch_id: self.epoch_id,
            height: self.height,
            participants,
            cached_at: self.cached_at,
            is_current: self.is_current,
            total_assigned_rewards_gnk: self.total_assigned_rewards_gnk,
            current_block_height: self.current_block_height,
            current_block_timestamp: self.current_block_timestamp,
            avg_block_time: self.avg_block_time,
            next_poc_start_block: self.next_poc_start_block,
            set_new_validators_block: self.set_new_validators_block,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SeedView {
    pub participant: String,
    pub epoch_index: u64,
    pub signature: String,
}

/// `GET /v1/participants/{id}?epoch_id=N`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ParticipantDetails {
    pub participant: ParticipantStats,
    pub rewards: Vec<RewardView>,
    pub seed: Option<SeedView>,
    pub warm_keys: Vec<WarmKey>,
    pub ml_nodes: Vec<MlNodeView>,
    /// Parts the chain could not give and nothing cached could replace
    /// (absent when the answer is complete).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub missing: Vec<&'static str>,
}
