//! The response item types, with exactly the field names and JSON types of
//! the recorded chain responses (counters as strings, `weight` as an int,
//! `epoch_index` a string in summaries but an int in seeds, ...).

use serde::{Deserialize, Serialize};

/// Serializes a `u64` as a JSON string, the way Cosmos encodes 64-bit ints.
/// (serde_with's `DisplayFromStr` does this, but needs Rust 1.88 > the workspace's 1.85.)
mod u64_string {
    use serde::{de::Error, Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(value: &u64, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(value)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
        String::deserialize(d)?.parse().map_err(D::Error::custom)
    }
}

/// One entry of `active_participants.participants` (`/v1/epochs/{N}/participants`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EpochParticipant {
    pub index: String,
    pub validator_key: String,
    /// Sum of the `poc_weight` of its ML nodes.
    pub weight: i64,
    pub inference_url: String,
    pub models: Vec<String>,
    pub seed: SeedSignature,
    pub ml_nodes: Vec<MlNodeGroup>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeedSignature {
    pub participant: String,
    /// An int here (a string in performance summaries).
    pub epoch_index: u64,
    /// 128 hex characters.
    pub signature: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MlNodeGroup {
    pub ml_nodes: Vec<MlNode>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MlNode {
    pub node_id: String,
    /// May be exactly 0, or null (the tracker failed on it; we count 0).
    pub poc_weight: Option<i64>,
    pub timeslot_allocation: Vec<bool>,
}

/// One entry of the participant list (`.../inference/participant`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListParticipant {
    pub index: String,
    pub address: String,
    /// Always -1 in the list (the epoch entry has the real weight).
    pub weight: i64,
    /// Unix milliseconds, as a string.
    #[serde(with = "u64_string")]
    pub join_time: u64,
    #[serde(with = "u64_string")]
    pub join_height: u64,
    /// Unix milliseconds, as a string; "0" when it never served an inference.
    #[serde(with = "u64_string")]
    pub last_inference_time: u64,
    /// May be empty.
    pub inference_url: String,
    /// `ACTIVE` or `RAMPING`.
    pub status: String,
    #[serde(with = "u64_string")]
    pub coin_balance: u64,
    /// May be empty.
    pub validator_key: String,
    #[serde(with = "u64_string")]
    pub consecutive_invalid_inferences: u64,
    pub worker_public_key: String,
    /// An int.
    pub epochs_completed: u64,
    pub current_epoch_stats: EpochStats,
}

/// Per-epoch counters; every one is a string on the wire.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EpochStats {
    #[serde(with = "u64_string")]
    pub inference_count: u64,
    #[serde(with = "u64_string")]
    pub missed_requests: u64,
    #[serde(with = "u64_string")]
    pub earned_coins: u64,
    #[serde(with = "u64_string")]
    pub rewarded_coins: u64,
    #[serde(with = "u64_string")]
    pub burned_coins: u64,
    #[serde(with = "u64_string")]
    pub validated_inferences: u64,
    #[serde(with = "u64_string")]
    pub invalidated_inferences: u64,
}

/// `epochPerformanceSummary` of `.../epoch_performance_summary/{epoch}/{participant}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PerformanceSummary {
    /// A string here (an int in seeds).
    #[serde(with = "u64_string")]
    pub epoch_index: u64,
    pub participant_id: String,
    #[serde(flatten)]
    pub stats: EpochStats,
    pub claimed: bool,
}

/// One authz grant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grant {
    pub granter: String,
    pub grantee: String,
    pub authorization: Authorization,
    /// RFC 3339 with nanoseconds and `Z`; distinct per grantee.
    pub expiration: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Authorization {
    #[serde(rename = "@type")]
    pub type_url: String,
    /// Full type URL of the granted message, e.g. `/inference.inference.MsgStartInference`.
    pub msg: String,
}

/// A grantee whose grants cover all 24 [`WARM_KEY_MSG_TYPES`](super::params::WARM_KEY_MSG_TYPES)
/// by exact type name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WarmKey {
    pub grantee_address: String,
    /// The grantee's grant expiration (all its grants share it).
    pub granted_at: String,
}

/// One entry of `nodes.hardware_nodes`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HardwareNode {
    pub local_id: String,
    pub status: String,
    pub models: Vec<String>,
    /// May be empty.
    pub hardware: Vec<Hardware>,
    pub host: String,
    /// A string, e.g. "8080".
    pub port: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hardware {
    #[serde(rename = "type")]
    pub kind: String,
    pub count: u32,
}

/// Block heights of one epoch's stages (`/v1/epochs/latest`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EpochStages {
    pub epoch_index: u64,
    pub poc_start: u64,
    pub poc_generation_wind_down: u64,
    pub poc_generation_end: u64,
    pub poc_validation_start: u64,
    pub poc_validation_wind_down: u64,
    pub poc_validation_end: u64,
    pub set_new_validators: u64,
    pub claim_money: u64,
    pub inference_validation_cutoff: u64,
    pub next_poc_start: u64,
    pub poc_exchange_window: BlockWindow,
    pub poc_validation_exchange_window: BlockWindow,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockWindow {
    pub start: u64,
    pub end: u64,
}

/// One inference as the chain lists it (the fields the tracker reads, the
/// payloads and a few more).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Inference {
    pub index: String,
    pub inference_id: String,
    pub prompt_hash: String,
    pub prompt_payload: String,
    pub response_hash: String,
    pub response_payload: String,
    pub prompt_token_count: String,
    pub completion_token_count: String,
    pub requested_by: String,
    pub executed_by: String,
    pub status: String,
    pub start_block_height: String,
    pub end_block_height: String,
    pub start_block_timestamp: String,
    pub end_block_timestamp: String,
    pub model: String,
    pub max_tokens: String,
    pub actual_cost: String,
    pub escrow_amount: String,
    pub assigned_to: String,
    pub validated_by: Vec<String>,
    /// `"0"` for about 10% (the chain did not record it).
    pub epoch_id: String,
}

/// An inference with the epoch it truly belongs to (tests' truth; the
/// listed `epoch_id` may be `"0"`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InferenceTruth {
    pub epoch: u64,
    pub inference: Inference,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ValidatorPubkey {
    #[serde(rename = "@type")]
    pub type_url: &'static str,
    pub key: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ValidatorDescription {
    pub moniker: String,
    pub identity: String,
    pub website: String,
    pub security_contact: String,
    pub details: String,
}

/// A staking validator, shaped like cosmos-sdk's REST answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Validator {
    pub operator_address: String,
    pub consensus_pubkey: ValidatorPubkey,
    pub jailed: bool,
    pub status: &'static str,
    pub tokens: String,
    pub delegator_shares: String,
    pub description: ValidatorDescription,
}

/// How a participant's node answers `/health`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeBehaviour {
    Healthy,
    Unavailable,
    /// 302 to a healthy node's `/health` (a probe must not follow it).
    Redirect(usize),
    /// The inference URL points where nothing listens.
    Unreachable,
}
