//! The port for the history items: one per (participant, finished epoch)
//! and one per finished epoch of the network, each written under the one
//! replacement rule ([`super::may_replace`]: never over a final item, else
//! only over an older one), read a page at a time with one Query, newest
//! epoch first.

use std::collections::HashMap;
use std::future::Future;

use crate::domain::history::{
    EpochRange, HistoryEntry, NetworkEpoch, NetworkHistoryRow, UnavailableEpoch,
};
use crate::ids::ParticipantId;

use super::items::PutOutcome;
use super::port::TableResult;

/// One participant's entry for one epoch, to be written.
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryRecord {
    pub participant: ParticipantId,
    pub entry: HistoryEntry,
    pub fetched_at_ms: i64,
    /// Settled: never replaced again.
    pub is_final: bool,
}

/// The network's row for one epoch, to be written.
#[derive(Debug, Clone, PartialEq)]
pub struct NetworkRecord {
    pub row: NetworkEpoch,
    pub fetched_at_ms: i64,
    pub is_final: bool,
}

/// Where the history's backfill goes on: the next epoch to look at,
/// walking down (at or below `complete_through`: no pass in progress, the
/// next run starts one from the newest finished epoch), and what is known
/// complete.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BackfillCursor {
    pub next_epoch: u64,
    /// Passes that reached the bottom.
    pub passes: u64,
    /// Every epoch up to this one is recorded (or recorded unavailable):
    /// a pass stops above it. History items never expire, so it only rises.
    pub complete_through: u64,
    /// The epoch the pass in progress started from.
    pub pass_top: u64,
    /// The pass in progress has handed no epoch to the warmer so far (when
    /// it reaches the bottom so, everything to `pass_top` is recorded).
    pub pass_clean: bool,
}

/// What a stored entry is, without its body: a writer compares it before
/// writing, so an unchanged entry costs a read, never a write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HistoryStamp {
    /// [`content_hash`] of what is stored.
    pub hash: u64,
    pub is_final: bool,
}

/// The hash a stored entry is compared by: its JSON and its finality.
pub fn content_hash<T: serde::Serialize>(value: &T, is_final: bool) -> u64 {
    let mut bytes = serde_json::to_vec(value).unwrap_or_default();
    bytes.push(u8::from(is_final));
    crate::hash::fnv1a(&bytes)
}

impl HistoryRecord {
    pub fn hash(&self) -> u64 {
        content_hash(&self.entry, self.is_final)
    }
}

impl NetworkRecord {
    pub fn hash(&self) -> u64 {
        content_hash(&self.row, self.is_final)
    }
}

/// Whether a record must be written over `stored`: nothing stored, or the
/// stored one is not final and says something else.
pub fn history_needs_write(stored: Option<HistoryStamp>, new_hash: u64) -> bool {
    stored.is_none_or(|s| !s.is_final && s.hash != new_hash)
}

pub trait HistoryTable: Send + Sync {
    /// The stamps of the entries of `epoch` stored for `participants`
    /// (batched reads of the keys, hash and finality only).
    fn history_stamps(
        &self,
        epoch: u64,
        participants: &[ParticipantId],
    ) -> impl Future<Output = TableResult<HashMap<ParticipantId, HistoryStamp>>> + Send;

    /// Writes each record under the replacement rule; the number written
    /// (the others lost to a final or fresher entry).
    fn store_history(
        &self,
        records: &[HistoryRecord],
    ) -> impl Future<Output = TableResult<usize>> + Send;

    /// At most `limit` entries of `participant` in `range`, newest first,
    /// each with whether it is settled (one Query).
    fn load_history(
        &self,
        participant: &ParticipantId,
        range: EpochRange,
        limit: usize,
    ) -> impl Future<Output = TableResult<Vec<(HistoryEntry, bool)>>> + Send;

    /// The stamp of the network's row for `epoch` (an unavailable epoch's
    /// has hash 0: any recorded row replaces it).
    fn network_history_stamp(
        &self,
        epoch: u64,
    ) -> impl Future<Output = TableResult<Option<HistoryStamp>>> + Send;

    fn store_network_history(
        &self,
        record: &NetworkRecord,
    ) -> impl Future<Output = TableResult<PutOutcome>> + Send;

    /// Records that `epoch` cannot be held (written only where nothing is
    /// stored; a row recorded later replaces it).
    fn store_network_unavailable(
        &self,
        gap: &UnavailableEpoch,
        at_ms: i64,
    ) -> impl Future<Output = TableResult<PutOutcome>> + Send;

    /// At most `limit` rows in `range`, newest first (one Query).
    fn load_network_history(
        &self,
        range: EpochRange,
        limit: usize,
    ) -> impl Future<Output = TableResult<Vec<NetworkHistoryRow>>> + Send;

    fn load_backfill_cursor(
        &self,
    ) -> impl Future<Output = TableResult<Option<BackfillCursor>>> + Send;

    /// Replaces the cursor (one writer: the scheduled backfill).
    fn store_backfill_cursor(
        &self,
        cursor: BackfillCursor,
    ) -> impl Future<Output = TableResult<()>> + Send;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_changed_unsettled_entries_are_written() {
        let stamp = |hash, is_final| Some(HistoryStamp { hash, is_final });
        let cases = [
            (None, 1, true),
            (stamp(1, false), 1, false),
            (stamp(1, false), 2, true),
            (stamp(1, true), 2, false),
            (stamp(1, true), 1, false),
        ];
        for (stored, new, want) in cases {
            assert_eq!(history_needs_write(stored, new), want, "{stored:?} {new}");
        }
        let row = serde_json::json!({"a": 1});
        assert_ne!(content_hash(&row, false), content_hash(&row, true));
        assert_ne!(
            content_hash(&row, false),
            content_hash(&serde_json::json!({"a": 2}), false)
        );
    }
}
