//! The DynamoDB adapter against DynamoDB Local, through the real SDK, one
//! module per concern: participant items and totals ([`item_writes`]),
//! stats snapshots and the modal's one read ([`snapshots`]), the warm lease ([`leases`]), the
//! shared budgets ([`budgets`]), inferences ([`inferences`]), jail,
//! health, Keybase and revisions ([`statuses`]), the timeline and models
//! ([`network_items`]). Each rule runs on both adapters. This file
//! holds the rows they write, and the adapter's failure and schema checks.

mod budgets;
mod history;
mod inferences;
mod item_writes;
mod leases;
mod network_items;
mod snapshots;
mod statuses;

use std::time::Instant;

use shared::domain::{EpochMember, ListedMember, MlNodeWeight, ParticipantStats, Tallies, WarmKey};
use shared::ids::ParticipantId;
use shared::table::*;

use crate::dynamo_local::{client_for, TestTable};

pub fn participant(i: u32) -> ParticipantId {
    let mut bytes = [0u8; 20];
    bytes[..4].copy_from_slice(&i.to_be_bytes());
    bytes[19] = 7;
    ParticipantId::from_bytes(&bytes).unwrap()
}

/// A realistic row (~1 KB of JSON, like the fixtures' rows).
pub fn stats_row(i: u32) -> ParticipantStats {
    let id = participant(i).to_string();
    let epoch = EpochMember {
        index: id.clone(),
        validator_key: Some(format!("{i:043}=")),
        weight: Some(i64::from(i % 5000)),
        inference_url: None,
        models: vec![
            "Qwen/Qwen3-235B-A22B-Instruct-2507-FP8".into(),
            "Qwen/Qwen3-32B-FP8".into(),
        ],
        seed_signature: Some(format!("{:0128x}", u128::from(i) * 0x9e37_79b9_7f4a_7c15)),
        ml_nodes: vec![(0..8)
            .map(|n| MlNodeWeight {
                node_id: Some(format!("node{n}")),
                poc_weight: Some(i64::from(n * i % 3000)),
            })
            .collect()],
    };
    let listed = ListedMember {
        index: id.clone(),
        address: Some(id),
        inference_url: Some(format!("http://10.0.{}.{}:8000", i / 256 % 256, i % 256)),
        status: Some("ACTIVE".into()),
        tallies: Some(Tallies {
            inference_count: (i * 7).to_string(),
            missed_requests: (i % 13).to_string(),
            ..Default::default()
        }),
    };
    ParticipantStats::from_sources(&epoch, &listed)
}

pub fn snapshot(epoch: u64, height: u64, fetched_at_ms: i64, n: u32) -> EpochSnapshot {
    let mut participants: Vec<ParticipantStats> = (0..n).map(stats_row).collect();
    shared::domain::stats::sort_for_display(&mut participants);
    EpochSnapshot {
        header: SnapshotHeader {
            epoch_id: epoch,
            height,
            fetched_at_ms,
            is_finished: false,
            effective_block_height: height - 100,
            canonical_height: None,
            block: BlockInfo {
                current_block_height: Some(height),
                avg_block_time: Some(6.02),
                ..Default::default()
            },
            participant_count: 0,
            version: String::new(),
            buckets: 0,
            rows_hash: None,
            tallies_hash: None,
            chunks_written_ms: None,
        },
        participants,
    }
}

fn reward_item(
    p: &ParticipantId,
    epoch: u64,
    fetched_at_ms: i64,
    coins: &str,
    claimed: bool,
) -> CachedItem {
    let data = ItemData::Reward(Some(RewardRecord {
        rewarded_coins: coins.into(),
        claimed,
    }));
    CachedItem {
        key: ItemKey::new(p.clone(), epoch, ItemKind::Reward),
        meta: ItemMeta {
            fetched_at_ms,
            is_final: is_final_on_write(&data, true),
        },
        data,
    }
}

#[tokio::test]
async fn a_missing_table_or_endpoint_is_an_error_not_a_panic() {
    let missing = DynamoTable::new(
        client_for(&crate::dynamo_local::endpoint()),
        "no-such-table",
    );
    let err = missing.load_stats(StatsSlot::Current).await.unwrap_err();
    assert!(
        matches!(err, TableError::Unavailable(ref m) if m.contains("ResourceNotFound")),
        "{err}"
    );
    let down = DynamoTable::new(client_for("http://127.0.0.1:9"), "t");
    let err = down
        .item_meta(&[ItemKey::new(participant(1), 1, ItemKind::Reward)])
        .await
        .unwrap_err();
    assert!(matches!(err, TableError::Unavailable(_)), "{err}");
}

/// The code's key and TTL attribute names are the template's (the tables in
/// tests and in the local stack are created from template.yaml).
#[test]
fn the_code_uses_the_templates_key_schema() {
    let def = crate::dynamo_local::cache_table_def("x");
    let keys: Vec<(&str, &str)> = def
        .key_schema
        .iter()
        .map(|k| (k.name.as_str(), k.key_type.as_str()))
        .collect();
    assert_eq!(keys, vec![(PK, "HASH"), (SK, "RANGE")]);
    assert!(
        def.attributes.iter().all(|a| a.kind == "S"),
        "both keys are strings"
    );
    let ttl = def.ttl.expect("TTL is enabled");
    assert!(ttl.enabled);
    assert_eq!(ttl.attribute, TTL_ATTRIBUTE);
    assert_eq!(def.billing_mode, "PAY_PER_REQUEST");
}
