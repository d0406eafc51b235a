//! A narrow port for the jail and health items (contract part 2, 4): an
//! epoch's jail statuses and every participant's node health, each kept as
//! [`STATUS_BUCKETS`] compressed chunks (by a stable hash of the
//! participant id), so serving an epoch reads them all in one batched call;
//! and the Keybase answers cache.

use std::collections::HashMap;
use std::future::Future;

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

/// An epoch's stored jail statuses and the stored node health, by
/// participant; `version` changes whenever any chunk read was rewritten
/// (it goes into ETags and the rendered answers' keys).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StoredStatuses {
    pub jail: HashMap<String, JailStatus>,
    pub health: HashMap<String, NodeHealth>,
    pub version: u64,
}

/// A cached Keybase answer. `username: None` is "not found" or a failed
/// lookup; either way it is asked again once `expires_at_ms` has passed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CachedKeybase {
    pub identity: KeybaseIdentity,
    pub username: Option<String>,
    pub expires_at_ms: i64,
}

pub trait StatusTable: Send + Sync {
    /// The version [`StatusTable::load_statuses`] would report, from a
    /// keys-and-times read (no rows).
    fn status_version(&self, epoch: u64) -> impl Future<Output = TableResult<u64>> + Send;

    /// Every jail chunk of `epoch` and every health chunk, in one batched read.
    fn load_statuses(&self, epoch: u64)
        -> impl Future<Output = TableResult<StoredStatuses>> + Send;

    /// One participant's jail status in `epoch` and its node health (two
    /// chunks, one batched read).
    fn load_participant_status(
        &self,
        epoch: u64,
        participant: &str,
    ) -> impl Future<Output = TableResult<(Option<JailStatus>, Option<NodeHealth>)>> + Send;

    /// Replaces the epoch's jail chunks. A chunk written `is_final` (a
    /// finished epoch at its canonical height) is never replaced; a
    /// non-final one only by a later fetch. `LostRace` when any chunk was
    /// kept.
    fn store_jail(
        &self,
        epoch: u64,
        statuses: &[JailStatus],
        fetched_at_ms: i64,
        is_final: bool,
    ) -> impl Future<Output = TableResult<PutOutcome>> + Send;

    /// Whether every jail chunk of `epoch` is stored final (then it is
    /// never fetched again).
    fn jail_is_final(&self, epoch: u64) -> impl Future<Output = TableResult<bool>> + Send;

    /// Replaces the node health chunks (a later probe round wins).
    fn store_health(
        &self,
        health: &[NodeHealth],
        fetched_at_ms: i64,
    ) -> impl Future<Output = TableResult<PutOutcome>> + Send;

    /// The cached answers of `identities` not yet expired at `now_ms`.
    fn load_keybase(
        &self,
        identities: &[KeybaseIdentity],
        now_ms: i64,
    ) -> impl Future<Output = TableResult<HashMap<KeybaseIdentity, CachedKeybase>>> + Send;

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

/// Splits rows into the status chunks by participant.
pub fn split_statuses<T>(rows: &[T], id: impl Fn(&T) -> &str) -> Vec<Vec<&T>> {
    let mut out: Vec<Vec<&T>> = vec![Vec::new(); STATUS_BUCKETS as usize];
    for row in rows {
        out[status_bucket(id(row)) as usize].push(row);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

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
