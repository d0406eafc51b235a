//! An epoch's stats as the table holds them: the slots, the snapshot
//! header and rows, the buckets its chunks are split into, the counters'
//! hash, the epoch total, and when a snapshot or its chunks may be
//! replaced or kept.

use serde::{Deserialize, Serialize};

use crate::domain::ParticipantStats;
use crate::hash::fnv1a;

/// Whether a snapshot may be stored in `slot` over the one there (fetched at
/// `existing`): `Final` and `AtHeight` are written once (first write wins),
/// `Current` only replaces an older snapshot. (In DynamoDB:
/// `attribute_not_exists(pk)`, or for `Current` `... OR fetched_at_ms < :new`.)
pub fn may_replace_stats(slot: StatsSlot, existing: Option<i64>, new_fetched_at_ms: i64) -> bool {
    match (slot, existing) {
        (_, None) => true,
        (StatsSlot::Current, Some(old)) => old < new_fetched_at_ms,
        (StatsSlot::Final(_) | StatsSlot::AtHeight(..), Some(_)) => false,
    }
}

/// Whether a new current snapshot (of `epoch`, rows hashing to
/// `rows_hash`) may keep the stored one's chunks and rewrite only its
/// header: the same epoch and rows, and chunks young enough to outlive
/// another refresh interval.
pub fn current_chunks_reusable(
    stored: &SnapshotHeader,
    epoch: u64,
    rows_hash: u64,
    now_ms: i64,
) -> bool {
    stored.epoch_id == epoch
        && stored.rows_hash == Some(rows_hash)
        && stored
            .chunks_written_ms
            .is_some_and(|at| now_ms - at < CURRENT_CHUNKS_REWRITE_MS)
}

/// Which stored copy of an epoch's stats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StatsSlot {
    /// The latest snapshot of whichever epoch is current (one global item,
    /// so `/current` is one read).
    Current,
    /// A finished epoch at its canonical height: immutable.
    Final(u64),
    /// A finished epoch at a requested height below the canonical one.
    AtHeight(u64, u64),
}

/// The fields of the `/v1/inference/current` response that describe the
/// chain's tip rather than the epoch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct BlockInfo {
    pub current_block_height: Option<u64>,
    pub current_block_timestamp: Option<String>,
    pub avg_block_time: Option<f64>,
    pub next_poc_start_block: Option<u64>,
    pub set_new_validators_block: Option<u64>,
}

/// Everything stored about an epoch's stats except the participant rows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SnapshotHeader {
    pub epoch_id: u64,
    pub height: u64,
    pub fetched_at_ms: i64,
    pub is_finished: bool,
    pub effective_block_height: u64,
    pub canonical_height: Option<u64>,
    #[serde(default)]
    pub block: BlockInfo,
    pub participant_count: u64,
    /// Identifies this snapshot's row chunks (written before the header).
    pub version: String,
    /// Rows are spread over this many chunks by [`bucket_of`].
    pub buckets: u32,
    /// A hash of the rows as stored (the current snapshot: a refresh that
    /// finds the same rows rewrites only the header). For a snapshot whose
    /// tallies are stored apart, of the rows without them.
    #[serde(default)]
    pub rows_hash: Option<u64>,
    /// Set when the rows' tallies (their counters, which every block
    /// moves) are stored apart from the rows, one tally chunk beside each
    /// row chunk and rewritten in place: a hash of them. The current
    /// snapshot's refresh then writes the tallies and the header, not the
    /// rows, when only counters changed.
    #[serde(default)]
    pub tallies_hash: Option<u64>,
    /// When the chunks were written (ms); the current snapshot's chunks
    /// expire [`CURRENT_CHUNKS_TTL_MS`] after this, so a refresh writes
    /// them again once they are [`CURRENT_CHUNKS_REWRITE_MS`] old.
    #[serde(default)]
    pub chunks_written_ms: Option<i64>,
}

/// How long the current snapshot's chunks live: a replaced snapshot is
/// gone within this (not a day), and a refresh with unchanged rows
/// rewrites the chunks once they are [`CURRENT_CHUNKS_REWRITE_MS`] old.
pub const CURRENT_CHUNKS_TTL_MS: i64 = 45 * 60_000;
pub const CURRENT_CHUNKS_REWRITE_MS: i64 = 20 * 60_000;

#[derive(Debug, Clone, PartialEq)]
pub struct EpochSnapshot {
    pub header: SnapshotHeader,
    pub participants: Vec<ParticipantStats>,
}

impl EpochSnapshot {
    pub fn participant(&self, id: &str) -> Option<&ParticipantStats> {
        self.participants.iter().find(|p| p.index == id)
    }
}

/// Where a participant's row may be read in the modal's one round trip:
/// a snapshot whose header the instance knows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowSource {
    pub version: String,
    pub buckets: u32,
    /// Its tallies are stored apart ([`SnapshotHeader::tallies_hash`]).
    pub tallies_apart: bool,
}

