//! The participant modal (docs/contract.md 1.5 with section 0's decisions): one
//! table read when everything is cached and the instance knows the
//! snapshot's header (two the first time), a concurrent read-through of
//! the missing items otherwise.

use std::collections::HashMap;

use crate::chain::Chain;
use crate::domain::{
    assigned_reward_gnk, merge_poc_weights, rewards_window, ParticipantStats, RewardView,
};
use crate::ids::ParticipantId;
use crate::table::{
    CacheTable, CachedItem, ItemData, ItemKey, ItemKind, ModalBundle, ModalRead, SnapshotHeader,
    StatsSlot, StatusTable,
};
use crate::time::now_ms;

use super::epochs::epoch_by_id;
use super::items::{fetch_and_store, missing_items, modal_item_keys, ItemOutcome};
use super::responses::{ParticipantDetails, SeedView};
use super::snapshot::{choose_snapshot, SnapshotChoice, StoredHeaders};
use super::status::apply_participant_status;
use super::{ApiError, Core};

/// How cacheable a details answer is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DetailsMeta {
    pub is_current: bool,
    /// Every part is final (a claimed reward, a finished epoch's lists).
    pub all_final: bool,
    pub complete: bool,
}

enum Row {
    /// A cached snapshot's header: the row is one more read.
    Header(Box<SnapshotHeader>, bool),
    /// Built through the epoch service, row in hand.
    Known(Option<Box<ParticipantStats>>, bool),
}

/// The modal of `id` in `epoch` (at `height`, for a finished epoch).
pub async fn participant_details<C: Chain, T: CacheTable + StatusTable>(
    core: &Core<C, T>,
    id: &ParticipantId,
    epoch: u64,
    height: Option<u64>,
) -> Result<(ParticipantDetails, DetailsMeta), ApiError> {
    // One read: the stats headers that could hold the row, every item
    // the modal could show (the union of both rewards windows), the row
    // from the snapshots whose headers this instance knows, and the row's
    // jail and health chunks.
    let mut slots = vec![StatsSlot::Current, StatsSlot::Final(epoch)];
    if let Some(h) = height {
        slots.push(StatsSlot::AtHeight(epoch, h));
    }
    let union_keys = union_item_keys(id, epoch);
    let rows_in = core.headers.row_sources(epoch, height);
    let read = ModalRead {
        slots: &slots,
        items: &union_keys,
        participant: Some(id),
        rows_in: &rows_in,
        status_epoch: Some(epoch),
    };
    // With the table down, everything is read through from the chain.
    let (bundle, status) = match core.table.load_modal_bundle(&read).await {
        Ok(mut bundle) => {
            let status = std::mem::take(&mut bundle.status);
            (bundle, Ok(status))
        }
        Err(e) => {
            tracing::warn!(error = %e, "cache table unreadable; answering from the chain");
            (ModalBundle::default(), Err(e))
        }
    };
    for (slot, header) in &bundle.headers {
        core.headers.remember(*slot, header);
    }

    let row = locate_row(core, id, &bundle.headers, epoch, height).await?;
    let (participant, is_current) = match row {
        Row::Header(header, is_current) => match bundle.rows.get(&header.version) {
            Some(row) => (row.clone(), is_current),
            // A header this instance had not seen (or a replaced one): one
            // more read, of the row's chunk.
            None => (
                core.table.load_participant_row(&header, id).await?,
                is_current,
            ),
        },
        Row::Known(p, is_current) => (p.map(|p| *p), is_current),
    };
    let mut participant = participant.ok_or_else(|| {
        ApiError::NotFound(format!("Participant {id} not found in epoch {epoch}"))
    })?;
    apply_participant_status(&mut participant, epoch, status);

    let keys = modal_item_keys(id, epoch, is_current);
    let stored: HashMap<ItemKey, CachedItem> = bundle
        .items
        .into_iter()
        .filter(|(k, _)| keys.contains(k))
        .collect();
    let metas = stored.iter().map(|(k, v)| (k.clone(), v.meta)).collect();
    let to_fetch = missing_items(
        &keys,
        &metas,
        is_current.then_some(epoch),
        now_ms(),
        core.config.item_freshness,
    );
    let fetched = futures::future::join_all(
        to_fetch
            .iter()
            .map(|k| fetch_and_store(&core.chain, &core.table, k, !is_current)),
    )
    .await;

    let mut items = stored;
    let mut failed: Vec<ItemKind> = Vec::new();
    for (key, outcome) in to_fetch.iter().zip(fetched) {
        match outcome {
            ItemOutcome::Written(item) | ItemOutcome::LostRace(item) => {
                items.insert(key.clone(), item);
            }
            ItemOutcome::StoreFailed(item, e) => {
                tracing::warn!(participant = %id, epoch = key.epoch, kind = key.kind.as_str(), error = %e, "could not cache a fetched item");
                items.insert(key.clone(), item);
            }
            // A stale stored copy, if any, is still shown.
            ItemOutcome::FetchFailed(e) => {
                tracing::warn!(participant = %id, epoch = key.epoch, kind = key.kind.as_str(), error = %e, "fetch failed");
                if !items.contains_key(key) {
                    failed.push(key.kind);
                }
            }
        }
    }
    let details = assemble(id, epoch, is_current, participant, &items, &failed);
    let all_final = keys
        .iter()
        .all(|k| items.get(k).is_some_and(|i| i.meta.is_final));
    let meta = DetailsMeta {
        is_current,
        all_final,
        complete: details.missing.is_empty(),
    };
    Ok((details, meta))
}

