//! Typed upstream responses of the network-wide views (timeline, models).
//! As in [`super::types`]: unknown fields ignored, numbers-as-strings read,
//! nulls tolerated (the tracker answered 500 on a null `poc_weight` or
//! `validation_threshold`).

use serde::{Deserialize, Serialize};
use serde_with::{serde_as, DefaultOnNull};

use super::num;

/// A block's height and its header time (RFC 3339, verbatim).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockStamp {
    pub height: u64,
    pub timestamp: String,
}

/// `/chain-rpc/block[?height=N]`, read for the header's height and time.
#[derive(Debug, Clone, Deserialize)]
pub struct RpcBlockStamp {
    pub result: RpcBlockStampResult,
}
#[derive(Debug, Clone, Deserialize)]
pub struct RpcBlockStampResult {
    pub block: RpcBlockStampBlock,
}
#[derive(Debug, Clone, Deserialize)]
pub struct RpcBlockStampBlock {
    pub header: RpcBlockStampHeader,
}
#[serde_as]
#[derive(Debug, Clone, Deserialize)]
pub struct RpcBlockStampHeader {
    #[serde_as(as = "num::Int")]
    pub height: u64,
    pub time: String,
}

/// `/chain-api/productscience/inference/restrictions/params`
#[derive(Debug, Clone, Deserialize)]
pub struct RestrictionsParamsResponse {
    pub params: RestrictionsParams,
}
#[serde_as]
#[derive(Debug, Clone, Deserialize)]
pub struct RestrictionsParams {
    /// A uint64 string, e.g. `"1555000"`.
    #[serde_as(as = "num::Int")]
    pub restriction_end_block: u64,
}

/// `.../inference/models_all`
#[serde_as]
#[derive(Debug, Clone, Deserialize)]
pub struct ModelsAllResponse {
    #[serde_as(as = "DefaultOnNull")]
    #[serde(default)]
    pub model: Vec<ChainModel>,
}

/// One model as the chain describes it. The uint64 fields are kept as the
/// chain's decimal strings (the API serves them as strings).
#[serde_as]
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ChainModel {
    pub id: String,
    #[serde_as(as = "DefaultOnNull")]
    #[serde(default)]
    pub proposed_by: String,
    #[serde(default = "zero", deserialize_with = "num::counter")]
    pub v_ram: String,
    #[serde(default = "zero", deserialize_with = "num::counter")]
    pub throughput_per_nonce: String,
    #[serde(default = "zero", deserialize_with = "num::counter")]
    pub units_of_compute_per_token: String,
    #[serde_as(as = "DefaultOnNull")]
    #[serde(default)]
    pub hf_repo: String,
    #[serde_as(as = "DefaultOnNull")]
    #[serde(default)]
    pub hf_commit: String,
    #[serde_as(as = "DefaultOnNull")]
    #[serde(default)]
    pub model_args: Vec<String>,
    /// Null (or absent) is served as null, never a failure.
    #[serde(default)]
    pub validation_threshold: Option<Decimal>,
}

fn zero() -> String {
    "0".into()
}

/// The chain's `Decimal`: `value × 10^exponent`.
#[serde_as]
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Decimal {
    #[serde(default = "zero", deserialize_with = "num::counter")]
    pub value: String,
    #[serde_as(as = "DefaultOnNull<num::Int>")]
    #[serde(default)]
    pub exponent: i32,
}

/// `.../inference/models_stats_by_time`
#[serde_as]
#[derive(Debug, Clone, Deserialize)]
pub struct ModelsStatsResponse {
    #[serde_as(as = "DefaultOnNull")]
    #[serde(default)]
    pub stats_models: Vec<ModelStats>,
}

#[serde_as]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelStats {
    #[serde_as(as = "DefaultOnNull")]
    #[serde(default)]
    pub model: String,
    /// An int64 string.
    #[serde(default = "zero", deserialize_with = "num::counter")]
    pub ai_tokens: String,
    #[serde_as(as = "DefaultOnNull<num::Int>")]
    #[serde(default)]
    pub inferences: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nulls_and_numbers_as_strings_are_read() {
        let m: ModelsAllResponse = serde_json::from_value(serde_json::json!({"model": [
            {"id": "a", "proposed_by": null, "v_ram": "80", "throughput_per_nonce": 1000,
             "units_of_compute_per_token": "100", "hf_repo": "q/a", "hf_commit": "abc",
             "model_args": null, "validation_threshold": null},
            {"id": "b", "validation_threshold": {"value": "95814", "exponent": -5}}
        ]}))
        .unwrap();
        assert_eq!(m.model[0].validation_threshold, None);
        assert_eq!(m.model[0].throughput_per_nonce, "1000");
        assert!(m.model[0].model_args.is_empty());
        assert_eq!(m.model[0].proposed_by, "");
        assert_eq!(
            m.model[1].validation_threshold,
            Some(Decimal {
                value: "95814".into(),
                exponent: -5
            })
        );
        assert_eq!(m.model[1].v_ram, "0");
        let none: ModelsAllResponse = serde_json::from_str(r#"{"model": null}"#).unwrap();
        assert!(none.model.is_empty());
        let s: ModelsStatsResponse = serde_json::from_value(serde_json::json!({"stats_models": [
            {"model": "a", "ai_tokens": "123", "inferences": 4},
            {"model": "b", "ai_tokens": 5, "inferences": "6"}
        ]}))
        .unwrap();
        assert_eq!(
            (
                s.stats_models[1].ai_tokens.as_str(),
                s.stats_models[1].inferences
            ),
            ("5", 6)
        );
        let r: RestrictionsParamsResponse = serde_json::from_str(
            r#"{"params": {"restriction_end_block": "1555000", "emergency_transfer_exemptions": []}}"#,
        )
        .unwrap();
        assert_eq!(r.params.restriction_end_block, 1_555_000);
    }
}
