//! The DynamoDB adapter against DynamoDB Local, through the real SDK.

use std::time::Instant;

use shared::chain::{
    CurrentEpochStats, EpochParticipant, ListedParticipant, MlNode, MlNodeGroup, Seed,
};
use shared::domain::{ParticipantStats, WarmKey};
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
    let epoch = EpochParticipant {
        index: id.clone(),
        validator_key: Some(format!("{i:043}=")),
        weight: Some(i64::from(i % 5000)),
        inference_url: None,
        models: vec![
            "Qwen/Qwen3-235B-A22B-Instruct-2507-FP8".into(),
            "Qwen/Qwen3-32B-FP8".into(),
        ],
        seed: Some(Seed {
            participant: Some(id.clone()),
            epoch_index: Some(56),
            signature: Some(format!("{:0128x}", u128::from(i) * 0x9e37_79b9_7f4a_7c15)),
        }),
        ml_nodes: vec![MlNodeGroup {
            ml_nodes: (0..8)
                .map(|n| MlNode {
                    node_id: Some(format!("node{n}")),
                    poc_weight: Some(i64::from(n * i % 3000)),
                })
                .collect(),
        }],
    };
    let listed = ListedParticipant {
        index: id.clone(),
        address: Some(id),
        inference_url: Some(format!("http://10.0.{}.{}:8000", i / 256 % 256, i % 256)),
        status: Some("ACTIVE".into()),
        current_epoch_stats: Some(CurrentEpochStats {
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
async fn conditional_puts_follow_the_replacement_rule() {
    let t = TestTable::new().await;
    let put = |item: CachedItem| {
        let table = t.table.clone();
        async move { table.put_item(&item).await.unwrap() }
    };
    let p = participant(1);
    let key = ItemKey::new(p.clone(), 55, ItemKind::Reward);
    let read = |t: &TestTable| {
        let table = t.table.clone();
        let key = key.clone();
        async move {
            table
                .load_modal_bundle(&shared::table::ModalRead::headers_and_items(
                    &[],
                    std::slice::from_ref(&key),
                ))
                .await
                .unwrap()
                .items
                .remove(&key)
                .unwrap()
        }
    };

    assert_eq!(
        put(reward_item(&p, 55, 1000, "5", false)).await,
        PutOutcome::Written
    );
    // An older result arriving late never replaces a newer one.
    assert_eq!(
        put(reward_item(&p, 55, 900, "4", false)).await,
        PutOutcome::LostRace
    );
    assert_eq!(
        put(reward_item(&p, 55, 1000, "4", false)).await,
        PutOutcome::LostRace
    );
    assert_eq!(
        read(&t).await.data,
        ItemData::Reward(Some(RewardRecord {
            rewarded_coins: "5".into(),
            claimed: false
        }))
    );
    // A newer unclaimed reward refreshes; a claimed one is final.
    assert_eq!(
        put(reward_item(&p, 55, 2000, "6", false)).await,
        PutOutcome::Written
    );
    assert_eq!(
        put(reward_item(&p, 55, 3000, "7", true)).await,
        PutOutcome::Written
    );
    assert_eq!(
        put(reward_item(&p, 55, 9000, "8", false)).await,
        PutOutcome::LostRace
    );
    assert_eq!(
        put(reward_item(&p, 55, 9000, "9", true)).await,
        PutOutcome::LostRace
    );
    let stored = read(&t).await;
    assert_eq!(
        stored.data,
        ItemData::Reward(Some(RewardRecord {
            rewarded_coins: "7".into(),
            claimed: true
        }))
    );
    assert_eq!(
        stored.meta,
        ItemMeta {
            fetched_at_ms: 3000,
            is_final: true
        }
    );

    // Immutable items: the first write wins.
    let wk = |grantee: &str, t: i64| CachedItem {
        key: ItemKey::new(p.clone(), 50, ItemKind::WarmKeys),
        meta: ItemMeta {
            fetched_at_ms: t,
            is_final: true,
        },
        data: ItemData::WarmKeys(vec![WarmKey {
            grantee_address: grantee.into(),
            granted_at: "x".into(),
        }]),
    };
    assert_eq!(put(wk("first", 1)).await, PutOutcome::Written);
    assert_eq!(put(wk("second", 2)).await, PutOutcome::LostRace);
    // Empty results are items too.
    let empty_hw = CachedItem {
        key: ItemKey::new(p.clone(), 50, ItemKind::Hardware),
        meta: ItemMeta {
            fetched_at_ms: 1,
            is_final: true,
        },
        data: ItemData::Hardware(vec![]),
    };
    assert_eq!(put(empty_hw).await, PutOutcome::Written);
    let keys = [
        ItemKey::new(p.clone(), 50, ItemKind::WarmKeys),
        ItemKey::new(p.clone(), 50, ItemKind::Hardware),
        ItemKey::new(p.clone(), 49, ItemKind::Hardware),
    ];
    let bundle = t
        .table
        .load_modal_bundle(&shared::table::ModalRead::headers_and_items(&[], &keys))
        .await
        .unwrap();
    assert_eq!(bundle.items.len(), 2);
    assert_eq!(bundle.items[&keys[0]].data, wk("first", 1).data);
    assert_eq!(bundle.items[&keys[1]].data, ItemData::Hardware(vec![]));
}

#[tokio::test]
async fn item_meta_batches_keys_only_reads() {
    let t = TestTable::new().await;
    let keys: Vec<ItemKey> = (0..84u32)
        .flat_map(|i| ItemKind::ALL.map(|k| ItemKey::new(participant(i), 60, k)))
        .collect();
    assert_eq!(keys.len(), 252);
    for (n, key) in keys.iter().enumerate().filter(|(n, _)| n % 3 != 0) {
        let data = match key.kind {
            ItemKind::Reward => ItemData::Reward(None),
            ItemKind::WarmKeys => ItemData::WarmKeys(vec![]),
            ItemKind::Hardware => ItemData::Hardware(vec![]),
        };
        let item = CachedItem {
            key: key.clone(),
            meta: ItemMeta {
                fetched_at_ms: n as i64,
                is_final: n % 2 == 0,
            },
            data,
        };
        t.table.put_item(&item).await.unwrap();
    }
    // Writes are counted as write capacity, reads as read capacity.
    let (read0, write0) = (
        t.table.counters().read_capacity_units(),
        t.table.counters().write_capacity_units(),
    );
    assert_eq!(read0, 0.0);
    assert!(write0 >= 168.0, "168 puts of small items: {write0} WCU");
    let before = t.table.counters().requests();
    let meta = t.table.item_meta(&keys).await.unwrap();
    assert!(t.table.counters().read_capacity_units() > 0.0);
    assert_eq!(t.table.counters().write_capacity_units(), write0);
    assert_eq!(
        t.table.counters().requests() - before,
        3,
        "252 keys are 3 BatchGetItem calls"
    );
    assert_eq!(meta.len(), 168);
    for (n, key) in keys.iter().enumerate() {
        let want = (n % 3 != 0).then_some(ItemMeta {
            fetched_at_ms: n as i64,
            is_final: n % 2 == 0,
        });
        assert_eq!(meta.get(key).copied(), want, "{key:?}");
    }
}

#[tokio::test]
async fn stats_snapshots_store_and_load_by_slot() {
    let t = TestTable::new().await;
    assert!(t
        .table
        .load_stats(StatsSlot::Current)
        .await
        .unwrap()
        .is_none());
    let snap = snapshot(56, 887_711, 1_000, 26);
    assert_eq!(
        t.table
            .store_stats(StatsSlot::Current, &snap)
            .await
            .unwrap(),
        PutOutcome::Written
    );
    let loaded = t
        .table
        .load_stats(StatsSlot::Current)
        .await
        .unwrap()
        .unwrap();
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
        t.table
            .store_stats(StatsSlot::Current, &older)
            .await
            .unwrap(),
        PutOutcome::LostRace
    );
    assert_eq!(
        t.table
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
        t.table
            .store_stats(StatsSlot::Current, &newer)
            .await
            .unwrap(),
        PutOutcome::Written
    );
    assert_eq!(
        t.table
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
        t.table
            .store_stats(StatsSlot::Final(55), &fin)
            .await
            .unwrap(),
        PutOutcome::Written
    );
    let other = snapshot(55, 873_001, 4_000, 9);
    assert_eq!(
        t.table
            .store_stats(StatsSlot::Final(55), &other)
            .await
            .unwrap(),
        PutOutcome::LostRace
    );
    let loaded = t
        .table
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
    assert!(t
        .table
        .load_stats(StatsSlot::AtHeight(55, 872_000))
        .await
        .unwrap()
        .is_none());
    assert_eq!(
        t.table
            .store_stats(StatsSlot::AtHeight(55, 872_000), &other)
            .await
            .unwrap(),
        PutOutcome::Written
    );
    assert_eq!(
        t.table
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

#[tokio::test]
async fn warm_lease_admits_one_claim_per_window() {
    let t = TestTable::new().await;
    let claim = |epoch, now| t.table.claim_warm_lease_unowned(epoch, now, 60_000);
    assert_eq!(
        claim(60, 1_000_000).await.unwrap(),
        LeaseClaim {
            won: true,
            held_until_ms: 1_060_000,
            rest_until_ms: None,
        }
    );
    assert_eq!(
        claim(60, 1_030_000).await.unwrap(),
        LeaseClaim {
            won: false,
            held_until_ms: 1_060_000,
            rest_until_ms: None,
        },
        "a lost claim says until when the lease is held"
    );
    assert!(
        claim(61, 1_030_000).await.unwrap().won,
        "leases are per epoch"
    );
    assert!(
        claim(60, 1_060_000).await.unwrap().won,
        "the window has passed"
    );
    // Concurrent claims: exactly one wins.
    let claims = futures::future::join_all((0..20).map(|_| claim(62, 5_000_000))).await;
    assert_eq!(
        claims
            .into_iter()
            .filter(|c| c.as_ref().unwrap().won)
            .count(),
        1
    );
}

#[tokio::test]
async fn totals_are_written_once_and_zero_is_a_value() {
    let t = TestTable::new().await;
    assert_eq!(t.table.load_total(55).await.unwrap(), None);
    let zero = EpochTotal {
        epoch_id: 55,
        total_assigned_rewards_gnk: 0,
        rewarded_coins_sum: "0".into(),
        participants: 3,
    };
    assert_eq!(
        t.table.store_total(&zero).await.unwrap(),
        PutOutcome::Written
    );
    let other = EpochTotal {
        total_assigned_rewards_gnk: 5,
        ..zero.clone()
    };
    assert_eq!(
        t.table.store_total(&other).await.unwrap(),
        PutOutcome::LostRace
    );
    assert_eq!(t.table.load_total(55).await.unwrap(), Some(zero));
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

#[tokio::test]
async fn the_warm_lease_is_renewed_and_released_by_its_owner_only() {
    let t = TestTable::new().await;
    let table = &t.table;
    let (a, b) = (LeaseToken::random(), LeaseToken::random());
    let held = |until| LeaseClaim {
        won: false,
        held_until_ms: until,
        rest_until_ms: None,
    };
    let won = |until| LeaseClaim {
        won: true,
        held_until_ms: until,
        rest_until_ms: None,
    };
    const L: i64 = 60_000;
    const T0: i64 = 1_000_000;

    assert_eq!(
        table.claim_warm_lease(60, &a, T0, L, false).await.unwrap(),
        won(T0 + L)
    );
    assert_eq!(
        table
            .claim_warm_lease(60, &b, T0 + 30_000, L, false)
            .await
            .unwrap(),
        held(T0 + L),
        "another owner waits, and learns until when"
    );
    assert_eq!(
        table
            .claim_warm_lease(60, &a, T0 + 30_000, L, false)
            .await
            .unwrap(),
        won(T0 + 30_000 + L),
        "the owner renews"
    );
    assert_eq!(
        table
            .release_warm_lease(60, &b, T0 + 40_000, None)
            .await
            .unwrap(),
        PutOutcome::LostRace,
        "only the owner releases"
    );
    assert!(
        !table
            .claim_warm_lease(60, &b, T0 + 40_000, L, false)
            .await
            .unwrap()
            .won
    );
    assert_eq!(
        table
            .release_warm_lease(60, &a, T0 + 40_000, None)
            .await
            .unwrap(),
        PutOutcome::Written
    );
    assert_eq!(
        table
            .claim_warm_lease(60, &b, T0 + 40_000, L, false)
            .await
            .unwrap(),
        won(T0 + 40_000 + L),
        "released: free at once"
    );
    // The old owner's late renewal or release leaves the new lease alone.
    assert_eq!(
        table
            .claim_warm_lease(60, &a, T0 + 50_000, L, false)
            .await
            .unwrap(),
        held(T0 + 40_000 + L)
    );
    assert_eq!(
        table
            .release_warm_lease(60, &a, T0 + 50_000, None)
            .await
            .unwrap(),
        PutOutcome::LostRace
    );
    assert!(
        !table
            .claim_warm_lease(60, &a, T0 + 99_999, L, false)
            .await
            .unwrap()
            .won
    );
    // An owner that stops renewing loses the lease when it lapses.
    assert!(
        table
            .claim_warm_lease(60, &a, T0 + 100_000, L, false)
            .await
            .unwrap()
            .won
    );

    // Nothing to release: nothing written.
    assert_eq!(
        table.release_warm_lease(61, &a, T0, None).await.unwrap(),
        PutOutcome::LostRace
    );
    assert!(
        table
            .claim_warm_lease(61, &b, T0, L, false)
            .await
            .unwrap()
            .won
    );
    // A claim without an owner only lapses.
    assert!(
        table
            .claim_warm_lease_unowned(62, T0, 1_000)
            .await
            .unwrap()
            .won
    );
    assert_eq!(
        table
            .claim_warm_lease(62, &a, T0 + 999, L, false)
            .await
            .unwrap(),
        held(T0 + 1_000)
    );
    assert!(
        table
            .claim_warm_lease(62, &a, T0 + 1_000, L, false)
            .await
            .unwrap()
            .won
    );

    // Concurrent claims by different owners: exactly one wins.
    let owners: Vec<LeaseToken> = (0..20).map(|_| LeaseToken::random()).collect();
    let claims = futures::future::join_all(
        owners
            .iter()
            .map(|o| table.claim_warm_lease(63, o, 5_000_000, L, false)),
    )
    .await;
    assert_eq!(claims.iter().filter(|c| c.as_ref().unwrap().won).count(), 1);
}
