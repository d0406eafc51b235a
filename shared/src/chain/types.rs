//! Typed upstream responses. Unknown fields are ignored, numbers-as-strings
//! are read (see [`super::num`]), and fields the chain may omit or null have
//! defaults, so one odd row never fails a whole response.

use serde::Deserialize;
use serde_with::{serde_as, DefaultOnNull};

use super::num;

/// `/v1/epochs/latest`: the stages typed (what the functions compute
/// with) and as the node wrote them (their field names vary by node
/// version; the timeline passes them through). One read serves both.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(try_from = "LatestEpochBody")]
pub struct LatestEpoch {
    pub block_height: u64,
    pub latest_epoch: LatestEpochRef,
    pub epoch_stages: EpochStages,
    pub next_epoch_stages: EpochStages,
    pub epoch_params: EpochParams,
    /// `epoch_stages` verbatim (`None`: absent or null).
    pub epoch_stages_raw: Option<serde_json::Value>,
    /// `next_epoch_stages` verbatim.
    pub next_epoch_stages_raw: Option<serde_json::Value>,
}

#[serde_as]
#[derive(Deserialize)]
struct LatestEpochBody {
    #[serde_as(as = "num::Int")]
    block_height: u64,
    latest_epoch: LatestEpochRef,
    #[serde(default)]
    epoch_stages: Option<serde_json::Value>,
    #[serde(default)]
    next_epoch_stages: Option<serde_json::Value>,
    #[serde(default)]
    epoch_params: Option<EpochParams>,
}

impl TryFrom<LatestEpochBody> for LatestEpoch {
    type Error = serde_json::Error;

    fn try_from(b: LatestEpochBody) -> Result<Self, Self::Error> {
        let typed = |raw: &Option<serde_json::Value>| match raw {
            Some(v) => EpochStages::deserialize(v),
            None => Ok(EpochStages::default()),
        };
        Ok(Self {
            block_height: b.block_height,
            latest_epoch: b.latest_epoch,
            epoch_stages: typed(&b.epoch_stages)?,
            next_epoch_stages: typed(&b.next_epoch_stages)?,
            epoch_params: b.epoch_params.unwrap_or_default(),
            epoch_stages_raw: b.epoch_stages,
            next_epoch_stages_raw: b.next_epoch_stages,
        })
    }
}

#[serde_as]
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct LatestEpochRef {
    #[serde_as(as = "num::Int")]
    pub index: u64,
    #[serde_as(as = "Option<num::Int>")]
    pub poc_start_block_height: Option<u64>,
}

#[serde_as]
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
pub struct EpochStages {
    #[serde_as(as = "Option<num::Int>")]
    pub epoch_index: Option<u64>,
    #[serde_as(as = "Option<num::Int>")]
    pub next_poc_start: Option<u64>,
    #[serde_as(as = "Option<num::Int>")]
    pub set_new_validators: Option<u64>,
}

#[serde_as]
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
pub struct EpochParams {
    #[serde_as(as = "Option<num::Int>")]
    pub epoch_length: Option<u64>,
}

/// `/v1/epochs/{current|N}/participants`
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct EpochParticipantsResponse {
    pub active_participants: ActiveParticipants,
}

#[serde_as]
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct ActiveParticipants {
    // Required (null allowed): a body without it is the wrong shape, not
    // an empty epoch.
    #[serde_as(as = "DefaultOnNull")]
    pub participants: Vec<EpochParticipant>,
    #[serde_as(as = "num::Int")]
    pub epoch_group_id: u64,
    #[serde_as(as = "Option<num::Int>")]
    pub epoch_id: Option<u64>,
    #[serde_as(as = "Option<num::Int>")]
    pub poc_start_block_height: Option<u64>,
    #[serde_as(as = "num::Int")]
    pub effective_block_height: u64,
    #[serde_as(as = "Option<num::Int>")]
    pub created_at_block_height: Option<u64>,
}

#[serde_as]
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct EpochParticipant {
    pub index: String,
    #[serde(default)]
    pub validator_key: Option<String>,
    #[serde_as(as = "Option<num::Int>")]
    pub weight: Option<i64>,
    #[serde(default)]
    pub inference_url: Option<String>,
    #[serde(default)]
    #[serde_as(as = "DefaultOnNull")]
    pub models: Vec<String>,
    /// The tracker crashed on a null seed (docs/contract.md 5.11); here it is optional.
    #[serde(default)]
    pub seed: Option<Seed>,
    #[serde(default)]
    #[serde_as(as = "DefaultOnNull")]
    pub ml_nodes: Vec<MlNodeGroup>,
}

