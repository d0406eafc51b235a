//! Stats snapshots: stored and loaded by slot, the modal's one read
//! (headers, items, rows, statuses) on both adapters, and 10,000
//! participants in chunks.

use super::*;

/// Stored and loaded by slot: a fresher current snapshot wins, a
/// finished one and one at a height are written once.
async fn store_and_load_by_slot<T: SnapshotTable>(table: &T) {
    assert!(table
        .load_stats(StatsSlot::Current)
        .await
        .unwrap()
        .is_none());
    let snap = snapshot(56, 887_711, 1_000, 26);
    assert_eq!(
        table.store_stats(StatsSlot::Current, &snap).await.unwrap(),
        PutOutcome::Written
    );
    let loaded = table.load_stats(StatsSlot::Current).await.unwrap().unwrap();
    assert_eq!(loaded.participants, snap.participants);
    assert_eq!(
        (
            loaded.header.epoch_id,
            loaded.header.height,
            loaded.header.participant_count
        ),
        (56, 887_711, 26)
    );
    assert_eq!(loaded.header.block, snap.header.block);

    // An older snapshot never replaces a fresher current one.
    let older = snapshot(56, 887_700, 500, 3);
    assert_eq!(
        table.store_stats(StatsSlot::Current, &older).await.unwrap(),
        PutOutcome::LostRace
    );
    assert_eq!(
        table
            .load_stats(StatsSlot::Current)
            .await
            .unwrap()
            .unwrap()
            .header
            .height,
        887_711
    );
    let newer = snapshot(57, 900_000, 2_000, 5);
    assert_eq!(
        table.store_stats(StatsSlot::Current, &newer).await.unwrap(),
        PutOutcome::Written
    );
    assert_eq!(
        table
            .load_stats(StatsSlot::Current)
            .await
            .unwrap()
            .unwrap()
            .participants
            .len(),
        5
    );

    // A finished epoch is written once.
    let mut fin = snapshot(55, 873_000, 3_000, 4);
    fin.header.is_finished = true;
    assert_eq!(
        table.store_stats(StatsSlot::Final(55), &fin).await.unwrap(),
        PutOutcome::Written
    );
    let other = snapshot(55, 873_001, 4_000, 9);
    assert_eq!(
        table
            .store_stats(StatsSlot::Final(55), &other)
            .await
            .unwrap(),
        PutOutcome::LostRace
    );
    let loaded = table
        .load_stats(StatsSlot::Final(55))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (
            loaded.header.height,
            loaded.participants.len(),
            loaded.header.is_finished
        ),
        (873_000, 4, true)
    );
    assert!(table
        .load_stats(StatsSlot::AtHeight(55, 872_000))
        .await
        .unwrap()
        .is_none());
    assert_eq!(
        table
            .store_stats(StatsSlot::AtHeight(55, 872_000), &other)
            .await
            .unwrap(),
        PutOutcome::Written
    );
    assert_eq!(
        table
            .load_stats(StatsSlot::AtHeight(55, 872_000))
            .await
            .unwrap()
            .unwrap()
            .participants
            .len(),
        9
    );
}

#[tokio::test]
async fn stats_snapshots_store_and_load_by_slot_on_dynamodb() {
    let t = TestTable::new().await;
    store_and_load_by_slot(&t.table).await;
}

#[tokio::test]
async fn stats_snapshots_store_and_load_by_slot_in_memory() {
    store_and_load_by_slot(&MemoryTable::new()).await;
}

