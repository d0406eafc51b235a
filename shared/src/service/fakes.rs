//! Unit-test plumbing for the services: a core over the in-memory table
//! and the in-process fake chain, and small snapshots to store in it.

use crate::chain::FakeChain;
use crate::config::Config;
use crate::domain::ParticipantStats;
use crate::table::{BlockInfo, EpochSnapshot, MemoryTable, SnapshotHeader};

use super::Core;

pub const A: &str = "gonka14cu38xpsd8pz5zdkkzwf0jwtpc0vv309ake364";
pub const B: &str = "gonka1tt6mlr3r50uey8kxkktlxv8ht9zyrd4dtnvemu";

/// A core whose chain answers nothing (a test that reaches it sees an
/// upstream error and a call counted); `core.chain.set(..)` gives it
/// answers.
pub fn offline_core() -> Core<FakeChain, MemoryTable> {
    let config = Config::from_lookup(|k| match k {
        "TABLE_NAME" => Some("t".into()),
        "CHAIN_API_URLS" => Some("http://127.0.0.1:9".into()),
        _ => None,
    })
    .expect("test config");
    Core::new(FakeChain::offline(), MemoryTable::new(), config)
}

pub fn row(id: &str) -> ParticipantStats {
    serde_json::from_value(serde_json::json!({
        "index": id, "address": id, "weight": 10, "validator_key": null,
        "inference_url": null, "status": "ACTIVE", "models": ["m"],
        "current_epoch_stats": {"inference_count": "4", "missed_requests": "1"},
        "seed_signature": "sig", "ml_nodes_map": null,
        "missed_rate": 0.2, "invalidation_rate": 0.0
    }))
    .expect("a row")
}

/// A snapshot of `epoch` at `height` (its start at `effective`, its
/// canonical height `canonical` when finished) holding `ids`.
pub fn snapshot(
    epoch: u64,
    height: u64,
    effective: u64,
    canonical: Option<u64>,
    fetched_at_ms: i64,
    ids: &[&str],
) -> EpochSnapshot {
    EpochSnapshot {
        header: SnapshotHeader {
            epoch_id: epoch,
            height,
            fetched_at_ms,
            is_finished: canonical.is_some(),
            effective_block_height: effective,
            canonical_height: canonical,
            block: BlockInfo::default(),
            participant_count: 0,
            version: String::new(),
            buckets: 0,
            rows_hash: None,
            tallies_hash: None,
            chunks_written_ms: None,
        },
        participants: ids.iter().map(|id| row(id)).collect(),
    }
}
