//! Renders model data into the chain's wire format: the body of each chain
//! endpoint, as the real node shapes it. The envelope and error helpers live
//! in [`crate::reply`], pagination in [`crate::pagination`].

use axum::body::Bytes;
use axum::http::StatusCode;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde::Serialize;
use serde_json::{json, Value};

use crate::model::{
    decode_validator_key, encode_validator_key, is_valid_address, keybase_username,
    EpochParticipant, Grant, ListParticipant, Model, NodeBehaviour, INFERENCE_VALIDATION_CUTOFF,
    POC_STAGE_DURATION, POC_START_OFFSET, POC_VALIDATION_DELAY, POC_VALIDATION_DURATION,
    SET_NEW_VALIDATORS_DELAY,
};
use crate::pagination::PageRequest;
use crate::prng::{hash, Purpose, Rng};
use crate::reply::{invalid_argument, not_found, rpc_error, to_bytes, Reply};

const CHAIN_ID: &str = "gonka-mainnet";

fn random_bytes<const N: usize>(model: &Model, parts: &[u64]) -> [u8; N] {
    let mut out = [0u8; N];
    Rng::new(model.seed(), Purpose::Misc, parts).fill(&mut out);
    out
}

/// A string folded through the simulator's own [`hash`] (not a FNV or SipHash
/// crate) so the derived bytes stay as stable as the rest of the data.
fn str_hash(s: &str) -> u64 {
    hash(&s.bytes().map(u64::from).collect::<Vec<_>>())
}

/// `GET /chain-api/productscience/inference/restrictions/params`.
pub(crate) fn restrictions_params(model: &Model) -> Reply {
    Reply::json(
        StatusCode::OK,
        &json!({"params": {
            "restriction_end_block": model.restriction_end_block().to_string(),
            "emergency_transfer_exemptions": [],
            "exemption_usage_tracking": [],
        }}),
    )
}

/// `GET .../inference/models_all` at `height`.
pub(crate) fn models_all(model: &Model, height: u64) -> Reply {
    Reply::json(StatusCode::OK, &json!({"model": model.models_all(height)}))
}

/// `GET .../inference/models_stats_by_time` (the last 24 h).
pub(crate) fn models_stats(model: &Model) -> Reply {
    Reply::json(
        StatusCode::OK,
        &json!({"stats_models": model.models_stats()}),
    )
}

/// `GET /v1/epochs/latest`.
pub(crate) fn latest(model: &Model) -> Reply {
    let c = model.current_epoch();
    Reply::json(
        StatusCode::OK,
        &json!({
            "block_height": model.latest_block_height(),
            "latest_epoch": {
                "index": c,
                "poc_start_block_height": model.poc_start_block_height(c),
            },
            "phase": "Inference",
            "epoch_stages": model.epoch_stages(c),
            "next_epoch_stages": model.epoch_stages(c + 1),
            "epoch_params": {
                "epoch_length": model.epoch_length(),
                "epoch_multiplier": 1,
                "epoch_shift": POC_START_OFFSET,
                "default_unit_of_compute_price": 100,
                "poc_stage_duration": POC_STAGE_DURATION,
                "poc_exchange_duration": 5,
                "poc_validation_delay": POC_VALIDATION_DELAY,
                "poc_validation_duration": POC_VALIDATION_DURATION,
                "set_new_validators_delay": SET_NEW_VALIDATORS_DELAY,
                "inference_validation_cutoff": INFERENCE_VALIDATION_CUTOFF,
                "inference_pruning_epoch_threshold": 2,
            },
        }),
    )
}

#[derive(Serialize)]
struct EpochParticipantsBody {
    active_participants: ActiveParticipants,
    addresses: Vec<String>,
    active_participants_bytes: String,
    proof_ops: Value,
    validators: Vec<Value>,
    block: Value,
}

#[derive(Serialize)]
struct ActiveParticipants {
    participants: Vec<EpochParticipant>,
    epoch_group_id: u64,
    poc_start_block_height: u64,
    effective_block_height: u64,
    created_at_block_height: u64,
    epoch_id: u64,
}