/// The modal's one read: the headers asked for that exist, the items that
/// exist, the participant's row by snapshot version (`None` where that
/// snapshot has no such row), and its jail and health only when asked.
async fn modal_reads<T: SnapshotTable + ItemTable + ModalTable + StatusTable>(table: &T) {
    use shared::domain::{JailStatus, NodeHealth};
    let final_snap = snapshot(60, 900_000, 1_000, 30);
    let current = snapshot(61, 910_000, 2_000, 20);
    table
        .store_stats(StatsSlot::Final(60), &final_snap)
        .await
        .unwrap();
    table
        .store_stats(StatsSlot::Current, &current)
        .await
        .unwrap();
    let p = participant(25); // in the final snapshot only
    table
        .put_item(&reward_item(&p, 59, 1, "2000000000", true))
        .await
        .unwrap();
    table
        .store_jail(
            60,
            &[JailStatus {
                participant: p.to_string(),
                is_jailed: true,
                validator: Default::default(),
            }],
            1_000,
            true,
        )
        .await
        .unwrap();
    table
        .store_health(
            &[NodeHealth {
                participant: p.to_string(),
                healthy: false,
                checked_at: "2026-12-07T00:00:00Z".into(),
            }],
            1_000,
        )
        .await
        .unwrap();

    let slots = [
        StatsSlot::Current,
        StatsSlot::Final(60),
        StatsSlot::Final(58),
    ];
    let items = [
        ItemKey::new(p.clone(), 59, ItemKind::Reward),
        ItemKey::new(p.clone(), 58, ItemKind::Reward),
        ItemKey::new(p.clone(), 60, ItemKind::WarmKeys),
    ];
    let bundle = table
        .load_modal_bundle(&ModalRead::headers_and_items(&slots, &items))
        .await
        .unwrap();
    let mut got: Vec<_> = bundle.headers.keys().copied().collect();
    got.sort_by_key(|s| format!("{s:?}"));
    assert_eq!(got, vec![StatsSlot::Current, StatsSlot::Final(60)]);
    // As stored (the write names its version and buckets).
    let final_header = table
        .load_header(StatsSlot::Final(60))
        .await
        .unwrap()
        .unwrap();
    let current_header = table
        .load_header(StatsSlot::Current)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(bundle.headers[&StatsSlot::Final(60)], final_header);
    assert_eq!(bundle.headers[&StatsSlot::Current], current_header);
    assert_eq!((final_header.epoch_id, current_header.epoch_id), (60, 61));
    assert_ne!(final_header.version, current_header.version);
    assert_eq!(
        bundle.items.keys().cloned().collect::<Vec<_>>(),
        vec![items[0].clone()]
    );
    assert_eq!(
        bundle.items[&items[0]],
        reward_item(&p, 59, 1, "2000000000", true)
    );
    assert!(bundle.rows.is_empty(), "no row asked for");
    assert_eq!(bundle.status, (None, None), "no status asked for");

    let rows_in = [RowSource::of(&final_header), RowSource::of(&current_header)];
    let bundle = table
        .load_modal_bundle(&ModalRead {
            slots: &[],
            items: &[],
            participant: Some(&p),
            rows_in: &rows_in,
            status_epoch: Some(60),
        })
        .await
        .unwrap();
    assert!(bundle.headers.is_empty());
    assert_eq!(bundle.rows.len(), 2);
    assert_eq!(bundle.rows[&final_header.version], Some(stats_row(25)));
    assert_eq!(
        bundle.rows[&current_header.version], None,
        "not in that snapshot"
    );
    let (jail, health) = bundle.status;
    assert!(jail.expect("jail asked for").is_jailed);
    assert!(!health.expect("health asked for").healthy);

    // One row by the header it is in.
    assert_eq!(
        table.load_participant_row(&final_header, &p).await.unwrap(),
        Some(stats_row(25))
    );
    assert_eq!(
        table
            .load_participant_row(&current_header, &p)
            .await
            .unwrap(),
        None
    );
}

#[tokio::test]
async fn the_modal_reads_what_it_names_on_dynamodb() {
    let t = TestTable::new().await;
    modal_reads(&t.table).await;
}

#[tokio::test]
async fn the_modal_reads_what_it_names_in_memory() {
    modal_reads(&MemoryTable::new()).await;
}

