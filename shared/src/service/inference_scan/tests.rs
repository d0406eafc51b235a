//! The scan over the in-process chain and the in-memory table: page by
//! page to its published records, and a failed page saving what was read.

use std::collections::HashMap;

use super::*;
use crate::chain::{
    CurrentEpochMembers, EpochParams, EpochStages, FakeChain, InferencePage, LatestEpoch,
    LatestEpochRef, MemberId, Pagination,
};
use crate::domain::ListedInference;
use crate::ids::ParticipantId;
use crate::service::fakes::{A, B};
use crate::table::MemoryTable;

fn inference(id: &str, who: &str, status: &str) -> ListedInference {
    ListedInference {
        inference_id: Some(id.into()),
        status: Some(status.into()),
        assigned_to: Some(who.into()),
        epoch_id: Some("60".into()),
        start_block_height: Some("901000".into()),
        start_block_timestamp: Some("1760843520123".into()),
        ..ListedInference::default()
    }
}

fn page(inferences: Vec<ListedInference>, next: Option<&str>) -> InferencePage {
    InferencePage {
        inference: inferences,
        pagination: Some(Pagination {
            next_key: next.map(str::to_owned),
            total: None,
        }),
    }
}

fn chain() -> FakeChain {
    let chain = FakeChain::offline();
    chain.set(|a| {
        a.current_members = Some(CurrentEpochMembers {
            epoch_group_id: 60,
            effective_block_height: 900_000,
            participants: [A, B].map(|p| MemberId { index: p.into() }).to_vec(),
        });
        a.latest_epoch = Some(LatestEpoch {
            block_height: 905_000,
            latest_epoch: LatestEpochRef {
                index: 60,
                poc_start_block_height: None,
            },
            epoch_stages: EpochStages::default(),
            next_epoch_stages: EpochStages::default(),
            epoch_params: EpochParams {
                epoch_length: Some(15_000),
            },
            epoch_stages_raw: None,
            next_epoch_stages_raw: None,
        });
        a.latest_height = Some(905_000);
        a.inference_pages = Some(HashMap::from([
            (
                None,
                page(
                    vec![
                        inference("i1", A, "FINISHED"),
                        inference("i2", A, "STARTED"),
                    ],
                    Some("k2"),
                ),
            ),
            (
                Some("k2".into()),
                page(vec![inference("i3", B, "EXPIRED")], None),
            ),
        ]));
    });
    chain
}

fn settings() -> ScanSettings {
    ScanSettings {
        page_budget: 1,
        deadline: None,
        min_interval: Duration::ZERO,
        max_pages: 100,
        max_failed_runs: 3,
    }
}

#[tokio::test]
async fn a_scan_reads_page_by_page_and_publishes_every_member() {
    let (chain, table) = (chain(), MemoryTable::new());
    let first = scan_step(&chain, &table, &settings()).await.unwrap();
    assert_eq!(
        (first.outcome, first.pages_read),
        (ScanOutcome::Progressed, 1)
    );
    let second = scan_step(&chain, &table, &settings()).await.unwrap();
    assert_eq!(second.outcome, ScanOutcome::Completed);
    assert_eq!((second.scan_pages, second.scan_inferences), (2, 3));
    let a = ParticipantId::parse(A).unwrap();
    let b = ParticipantId::parse(B).unwrap();
    let of_a = table.load_inferences(&a, 60).await.unwrap().unwrap();
    let ids = |l: &[crate::domain::inferences::InferenceDetail]| {
        l.iter().map(|d| d.inference_id.clone()).collect::<Vec<_>>()
    };
    assert_eq!(ids(&of_a.lists.successful), ["i1"], "STARTED is not shown");
    let of_b = table.load_inferences(&b, 60).await.unwrap().unwrap();
    assert_eq!(ids(&of_b.lists.expired), ["i3"]);
    // The previous epoch has a record for every member too (empty).
    assert!(table.load_inferences(&a, 59).await.unwrap().is_some());
    assert_eq!(table.load_scan().await.unwrap().scan, None, "scan ended");
}

#[tokio::test]
async fn a_failed_page_keeps_what_was_read_for_the_next_run() {
    let (chain, table) = (chain(), MemoryTable::new());
    chain.set(|a| {
        a.inference_pages
            .as_mut()
            .unwrap()
            .remove(&Some("k2".into()));
    });
    let mut two_pages = settings();
    two_pages.page_budget = 2;
    let err = scan_step(&chain, &table, &two_pages).await.unwrap_err();
    assert!(
        matches!(
            err,
            ScanError::Page {
                page: 2,
                pages_read: 1,
                ..
            }
        ),
        "{err}"
    );
    let saved = table.load_scan().await.unwrap().scan.unwrap();
    assert_eq!(saved.position.pages, 1);
    assert_eq!(saved.position.next_key.as_deref(), Some("k2"));
    assert_eq!(saved.position.failed_runs, 1);
}
