//! The inference scan when its saved position cannot go on: a page that
//! fails run after run (a node that pruned the scan's height) and saved
//! state past its expiry both start a new scan at the latest height.

use aws_sdk_dynamodb::types::AttributeValue;
use shared::service::inference_scan::{scan_step, ScanError, ScanOutcome};
use shared::table::InferenceTable;
use sim_chain::{EndpointKind, Fault, FaultMode};

use crate::dynamo_local::TestTable;
use crate::inferences::{published, settings, sim};
use crate::support::ctx;

#[tokio::test]
async fn a_page_failing_run_after_run_restarts_the_scan_at_a_newer_height() {
    let sim = sim().await;
    let (t, reference) = (TestTable::new().await, TestTable::new().await);
    let core = ctx(&t, &[sim.url()], &[]);
    crate::inferences::run_to_completion(&ctx(&reference, &[sim.url()], &[]), 100).await;

    // The third page fails for good.
    sim.set_fault(
        EndpointKind::Inferences,
        Some(Fault::new(1.0, FaultMode::Status503).after(2)),
    );
    let limit = settings(100).max_failed_runs;
    for run in 1..limit {
        let err = scan_step(&core.chain, &core.table, &settings(100))
            .await
            .expect_err("the page fails");
        assert!(
            matches!(err, ScanError::Page { page: 3, .. }),
            "run {run}: {err}"
        );
        let scan = core.table.load_scan().await.unwrap().scan.expect("kept");
        assert_eq!((scan.position.pages, scan.position.failed_runs), (2, run));
    }
    let old = core.table.load_scan().await.unwrap().scan.unwrap().position;
    let err = scan_step(&core.chain, &core.table, &settings(100))
        .await
        .expect_err("the page fails once more");
    assert!(
        matches!(err, ScanError::Restarted { page: 3, runs, height, .. } if runs == limit && height == old.height),
        "{err}"
    );
    let checkpoint = core.table.load_scan().await.unwrap();
    assert!(checkpoint.scan.is_none(), "the scan is dropped");
    assert_eq!(checkpoint.last_started_ms, None, "not counted as a scan");
    assert!(t.scan_state_pieces().await.is_empty(), "its pieces removed");
    assert!(published(&t).await.is_empty(), "nothing partial published");

    // The node answers again: a new scan from the first page, at the
    // latest height, publishes what the reference did.
    sim.set_fault(EndpointKind::Inferences, None);
    sim.reset_stats();
    let report = scan_step(&core.chain, &core.table, &settings(100))
        .await
        .unwrap();
    assert_eq!(report.outcome, ScanOutcome::Completed);
    let pages = sim.model().inference_count().div_ceil(500) as u64;
    assert_eq!(report.scan_pages, pages, "read from the first page");
    assert!(report.scan_started_ms > Some(old.started_ms));
    assert!(report.height >= Some(old.height));
    assert_eq!(sim.stats().kind("status"), 1, "the latest height asked");
    assert_eq!(published(&t).await, published(&reference).await);
}

#[tokio::test]
async fn saved_state_past_its_expiry_is_ignored() {
    let sim = sim().await;
    let t = TestTable::new().await;
    let core = ctx(&t, &[sim.url()], &[]);
    let first = scan_step(&core.chain, &core.table, &settings(1))
        .await
        .unwrap();
    assert_eq!(
        (first.outcome, first.scan_pages),
        (ScanOutcome::Progressed, 1)
    );
    assert!(core.table.load_scan().await.unwrap().scan.is_some());

    // Past their TTL, before DynamoDB got round to deleting them.
    let pieces = t.scan_state_pieces().await;
    assert!(!pieces.is_empty());
    let past = (chrono::Utc::now().timestamp() - 60).to_string();
    for mut piece in pieces {
        piece.insert("expires_at".into(), AttributeValue::N(past.clone()));
        t.put_raw(piece).await;
    }
    assert!(
        core.table.load_scan().await.unwrap().scan.is_none(),
        "expired state reads as no scan"
    );
    let next = scan_step(&core.chain, &core.table, &settings(1))
        .await
        .unwrap();
    assert_eq!(
        (next.outcome, next.scan_pages),
        (ScanOutcome::Progressed, 1)
    );
    assert!(next.scan_started_ms > first.scan_started_ms, "a new scan");
}