/// Body of `GET /v1/epochs/{N}/participants` for an existing epoch. Besides
/// the data clients use, it carries the proof fields the real node sends
/// (consensus addresses, raw bytes, proof ops, block), which clients must
/// tolerate.
pub(crate) fn epoch_participants_body(model: &Model, epoch: u64) -> Bytes {
    let participants = model.epoch_participants(epoch);
    let addresses = participants
        .iter()
        .map(|p| hex::encode_upper(random_bytes::<20>(model, &[1, str_hash(&p.validator_key)])))
        .collect();
    let created = model.created_at_block_height(epoch);
    let mut key = b"ActiveParticipants/value/".to_vec();
    key.extend_from_slice(&epoch.to_be_bytes());
    key.push(b'/');
    to_bytes(&EpochParticipantsBody {
        active_participants: ActiveParticipants {
            epoch_group_id: epoch,
            poc_start_block_height: model.poc_start_block_height(epoch),
            effective_block_height: model.effective_block_height(epoch),
            created_at_block_height: created,
            epoch_id: epoch,
            participants,
        },
        addresses,
        active_participants_bytes: hex::encode(random_bytes::<48>(model, &[2, epoch])),
        proof_ops: json!({"ops": [{
            "type": "ics23:iavl",
            "key": STANDARD.encode(&key),
            "data": STANDARD.encode(random_bytes::<64>(model, &[3, epoch])),
        }]}),
        validators: Vec::new(),
        block: json!({
            "header": {
                "version": {"block": 11},
                "chain_id": CHAIN_ID,
                "height": created + 1,
                "time": model.block_time(created + 1),
                "proposer_address": hex::encode_upper(random_bytes::<20>(model, &[4, epoch])),
            },
            "data": {"txs": null},
            "evidence": {"evidence": null},
        }),
    })
}

/// `GET /chain-rpc/status`: CometBFT encodes heights as strings.
pub(crate) fn status(model: &Model) -> Reply {
    let h = model.latest_block_height();
    Reply::json(
        StatusCode::OK,
        &json!({
            "jsonrpc": "2.0",
            "id": -1,
            "result": {
                "node_info": {
                    "protocol_version": {"p2p": "8", "block": "11", "app": "0"},
                    "id": hex::encode(random_bytes::<20>(model, &[5])),
                    "listen_addr": "tcp://0.0.0.0:26656",
                    "network": CHAIN_ID,
                    "version": "0.38.17",
                    "moniker": "sim-chain",
                },
                "sync_info": {
                    "latest_block_hash": block_hash(model, h),
                    "latest_app_hash": hex::encode_upper(random_bytes::<32>(model, &[6, h])),
                    "latest_block_height": h.to_string(),
                    "latest_block_time": model.block_time(h),
                    "earliest_block_height": "1",
                    "earliest_block_time": model.block_time(1),
                    "catching_up": false,
                },
                "validator_info": {
                    "address": hex::encode_upper(random_bytes::<20>(model, &[7])),
                    "voting_power": "0",
                },
            },
        }),
    )
}

fn block_hash(model: &Model, h: u64) -> String {
    hex::encode_upper(random_bytes::<32>(model, &[8, h]))
}

/// `GET /chain-rpc/block?height=N` (no height: the latest block).
pub(crate) fn block(model: &Model, height: Option<&str>) -> Reply {
    let latest = model.latest_block_height();
    let h = match height.map(|h| h.trim().trim_matches('"')) {
        None | Some("") => latest,
        Some(raw) => match raw.parse::<i64>() {
            Err(_) => {
                return rpc_error(
                    -32602,
                    "Invalid params",
                    format!("error converting http params to arguments: invalid height {raw:?}"),
                )
            }
            Ok(h) if h <= 0 => {
                return rpc_error(
                    -32603,
                    "Internal error",
                    format!("height must be greater than 0, but got {h}"),
                )
            }
            Ok(h) if h as u64 > latest => {
                return rpc_error(
                    -32603,
                    "Internal error",
                    format!("height {h} must be less than or equal to the current blockchain height {latest}"),
                )
            }
            Ok(h) => h as u64,
        },
    };
    let parts = json!({"total": 1, "hash": hex::encode_upper(random_bytes::<32>(model, &[9, h]))});
    Reply::json(
        StatusCode::OK,
        &json!({
            "jsonrpc": "2.0",
            "id": -1,
            "result": {
                "block_id": {"hash": block_hash(model, h), "parts": parts},
                "block": {
                    "header": {
                        "version": {"block": "11"},
                        "chain_id": CHAIN_ID,
                        "height": h.to_string(),
                        "time": model.block_time(h),
                        "last_block_id": {"hash": block_hash(model, h - 1), "parts": parts},
                        "proposer_address": hex::encode_upper(random_bytes::<20>(model, &[10, h % 16])),
                    },
                    "data": {"txs": []},
                    "evidence": {"evidence": []},
                    "last_commit": {"height": (h - 1).to_string(), "round": 0, "signatures": []},
                },
            },
        }),
    )
}

