//! The current epoch built from a chain in the process ([`FakeChain`]):
//! what the join, the order, the stages and the block times make of it.

use std::collections::HashMap;

use super::*;
use crate::chain::{BlockStamp, EpochParams, EpochStages, FakeChain, LatestEpoch, LatestEpochRef};
use crate::domain::{EpochMember, EpochRoster, ListedMember, Tallies};

fn member(index: &str, weight: i64) -> EpochMember {
    EpochMember {
        index: index.into(),
        weight: Some(weight),
        models: vec!["m".into()],
        ..EpochMember::default()
    }
}

fn listed(index: &str, count: &str, missed: &str) -> ListedMember {
    ListedMember {
        index: index.into(),
        tallies: Some(Tallies {
            inference_count: count.into(),
            missed_requests: missed.into(),
            ..Tallies::default()
        }),
        ..ListedMember::default()
    }
}

fn stamp(height: u64, timestamp: &str) -> (u64, BlockStamp) {
    let timestamp = timestamp.into();
    (height, BlockStamp { height, timestamp })
}

#[tokio::test]
async fn the_current_epoch_is_built_from_six_chain_calls() {
    let tip = 20_000;
    let chain = FakeChain::offline();
    chain.set(|a| {
        a.latest_epoch = Some(LatestEpoch {
            block_height: tip,
            latest_epoch: LatestEpochRef {
                index: 60,
                poc_start_block_height: Some(15_000),
            },
            epoch_stages: EpochStages {
                next_poc_start: Some(30_000),
                ..EpochStages::default()
            },
            next_epoch_stages: EpochStages {
                set_new_validators: Some(30_100),
                ..EpochStages::default()
            },
            epoch_params: EpochParams::default(),
            epoch_stages_raw: None,
            next_epoch_stages_raw: None,
        });
        a.latest_height = Some(tip + 1);
        a.current = Some(60);
        a.epochs = Some(HashMap::from([(
            60,
            EpochRoster {
                participants: vec![member("low", 5), member("high", 50)],
                epoch_group_id: 60,
                epoch_id: Some(60),
                poc_start_block_height: Some(15_000),
                effective_block_height: 15_100,
                created_at_block_height: None,
            },
        )]));
        a.participant_list = Some(vec![
            listed("low", "10", "1"),
            listed("high", "200", "0"),
            listed("not-in-epoch", "1", "1"),
        ]);
        a.blocks = Some(HashMap::from([
            stamp(tip, "2026-12-07T10:00:00Z"),
            stamp(tip - AVG_BLOCK_WINDOW, "2026-12-07T09:00:00Z"),
        ]));
    });
    let built = build_current(&chain).await.unwrap();
    assert_eq!(chain.upstream_calls(), 6);
    let ids: Vec<&str> = built
        .participants
        .iter()
        .map(|r| r.index.as_str())
        .collect();
    assert_eq!(ids, ["high", "low"], "epoch members only, weight first");
    // 1 missed of 11 requests (10 served).
    assert_eq!(built.participants[1].missed_rate, 0.0909);
    let h = &built.header;
    assert_eq!(
        (h.epoch_id, h.height, h.effective_block_height),
        (60, tip + 1, 15_100)
    );
    assert_eq!(h.block.current_block_height, Some(tip));
    assert_eq!(h.block.next_poc_start_block, Some(30_000));
    assert_eq!(h.block.set_new_validators_block, Some(30_100));
    assert_eq!(
        h.block.current_block_timestamp.as_deref(),
        Some("2026-12-07T10:00:00Z")
    );
    let expected = 3600.0 / AVG_BLOCK_WINDOW as f64;
    let avg = h.block.avg_block_time.expect("an average block time");
    assert!((avg - expected).abs() < 0.01, "{avg} vs {expected}");
}

#[tokio::test]
async fn a_chain_that_is_down_fails_the_build() {
    let chain = FakeChain::offline();
    assert!(matches!(
        build_current(&chain).await,
        Err(ChainError::Unavailable(_))
    ));
}
