//! Canonical heights of past epochs (docs/contract.md 2.2) and the average block time.

use super::rates::round_ties_even;

/// Blocks back from the tip used for the average block time.
pub const AVG_BLOCK_WINDOW: u64 = 10_000;
/// Used when the block times cannot be read.
pub const DEFAULT_BLOCK_TIME: f64 = 6.0;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HeightError {
    #[error(
        "Height {height} is before epoch {epoch} start (effective height: {effective}). No data exists for this epoch at this height."
    )]
    BeforeEpochStart {
        height: u64,
        epoch: u64,
        effective: u64,
    },
}

/// The height a finished epoch is read at: 10 blocks before the next epoch
/// takes effect, or, when that is unknown, 10 before the next PoC start.
pub fn canonical_height(
    next_epoch_effective: Option<u64>,
    next_poc_start: Option<u64>,
) -> Option<u64> {
    next_epoch_effective
        .or(next_poc_start)
        .map(|h| h.saturating_sub(10))
}

/// The height to read a past epoch at for a requested `height`: an error
/// before the epoch's start, clamped at the canonical height.
pub fn resolve_past_height(
    requested: Option<u64>,
    epoch: u64,
    effective: u64,
    canonical: u64,
) -> Result<u64, HeightError> {
    match requested {
        None => Ok(canonical),
        Some(h) if h < effective => Err(HeightError::BeforeEpochStart {
            height: h,
            epoch,
            effective,
        }),
        Some(h) => Ok(h.min(canonical)),
    }
}

/// Seconds per block over the last `AVG_BLOCK_WINDOW` blocks, to 2 places.
pub fn avg_block_time(tip_time: Option<&str>, earlier_time: Option<&str>) -> f64 {
    let parse = |t: Option<&str>| chrono::DateTime::parse_from_rfc3339(t?).ok();
    match (parse(tip_time), parse(earlier_time)) {
        (Some(tip), Some(earlier)) if tip > earlier => {
            let secs = (tip - earlier).num_microseconds().unwrap_or(0) as f64 / 1e6;
            round_ties_even(secs / AVG_BLOCK_WINDOW as f64, 2)
        }
        _ => DEFAULT_BLOCK_TIME,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_cases() {
        let cases = [
            (Some(888_000), Some(900_000), Some(887_990)),
            (None, Some(900_000), Some(899_990)),
            (None, None, None),
            (Some(5), None, Some(0)),
        ];
        for (next_eff, next_poc, want) in cases {
            assert_eq!(canonical_height(next_eff, next_poc), want);
        }
    }

    #[test]
    fn resolve_cases() {
        let (epoch, eff, canon) = (55, 1000, 2000);
        let cases = [
            (None, Ok(2000)),
            (
                Some(999),
                Err(HeightError::BeforeEpochStart {
                    height: 999,
                    epoch,
                    effective: eff,
                }),
            ),
            (Some(1000), Ok(1000)),
            (Some(1500), Ok(1500)),
            (Some(2000), Ok(2000)),
            (Some(9_999_999), Ok(2000)),
        ];
        for (requested, want) in cases {
            assert_eq!(
                resolve_past_height(requested, epoch, eff, canon),
                want,
                "{requested:?}"
            );
        }
        let msg = resolve_past_height(Some(1), 56, 873438, 900000)
            .unwrap_err()
            .to_string();
        assert_eq!(msg, "Height 1 is before epoch 56 start (effective height: 873438). No data exists for this epoch at this height.");
    }

    #[test]
    fn avg_block_time_cases() {
        let cases = [
            (
                Some("2025-10-18T10:00:00Z"),
                Some("2025-10-17T17:17:20Z"),
                6.02,
            ),
            (
                Some("2025-10-18T10:00:00.5Z"),
                Some("2025-10-18T10:00:00Z"),
                0.0,
            ),
            (None, Some("2025-10-18T10:00:00Z"), 6.0),
            (Some("garbage"), Some("2025-10-18T10:00:00Z"), 6.0),
            (
                Some("2025-10-18T10:00:00Z"),
                Some("2025-10-18T11:00:00Z"),
                6.0,
            ),
        ];
        for (tip, earlier, want) in cases {
            assert_eq!(avg_block_time(tip, earlier), want, "{tip:?} {earlier:?}");
        }
    }
}