#[serde_as]
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct Seed {
    #[serde(default)]
    pub participant: Option<String>,
    #[serde_as(as = "Option<num::Int>")]
    pub epoch_index: Option<u64>,
    #[serde(default)]
    pub signature: Option<String>,
}

#[serde_as]
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
pub struct MlNodeGroup {
    #[serde(default)]
    #[serde_as(as = "DefaultOnNull")]
    pub ml_nodes: Vec<MlNode>,
}

#[serde_as]
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct MlNode {
    #[serde(default)]
    pub node_id: Option<String>,
    #[serde_as(as = "Option<num::Int>")]
    pub poc_weight: Option<i64>,
}

/// `/v1/epochs/{N}/participants` read for its member ids only: the rest of
/// each entry is skipped while parsing (a 10,000-participant epoch is ~7 MB
/// of JSON; the ids are 0.5 MB).
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct EpochMembersResponse {
    pub active_participants: EpochMembers,
}

#[serde_as]
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct EpochMembers {
    #[serde_as(as = "DefaultOnNull")]
    pub participants: Vec<MemberId>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct MemberId {
    pub index: String,
}

/// `/chain-rpc/status`
#[derive(Debug, Clone, Deserialize)]
pub struct RpcStatus {
    pub result: RpcStatusResult,
}
#[derive(Debug, Clone, Deserialize)]
pub struct RpcStatusResult {
    pub sync_info: SyncInfo,
}
#[serde_as]
#[derive(Debug, Clone, Deserialize)]
pub struct SyncInfo {
    #[serde_as(as = "num::Int")]
    pub latest_block_height: u64,
}

/// `/chain-api/productscience/inference/inference/participant`
#[serde_as]
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct ParticipantListResponse {
    #[serde_as(as = "DefaultOnNull")]
    pub participant: Vec<ListedParticipant>,
    #[serde(default)]
    pub pagination: Option<Pagination>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct ListedParticipant {
    pub index: String,
    #[serde(default)]
    pub address: Option<String>,
    #[serde(default)]
    pub inference_url: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub current_epoch_stats: Option<CurrentEpochStats>,
}

/// The seven counters, kept as the chain's decimal strings.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct CurrentEpochStats {
    #[serde(default = "zero", deserialize_with = "num::counter")]
    pub inference_count: String,
    #[serde(default = "zero", deserialize_with = "num::counter")]
    pub missed_requests: String,
    #[serde(default = "zero", deserialize_with = "num::counter")]
    pub earned_coins: String,
    #[serde(default = "zero", deserialize_with = "num::counter")]
    pub rewarded_coins: String,
    #[serde(default = "zero", deserialize_with = "num::counter")]
    pub burned_coins: String,
    #[serde(default = "zero", deserialize_with = "num::counter")]
    pub validated_inferences: String,
    #[serde(default = "zero", deserialize_with = "num::counter")]
    pub invalidated_inferences: String,
}

fn zero() -> String {
    "0".into()
}

impl Default for CurrentEpochStats {
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

/// `epoch_performance_summary/{epoch}/{participant}`
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct PerformanceSummaryResponse {
    #[serde(rename = "epochPerformanceSummary")]
    pub summary: PerformanceSummary,
}

#[serde_as]
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct PerformanceSummary {
    #[serde_as(as = "num::Int")]
    pub epoch_index: u64,
    pub participant_id: String,
    #[serde(default = "zero", deserialize_with = "num::counter")]
    pub rewarded_coins: String,
    #[serde(default)]
    #[serde_as(as = "DefaultOnNull")]
    pub claimed: bool,
}

/// `cosmos/authz/v1beta1/grants/granter/{addr}`
#[serde_as]
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct GrantsPage {
    #[serde_as(as = "DefaultOnNull")]
    pub grants: Vec<Grant>,
    #[serde(default)]
    pub pagination: Option<Pagination>,
}

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct Grant {
    #[serde(default)]
    pub granter: Option<String>,
    pub grantee: String,
    #[serde(default)]
    pub authorization: Option<Authorization>,
    #[serde(default)]
    pub expiration: Option<String>,
}

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct Authorization {
    #[serde(rename = "@type", default)]
    pub type_url: Option<String>,
    #[serde(default)]
    pub msg: Option<String>,
}

#[serde_as]
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
pub struct Pagination {
    #[serde(default)]
    pub next_key: Option<String>,
    #[serde_as(as = "Option<num::Int>")]
    pub total: Option<u64>,
}

/// `hardware_nodes/{addr}`
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct HardwareNodesResponse {
    #[serde(deserialize_with = "Option::deserialize")]
    pub nodes: Option<HardwareNodes>,
}

#[serde_as]
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct HardwareNodes {
    #[serde_as(as = "DefaultOnNull")]
    pub hardware_nodes: Vec<HardwareNode>,
}

/// One ML node as the chain reports it (no `poc_weight`; that comes from the
/// epoch's `ml_nodes_map`).
#[serde_as]
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct HardwareNode {
    pub local_id: String,
    #[serde(default)]
    #[serde_as(deserialize_as = "DefaultOnNull")]
    pub status: String,
    #[serde(default)]
    #[serde_as(deserialize_as = "DefaultOnNull")]
    pub models: Vec<String>,
    #[serde(default)]
    #[serde_as(deserialize_as = "DefaultOnNull")]
    pub hardware: Vec<Hardware>,
    #[serde(default)]
    #[serde_as(deserialize_as = "DefaultOnNull")]
    pub host: String,
    #[serde(default, deserialize_with = "num::counter_or_empty")]
    pub port: String,
}

#[serde_as]
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Hardware {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    #[serde_as(deserialize_as = "DefaultOnNull<num::Int>")]
    pub count: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A body of the wrong shape is an error, never an empty answer that
    /// would be cached as a fact.
    #[test]
    fn wrong_shapes_are_errors_not_empty_answers() {
        let wrong = r#"{"unexpected":true}"#;
        assert!(serde_json::from_str::<ParticipantListResponse>(wrong).is_err());
        assert!(serde_json::from_str::<HardwareNodesResponse>(wrong).is_err());
        assert!(
            serde_json::from_str::<HardwareNodesResponse>(r#"{"nodes":{"participant":"x"}}"#)
                .is_err()
        );
        assert!(serde_json::from_str::<GrantsPage>(wrong).is_err());
        assert!(serde_json::from_str::<PerformanceSummaryResponse>(wrong).is_err());
        assert!(serde_json::from_str::<EpochParticipantsResponse>(
            r#"{"active_participants":{"epoch_group_id":1,"effective_block_height":2}}"#
        )
        .is_err());
        // Null lists are empty lists (the chain writes them so).
        assert_eq!(
            serde_json::from_str::<GrantsPage>(r#"{"grants":null}"#)
                .unwrap()
                .grants,
            vec![]
        );
        assert_eq!(
            serde_json::from_str::<HardwareNodesResponse>(r#"{"nodes":null}"#)
                .unwrap()
                .nodes,
            None
        );
        assert!(
            serde_json::from_str::<ParticipantListResponse>(r#"{"participant":[]}"#)
                .unwrap()
                .participant
                .is_empty()
        );
    }

    #[test]
    fn numbers_as_strings_or_numbers() {
        let s: PerformanceSummaryResponse = serde_json::from_str(
            r#"{"epochPerformanceSummary":{"epoch_index":"56","participant_id":"p","rewarded_coins":38627452617213,"claimed":null}}"#,
        )
        .unwrap();
        assert_eq!(
            (
                s.summary.epoch_index,
                s.summary.rewarded_coins.as_str(),
                s.summary.claimed
            ),
            (56, "38627452617213", false)
        );
        let l: LatestEpoch =
            serde_json::from_str(r#"{"block_height":"887711","latest_epoch":{"index":56}}"#)
                .unwrap();
        assert_eq!(
            (
                l.block_height,
                l.latest_epoch.index,
                l.epoch_stages.next_poc_start
            ),
            (887711, 56, None)
        );
        // The stage objects typed and verbatim, from one body.
        let l: LatestEpoch = serde_json::from_str(
            r#"{"block_height":"10","latest_epoch":{"index":5},
                "epoch_stages":{"next_poc_start":"120","node_only_field":"x"},
                "next_epoch_stages":null,"epoch_params":{"epoch_length":"15000"}}"#,
        )
        .unwrap();
        assert_eq!(l.epoch_stages.next_poc_start, Some(120));
        assert_eq!(
            l.epoch_stages_raw,
            Some(serde_json::json!({"next_poc_start": "120", "node_only_field": "x"}))
        );
        assert_eq!(
            (l.next_epoch_stages_raw, l.next_epoch_stages),
            (None, EpochStages::default())
        );
        assert_eq!(l.epoch_params.epoch_length, Some(15000));
        assert!(serde_json::from_str::<LatestEpoch>(
            r#"{"block_height":"1","latest_epoch":{"index":5},"epoch_stages":{"next_poc_start":"soon"}}"#
        )
        .is_err());
        assert!(serde_json::from_str::<LatestEpoch>(
            r#"{"block_height":"-1","latest_epoch":{"index":56}}"#
        )
        .is_err());
    }
}
