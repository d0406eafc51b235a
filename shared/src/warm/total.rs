//! A finished epoch's reward total, written once every participant's
//! reward summary for it is known.

use crate::domain::{gnk_from_coins, sum_rewarded_coins};
use crate::ids::ParticipantId;
use crate::table::{EpochTotal, ItemData, ItemKey, ItemKind, ItemTable, PutOutcome, TotalTable};

/// The sum of the epoch's rewarded coins, once the `participants`
/// participants of the epoch each have a reward summary among `rewards`
/// (their stored reward items). `None` while any is missing or has no
/// summary yet (`Reward(None)`: the chain's 404, e.g. an epoch not settled
/// yet), and for an epoch without participants. A sum of 0 over summaries
/// that are all there is a true 0.
pub fn settled_sum<'a>(
    participants: usize,
    rewards: impl IntoIterator<Item = &'a ItemData>,
) -> Option<u128> {
    let coins: Option<Vec<&str>> = rewards
        .into_iter()
        .map(|data| match data {
            ItemData::Reward(Some(r)) => Some(r.rewarded_coins.as_str()),
            _ => None,
        })
        .collect();
    let coins = coins?;
    (participants > 0 && coins.len() == participants).then(|| sum_rewarded_coins(coins))
}

/// Writes the finished epoch's total once each of its `participants`
/// (every participant of the epoch, never a subset) has a reward summary
/// (see [`settled_sum`]); returns the stored total.
pub async fn settle_total<T: ItemTable + TotalTable>(
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
    let Some(sum) = settled_sum(keys.len(), items.values().map(|i| &i.data)) else {
        tracing::info!(
            epoch,
            known = items.len(),
            participants = keys.len(),
            "epoch total waits for every participant's reward summary"
        );
        return None;
    };
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table::RewardRecord;

    fn summary(coins: &str) -> ItemData {
        ItemData::Reward(Some(RewardRecord {
            rewarded_coins: coins.into(),
            claimed: false,
        }))
    }

    #[test]
    fn a_total_needs_every_participants_summary() {
        let none = ItemData::Reward(None);
        let cases: Vec<(usize, Vec<ItemData>, Option<u128>)> = vec![
            // (participants, their stored rewards, the sum)
            (2, vec![summary("5"), summary("7")], Some(12)),
            (2, vec![summary("0"), summary("0")], Some(0)),
            // A summary the chain does not have yet is not a zero.
            (2, vec![summary("5"), none.clone()], None),
            (2, vec![none.clone(), none.clone()], None),
            // A participant whose reward is not stored at all.
            (3, vec![summary("5"), summary("7")], None),
            // No participants: nothing to settle.
            (0, vec![], None),
            // Not a reward item.
            (1, vec![ItemData::WarmKeys(vec![])], None),
        ];
        for (participants, rewards, want) in cases {
            assert_eq!(
                settled_sum(participants, &rewards),
                want,
                "{participants} {rewards:?}"
            );
        }
    }
}
