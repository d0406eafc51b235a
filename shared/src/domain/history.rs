//! A participant's record over every finished epoch, and the network's
//! (`GET /v1/participants/{id}/history`, `GET /v1/network/history`): what
//! one epoch's entry says, built from the epoch's row as
//! `/v1/inference/epochs/{id}` serves it, its reward summary and its jail
//! status at the canonical height; and the network's sums over the rows.

use serde::{Deserialize, Serialize};

use super::rewards::{assigned_reward_gnk, gnk_from_coins, sum_rewarded_coins};
use super::sources::Tallies;
use super::stats::ParticipantStats;

/// Epochs a history page holds by default, and at most.
pub const DEFAULT_PAGE_EPOCHS: usize = 100;
pub const MAX_PAGE_EPOCHS: usize = 500;

/// One finished epoch of a participant, as stored and served.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryEntry {
    pub epoch_id: u64,
    /// The epoch's canonical height (what its stats were read at).
    pub height: u64,
    pub weight: i64,
    pub models: Vec<String>,
    pub current_epoch_stats: Tallies,
    pub missed_rate: f64,
    pub invalidation_rate: f64,
    /// `floor(rewarded_coins / 10^9)`; null while the chain has no summary.
    pub assigned_reward_gnk: Option<u64>,
    pub claimed: Option<bool>,
    /// At the canonical height; null when no validator status is stored.
    pub is_jailed: Option<bool>,
}

/// A participant's reward summary for the epoch, as far as it is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RewardSummary<'a> {
    pub rewarded_coins: &'a str,
    pub claimed: bool,
}

impl HistoryEntry {
    /// The entry of `row` (the epoch's served row, jail and health not
    /// merged) at `height`.
    pub fn from_row(
        epoch_id: u64,
        height: u64,
        row: &ParticipantStats,
        reward: Option<RewardSummary<'_>>,
        is_jailed: Option<bool>,
    ) -> Self {
        Self {
            epoch_id,
            height,
            weight: row.weight,
            models: row.models.clone(),
            current_epoch_stats: row.current_epoch_stats.clone(),
            missed_rate: row.missed_rate,
            invalidation_rate: row.invalidation_rate,
            assigned_reward_gnk: reward.map(|r| assigned_reward_gnk(r.rewarded_coins)),
            claimed: reward.map(|r| r.claimed),
            is_jailed,
        }
    }

    /// Whether nothing in it can change any more: the reward is claimed
    /// and the jail status was read final (the caller knows the latter).
    pub fn is_settled(&self, jail_final: bool) -> bool {
        self.claimed == Some(true) && jail_final
    }
}

/// One finished epoch of the network: the sums of its rows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkEpoch {
    pub epoch_id: u64,
    pub height: u64,
    pub participants: u64,
    pub total_weight: i64,
    pub inference_count: u64,
    pub missed_requests: u64,
    pub validated_inferences: u64,
    pub invalidated_inferences: u64,
    /// As the epoch route: null until every participant's summary exists.
    pub total_assigned_rewards_gnk: Option<u64>,
}

fn counter(s: &str) -> u64 {
    s.trim().parse().unwrap_or(0)
}

impl NetworkEpoch {
    pub fn from_rows(
        epoch_id: u64,
        height: u64,
        rows: &[ParticipantStats],
        total_assigned_rewards_gnk: Option<u64>,
    ) -> Self {
        let sum = |f: fn(&Tallies) -> &str| {
            rows.iter()
                .map(|r| counter(f(&r.current_epoch_stats)))
                .fold(0u64, u64::saturating_add)
        };
        Self {
            epoch_id,
            height,
            participants: rows.len() as u64,
            total_weight: rows.iter().map(|r| r.weight).fold(0, i64::saturating_add),
            inference_count: sum(|t| &t.inference_count),
            missed_requests: sum(|t| &t.missed_requests),
            validated_inferences: sum(|t| &t.validated_inferences),
            invalidated_inferences: sum(|t| &t.invalidated_inferences),
            total_assigned_rewards_gnk,
        }
    }
}

/// A finished epoch the history cannot hold, and why (its state is pruned
/// on every configured node).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnavailableEpoch {
    pub epoch_id: u64,
    pub reason: String,
}

/// One stored row of the network's history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NetworkHistoryRow {
    Epoch(NetworkEpoch),
    Unavailable(UnavailableEpoch),
}

impl NetworkHistoryRow {
    pub fn epoch_id(&self) -> u64 {
        match self {
            NetworkHistoryRow::Epoch(r) => r.epoch_id,
            NetworkHistoryRow::Unavailable(u) => u.epoch_id,
        }
    }
}

