//! epoch-stats through its handler: DynamoDB Local, the simulated chain (or
//! the fixture replay), and a recording Lambda Invoke endpoint reached by
//! aws-sdk-lambda; one module per concern: building and serving epochs
//! ([`serving`]), parameters and CORS ([`requests`]), the warm trigger
//! ([`warming`]). This file holds the checks they share.

use std::time::Duration;

use futures::future::join_all;
use serde_json::Value;
use shared::domain::{invalidation_rate, missed_rate};
use shared::epoch_stats::handle_epoch_stats;
use shared::table::ports::*;
use sim_chain::SimChain;

use crate::dynamo_local::TestTable;
use crate::replay::{self, Replay};
use crate::support::{
    dead_url, get, header, json_body, start_sim, stats, without_lease_token, InvokeRecorder,
};

mod requests;
mod serving;
mod warming;

const GZIP: (&str, &str) = ("accept-encoding", "gzip, deflate, br");

fn by_index(body: &Value) -> std::collections::HashMap<String, Value> {
    body["participants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["index"].as_str().unwrap().to_owned(), p.clone()))
        .collect()
}

/// Every participant field against the simulated chain's own model.
fn assert_matches_model(body: &Value, sim: &SimChain, epoch: u64, height: u64) {
    let model = sim.model();
    let members = model.participants_in_epoch(epoch);
    let rows = by_index(body);
    assert_eq!(
        rows.len(),
        members
            .iter()
            .filter(|a| model.participant_list_entry(height, a).is_some())
            .count()
    );
    for addr in &members {
        let Some(row) = rows.get(addr) else { continue };
        let entry = model.epoch_participant(epoch, addr).unwrap();
        let listed = model.participant_list_entry(height, addr).unwrap();
        let stats = &listed.current_epoch_stats;
        assert_eq!(row["address"], listed.address.as_str());
        assert_eq!(row["weight"], entry.weight);
        assert_eq!(row["validator_key"], entry.validator_key.as_str());
        assert_eq!(row["models"], serde_json::to_value(&entry.models).unwrap());
        // As the link rule serves it (`links.rs` tests the rule itself).
        assert_eq!(
            row["inference_url"],
            serde_json::json!(shared::domain::links::web_link(Some(&listed.inference_url)))
        );
        assert_eq!(row["status"], listed.status.as_str());
        assert_eq!(
            row["current_epoch_stats"],
            serde_json::to_value(stats).unwrap()
        );
        assert_eq!(row["seed_signature"], entry.seed.signature.as_str());
        let map = model.ml_nodes_map(epoch, addr).unwrap();
        assert_eq!(row["ml_nodes_map"].as_object().unwrap().len(), map.len());
        for (node, w) in map {
            assert_eq!(
                row["ml_nodes_map"][&node], w,
                "poc_weight of {node} (0 stays 0)"
            );
        }
        let n = |v: u64| v;
        assert_eq!(
            row["missed_rate"],
            missed_rate(n(stats.missed_requests), n(stats.inference_count))
        );
        assert_eq!(
            row["invalidation_rate"],
            invalidation_rate(n(stats.invalidated_inferences), n(stats.inference_count))
        );
        // No health round ran (jail statuses are `jail_health.rs`'s).
        for field in ["node_healthy", "node_health_checked_at"] {
            assert!(row[field].is_null(), "{field} is out of scope and null");
        }
    }
}
