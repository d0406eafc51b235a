//! [`InferenceTable`]: the scan's checkpoint (a save is conditional on the
//! version it read) and the published records (only changed buckets are
//! written, a newer scan's records are never replaced). Each rule stated
//! once, run on the DynamoDB adapter (through DynamoDB Local) and on the
//! in-memory fake.

use std::collections::BTreeMap;

use shared::domain::inferences::{EpochFrame, InferenceLists, InferenceTally};
use shared::table::{InferenceTable, PublishStamp, ScanPosition, ScanState, RECORD_BUCKETS};

use super::*;

fn scan_at(pages: u64) -> ScanState {
    ScanState {
        position: ScanPosition {
            started_ms: 1_000,
            height: 900_500,
            frame: EpochFrame {
                current: 60,
                effective_height: 900_187,
                epoch_length: 15_000,
            },
            next_key: Some(format!("key-{pages}")),
            pages,
            inferences_seen: pages * 500,
            failed_runs: 0,
        },
        members: vec!["gonka1a".into(), "gonka1b".into()],
        tally: InferenceTally::default(),
    }
}

/// Two runs that read the same checkpoint: the first save wins, the second
/// is refused, and the stored one is the winner's, one version on.
async fn saves_are_conditional_on_the_version<T: InferenceTable>(table: &T) {
    let never = table.load_scan().await.unwrap();
    assert_eq!((never.version, never.scan.is_none()), (0, true));
    let advanced = |read: &ScanCheckpoint, pages| {
        let mut n = read.clone();
        n.scan = Some(scan_at(pages));
        n
    };
    assert_eq!(
        table.save_scan(&never, &advanced(&never, 1)).await.unwrap(),
        PutOutcome::Written
    );
    let read_a = table.load_scan().await.unwrap();
    let read_b = read_a.clone();
    assert_eq!(
        table
            .save_scan(&read_a, &advanced(&read_a, 40))
            .await
            .unwrap(),
        PutOutcome::Written
    );
    assert_eq!(
        table
            .save_scan(&read_b, &advanced(&read_b, 50))
            .await
            .unwrap(),
        PutOutcome::LostRace
    );
    let now = table.load_scan().await.unwrap();
    assert_eq!(now.version, 2);
    assert_eq!(now.scan, Some(scan_at(40)));
}

/// One successful inference with id `id`.
fn lists(id: &str) -> InferenceLists {
    let mut l = crate::inference_writes::with_one_inference();
    l.successful[0].inference_id = id.into();
    l
}

/// A first publish writes every bucket; the same records again none; one
/// participant changed one; an older scan's late publish nothing; a read
/// finds the newest records with the last completion's time.
async fn publishing_writes_what_changed_and_newer_scans_win<T: InferenceTable>(table: &T) {
    let ids: Vec<ParticipantId> = (0..500).map(participant).collect();
    let mut records: BTreeMap<String, InferenceLists> = ids
        .iter()
        .map(|p| (p.to_string(), lists("first")))
        .collect();
    let stamp = |started, cached| PublishStamp {
        scan_started_ms: shared::time::now_ms() - started,
        cached_at_ms: shared::time::now_ms() - cached,
    };
    let first = stamp(60_000, 50_000);
    assert_eq!(
        table.publish_inferences(60, &records, first).await.unwrap(),
        RECORD_BUCKETS as usize
    );
    let again = stamp(40_000, 30_000);
    assert_eq!(
        table.publish_inferences(60, &records, again).await.unwrap(),
        0,
        "nothing changed: no bucket written"
    );
    records.insert(ids[7].to_string(), lists("changed"));
    let newer = stamp(20_000, 10_000);
    assert_eq!(
        table.publish_inferences(60, &records, newer).await.unwrap(),
        1
    );
    let stale: BTreeMap<String, InferenceLists> = ids
        .iter()
        .map(|p| (p.to_string(), lists("stale")))
        .collect();
    assert_eq!(
        table.publish_inferences(60, &stale, first).await.unwrap(),
        0,
        "an older scan never replaces a newer one's records"
    );
    let read = table.load_inferences(&ids[7], 60).await.unwrap().unwrap();
    assert_eq!(read.lists, lists("changed"));
    assert_eq!(read.cached_at_ms, newer.cached_at_ms);
    let unchanged = table.load_inferences(&ids[8], 60).await.unwrap().unwrap();
    assert_eq!(unchanged.lists, lists("first"));
    assert_eq!(
        unchanged.cached_at_ms, newer.cached_at_ms,
        "an unchanged bucket is as recent as the last completion"
    );
    assert!(table
        .load_inferences(&participant(9_999), 60)
        .await
        .unwrap()
        .is_none());
    assert!(table.load_inferences(&ids[7], 59).await.unwrap().is_none());
}

#[tokio::test]
async fn saves_are_conditional_on_the_version_on_dynamodb() {
    let t = TestTable::new().await;
    saves_are_conditional_on_the_version(&t.table).await;
}

#[tokio::test]
async fn saves_are_conditional_on_the_version_in_memory() {
    saves_are_conditional_on_the_version(&MemoryTable::new()).await;
}

#[tokio::test]
async fn publishing_writes_what_changed_and_newer_scans_win_on_dynamodb() {
    let t = TestTable::new().await;
    publishing_writes_what_changed_and_newer_scans_win(&t.table).await;
}

#[tokio::test]
async fn publishing_writes_what_changed_and_newer_scans_win_in_memory() {
    publishing_writes_what_changed_and_newer_scans_win(&MemoryTable::new()).await;
}
