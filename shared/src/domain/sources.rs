//! What the domain reads from the chain, in types it owns. The chain
//! adapter (`chain`) converts the node's bodies into these, so a field a
//! chain upgrade renames changes that conversion, never the rows, the
//! stored items or the answers. The serialised ones ([`Tallies`],
//! [`HardwareNode`]) are part of the table's item schema (README, item
//! design): their field names are ours and stay put.

use serde::{Deserialize, Serialize};

/// An epoch's participant set (`/v1/epochs/{N}/participants`).
#[derive(Debug, Clone, PartialEq)]
pub struct EpochRoster {
    pub participants: Vec<EpochMember>,
    pub epoch_group_id: u64,
    pub epoch_id: Option<u64>,
    pub poc_start_block_height: Option<u64>,
    pub effective_block_height: u64,
    pub created_at_block_height: Option<u64>,
}

/// One member of an epoch: its weight, and its models with the ML nodes
/// serving each (`models[i]` pairs with `ml_nodes[i]` by position).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EpochMember {
    pub index: String,
    pub validator_key: Option<String>,
    pub weight: Option<i64>,
    pub inference_url: Option<String>,
    pub models: Vec<String>,
    pub seed_signature: Option<String>,
    pub ml_nodes: Vec<Vec<MlNodeWeight>>,
}

/// An ML node's PoC weight in an epoch.
#[derive(Debug, Clone, PartialEq)]
pub struct MlNodeWeight {
    pub node_id: Option<String>,
    pub poc_weight: Option<i64>,
}

/// One entry of the chain's participant list (as of a height).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ListedMember {
    pub index: String,
    pub address: Option<String>,
    pub inference_url: Option<String>,
    pub status: Option<String>,
    pub tallies: Option<Tallies>,
}

/// A participant's seven counters in an epoch, as decimal strings (the
/// coin amounts can pass what a JSON number carries exactly). Served and
/// stored as `current_epoch_stats`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tallies {
    #[serde(default = "zero")]
    pub inference_count: String,
    #[serde(default = "zero")]
    pub missed_requests: String,
    #[serde(default = "zero")]
    pub earned_coins: String,
    #[serde(default = "zero")]
    pub rewarded_coins: String,
    #[serde(default = "zero")]
    pub burned_coins: String,
    #[serde(default = "zero")]
    pub validated_inferences: String,
    #[serde(default = "zero")]
    pub invalidated_inferences: String,
}

fn zero() -> String {
    "0".into()
}

impl Default for Tallies {
    fn default() -> Self {
        Self {
            inference_count: zero(),
            missed_requests: zero(),
            earned_coins: zero(),
            rewarded_coins: zero(),
            burned_coins: zero(),
            validated_inferences: zero(),
            invalidated_inferences: zero(),
        }
    }
}

/// One of a participant's hardware (ML) nodes, as stored and served.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HardwareNode {
    pub local_id: String,
    pub status: String,
    pub models: Vec<String>,
    pub hardware: Vec<DeviceCount>,
    pub host: String,
    pub port: String,
}

/// A kind of device on a node and how many there are.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceCount {
    #[serde(rename = "type")]
    pub kind: String,
    pub count: u64,
}

/// One authz grant given by a participant: to whom, for which message
/// type (its URL), until when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    pub grantee: String,
    pub msg: Option<String>,
    pub expiration: Option<String>,
}

/// A model as the chain describes it (`models_all`); its uint64 fields are
/// decimal strings (served as strings).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ModelSpec {
    pub id: String,
    pub proposed_by: String,
    pub v_ram: String,
    pub throughput_per_nonce: String,
    pub units_of_compute_per_token: String,
    pub hf_repo: String,
    pub hf_commit: String,
    pub model_args: Vec<String>,
    pub validation_threshold: Option<Threshold>,
}

/// A decimal as `value × 10^exponent` (a model's validation threshold),
/// served as the chain writes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Threshold {
    pub value: String,
    pub exponent: i32,
}

/// One inference as the chain's list gives it, the fields the scan keeps
/// or sorts by. Any may be missing (one odd row never fails a page); the
/// numbers are the chain's decimal text.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListedInference {
    pub inference_id: Option<String>,
    pub status: Option<String>,
    pub assigned_to: Option<String>,
    /// `"0"` when the chain did not record it.
    pub epoch_id: Option<String>,
    pub start_block_height: Option<String>,
    /// Milliseconds since the Unix epoch.
    pub start_block_timestamp: Option<String>,
    pub validated_by: Vec<String>,
    pub prompt_hash: Option<String>,
    pub response_hash: Option<String>,
    pub prompt_token_count: Option<String>,
    pub completion_token_count: Option<String>,
    pub model: Option<String>,
}
