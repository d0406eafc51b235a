//! The rewards window and GNK conversion (docs/contract.md 1.5, section 0).

use serde::{Deserialize, Serialize};

/// Coins per GNK.
const NGNK_PER_GNK: u128 = 1_000_000_000;

/// One entry of the modal's `rewards` list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RewardView {
    pub epoch_id: u64,
    pub assigned_reward_gnk: u64,
    pub claimed: bool,
}

/// `rewarded_coins // 10^9`; unparsable or negative amounts count as 0.
pub fn assigned_reward_gnk(rewarded_coins: &str) -> u64 {
    gnk_from_coins(sum_rewarded_coins([rewarded_coins]))
}

/// The sum of the epoch's `rewarded_coins` (trimmed; unparsable or
/// negative amounts count as 0), saturating.
pub fn sum_rewarded_coins<'a>(rewarded_coins: impl IntoIterator<Item = &'a str>) -> u128 {
    rewarded_coins
        .into_iter()
        .map(|c| c.trim().parse::<u128>().unwrap_or(0))
        .fold(0, u128::saturating_add)
}

/// Whole GNK in an amount of coins (floor).
pub fn gnk_from_coins(coins: u128) -> u64 {
    u64::try_from(coins / NGNK_PER_GNK).unwrap_or(u64::MAX)
}

/// The epoch's total: the sum of coins first, then the floor division (the
/// sum of per-row floors would differ).
pub fn total_assigned_rewards_gnk<'a>(rewarded_coins: impl IntoIterator<Item = &'a str>) -> u64 {
    gnk_from_coins(sum_rewarded_coins(rewarded_coins))
}

/// Epochs whose rewards the modal shows, newest first: the current epoch C
/// gives C-1..C-5; a finished epoch E gives E..E-5. Epochs <= 0 are dropped.
pub fn rewards_window(epoch: u64, is_current: bool) -> Vec<u64> {
    let newest = if is_current {
        epoch.saturating_sub(1)
    } else {
        epoch
    };
    let oldest = epoch.saturating_sub(5).max(1);
    (oldest..=newest).rev().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_cases() {
        let cases: [(u64, bool, &[u64]); 8] = [
            (56, true, &[55, 54, 53, 52, 51]),
            (56, false, &[56, 55, 54, 53, 52, 51]),
            (3, true, &[2, 1]),
            (3, false, &[3, 2, 1]),
            (1, true, &[]),
            (1, false, &[1]),
            (6, true, &[5, 4, 3, 2, 1]),
            (6, false, &[6, 5, 4, 3, 2, 1]),
        ];
        for (epoch, current, want) in cases {
            assert_eq!(
                rewards_window(epoch, current),
                want,
                "epoch {epoch} current {current}"
            );
        }
    }

    #[test]
    fn gnk_conversion() {
        let cases = [
            ("38627452617213", 38627),
            ("0", 0),
            ("999999999", 0),
            ("1000000000", 1),
            ("", 0),
            ("-5", 0),
            ("garbage", 0),
            ("340282366920938463463374607431768211455", u64::MAX),
        ];
        for (coins, want) in cases {
            assert_eq!(assigned_reward_gnk(coins), want, "{coins}");
        }
    }

    #[test]
    fn total_floors_the_sum_not_each_row() {
        let cases: [(&[&str], u64); 5] = [
            (&["600000000", "600000000"], 1),
            (&["38627452617213", "50842445416245"], 89469),
            (&[], 0),
            (&["0", "0"], 0),
            (&[" 1000000000 ", "garbage", "-5"], 1),
        ];
        for (coins, want) in cases {
            assert_eq!(
                total_assigned_rewards_gnk(coins.iter().copied()),
                want,
                "{coins:?}"
            );
        }
    }
}
