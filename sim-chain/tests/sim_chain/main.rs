//! End-to-end tests of the simulated chain over real HTTP, one module per
//! concern: the answers' shapes ([`shapes`]), heights and epochs
//! ([`heights`]), the per-account endpoints ([`accounts`]) and the knobs
//! (counters, faults, latency, size, the binary, live changes: [`knobs`]).
//! This file holds the helpers they share.

mod accounts;
#[path = "../common/mod.rs"]
mod common;
mod heights;
mod knobs;
mod shapes;

use std::collections::{BTreeSet, HashMap};
use std::time::{Duration, Instant};

use common::{assert_same_shape, fixture, get, get_raw, get_with, post, url_encode};
use serde_json::Value;
use sim_chain::{
    is_valid_address, EndpointKind, Fault, FaultMode, Grant, HardwareNode, ListParticipant, Model,
    PerformanceSummary, SimChain, SimConfig, WARM_KEY_MSG_TYPES,
};

const INFERENCE: &str = "/chain-api/productscience/inference/inference";

fn config(participants: usize) -> SimConfig {
    SimConfig {
        participants,
        ..SimConfig::default()
    }
}

async fn start(participants: usize) -> SimChain {
    SimChain::start(config(participants))
        .await
        .expect("start sim-chain")
}

fn grants_path(addr: &str, query: &str) -> String {
    format!("/chain-api/cosmos/authz/v1beta1/grants/granter/{addr}?{query}")
}

/// A past-epoch participant with a non-empty summary and hardware with GPU info.
fn typical_participant(model: &Model, epoch: u64) -> String {
    model
        .participants_in_epoch(epoch)
        .into_iter()
        .find(|a| {
            let hw = model.hardware_nodes(a).unwrap_or_default();
            model.grants(a).len() == 24
                && hw.iter().all(|n| !n.hardware.is_empty())
                && !hw.is_empty()
                && model
                    .performance_summary(epoch, a)
                    .is_some_and(|s| s.claimed)
        })
        .expect("a typical participant")
}
