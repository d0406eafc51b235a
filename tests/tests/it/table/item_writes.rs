//! [`ItemTable`] (the replacement rule, keys-only reads) and
//! [`TotalTable`] (written once): each rule stated once, run on the
//! DynamoDB adapter (through DynamoDB Local) and on the in-memory fake.

use super::*;

/// The replacement rule: an older result never replaces a newer one, a
/// final item is never replaced, empty results are items too.
async fn replacement_rule<T: ItemTable>(table: &T) {
    let put = |item: CachedItem| async move { table.put_item(&item).await.unwrap() };
    let p = participant(1);
    let key = ItemKey::new(p.clone(), 55, ItemKind::Reward);
    let read = |key: ItemKey| async move {
        table
            .load_items(std::slice::from_ref(&key))
            .await
            .unwrap()
            .remove(&key)
            .unwrap()
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
        read(key.clone()).await.data,
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
    let stored = read(key.clone()).await;
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
    let items = table.load_items(&keys).await.unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(items[&keys[0]].data, wk("first", 1).data);
    assert_eq!(items[&keys[1]].data, ItemData::Hardware(vec![]));
}

#[tokio::test]
async fn conditional_puts_follow_the_replacement_rule_on_dynamodb() {
    let t = TestTable::new().await;
    replacement_rule(&t.table).await;
}

#[tokio::test]
async fn conditional_puts_follow_the_replacement_rule_in_memory() {
    replacement_rule(&MemoryTable::new()).await;
}

/// 252 keys, two thirds stored: `item_meta` names the stored ones with
/// their freshness and finality.
fn meta_keys() -> Vec<ItemKey> {
    (0..84u32)
        .flat_map(|i| ItemKind::ALL.map(|k| ItemKey::new(participant(i), 60, k)))
        .collect()
}

async fn store_meta_items<T: ItemTable>(table: &T, keys: &[ItemKey]) {
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
        table.put_item(&item).await.unwrap();
    }
}

async fn item_meta_names_what_is_stored<T: ItemTable>(table: &T) {
    let keys = meta_keys();
    store_meta_items(table, &keys).await;
    let meta = table.item_meta(&keys).await.unwrap();
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
async fn item_meta_names_what_is_stored_on_dynamodb() {
    let t = TestTable::new().await;
    item_meta_names_what_is_stored(&t.table).await;
}

#[tokio::test]
async fn item_meta_names_what_is_stored_in_memory() {
    item_meta_names_what_is_stored(&MemoryTable::new()).await;
}

/// DynamoDB's side of it: keys-only reads in batches of 100, counted as
/// read capacity.
#[tokio::test]
async fn item_meta_batches_keys_only_reads() {
    let t = TestTable::new().await;
    let keys = meta_keys();
    assert_eq!(keys.len(), 252);
    store_meta_items(&t.table, &keys).await;
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
}

/// Written once; a true 0 is a value.
async fn totals_written_once<T: TotalTable>(table: &T) {
    assert_eq!(table.load_total(55).await.unwrap(), None);
    let zero = EpochTotal {
        epoch_id: 55,
        total_assigned_rewards_gnk: 0,
        rewarded_coins_sum: "0".into(),
        participants: 3,
    };
    assert_eq!(table.store_total(&zero).await.unwrap(), PutOutcome::Written);
    let other = EpochTotal {
        total_assigned_rewards_gnk: 5,
        ..zero.clone()
    };
    assert_eq!(
        table.store_total(&other).await.unwrap(),
        PutOutcome::LostRace
    );
    assert_eq!(table.load_total(55).await.unwrap(), Some(zero));
}

#[tokio::test]
async fn totals_are_written_once_and_zero_is_a_value_on_dynamodb() {
    let t = TestTable::new().await;
    totals_written_once(&t.table).await;
}

#[tokio::test]
async fn totals_are_written_once_and_zero_is_a_value_in_memory() {
    totals_written_once(&MemoryTable::new()).await;
}
