//! [`HistoryTable`]: entries are replaced only when not final and older,
//! their stamps say what is stored, and a page is the newest `limit` of a
//! range, one participant (or the network) at a time. Stated once, run on
//! the DynamoDB adapter (through DynamoDB Local) and on the in-memory fake.

use super::*;
use shared::domain::history::{
    EpochRange, HistoryEntry, NetworkEpoch, NetworkHistoryRow, UnavailableEpoch,
};
use shared::table::history::history_needs_write;

fn entry(epoch: u64, weight: i64) -> HistoryEntry {
    let row = stats_row(1);
    let mut e = HistoryEntry::from_row(epoch, epoch * 1_000, &row, None, Some(false));
    e.weight = weight;
    e
}

fn record(p: u32, epoch: u64, weight: i64, at: i64, is_final: bool) -> HistoryRecord {
    HistoryRecord {
        participant: participant(p),
        entry: entry(epoch, weight),
        fetched_at_ms: at,
        is_final,
    }
}

fn range(from: u64, to: u64) -> EpochRange {
    EpochRange { from, to }
}

async fn history_rules<T: HistoryTable>(table: &T) {
    let records: Vec<HistoryRecord> = (1..=12)
        .flat_map(|e| {
            [
                record(1, e, e as i64, 1_000, false),
                record(2, e, 100, 1_000, false),
            ]
        })
        .collect();
    assert_eq!(table.store_history(&records).await.unwrap(), 24);

    // A page: newest first, within the range, only that participant's.
    let page = table
        .load_history(&participant(1), range(3, 10), 5)
        .await
        .unwrap();
    let epochs: Vec<u64> = page.iter().map(|(e, _)| e.epoch_id).collect();
    assert_eq!(epochs, vec![10, 9, 8, 7, 6]);
    assert_eq!(page[0], (entry(10, 10), false));
    let all = table
        .load_history(&participant(1), range(1, 500), 500)
        .await
        .unwrap();
    assert_eq!(all.len(), 12);
    assert!(table
        .load_history(&participant(3), range(1, 500), 500)
        .await
        .unwrap()
        .is_empty());

    // Stamps say what is stored, and decide what needs writing.
    let stamps = table
        .history_stamps(5, &[participant(1), participant(2), participant(3)])
        .await
        .unwrap();
    assert_eq!(stamps.len(), 2);
    let same = record(1, 5, 5, 2_000, false);
    assert!(!history_needs_write(
        stamps.get(&participant(1)).copied(),
        same.hash()
    ));
    let changed = record(1, 5, 55, 2_000, true);
    assert!(history_needs_write(
        stamps.get(&participant(1)).copied(),
        changed.hash()
    ));

    // Older loses; newer wins; final is never replaced.
    assert_eq!(
        table
            .store_history(&[record(1, 5, 7, 500, false)])
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        table
            .store_history(std::slice::from_ref(&changed))
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        table
            .store_history(&[record(1, 5, 9, 9_000, false)])
            .await
            .unwrap(),
        0
    );
    let five = table
        .load_history(&participant(1), range(5, 5), 10)
        .await
        .unwrap();
    assert_eq!(five, vec![(entry(5, 55), true)]);
    let stamp = table.history_stamps(5, &[participant(1)]).await.unwrap()[&participant(1)];
    assert!(stamp.is_final && stamp.hash == changed.hash());

    // The network's rows, as the participants'.
    let row = |epoch: u64, participants: u64| NetworkEpoch {
        epoch_id: epoch,
        height: epoch * 1_000,
        participants,
        total_weight: 10,
        inference_count: 1,
        missed_requests: 0,
        validated_inferences: 1,
        invalidated_inferences: 0,
        total_assigned_rewards_gnk: None,
    };
    let net = |epoch, participants, at, is_final| NetworkRecord {
        row: row(epoch, participants),
        fetched_at_ms: at,
        is_final,
    };
    for e in 1..=4 {
        assert_eq!(
            table
                .store_network_history(&net(e, 2, 1_000, false))
                .await
                .unwrap(),
            PutOutcome::Written
        );
    }
    assert_eq!(
        table
            .store_network_history(&net(2, 9, 500, false))
            .await
            .unwrap(),
        PutOutcome::LostRace
    );
    assert_eq!(
        table
            .store_network_history(&net(2, 3, 2_000, true))
            .await
            .unwrap(),
        PutOutcome::Written
    );
    assert_eq!(
        table
            .store_network_history(&net(2, 4, 3_000, false))
            .await
            .unwrap(),
        PutOutcome::LostRace
    );
    let epoch = NetworkHistoryRow::Epoch;
    let rows = table.load_network_history(range(2, 4), 2).await.unwrap();
    assert_eq!(rows, vec![epoch(row(4, 2)), epoch(row(3, 2))]);
    let two = table.load_network_history(range(1, 2), 10).await.unwrap();
    assert_eq!(two, vec![epoch(row(2, 3)), epoch(row(1, 2))]);

    // An unavailable epoch: listed in order, never over a row, replaced
    // by a row recorded later.
    let gap = |e: u64| UnavailableEpoch {
        epoch_id: e,
        reason: format!("pruned {e}"),
    };
    assert_eq!(
        table
            .store_network_unavailable(&gap(6), 1_000)
            .await
            .unwrap(),
        PutOutcome::Written
    );
    assert_eq!(
        table
            .store_network_unavailable(&gap(4), 1_000)
            .await
            .unwrap(),
        PutOutcome::LostRace,
        "epoch 4 is recorded"
    );
    let rows = table.load_network_history(range(3, 9), 10).await.unwrap();
    assert_eq!(
        rows,
        vec![
            NetworkHistoryRow::Unavailable(gap(6)),
            epoch(row(4, 2)),
            epoch(row(3, 2))
        ]
    );
    let stamp = table.network_history_stamp(6).await.unwrap().unwrap();
    assert_eq!((stamp.hash, stamp.is_final), (0, false));
    assert_eq!(
        table
            .store_network_history(&net(6, 5, 2_000, true))
            .await
            .unwrap(),
        PutOutcome::Written
    );
    let six = table.load_network_history(range(6, 6), 10).await.unwrap();
    assert_eq!(six, vec![epoch(row(6, 5))]);

    // The backfill's cursor: read back as stored, never back a pass.
    assert_eq!(table.load_backfill_cursor().await.unwrap(), None);
    let cursor = |next_epoch, passes| BackfillCursor {
        next_epoch,
        passes,
        complete_through: 0,
        pass_top: 40,
        pass_clean: true,
    };
    table.store_backfill_cursor(cursor(40, 0)).await.unwrap();
    let done = BackfillCursor {
        complete_through: 40,
        pass_clean: false,
        ..cursor(0, 1)
    };
    table.store_backfill_cursor(done).await.unwrap();
    table.store_backfill_cursor(cursor(30, 0)).await.unwrap();
    assert_eq!(table.load_backfill_cursor().await.unwrap(), Some(done));
    // The cursor never shows up in a page.
    let all = table
        .load_network_history(range(1, 9_999_999_999), 500)
        .await
        .unwrap();
    assert_eq!(all.len(), 5);
    let stamp = table.network_history_stamp(2).await.unwrap().unwrap();
    assert!(stamp.is_final && stamp.hash == net(2, 3, 2_000, true).hash());
    assert_eq!(table.network_history_stamp(9).await.unwrap(), None);
}

#[tokio::test]
async fn history_follows_its_write_rules_on_dynamodb() {
    let t = TestTable::new().await;
    history_rules(&t.table).await;
}

#[tokio::test]
async fn history_follows_its_write_rules_in_memory() {
    history_rules(&MemoryTable::new()).await;
}
