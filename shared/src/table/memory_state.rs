//! The in-memory table's state beyond the [`CacheTable`] items: the
//! network items, the jail and health chunks, the inference scan's
//! checkpoint and records, the history. Apart from the adapters that use it (`memory`,
//! `memory_network`, `memory_status`, `memory_inferences`, `memory_history`), so none of them
//! imports another that imports it back.
//!
//! [`CacheTable`]: super::CacheTable

use std::collections::{BTreeMap, HashMap};

use super::history::{HistoryRecord, NetworkRecord};
use super::inferences::rules::PublishedDigest;
use super::inferences::{PublishStamp, ScanCheckpoint};
use super::network::{NetworkItem, StoredDoc};
use super::status_port::{revision_of, CachedKeybase, ChunkStamp, StatusRevision};
use crate::domain::{JailStatus, NodeHealth};
use crate::keybase::KeybaseIdentity;

/// The inference scan's checkpoint and each epoch's published records.
#[derive(Default)]
pub(super) struct InferenceMemory {
    pub(super) checkpoint: ScanCheckpoint,
    pub(super) published: HashMap<u64, PublishedEpoch>,
}

/// One epoch's published buckets, digest and stamp (as the DynamoDB items).
pub(super) struct PublishedEpoch {
    pub(super) buckets: HashMap<u32, PublishedBucket>,
    pub(super) digest: Option<PublishedDigest>,
    pub(super) stamp: Option<PublishStamp>,
}

/// A bucket's records as JSON, with the scan that wrote them.
pub(super) struct PublishedBucket {
    pub(super) json: Vec<u8>,
    pub(super) scan_started_ms: i64,
    pub(super) cached_at_ms: i64,
}

#[derive(Default)]
pub(super) struct NetworkMemory {
    pub(super) docs: HashMap<NetworkItem, StoredDoc>,
}

/// One stored chunk: its rows and stamp, when it was fetched, finality.
#[derive(Clone)]
pub(super) struct Chunk<T> {
    pub(super) rows: Vec<T>,
    pub(super) stamp: ChunkStamp,
    pub(super) fetched_at_ms: i64,
    pub(super) is_final: bool,
}

pub(super) type ChunkSet<T> = Vec<Option<Chunk<T>>>;

#[derive(Default)]
pub(super) struct StatusState {
    pub(super) jail: HashMap<u64, ChunkSet<JailStatus>>,
    pub(super) health: ChunkSet<NodeHealth>,
    pub(super) keybase: HashMap<KeybaseIdentity, CachedKeybase>,
    /// Chunk puts made (what the DynamoDB adapter would write).
    pub(super) chunk_writes: u64,
}

pub(super) fn revision<T>(set: Option<&ChunkSet<T>>) -> StatusRevision {
    let hashes: Vec<Option<u64>> = set
        .map(|s| s.iter().map(|c| c.as_ref().map(|c| c.stamp.hash)).collect())
        .unwrap_or_default();
    revision_of(&hashes)
}

/// The history items (`memory_history`): by participant and epoch, and
/// the network's by epoch.
#[derive(Default)]
pub(super) struct HistoryMemory {
    pub entries: BTreeMap<(crate::ids::ParticipantId, u64), HistoryRecord>,
    pub network: BTreeMap<u64, NetworkRecord>,
    pub unavailable: BTreeMap<u64, crate::domain::history::UnavailableEpoch>,
    pub cursor: Option<super::history::BackfillCursor>,
}
