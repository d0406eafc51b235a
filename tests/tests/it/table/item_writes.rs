//! Participant items (the replacement rule, keys-only reads) and epoch
//! totals (written once).

use super::*;

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