/// The network's reward total from every participant's summary, `None`
/// while any is missing (as the epoch route's total).
pub fn total_from_summaries<'a>(
    summaries: impl IntoIterator<Item = Option<RewardSummary<'a>>>,
) -> Option<u64> {
    let coins: Option<Vec<&str>> = summaries
        .into_iter()
        .map(|s| s.map(|s| s.rewarded_coins))
        .collect();
    coins.map(|c| gnk_from_coins(sum_rewarded_coins(c)))
}

/// An inclusive range of epochs, validated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EpochRange {
    pub from: u64,
    pub to: u64,
}

impl EpochRange {
    /// `from`..=`to`, either side optional (`from` defaults to epoch 1, `to`
    /// to `latest_finished`). `Err` says why the range is bad.
    pub fn new(from: Option<u64>, to: Option<u64>, latest_finished: u64) -> Result<Self, String> {
        let from = from.unwrap_or(1);
        let to = to.unwrap_or(latest_finished);
        if from == 0 || to == 0 {
            return Err("epochs start at 1".into());
        }
        if from > to {
            return Err(format!("from_epoch {from} is after to_epoch {to}"));
        }
        Ok(Self { from, to })
    }

    /// How many epochs it spans.
    pub fn epochs(&self) -> u64 {
        self.to - self.from + 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::sources::{EpochMember, ListedMember};

    fn row(index: &str, weight: i64, count: &str, missed: &str) -> ParticipantStats {
        let epoch = EpochMember {
            index: index.into(),
            weight: Some(weight),
            models: vec!["m/a".into(), "m/b".into()],
            ..Default::default()
        };
        let listed = ListedMember {
            index: index.into(),
            tallies: Some(Tallies {
                inference_count: count.into(),
                missed_requests: missed.into(),
                validated_inferences: "3".into(),
                invalidated_inferences: "1".into(),
                ..Default::default()
            }),
            ..Default::default()
        };
        ParticipantStats::from_sources(&epoch, &listed)
    }

    #[test]
    fn an_entry_is_the_row_plus_its_reward_and_jail() {
        let r = row("a", 40, "90", "10");
        let claimed = RewardSummary {
            rewarded_coins: "12999999999",
            claimed: true,
        };
        let cases = [
            (Some(claimed), Some(false), Some(12), Some(true), true),
            (
                Some(RewardSummary {
                    claimed: false,
                    ..claimed
                }),
                Some(true),
                Some(12),
                Some(false),
                false,
            ),
            (None, None, None, None, false),
        ];
        for (reward, jailed, gnk, was_claimed, settled) in cases {
            let e = HistoryEntry::from_row(59, 60_990, &r, reward, jailed);
            assert_eq!(
                (e.assigned_reward_gnk, e.claimed, e.is_jailed),
                (gnk, was_claimed, jailed)
            );
            assert_eq!(e.is_settled(true), settled, "{reward:?}");
            assert!(!e.is_settled(false), "jail not final: never settled");
            assert_eq!((e.epoch_id, e.height, e.weight), (59, 60_990, 40));
            assert_eq!(e.models, r.models);
            assert_eq!(e.current_epoch_stats, r.current_epoch_stats);
            assert_eq!(e.missed_rate, r.missed_rate);
            assert_eq!(e.missed_rate, 0.1);
        }
    }

    #[test]
    fn the_network_row_sums_the_rows() {
        let rows = [row("a", 40, "90", "10"), row("b", 2, "garbage", "5")];
        let n = NetworkEpoch::from_rows(7, 700, &rows, Some(3));
        assert_eq!(
            n,
            NetworkEpoch {
                epoch_id: 7,
                height: 700,
                participants: 2,
                total_weight: 42,
                inference_count: 90,
                missed_requests: 15,
                validated_inferences: 6,
                invalidated_inferences: 2,
                total_assigned_rewards_gnk: Some(3),
            }
        );
        assert_eq!(NetworkEpoch::from_rows(7, 700, &[], None).participants, 0);
    }

    #[test]
    fn the_total_needs_every_summary() {
        let s = |c| {
            Some(RewardSummary {
                rewarded_coins: c,
                claimed: false,
            })
        };
        assert_eq!(
            total_from_summaries([s("1500000000"), s("600000000")]),
            Some(2)
        );
        assert_eq!(total_from_summaries([s("1500000000"), None]), None);
        assert_eq!(total_from_summaries([]), Some(0));
    }

    #[test]
    fn ranges() {
        let cases = [
            (None, None, Ok((1, 59))),
            (Some(10), None, Ok((10, 59))),
            (None, Some(5), Ok((1, 5))),
            (Some(5), Some(5), Ok((5, 5))),
            (Some(6), Some(5), Err(())),
            (Some(0), None, Err(())),
            (None, Some(0), Err(())),
        ];
        for (from, to, want) in cases {
            let got = EpochRange::new(from, to, 59)
                .map(|r| (r.from, r.to))
                .map_err(|_| ());
            assert_eq!(got, want, "{from:?}..{to:?}");
        }
    }
}