/// Finds the snapshot holding the epoch's rows among the headers read
/// (the current one is trusted for the items' freshness window), or, when
/// none holds it, asks the epoch service.
async fn locate_row<C: Chain, T: CacheTable>(
    core: &Core<C, T>,
    id: &ParticipantId,
    headers: &HashMap<StatsSlot, SnapshotHeader>,
    epoch: u64,
    height: Option<u64>,
) -> Result<Row, ApiError> {
    let stored = StoredHeaders {
        current: headers.get(&StatsSlot::Current),
        finished: headers.get(&StatsSlot::Final(epoch)),
    };
    let choice = choose_snapshot(epoch, height, stored, now_ms(), core.config.item_freshness)?;
    if let SnapshotChoice::Stored(slot) = choice {
        if let Some(header) = headers.get(&slot) {
            return Ok(Row::Header(
                Box::new(header.clone()),
                slot == StatsSlot::Current,
            ));
        }
    }
    let view = epoch_by_id(core, epoch, height).await?;
    let row = view
        .snapshot
        .participants
        .iter()
        .find(|p| p.index == id.as_str())
        .cloned()
        .map(Box::new);
    Ok(Row::Known(row, view.is_current))
}

/// Rewards of E-5..E plus warm keys and hardware of E: both windows
/// (current and finished) in one read, before we know which applies.
fn union_item_keys(id: &ParticipantId, epoch: u64) -> Vec<ItemKey> {
    modal_item_keys(id, epoch, false)
}

