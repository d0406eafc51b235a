//! Fetching participant items from the chain and writing them with the
//! cache table's conditional puts: one implementation, used by the warmer
//! and by the participant function's read-through.

use std::collections::HashMap;
use std::time::Duration;

use crate::chain::{Chain, ChainError};
use crate::domain::{rewards_window, warm_keys};
use crate::ids::ParticipantId;
use crate::table::{
    is_final_on_write, needs_fetch, CachedItem, ItemData, ItemKey, ItemKind, ItemMeta, ItemTable,
    PutOutcome, RewardRecord, TableError,
};
use crate::time::now_ms;

/// Every item a participant's modal shows for `epoch`: the rewards window,
/// the warm keys and the hardware.
pub fn modal_item_keys(
    participant: &ParticipantId,
    epoch: u64,
    epoch_is_current: bool,
) -> Vec<ItemKey> {
    rewards_window(epoch, epoch_is_current)
        .into_iter()
        .map(|e| ItemKey::new(participant.clone(), e, ItemKind::Reward))
        .chain([
            ItemKey::new(participant.clone(), epoch, ItemKind::WarmKeys),
            ItemKey::new(participant.clone(), epoch, ItemKind::Hardware),
        ])
        .collect()
}

/// The keys among `keys` that must be fetched, given what is stored.
pub fn missing_items(
    keys: &[ItemKey],
    stored: &HashMap<ItemKey, ItemMeta>,
    current_epoch: Option<u64>,
    now_ms: i64,
    freshness: Duration,
) -> Vec<ItemKey> {
    keys.iter()
        .filter(|k| {
            needs_fetch(
                k.kind,
                stored.get(*k).copied(),
                Some(k.epoch) == current_epoch,
                now_ms,
                freshness,
            )
        })
        .cloned()
        .collect()
}

/// Reads one item from the chain. An empty answer is an item (no warm keys,
/// no hardware, no summary); a failed fetch, including a failed authz page,
/// is an error and nothing is stored.
pub async fn fetch_item<C: Chain>(
    chain: &C,
    key: &ItemKey,
    epoch_finished: bool,
) -> Result<CachedItem, ChainError> {
    let data = match key.kind {
        ItemKind::Reward => ItemData::Reward(
            chain
                .performance_summary(key.epoch, &key.participant)
                .await?
                .map(|s| RewardRecord {
                    rewarded_coins: s.rewarded_coins,
                    claimed: s.claimed,
                }),
        ),
        ItemKind::WarmKeys => {
            ItemData::WarmKeys(warm_keys(&chain.authz_grants(&key.participant).await?))
        }
        ItemKind::Hardware => ItemData::Hardware(chain.hardware_nodes(&key.participant).await?),
    };
    let meta = ItemMeta {
        fetched_at_ms: now_ms(),
        is_final: is_final_on_write(&data, epoch_finished),
    };
    Ok(CachedItem {
        key: key.clone(),
        meta,
        data,
    })
}

/// How fetching and storing one item ended.
#[derive(Debug)]
pub enum ItemOutcome {
    Written(CachedItem),
    /// Another writer stored the same or a better item first.
    LostRace(CachedItem),
    FetchFailed(ChainError),
    StoreFailed(CachedItem, TableError),
}

/// Fetches `key` and writes it under the table's replacement rule.
pub async fn fetch_and_store<C: Chain, T: ItemTable>(
    chain: &C,
    table: &T,
    key: &ItemKey,
    epoch_finished: bool,
) -> ItemOutcome {
    store_fetched(table, fetch_item(chain, key, epoch_finished).await).await
}

/// The second half of [`fetch_and_store`], for a caller that fetches and
/// stores in separate stages (the warmer: a fetch slot is freed as soon as
/// the chain has answered).
pub async fn store_fetched<T: ItemTable>(
    table: &T,
    fetched: Result<CachedItem, ChainError>,
) -> ItemOutcome {
    let item = match fetched {
        Ok(item) => item,
        Err(e) => return ItemOutcome::FetchFailed(e),
    };
    match table.put_item(&item).await {
        Ok(PutOutcome::Written) => ItemOutcome::Written(item),
        Ok(PutOutcome::LostRace) => ItemOutcome::LostRace(item),
        Err(e) => ItemOutcome::StoreFailed(item, e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modal_keys_cover_the_window_and_both_lists() {
        let p = ParticipantId::parse("gonka14cu38xpsd8pz5zdkkzwf0jwtpc0vv309ake364").unwrap();
        let describe = |keys: Vec<ItemKey>| {
            keys.into_iter()
                .map(|k| (k.epoch, k.kind))
                .collect::<Vec<_>>()
        };
        use ItemKind::*;
        assert_eq!(
            describe(modal_item_keys(&p, 56, true)),
            vec![
                (55, Reward),
                (54, Reward),
                (53, Reward),
                (52, Reward),
                (51, Reward),
                (56, WarmKeys),
                (56, Hardware)
            ]
        );
        assert_eq!(
            describe(modal_item_keys(&p, 2, false)),
            vec![(2, Reward), (1, Reward), (2, WarmKeys), (2, Hardware)]
        );
    }

    #[test]
    fn missing_items_uses_each_keys_epoch() {
        let p = ParticipantId::parse("gonka14cu38xpsd8pz5zdkkzwf0jwtpc0vv309ake364").unwrap();
        let keys = modal_item_keys(&p, 56, true);
        let old = ItemMeta {
            fetched_at_ms: 0,
            is_final: false,
        };
        let stored: HashMap<ItemKey, ItemMeta> = keys.iter().map(|k| (k.clone(), old)).collect();
        // Everything is old and unfinal: rewards refresh, and the current
        // epoch's warm keys and hardware do too.
        assert_eq!(
            missing_items(
                &keys,
                &stored,
                Some(56),
                1_000_000,
                Duration::from_secs(300)
            )
            .len(),
            7
        );
        // For a finished epoch, its warm keys and hardware are kept.
        assert_eq!(
            missing_items(
                &keys,
                &stored,
                Some(57),
                1_000_000,
                Duration::from_secs(300)
            )
            .len(),
            5
        );
        assert_eq!(
            missing_items(&keys, &HashMap::new(), None, 0, Duration::from_secs(300)),
            keys
        );
    }
}
