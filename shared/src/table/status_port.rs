//! A narrow port for the jail and health items (docs/contract-part2.md 4): an
//! epoch's jail statuses and every participant's node health, each kept as
//! [`STATUS_BUCKETS`] compressed chunks (by a stable hash of the
//! participant id), so serving an epoch reads them all in one batched call;
//! and the Keybase answers cache.
//!
//! Beside the chunks, each set (an epoch's jail, the health) has one small
//! revision item listing its chunks' content hashes: a writer reads it to
//! write only the chunks whose content changed, and a reader that holds the
//! rows compares its revision ([`StatusRevision`]) to learn, for a fraction
//! of a read unit, whether anything changed.

use std::collections::HashMap;
use std::future::Future;

use serde::{Deserialize, Serialize};

use crate::domain::{JailStatus, NodeHealth};
use crate::keybase::KeybaseIdentity;

use super::items::{bucket_of, PutOutcome};
use super::port::TableResult;

/// Chunks per epoch's jail statuses, and of node health. Fixed, so a reader
/// knows every key without a header: 32 + 32 keys are one BatchGetItem; at
/// 10,000 participants a chunk holds ~313 rows (~40 KB compressed).
pub const STATUS_BUCKETS: u32 = 32;

/// A participant's status chunk.
pub fn status_bucket(participant: &str) -> u32 {
    bucket_of(participant, STATUS_BUCKETS)
}

/// A set of status chunks' revision: a hash of their content hashes in
/// bucket order, `0` when no chunk is stored. The revision item of the set
/// holds the same value, so a reader compares without reading the chunks.
pub type StatusRevision = u64;

/// Which status sets a read asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct StatusParts {
    /// This epoch's jail statuses.
    pub jail: Option<u64>,
    /// The node health.
    pub health: bool,
}

impl StatusParts {
    pub fn both(epoch: u64) -> Self {
        Self {
            jail: Some(epoch),
            health: true,
        }
    }
}

/// An epoch's stored jail statuses and the stored node health, by
/// participant, with the revision of each set read (they go into ETags and
/// tell a kept answer whether it still holds).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StoredStatuses {
    pub jail: HashMap<String, JailStatus>,
    pub health: HashMap<String, NodeHealth>,
    pub jail_revision: StatusRevision,
    pub health_revision: StatusRevision,
}

/// One stored chunk as its set's revision item lists it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChunkStamp {
    /// Hash of the chunk as stored (its compressed rows and finality).
    pub hash: u64,
    /// Hash of what the chunk says apart from probe times (health: who is
    /// healthy; jail: the same as `hash`).
    pub content: u64,
    /// When the chunk was written (ms).
    pub written_at_ms: i64,
}

/// How often a health chunk whose results did not change is written
/// anyway, so the probe times it serves (`node_health_checked_at`) are at
/// most this old.
pub const HEALTH_RESTAMP_MS: i64 = 10 * 60_000;

/// Whether a chunk must be written: nothing is known of the stored one,
/// its content differs, or (`restamp_ms`, health) it was written that long ago.
pub fn chunk_needs_write(
    stored: Option<&ChunkStamp>,
    new: &ChunkStamp,
    restamp_ms: Option<i64>,
) -> bool {
    match stored {
        None => true,
        Some(old) => {
            old.content != new.content
                || restamp_ms.is_some_and(|r| new.written_at_ms - old.written_at_ms >= r)
        }
    }
}

/// The revision of a set from its chunks' hashes in bucket order (`None`:
/// that chunk is not stored); `0` when none is.
pub fn revision_of(hashes: &[Option<u64>]) -> StatusRevision {
    if hashes.iter().all(Option::is_none) {
        return 0;
    }
    let mut bytes = Vec::with_capacity(hashes.len() * 8);
    for h in hashes {
        bytes.extend_from_slice(&h.unwrap_or(0).to_le_bytes());
    }
    crate::hash::fnv1a(&bytes).max(1)
}

/// A cached Keybase answer. `username: None` is "not found" or a failed
/// lookup; either way it is asked again once `expires_at_ms` has passed.
/// An answer past that time is still returned by [`StatusTable::load_keybase`]
/// (for a few weeks), so a failed lookup can keep the username it knew.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CachedKeybase {
    pub identity: KeybaseIdentity,
    pub username: Option<String>,
    pub expires_at_ms: i64,
}

/// How long a Keybase answer is kept past the time it is asked again.
pub const KEYBASE_KEPT_PAST_EXPIRY_MS: i64 = 30 * 86_400_000;

pub trait StatusTable: Send + Sync {
    /// Every chunk of `parts` (an epoch's jail, the health), in one batched
    /// read; what was not asked for is left empty, with revision 0.
    fn load_statuses(
        &self,
        parts: StatusParts,
    ) -> impl Future<Output = TableResult<StoredStatuses>> + Send;

    /// Replaces the epoch's jail chunks whose content changed (then its
    /// revision item). A chunk written `is_final` (a finished epoch at its
    /// canonical height) is never replaced; a non-final one only by a later
    /// fetch. `LostRace` when any chunk was kept.
    fn store_jail(
        &self,
        epoch: u64,
        statuses: &[JailStatus],
        fetched_at_ms: i64,
        is_final: bool,
    ) -> impl Future<Output = TableResult<PutOutcome>> + Send;