fn assemble(
    id: &ParticipantId,
    epoch: u64,
    is_current: bool,
    participant: ParticipantStats,
    items: &HashMap<ItemKey, CachedItem>,
    failed: &[ItemKind],
) -> ParticipantDetails {
    let rewards: Vec<RewardView> = rewards_window(epoch, is_current)
        .into_iter()
        .filter_map(|e| {
            match &items
                .get(&ItemKey::new(id.clone(), e, ItemKind::Reward))?
                .data
            {
                ItemData::Reward(Some(r)) => Some(RewardView {
                    epoch_id: e,
                    assigned_reward_gnk: assigned_reward_gnk(&r.rewarded_coins),
                    claimed: r.claimed,
                }),
                _ => None,
            }
        })
        .collect();
    let warm_keys = match items
        .get(&ItemKey::new(id.clone(), epoch, ItemKind::WarmKeys))
        .map(|i| &i.data)
    {
        Some(ItemData::WarmKeys(k)) => k.clone(),
        _ => Vec::new(),
    };
    let ml_nodes = match items
        .get(&ItemKey::new(id.clone(), epoch, ItemKind::Hardware))
        .map(|i| &i.data)
    {
        Some(ItemData::Hardware(nodes)) => {
            merge_poc_weights(nodes, participant.ml_nodes_map.as_ref())
        }
        _ => Vec::new(),
    };
    let seed = participant
        .seed_signature
        .clone()
        .map(|signature| SeedView {
            participant: id.to_string(),
            epoch_index: epoch,
            signature,
        });
    let mut missing: Vec<&'static str> = Vec::new();
    for kind in ItemKind::ALL {
        if failed.contains(&kind) {
            missing.push(match kind {
                ItemKind::Reward => "rewards",
                ItemKind::WarmKeys => "warm_keys",
                ItemKind::Hardware => "ml_nodes",
            });
        }
    }
    ParticipantDetails {
        participant,
        rewards,
        seed,
        warm_keys,
        ml_nodes,
        missing,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::fakes::{offline_core, snapshot, A, B};
    use crate::table::ports::*;
    use crate::table::{ItemMeta, RewardRecord};

    fn final_item(key: ItemKey) -> CachedItem {
        let data = match key.kind {
            ItemKind::Reward => ItemData::Reward(Some(RewardRecord {
                rewarded_coins: "2500000000".into(),
                claimed: true,
            })),
            ItemKind::WarmKeys => ItemData::WarmKeys(Vec::new()),
            ItemKind::Hardware => ItemData::Hardware(Vec::new()),
        };
        CachedItem {
            key,
            meta: ItemMeta {
                fetched_at_ms: 1,
                is_final: true,
            },
            data,
        }
    }

    #[tokio::test]
    async fn a_cached_modal_is_one_table_read_once_the_header_is_known() {
        let core = offline_core();
        let fin = snapshot(56, 5_990, 5_000, Some(5_990), 1, &[A, B]);
        core.table
            .store_stats(StatsSlot::Final(56), &fin)
            .await
            .unwrap();
        let id = ParticipantId::parse(A).unwrap();
        for key in modal_item_keys(&id, 56, false) {
            core.table.put_item(&final_item(key)).await.unwrap();
        }
        let before = core.table.round_trips();
        participant_details(&core, &id, 56, None).await.unwrap();
        // The first modal of the epoch learns the header: a second read.
        assert_eq!(core.table.round_trips() - before, 2);
        let before = core.table.round_trips();
        let (details, meta) = participant_details(&core, &id, 56, None).await.unwrap();
        assert_eq!(core.table.round_trips() - before, 1, "one round trip");
        assert_eq!(core.chain.upstream_calls(), 0);
        assert_eq!(
            meta,
            DetailsMeta {
                is_current: false,
                all_final: true,
                complete: true
            }
        );
        let epochs: Vec<u64> = details.rewards.iter().map(|r| r.epoch_id).collect();
        assert_eq!(epochs, vec![56, 55, 54, 53, 52, 51]);
        assert!(details
            .rewards
            .iter()
            .all(|r| r.assigned_reward_gnk == 2 && r.claimed));
        assert_eq!(details.seed.map(|s| s.epoch_index), Some(56));
    }

    #[tokio::test]
    async fn missing_items_the_chain_cannot_give_are_named_not_failed() {
        let core = offline_core();
        let fin = snapshot(56, 5_990, 5_000, Some(5_990), 1, &[A]);
        core.table
            .store_stats(StatsSlot::Final(56), &fin)
            .await
            .unwrap();
        let id = ParticipantId::parse(A).unwrap();
        let (details, meta) = participant_details(&core, &id, 56, None).await.unwrap();
        assert!(!meta.complete);
        assert_eq!(details.missing, vec!["rewards", "warm_keys", "ml_nodes"]);
        // A participant outside the epoch is 404, and a height before it 400.
        let other = ParticipantId::parse(B).unwrap();
        let not_in = participant_details(&core, &other, 56, None)
            .await
            .unwrap_err();
        assert_eq!(not_in.status(), 404);
        let early = participant_details(&core, &id, 56, Some(10))
            .await
            .unwrap_err();
        assert_eq!(early.status(), 400);
    }
}
