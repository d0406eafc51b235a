//! Which stored snapshot answers a request for an epoch at an optional
//! height: one pure rule for the epoch route and the participant modal.

use std::time::Duration;

use crate::domain::{resolve_past_height, HeightError};
use crate::table::{SnapshotHeader, StatsSlot};

/// The stats headers read so far for a request.
#[derive(Debug, Clone, Copy, Default)]
pub struct StoredHeaders<'a> {
    /// The `CURRENT` snapshot, whatever epoch it is of.
    pub current: Option<&'a SnapshotHeader>,
    /// The epoch's finished snapshot (`STATS#FINAL`).
    pub finished: Option<&'a SnapshotHeader>,
}

/// Where the answer comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SnapshotChoice {
    /// A stored snapshot (an `AtHeight` slot may still be missing: then build).
    Stored(StatsSlot),
    /// Nothing stored answers: ask the chain.
    Build,
}

/// Chooses the snapshot for `epoch` at `height`:
/// - the current snapshot when it is of `epoch` and younger than
///   `freshness` (section 0: the current epoch answers like `/current`; a
///   height before its start is an error, any other is ignored);
/// - a finished epoch's canonical snapshot, or one at the requested height
///   (clamped to the canonical height, an error before the epoch's start);
/// - without a finished snapshot, one stored at exactly the requested height;
/// - else the chain.
pub fn choose_snapshot(
    epoch: u64,
    height: Option<u64>,
    stored: StoredHeaders<'_>,
    now_ms: i64,
    freshness: Duration,
) -> Result<SnapshotChoice, HeightError> {
    if let Some(current) = stored.current {
        let age_ms = now_ms.saturating_sub(current.fetched_at_ms);
        let fresh = i64::try_from(freshness.as_millis()).map_or(true, |f| age_ms < f);
        if current.epoch_id == epoch && fresh {
            let effective = current.effective_block_height;
            if let Some(h) = height.filter(|h| *h < effective) {
                return Err(HeightError::BeforeEpochStart {
                    height: h,
                    epoch,
                    effective,
                });
            }
            return Ok(SnapshotChoice::Stored(StatsSlot::Current));
        }
    }
    if let Some(fin) = stored.finished {
        let canonical = fin.canonical_height.unwrap_or(fin.height);
        let target = resolve_past_height(height, epoch, fin.effective_block_height, canonical)?;
        return Ok(SnapshotChoice::Stored(if target == fin.height {
            StatsSlot::Final(epoch)
        } else {
            StatsSlot::AtHeight(epoch, target)
        }));
    }
    Ok(match height {
        Some(h) => SnapshotChoice::Stored(StatsSlot::AtHeight(epoch, h)),
        None => SnapshotChoice::Build,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table::BlockInfo;

    fn header(epoch: u64, height: u64, effective: u64, fetched_at_ms: i64) -> SnapshotHeader {
        SnapshotHeader {
            epoch_id: epoch,
            height,
            fetched_at_ms,
            is_finished: false,
            effective_block_height: effective,
            canonical_height: None,
            block: BlockInfo::default(),
            participant_count: 0,
            version: String::new(),
            buckets: 0,
            rows_hash: None,
            tallies_hash: None,
            chunks_written_ms: None,
        }
    }

    type Choice = Result<SnapshotChoice, HeightError>;

    #[test]
    fn choices() {
        use SnapshotChoice::*;
        use StatsSlot::*;
        let fresh = Duration::from_secs(30);
        let now = 100_000;
        let current = header(60, 9_000, 8_000, now - 1_000);
        let stale_current = header(60, 9_000, 8_000, now - 31_000);
        let mut finished = header(56, 5_990, 5_000, 0);
        finished.canonical_height = Some(5_990);
        let before = |height, epoch, effective| {
            Err(HeightError::BeforeEpochStart {
                height,
                epoch,
                effective,
            })
        };
        let none = StoredHeaders::default();
        let cur = StoredHeaders {
            current: Some(&current),
            finished: None,
        };
        let stale = StoredHeaders {
            current: Some(&stale_current),
            finished: None,
        };
        let fin = StoredHeaders {
            current: Some(&current),
            finished: Some(&finished),
        };
        let cases: Vec<(u64, Option<u64>, StoredHeaders, Choice)> = vec![
            (60, None, cur, Ok(Stored(Current))),
            (60, Some(8_500), cur, Ok(Stored(Current))),
            (60, Some(99_999), cur, Ok(Stored(Current))),
            (60, Some(7_999), cur, before(7_999, 60, 8_000)),
            (60, None, stale, Ok(Build)),
            (60, Some(8_500), stale, Ok(Stored(AtHeight(60, 8_500)))),
            (59, None, cur, Ok(Build)),
            (60, Some(7_999), stale, Ok(Stored(AtHeight(60, 7_999)))),
            (56, None, fin, Ok(Stored(Final(56)))),
            (56, Some(5_990), fin, Ok(Stored(Final(56)))),
            (56, Some(9_999_999), fin, Ok(Stored(Final(56)))),
            (56, Some(5_500), fin, Ok(Stored(AtHeight(56, 5_500)))),
            (56, Some(4_999), fin, before(4_999, 56, 5_000)),
            (56, Some(5_500), none, Ok(Stored(AtHeight(56, 5_500)))),
            (56, None, none, Ok(Build)),
        ];
        for (epoch, height, stored, want) in cases {
            assert_eq!(
                choose_snapshot(epoch, height, stored, now, fresh),
                want,
                "epoch {epoch} height {height:?}"
            );
        }
        // Any age is fresh enough under an unbounded window.
        assert_eq!(
            choose_snapshot(60, Some(7_999), stale, now, Duration::MAX),
            before(7_999, 60, 8_000)
        );
    }
}