#[tokio::test]
async fn ten_thousand_participants_round_trip_and_a_modal_reads_twice() {
    let t = TestTable::new().await;
    let snap = snapshot(60, 1_000_000, 1_000, 10_000);
    let json_bytes = serde_json::to_vec(&snap.participants).unwrap().len();
    assert!(
        json_bytes > 5_000_000,
        "the epoch is {json_bytes} bytes of JSON, far above the 400 KB item limit"
    );
    let started = Instant::now();
    assert_eq!(
        t.table
            .store_stats(StatsSlot::Final(60), &snap)
            .await
            .unwrap(),
        PutOutcome::Written
    );
    let loaded = t
        .table
        .load_stats(StatsSlot::Final(60))
        .await
        .unwrap()
        .unwrap();
    eprintln!("10,000 rows stored and loaded in {:?}", started.elapsed());
    assert_eq!(loaded.participants.len(), 10_000);
    assert_eq!(loaded.participants, snap.participants);
    assert!(loaded.header.buckets > 1);

    // Ids and validator keys only (in bucket order: compared sorted).
    let (header, keys) = t
        .table
        .load_validator_keys(StatsSlot::Final(60))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(header, loaded.header);
    let mut want: Vec<(String, Option<String>)> = loaded
        .participants
        .iter()
        .map(|p| (p.index.clone(), p.validator_key.clone()))
        .collect();
    let mut got: Vec<(String, Option<String>)> = keys
        .into_iter()
        .map(|k| (k.index, k.validator_key))
        .collect();
    want.sort();
    got.sort();
    assert_eq!(got, want);
    assert!(want.iter().any(|(_, k)| k.is_some()));

    // A participant's modal: one BatchGetItem for headers and items, one
    // GetItem for its row.
    let p = participant(4321);
    t.table
        .put_item(&reward_item(&p, 59, 1, "2000000000", true))
        .await
        .unwrap();
    let before = t.table.counters().requests();
    let items: Vec<ItemKey> = (55..=60)
        .map(|e| ItemKey::new(p.clone(), e, ItemKind::Reward))
        .chain([
            ItemKey::new(p.clone(), 60, ItemKind::WarmKeys),
            ItemKey::new(p.clone(), 60, ItemKind::Hardware),
        ])
        .collect();
    let bundle = t
        .table
        .load_modal_bundle(&shared::table::ModalRead::headers_and_items(
            &[StatsSlot::Current, StatsSlot::Final(60)],
            &items,
        ))
        .await
        .unwrap();
    let header = bundle
        .headers
        .get(&StatsSlot::Final(60))
        .expect("final header");
    assert!(!bundle.headers.contains_key(&StatsSlot::Current));
    assert_eq!(bundle.items.len(), 1);
    let row = t
        .table
        .load_participant_row(header, &p)
        .await
        .unwrap()
        .expect("row");
    assert_eq!(t.table.counters().requests() - before, 2);
    assert_eq!(row, stats_row(4321));
    assert!(t
        .table
        .load_participant_row(header, &participant(20_000))
        .await
        .unwrap()
        .is_none());
}

/// Every chunk is written with an expiry, so one orphaned by a run cut
/// short between its chunks and its header goes away; a final snapshot's
/// chunks lose it once the header names them, and the loser of a race
/// leaves nothing behind.
#[tokio::test]
async fn a_final_snapshots_chunks_are_kept_for_good_only_once_named() {
    let t = TestTable::new().await;
    let snap = snapshot(57, 900_000, 1_000, 40);
    assert_eq!(
        t.table
            .store_stats(StatsSlot::Final(57), &snap)
            .await
            .unwrap(),
        PutOutcome::Written
    );
    let chunks =
        |items: &[std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>]| {
            items
                .iter()
                .filter(|i| i["pk"].as_s().is_ok_and(|p| p.starts_with("SNAP#")))
                .map(|i| i.contains_key("expires_at"))
                .collect::<Vec<bool>>()
        };
    let named = chunks(&t.scan_all().await);
    assert!(!named.is_empty());
    assert!(named.iter().all(|ttl| !ttl), "named chunks keep no expiry");

    let mut other = snapshot(57, 900_000, 2_000, 40);
    other.participants.truncate(30);
    assert_eq!(
        t.table
            .store_stats(StatsSlot::Final(57), &other)
            .await
            .unwrap(),
        PutOutcome::LostRace
    );
    assert_eq!(
        chunks(&t.scan_all().await),
        named,
        "the loser's chunks removed"
    );
    let loaded = t
        .table
        .load_stats(StatsSlot::Final(57))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(loaded.participants, snap.participants);

    // A run cut short after its chunks (here: a header DynamoDB refuses,
    // over the item size limit) leaves chunks that expire within a day.
    let mut cut = snapshot(58, 950_000, 4_000, 20);
    cut.header.block.current_block_timestamp = Some("x".repeat(450_000));
    assert!(t
        .table
        .store_stats(StatsSlot::Final(58), &cut)
        .await
        .is_err());
    let now = shared::time::now_ms() / 1000;
    let orphans: Vec<Option<i64>> = t
        .scan_all()
        .await
        .iter()
        .filter(|i| i["pk"].as_s().is_ok_and(|p| p.starts_with("SNAP#58.")))
        .map(|i| i.get("expires_at")?.as_n().ok()?.parse().ok())
        .collect();
    assert!(!orphans.is_empty(), "the cut run's chunks");
    assert!(
        orphans
            .iter()
            .all(|t| t.is_some_and(|t| t > now && t <= now + 86_400 + 60)),
        "{orphans:?}"
    );
    let before_height = chunks(&t.scan_all().await).len();

    // A snapshot at a height keeps its chunks' expiry (30 days).
    t.table
        .store_stats(
            StatsSlot::AtHeight(57, 899_000),
            &snapshot(57, 899_000, 3_000, 10),
        )
        .await
        .unwrap();
    let all = chunks(&t.scan_all().await);
    assert!(all.len() > before_height, "the height's chunks");
    assert_eq!(
        all.iter().filter(|ttl| !**ttl).count(),
        named.len(),
        "only the named final chunks are kept for good"
    );
}
