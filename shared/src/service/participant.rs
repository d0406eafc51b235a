//! The participant modal (contract 1.5 with section 0's decisions): two
//! table reads when everything is cached, a concurrent read-through of the
//! missing items otherwise.

use std::collections::HashMap;

use crate::chain::Chain;
use crate::domain::{
    assigned_reward_gnk, merge_poc_weights, rewards_window, ParticipantStats, RewardView,
};
use crate::ids::ParticipantId;
use crate::table::{
    CacheTable, CachedItem, ItemData, ItemKey, ItemKind, SnapshotHeader, StatsSlot,
};
use crate::time::now_ms;

use super::epochs::epoch_by_id;
use super::items::{fetch_and_store, missing_items, modal_item_keys, ItemOutcome};
use super::responses::{ParticipantDetails, SeedView};
use super::snapshot::{choose_snapshot, SnapshotChoice, StoredHeaders};
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
    Header(SnapshotHeader, bool),
    /// Built through the epoch service, row in hand.
    Known(Option<Box<ParticipantStats>>, bool),
}

/// The modal of `id` in `epoch` (at `height`, for a finished epoch).
pub async fn participant_details<C: Chain, T: CacheTable>(
    core: &Core<C, T>,
    id: &ParticipantId,
    epoch: u64,
    height: Option<u64>,
) -> Result<(ParticipantDetails, DetailsMeta), ApiError> {
    // Read 1: the stats headers that could hold the row, and every item
    // the modal could show (the union of both rewards windows).
    let mut slots = vec![StatsSlot::Current, StatsSlot::Final(epoch)];
    if let Some(h) = height {
        slots.push(StatsSlot::AtHeight(epoch, h));
    }
    let union_keys = union_item_keys(id, epoch);
    let bundle = core.table.load_modal_bundle(&slots, &union_keys).await?;

    let row = locate_row(core, id, &bundle.headers, epoch, height).await?;
    // Read 2 (cached path only): the row's chunk.
    let (participant, is_current) = match row {
        Row::Header(header, is_current) => (
            core.table.load_participant_row(&header, id).await?,
            is_current,
        ),
        Row::Known(p, is_current) => (p.map(|p| *p), is_current),
    };
    let participant = participant.ok_or_else(|| {
        ApiError::NotFound(format!("Participant {id} not found in epoch {epoch}"))
    })?;

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
            return Ok(Row::Header(header.clone(), slot == StatsSlot::Current));
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