impl RowSource {
    pub fn of(header: &SnapshotHeader) -> Self {
        Self {
            version: header.version.clone(),
            buckets: header.buckets,
            tallies_apart: header.tallies_hash.is_some(),
        }
    }
}

/// A hash of the rows' tallies, in row order (both adapters name a
/// current snapshot's tallies by it).
pub fn tallies_hash(rows: &[ParticipantStats]) -> u64 {
    let mut bytes = Vec::with_capacity(rows.len() * 48);
    for row in rows {
        let t = &row.current_epoch_stats;
        for counter in [
            &t.inference_count,
            &t.missed_requests,
            &t.earned_coins,
            &t.rewarded_coins,
            &t.burned_coins,
            &t.validated_inferences,
            &t.invalidated_inferences,
        ] {
            bytes.extend_from_slice(counter.as_bytes());
            bytes.push(0);
        }
    }
    fnv1a(&bytes)
}

/// Rows per chunk: small enough that one modal reads little, large enough
/// that a 10,000-participant epoch is a few hundred items.
pub const ROWS_PER_BUCKET: usize = 64;

pub fn bucket_count(participants: usize) -> u32 {
    participants.div_ceil(ROWS_PER_BUCKET).max(1) as u32
}

/// A participant's chunk: FNV-1a of its id, stable across processes and
/// releases (std's hasher is not guaranteed to be).
pub fn bucket_of(participant: &str, buckets: u32) -> u32 {
    (fnv1a(participant.as_bytes()) % u64::from(buckets.max(1))) as u32
}

/// Splits rows into `buckets` chunks by [`bucket_of`], keeping row order
/// within each chunk.
pub fn split_into_buckets(rows: &[ParticipantStats], buckets: u32) -> Vec<Vec<&ParticipantStats>> {
    let mut out: Vec<Vec<&ParticipantStats>> = vec![Vec::new(); buckets.max(1) as usize];
    for row in rows {
        out[bucket_of(&row.index, buckets) as usize].push(row);
    }
    out
}

/// A finished epoch's `total_assigned_rewards_gnk`, once every reward is known.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EpochTotal {
    pub epoch_id: u64,
    pub total_assigned_rewards_gnk: u64,
    pub rewarded_coins_sum: String,
    pub participants: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stats_replacement_rule() {
        use StatsSlot::*;
        let cases = [
            (Current, None, true),
            (Current, Some(1), true),
            (Current, Some(2), false),
            (Current, Some(3), false),
            (Final(5), None, true),
            (Final(5), Some(1), false),
            (AtHeight(5, 9), None, true),
            (AtHeight(5, 9), Some(1), false),
        ];
        for (slot, existing, want) in cases {
            assert_eq!(
                may_replace_stats(slot, existing, 2),
                want,
                "{slot:?} {existing:?}"
            );
        }
    }

    #[test]
    fn unchanged_current_rows_keep_their_chunks_until_due_a_rewrite() {
        let stored = SnapshotHeader {
            epoch_id: 60,
            height: 1,
            fetched_at_ms: 0,
            is_finished: false,
            effective_block_height: 1,
            canonical_height: None,
            block: BlockInfo::default(),
            participant_count: 1,
            version: "v".into(),
            buckets: 1,
            rows_hash: Some(7),
            tallies_hash: Some(1),
            chunks_written_ms: Some(1_000),
        };
        let due = 1_000 + CURRENT_CHUNKS_REWRITE_MS;
        // (epoch, rows hash, now, reusable)
        let cases = [
            (60, 7, 2_000, true),
            (60, 8, 2_000, false),
            (61, 7, 2_000, false),
            (60, 7, due - 1, true),
            (60, 7, due, false),
        ];
        for (epoch, hash, now, want) in cases {
            assert_eq!(
                current_chunks_reusable(&stored, epoch, hash, now),
                want,
                "{epoch} {hash} {now}"
            );
        }
        let legacy = SnapshotHeader {
            rows_hash: None,
            tallies_hash: None,
            ..stored
        };
        assert!(!current_chunks_reusable(&legacy, 60, 7, 2_000));
        const { assert!(CURRENT_CHUNKS_REWRITE_MS * 2 <= CURRENT_CHUNKS_TTL_MS) };
    }

    #[test]
    fn buckets_are_stable_and_cover_everything() {
        assert_eq!(bucket_count(0), 1);
        assert_eq!(bucket_count(64), 1);
        assert_eq!(bucket_count(65), 2);
        assert_eq!(bucket_count(10_000), 157);
        // Pinned values: a change would orphan every stored chunk.
        assert_eq!(
            bucket_of("gonka14cu38xpsd8pz5zdkkzwf0jwtpc0vv309ake364", 157),
            58
        );
        assert_eq!(
            bucket_of("gonka1tt6mlr3r50uey8kxkktlxv8ht9zyrd4dtnvemu", 157),
            26
        );
        assert_eq!(bucket_of("a", 1), 0);
        assert_eq!(
            bucket_of("", 1000),
            (0xcbf2_9ce4_8422_2325u64 % 1000) as u32
        );
    }
}
