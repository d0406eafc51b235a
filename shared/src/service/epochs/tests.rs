use super::*;
use crate::service::fakes::{offline_core, snapshot, A, B};
use crate::table::ports::*;
use crate::table::{EpochTotal, PutOutcome};
use std::sync::atomic::Ordering;

#[tokio::test]
async fn a_fresh_current_snapshot_is_answered_without_the_chain() {
    let core = offline_core();
    let stored = snapshot(60, 9_000, 8_000, None, now_ms(), &[A, B]);
    core.table
        .store_stats(StatsSlot::Current, &stored)
        .await
        .unwrap();
    let view = current_epoch(&core).await.unwrap();
    assert_eq!((view.source, view.is_current), (Source::Table, true));
    assert_eq!(view.snapshot.participants.len(), 2);
    // /epochs/{C} answers like /current; a height before C's start is refused.
    assert_eq!(
        epoch_by_id(&core, 60, Some(8_500))
            .await
            .unwrap()
            .snapshot
            .header
            .epoch_id,
        60
    );
    let early = epoch_by_id(&core, 60, Some(7_999)).await.unwrap_err();
    assert_eq!(early.status(), 400);
    assert_eq!(core.chain.upstream_calls(), 0);
    // A future epoch is 404, said from the cached current one.
    assert_eq!(
        epoch_by_id(&core, 61, None).await.unwrap_err().status(),
        404
    );
}

#[tokio::test]
async fn a_stale_current_snapshot_is_served_while_the_chain_is_down() {
    let core = offline_core();
    let old = snapshot(60, 9_000, 8_000, None, now_ms() - 3_600_000, &[A]);
    core.table
        .store_stats(StatsSlot::Current, &old)
        .await
        .unwrap();
    let view = current_epoch(&core).await.unwrap();
    assert_eq!(view.source, Source::StaleTable);
    assert!(core.chain.upstream_calls() > 0, "the chain was asked first");
    // Nothing stored and the chain down: an upstream error, never 404.
    let empty = offline_core();
    assert_eq!(current_epoch(&empty).await.unwrap_err().status(), 502);
}

#[tokio::test]
async fn a_finished_epoch_is_answered_from_its_stored_snapshots() {
    let core = offline_core();
    let fin = snapshot(56, 5_990, 5_000, Some(5_990), 1, &[A, B]);
    let at = snapshot(56, 5_500, 5_000, Some(5_990), 2, &[A]);
    core.table
        .store_stats(StatsSlot::Final(56), &fin)
        .await
        .unwrap();
    core.table
        .store_stats(StatsSlot::AtHeight(56, 5_500), &at)
        .await
        .unwrap();
    let total = EpochTotal {
        epoch_id: 56,
        total_assigned_rewards_gnk: 7,
        rewarded_coins_sum: "7000000000".into(),
        participants: 2,
    };
    assert_eq!(
        core.table.store_total(&total).await,
        Ok(PutOutcome::Written)
    );
    let cases = [
        (None, Ok(5_990)),
        (Some(9_999_999), Ok(5_990)),
        (Some(5_500), Ok(5_500)),
        (Some(4_999), Err(400)),
    ];
    for (height, want) in cases {
        let got = epoch_by_id(&core, 56, height)
            .await
            .map(|v| {
                assert_eq!((v.source, v.is_current), (Source::Table, false));
                assert_eq!(v.total_assigned_rewards_gnk, Some(7));
                v.snapshot.header.height
            })
            .map_err(|e| e.status());
        assert_eq!(got, want, "height {height:?}");
    }
    assert_eq!(core.chain.upstream_calls(), 0);
}

#[tokio::test]
async fn with_the_table_down_the_chain_answers_and_heights_are_refused() {
    let core = offline_core();
    core.table.fail.store(true, Ordering::Relaxed);
    // The chain is asked (and is down too here): an upstream error, not 503.
    assert_eq!(current_epoch(&core).await.unwrap_err().status(), 502);
    assert_eq!(epoch_by_id(&core, 5, None).await.unwrap_err().status(), 502);
    assert!(core.chain.upstream_calls() > 0);
}

#[tokio::test]
async fn an_epoch_newer_than_a_stale_current_one_is_unknown_not_missing() {
    let core = offline_core();
    let old = snapshot(60, 9_000, 8_000, None, now_ms() - 3_600_000, &[A]);
    core.table
        .store_stats(StatsSlot::Current, &old)
        .await
        .unwrap();
    assert_eq!(
        epoch_by_id(&core, 61, None).await.unwrap_err().status(),
        502
    );
}

#[tokio::test]
async fn builds_at_requested_heights_are_budgeted_per_epoch_and_minute() {
    let core = offline_core();
    let current = snapshot(60, 9_000, 8_000, None, now_ms(), &[A]);
    core.table
        .store_stats(StatsSlot::Current, &current)
        .await
        .unwrap();
    let limit = core.config.height_builds_per_minute;
    for h in 0..limit {
        // Each build is tried (and fails on the offline chain).
        let err = epoch_by_id(&core, 50, Some(1_000 + u64::from(h)))
            .await
            .unwrap_err();
        assert_eq!(err.status(), 502);
    }
    let calls = core.chain.upstream_calls();
    let refused = epoch_by_id(&core, 50, Some(5_000)).await.unwrap_err();
    assert_eq!(refused.status(), 429);
    assert_eq!(
        core.chain.upstream_calls(),
        calls,
        "a refused build asks nothing"
    );
    // Other epochs have budgets of their own; no height, no budget.
    assert_eq!(
        epoch_by_id(&core, 49, Some(1)).await.unwrap_err().status(),
        502
    );
    assert_eq!(
        epoch_by_id(&core, 50, None).await.unwrap_err().status(),
        502
    );
}