/// Resolves the `X-Cosmos-Block-Height` header: absent or 0 means latest;
/// a future or malformed height is an error, as on a real node.
pub(crate) fn query_height(model: &Model, header: Option<&str>) -> Result<u64, Reply> {
    let latest = model.latest_block_height();
    match header.map(str::trim) {
        None | Some("") => Ok(latest),
        Some(raw) => match raw.parse::<u64>() {
            Ok(0) => Ok(latest),
            Ok(h) if h > latest => Err(invalid_argument(format!(
                "invalid height {h}: cannot query with height in the future (latest {latest}); please provide a valid height"
            ))),
            // A pruning node's answer (cosmos-sdk's, through the gateway).
            Ok(h) if h < model.pruned_below() => Err(invalid_argument(format!(
                "failed to load state at height {h}; version does not exist (latest height: {latest}): invalid request"
            ))),
            Ok(h) => Ok(h),
            Err(_) => Err(invalid_argument(format!(
                "invalid height header {raw:?}: must be a non-negative integer"
            ))),
        },
    }
}

#[derive(Serialize)]
struct ParticipantListBody {
    participant: Vec<ListParticipant>,
    pagination: Value,
    /// A string, as recorded (the gateway's int64 encoding).
    block_height: String,
}

/// Body of the participant list at height `h` (one page of it).
pub(crate) fn participant_list_body(model: &Model, h: u64, page: PageRequest) -> Bytes {
    to_bytes(&ParticipantListBody {
        participant: model.participant_list_page(h, page.offset, page.limit),
        pagination: page.response(model.participant_count()),
        block_height: h.to_string(),
    })
}

/// `GET .../epoch_performance_summary/{epoch}/{participant}`.
pub(crate) fn summary(model: &Model, epoch: &str, participant: &str) -> Reply {
    let epoch = match epoch.parse::<u64>() {
        Ok(e) => e,
        Err(_) => {
            return invalid_argument(format!(
                "type mismatch, parameter: epoch_index, error: strconv.ParseUint: parsing {epoch:?}: invalid syntax"
            ))
        }
    };
    match model.performance_summary(epoch, participant) {
        Some(s) => Reply::json(StatusCode::OK, &json!({"epochPerformanceSummary": s})),
        None => not_found("not found"),
    }
}

#[derive(Serialize)]
struct GrantsBody<'a> {
    grants: &'a [Grant],
    pagination: Value,
}

/// `GET /chain-api/cosmos/authz/v1beta1/grants/granter/{addr}`: an invalid
/// address is rejected, an unknown one has no grants.
pub(crate) fn grants(model: &Model, granter: &str, page: PageRequest) -> Reply {
    if !is_valid_address(granter) {
        return invalid_argument(format!(
            "invalid granter address {granter:?}: decoding bech32 failed"
        ));
    }
    let all = model.grants(granter);
    let start = page.offset.min(all.len());
    let end = page.offset.saturating_add(page.limit).min(all.len());
    Reply::json(
        StatusCode::OK,
        &GrantsBody {
            grants: &all[start..end],
            pagination: page.response(all.len()),
        },
    )
}

/// `GET .../hardware_nodes/{addr}`: 404 for unknown participants, an empty
/// list for known ones that reported nothing.
pub(crate) fn hardware(model: &Model, participant: &str) -> Reply {
    match model.hardware_nodes(participant) {
        Some(nodes) => Reply::json(
            StatusCode::OK,
            &json!({"nodes": {"participant": participant, "hardware_nodes": nodes}}),
        ),
        None => not_found("hardware nodes not found"),
    }
}

