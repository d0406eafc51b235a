//! The request paths over the in-memory table and a chain that refuses
//! every connection: what is answered from the table, and when the chain
//! is asked.

use super::models::StoredModels;
use super::responses::{ModelsResponse, StatsWindow, TimelineResponse};
use super::stored::store_doc;
use super::*;
use crate::chain::{BlockStamp, Chain, ModelStats};
use crate::service::fakes::offline_core;
use crate::table::NetworkItem;
use crate::table::NetworkTable;
use crate::time::now_ms;

fn timeline_doc(height: u64) -> TimelineResponse {
    TimelineResponse {
        current_block: BlockStamp {
            height,
            timestamp: "2026-11-27T10:00:00.123456789Z".into(),
        },
        reference_block: BlockStamp {
            height: height - 10_000,
            timestamp: "2026-11-26T17:20:00Z".into(),
        },
        avg_block_time: 6.0,
        events: vec![],
        current_epoch_start: 1,
        current_epoch_index: 60,
        epoch_length: 15_000,
        epoch_stages: None,
        next_epoch_stages: Some(serde_json::json!({"poc_start": 5})),
        cached_at: "x".into(),
    }
}

fn models_doc(epoch: u64, current: bool, effective: u64) -> StoredModels {
    StoredModels {
        response: ModelsResponse {
            epoch_id: epoch,
            height: effective + 100,
            models: vec![],
            stats: if current {
                vec![ModelStats {
                    model: "m".into(),
                    ai_tokens: "5".into(),
                    inferences: 2,
                }]
            } else {
                vec![]
            },
            cached_at: "x".into(),
            is_current: current,
            current_block_timestamp: None,
            avg_block_time: None,
            stats_window: current.then(|| StatsWindow::rolling_24h("y".into())),
        },
        effective_block_height: effective,
        canonical_height: (!current).then_some(effective + 100),
    }
}

#[tokio::test]
async fn a_stored_timeline_is_answered_without_the_chain_and_served_stale_when_old() {
    let core = offline_core();
    store_doc(
        &core.table,
        NetworkItem::Timeline,
        &timeline_doc(20_000),
        now_ms(),
    )
    .await
    .unwrap();
    let served = timeline(&core).await.unwrap();
    assert_eq!(served.source, Source::Table);
    assert_eq!(served.value, timeline_doc(20_000));
    assert_eq!(core.chain.upstream_calls(), 0);

    let old = now_ms() - timeline::TIMELINE_MAX_AGE.as_millis() as i64 - 1_000;
    let core = offline_core();
    store_doc(
        &core.table,
        NetworkItem::Timeline,
        &timeline_doc(30_000),
        old,
    )
    .await
    .unwrap();
    let served = timeline(&core).await.unwrap();
    assert_eq!(
        (served.source, served.fetched_at_ms),
        (Source::StaleTable, old)
    );
    assert_eq!(served.value.current_block.height, 30_000);
    assert!(core.chain.upstream_calls() > 0, "the chain was asked first");

    let empty = offline_core();
    assert_eq!(timeline(&empty).await.unwrap_err().status(), 502);
    assert_eq!(models_current(&empty).await.unwrap_err().status(), 502);
}

#[tokio::test]
async fn the_current_epoch_alias_and_finished_epochs_from_the_table() {
    let core = offline_core();
    let now = now_ms();
    store_doc(
        &core.table,
        NetworkItem::ModelsCurrent,
        &models_doc(60, true, 8_000),
        now,
    )
    .await
    .unwrap();
    store_doc(
        &core.table,
        NetworkItem::ModelsFinal(59),
        &models_doc(59, false, 7_000),
        now,
    )
    .await
    .unwrap();
    // /epochs/{C} answers like /current.
    let alias = models_for_epoch(&core, 60, Some(8_000)).await.unwrap();
    assert_eq!(alias.value, models_current(&core).await.unwrap().value);
    assert!(alias.value.response.is_current);
    let early = models_for_epoch(&core, 60, Some(7_999)).await.unwrap_err();
    assert_eq!(early.status(), 400);
    assert!(early
        .detail()
        .starts_with("Height 7999 is before epoch 60 start"));
    // A finished epoch: its stored models, the current 24 h stats beside.
    for height in [None, Some(7_100), Some(9_000_000)] {
        let fin = models_for_epoch(&core, 59, height).await.unwrap();
        assert_eq!(
            (fin.source, fin.value.response.is_current),
            (Source::Table, false)
        );
        assert_eq!(fin.value.response.height, 7_100);
        assert_eq!(fin.value.response.stats.len(), 1);
        assert_eq!(fin.value.response.stats_window.as_ref().unwrap().hours, 24);
    }
    assert_eq!(
        models_for_epoch(&core, 59, Some(6_999))
            .await
            .unwrap_err()
            .status(),
        400
    );
    assert_eq!(core.chain.upstream_calls(), 0);
    // A lower height not stored: built from the chain (down here).
    assert_eq!(
        models_for_epoch(&core, 59, Some(7_050))
            .await
            .unwrap_err()
            .status(),
        502
    );
    // A newer epoch than the stored one: the chain must say (down: 502, not 404).
    assert_eq!(
        models_for_epoch(&core, 61, None)
            .await
            .unwrap_err()
            .status(),
        502
    );
}

#[tokio::test]
async fn heights_of_a_finished_epoch_are_budgeted() {
    let core = offline_core();
    store_doc(
        &core.table,
        NetworkItem::ModelsCurrent,
        &models_doc(60, true, 8_000),
        now_ms(),
    )
    .await
    .unwrap();
    let limit = core.config.height_builds_per_minute;
    for h in 0..limit {
        let err = models_for_epoch(&core, 50, Some(1_000 + u64::from(h))).await;
        assert_eq!(err.unwrap_err().status(), 502);
    }
    let calls = core.chain.upstream_calls();
    assert_eq!(
        models_for_epoch(&core, 50, Some(5))
            .await
            .unwrap_err()
            .status(),
        429
    );
    assert_eq!(
        core.chain.upstream_calls(),
        calls,
        "a refused build asks nothing"
    );
    assert_eq!(
        models_for_epoch(&core, 50, None)
            .await
            .unwrap_err()
            .status(),
        502
    );
}

#[tokio::test]
async fn an_unreadable_item_reads_as_absent() {
    let core = offline_core();
    let bad = crate::table::StoredDoc {
        fetched_at_ms: now_ms(),
        body: "{not json".into(),
    };
    core.table
        .store_network(NetworkItem::Timeline, &bad)
        .await
        .unwrap();
    assert_eq!(timeline(&core).await.unwrap_err().status(), 502);
}