    /// Whether every jail chunk of `epoch` is stored final (then it is
    /// never fetched again): one small read of the revision item.
    fn jail_is_final(&self, epoch: u64) -> impl Future<Output = TableResult<bool>> + Send;

    /// Replaces the node health chunks whose results changed, or that are
    /// [`HEALTH_RESTAMP_MS`] old (a later probe round wins), then the
    /// revision item.
    fn store_health(
        &self,
        health: &[NodeHealth],
        fetched_at_ms: i64,
    ) -> impl Future<Output = TableResult<PutOutcome>> + Send;

    /// The cached answers of `identities`, those past `expires_at_ms`
    /// included (the caller tells fresh from stale).
    fn load_keybase(
        &self,
        identities: &[KeybaseIdentity],
    ) -> impl Future<Output = TableResult<HashMap<KeybaseIdentity, CachedKeybase>>> + Send;

    /// Stores the answers; an answer never replaces one that is asked
    /// again later.
    fn store_keybase(
        &self,
        entries: &[CachedKeybase],
    ) -> impl Future<Output = TableResult<()>> + Send;
}

/// Whether a jail chunk written at `new_fetched_at_ms` (final or not) may
/// replace the stored one (`(fetched_at_ms, final)`): a final chunk is
/// never replaced; a final write replaces any non-final one; a non-final
/// write only an older non-final one. (In DynamoDB: `attribute_not_exists(pk)
/// OR final = false [AND fetched_at < :new]`.)
pub fn jail_may_replace(
    existing: Option<(i64, bool)>,
    new_fetched_at_ms: i64,
    new_final: bool,
) -> bool {
    match existing {
        None => true,
        Some((_, true)) => false,
        Some((_, false)) if new_final => true,
        Some((at, false)) => at < new_fetched_at_ms,
    }
}

/// Splits rows into the status chunks by participant, each chunk sorted
/// by participant: the same content encodes the same whatever order the
/// rows came in (probes finish in any order), so an unchanged chunk is
/// recognised and not written.
pub fn split_statuses<T>(rows: &[T], id: impl Fn(&T) -> &str) -> Vec<Vec<&T>> {
    let mut out: Vec<Vec<&T>> = vec![Vec::new(); STATUS_BUCKETS as usize];
    for row in rows {
        out[status_bucket(id(row)) as usize].push(row);
    }
    for chunk in &mut out {
        chunk.sort_by(|a, b| id(a).cmp(id(b)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_are_written_only_when_changed_or_due_a_restamp() {
        let stamp = |content, at| ChunkStamp {
            hash: content + at as u64,
            content,
            written_at_ms: at,
        };
        let r = Some(HEALTH_RESTAMP_MS);
        let cases = [
            (None, stamp(1, 0), None, true),
            (Some(stamp(1, 0)), stamp(1, 5), None, false),
            (Some(stamp(1, 0)), stamp(2, 5), None, true),
            (Some(stamp(1, 0)), stamp(1, HEALTH_RESTAMP_MS - 1), r, false),
            (Some(stamp(1, 0)), stamp(1, HEALTH_RESTAMP_MS), r, true),
            (Some(stamp(1, 0)), stamp(2, 1), r, true),
        ];
        for (stored, new, restamp, want) in cases {
            assert_eq!(
                chunk_needs_write(stored.as_ref(), &new, restamp),
                want,
                "{stored:?} {new:?} {restamp:?}"
            );
        }
    }

    #[test]
    fn chunks_do_not_depend_on_the_order_rows_come_in() {
        let rows: Vec<String> = (0..300).map(|i| format!("p{i}")).collect();
        let mut reversed = rows.clone();
        reversed.reverse();
        let a = split_statuses(&rows, |r| r.as_str());
        let b = split_statuses(&reversed, |r| r.as_str());
        assert_eq!(a, b);
        assert_eq!(a.iter().map(Vec::len).sum::<usize>(), 300);
    }

    #[test]
    fn revisions_follow_every_chunk_and_are_zero_only_when_empty() {
        assert_eq!(revision_of(&[None, None]), 0);
        let a = revision_of(&[Some(1), None]);
        assert_ne!(a, 0);
        assert_ne!(a, revision_of(&[None, Some(1)]), "position matters");
        assert_ne!(a, revision_of(&[Some(2), None]));
        assert_eq!(a, revision_of(&[Some(1), None]));
    }

    #[test]
    fn final_jail_statuses_are_never_replaced() {
        let cases = [
            (None, 5, false, true),
            (Some((4, false)), 5, false, true),
            (Some((6, false)), 5, false, false),
            (Some((6, false)), 5, true, true),
            (Some((1, true)), 5, true, false),
            (Some((1, true)), 5, false, false),
        ];
        for (stored, at, is_final, want) in cases {
            assert_eq!(
                jail_may_replace(stored, at, is_final),
                want,
                "{stored:?} {at} {is_final}"
            );
        }
    }
}
