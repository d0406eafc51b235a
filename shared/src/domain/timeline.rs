//! The timeline's computations (docs/contract-part2.md 1): the average
//! block time over the last 10,000 blocks and the one event it lists.

use serde::{Deserialize, Serialize};

use super::rates::round_ties_even;

/// The reference block is this many blocks below the current one.
pub const TIMELINE_WINDOW: u64 = 10_000;
pub const MONEY_TRANSFER_EVENT: &str = "Money Transfer Enabled";

/// The reference block's height: `H − 10000` (block 1 on a chain younger
/// than that, where the tracker failed).
pub fn reference_height(current: u64) -> u64 {
    current.saturating_sub(TIMELINE_WINDOW).max(1)
}

/// Seconds per block between the two blocks, `round(Δt / blocks, 2)`, each
/// time truncated to microseconds first (Python's `fromisoformat`). No
/// fallback value: `None` when a time is unreadable or no block lies
/// between them.
pub fn timeline_avg_block_time(current: (u64, &str), reference: (u64, &str)) -> Option<f64> {
    let micros = |t: &str| {
        chrono::DateTime::parse_from_rfc3339(t)
            .ok()
            .map(|d| d.timestamp_micros())
    };
    let blocks = current.0.checked_sub(reference.0).filter(|b| *b > 0)?;
    let delta_us = micros(current.1)? - micros(reference.1)?;
    Some(round_ties_even(delta_us as f64 / 1e6 / blocks as f64, 2))
}

/// One entry of the timeline's `events`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimelineEvent {
    pub block_height: u64,
    pub description: String,
    pub occurred: bool,
}

/// The single event: transfers are enabled at the restrictions' end block.
pub fn timeline_events(current_height: u64, restriction_end_block: u64) -> Vec<TimelineEvent> {
    vec![TimelineEvent {
        block_height: restriction_end_block,
        description: MONEY_TRANSFER_EVENT.into(),
        occurred: current_height >= restriction_end_block,
    }]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn avg_block_time_cases() {
        let cases = [
            // 60,200 s over 10,000 blocks.
            (
                (20_000, "2025-10-18T10:00:00Z"),
                (10_000, "2025-10-17T17:16:40Z"),
                Some(6.02),
            ),
            // Each time is cut to microseconds before subtracting: 0.005 s
            // (rounds up to 0.01), where the full nanoseconds would give
            // 0.004999001 s (rounds to 0.0).
            (
                (2, "2025-10-18T08:56:30.005Z"),
                (1, "2025-10-18T08:56:30.000000999Z"),
                Some(0.01),
            ),
            // 60,045 s: 6.0045 rounds to 6.0 (binary value below the tie).
            (
                (10_001, "2025-10-18T16:40:45Z"),
                (1, "2025-10-18T00:00:00Z"),
                Some(6.0),
            ),
            // 60,055 s: 6.0055 rounds to 6.01.
            (
                (10_001, "2025-10-18T16:40:55Z"),
                (1, "2025-10-18T00:00:00Z"),
                Some(6.01),
            ),
            // A young chain: the reference is block 1, the division by the
            // blocks really between them.
            (
                (101, "2025-10-18T00:10:00Z"),
                (1, "2025-10-18T00:00:00Z"),
                Some(6.0),
            ),
            // Offsets other than Z are read as the same instant.
            (
                (10_001, "2025-10-18T12:00:00+02:00"),
                (1, "2025-10-18T00:00:00Z"),
                Some(3.6),
            ),
            ((10_001, "garbage"), (1, "2025-10-18T00:00:00Z"), None),
            (
                (1, "2025-10-18T00:00:00Z"),
                (1, "2025-10-18T00:00:00Z"),
                None,
            ),
        ];
        for (current, reference, want) in cases {
            assert_eq!(
                timeline_avg_block_time(current, reference),
                want,
                "{current:?} {reference:?}"
            );
        }
    }

    #[test]
    fn the_money_transfer_event() {
        let cases = [(1_554_999, false), (1_555_000, true), (2_000_000, true)];
        for (h, occurred) in cases {
            assert_eq!(
                timeline_events(h, 1_555_000),
                vec![TimelineEvent {
                    block_height: 1_555_000,
                    description: "Money Transfer Enabled".into(),
                    occurred
                }]
            );
        }
        assert_eq!(reference_height(887_711), 877_711);
        assert_eq!(reference_height(10_000), 1);
        assert_eq!(reference_height(5), 1);
    }
}