#[derive(Serialize)]
struct InferenceListBody {
    inference: Vec<crate::model::Inference>,
    pagination: Value,
}

/// One page of the inference list as of height `h` (the inferences that
/// started at or before it), payloads included as the chain sends them.
pub(crate) fn inference_list_body(model: &Model, h: u64, page: PageRequest) -> Bytes {
    let (inference, total) = model.inference_page(h, page.offset, page.limit);
    to_bytes(&InferenceListBody {
        inference,
        pagination: page.response(total),
    })
}

/// `GET /chain-api/cosmos/staking/v1beta1/validators`: pages by
/// `pagination.limit` (default 100) and the strict `pagination.key`.
pub(crate) fn validators(
    model: &Model,
    height: u64,
    query: &std::collections::HashMap<String, String>,
) -> Reply {
    let limit = match query
        .get("pagination.limit")
        .map(|v| v.trim().parse::<usize>())
    {
        None => 100,
        Some(Ok(0)) => 100,
        Some(Ok(l)) => l.min(1_000),
        Some(Err(_)) => return invalid_argument("invalid pagination.limit"),
    };
    let offset = match query.get("pagination.key").filter(|k| !k.is_empty()) {
        None => 0,
        Some(key) => match decode_validator_key(key) {
            Some(o) => o,
            None => return invalid_argument(format!("invalid pagination key {key:?}")),
        },
    };
    let all = model.validators(height);
    let start = offset.min(all.len());
    let end = offset.saturating_add(limit).min(all.len());
    let next_key = (end < all.len()).then(|| encode_validator_key(end));
    Reply::json(
        StatusCode::OK,
        &json!({
            "validators": &all[start..end],
            "pagination": {"next_key": next_key, "total": "0"},
        }),
    )
}

/// `GET /chain-api/cosmos/slashing/v1beta1/signing_infos/{valcons}`.
pub(crate) fn signing_info(model: &Model, valcons: &str, height: u64) -> Reply {
    match model.jailed_until(valcons, height) {
        Some(until) => Reply::json(
            StatusCode::OK,
            &json!({"val_signing_info": {
                "address": valcons,
                "start_height": "0",
                "index_offset": "0",
                "jailed_until": until,
                "tombstoned": false,
                "missed_blocks_counter": "0",
            }}),
        ),
        None => not_found(format!("SigningInfo not found for validator {valcons}")),
    }
}

/// A participant node's `/health`: 200, 503, or a redirect to a healthy
/// node (which a probe must not follow).
pub(crate) fn node_health(model: &Model, index: &str, flipped: bool) -> axum::response::Response {
    use axum::response::IntoResponse;
    let Some(i) = model.node_index(index) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let behaviour = match (model.node_behaviour(i), flipped) {
        (b, false) => b,
        (NodeBehaviour::Healthy, true) => NodeBehaviour::Unavailable,
        (_, true) => NodeBehaviour::Healthy,
    };
    match behaviour {
        NodeBehaviour::Healthy => (StatusCode::OK, "{\"status\":\"ok\"}").into_response(),
        NodeBehaviour::Redirect(to) => (
            StatusCode::FOUND,
            [(axum::http::header::LOCATION, format!("/node/{to}/health"))],
        )
            .into_response(),
        NodeBehaviour::Unavailable | NodeBehaviour::Unreachable => {
            (StatusCode::SERVICE_UNAVAILABLE, "unavailable").into_response()
        }
    }
}

/// Keybase's `user/lookup.json` as the tracker reads it.
pub(crate) fn keybase_lookup(key_suffix: Option<&str>) -> Reply {
    match key_suffix.and_then(keybase_username) {
        Some(username) => Reply::json(
            StatusCode::OK,
            &json!({"status": {"code": 0, "name": "OK"},
                    "them": [{"id": "x", "basics": {"username": username}}]}),
        ),
        None => Reply::json(
            StatusCode::OK,
            &json!({"status": {"code": 0, "name": "OK"}, "them": []}),
        ),
    }
}
