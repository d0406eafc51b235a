//! A finished epoch's reward total, written once every participant's
//! reward for it is known.

use crate::domain::{gnk_from_coins, sum_rewarded_coins};
use crate::ids::ParticipantId;
use crate::table::{CacheTable, EpochTotal, ItemData, ItemKey, ItemKind, PutOutcome};

/// Writes the finished epoch's total once every participant's reward
/// for it is known; returns the stored total.
pub async fn settle_total<T: CacheTable>(
    table: &T,
    epoch: u64,
    participants: &[ParticipantId],
) -> Option<u64> {
    match table.load_total(epoch).await {
        Ok(Some(t)) => return Some(t.total_assigned_rewards_gnk),
        Ok(None) => {}
        Err(e) => {
            tracing::warn!(epoch, error = %e, "cannot read the epoch total");
            return None;
        }
    }
    let keys: Vec<ItemKey> = participants
        .iter()
        .map(|p| ItemKey::new(p.clone(), epoch, ItemKind::Reward))
        .collect();
    let items = match table.load_items(&keys).await {
        Ok(i) => i,
        Err(e) => {
            tracing::warn!(epoch, error = %e, "cannot read the epoch's rewards");
            return None;
        }
    };
    if items.len() < keys.len() {
        tracing::info!(
            epoch,
            known = items.len(),
            participants = keys.len(),
            "epoch total waits for every reward"
        );
        return None;
    }
    let sum = sum_rewarded_coins(items.values().filter_map(|i| match &i.data {
        ItemData::Reward(Some(r)) => Some(r.rewarded_coins.as_str()),
        _ => None,
    }));
    let total = EpochTotal {
        epoch_id: epoch,
        total_assigned_rewards_gnk: gnk_from_coins(sum),
        rewarded_coins_sum: sum.to_string(),
        participants: keys.len() as u64,
    };
    match table.store_total(&total).await {
        Ok(PutOutcome::Written) => Some(total.total_assigned_rewards_gnk),
        Ok(PutOutcome::LostRace) => table
            .load_total(epoch)
            .await
            .ok()
            .flatten()
            .map(|t| t.total_assigned_rewards_gnk),
        Err(e) => {
            tracing::warn!(epoch, error = %e, "cannot store the epoch total");
            None
        }
    }
}
