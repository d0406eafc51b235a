//! What the inference scan and the inferences route ask of the table: a
//! narrow port ([`InferenceTable`]) beside [`super::CacheTable`], and the
//! values it stores: the scan's checkpoint and the published records.

use std::collections::BTreeMap;
use std::future::Future;

use serde::{Deserialize, Serialize};

use super::items::PutOutcome;
use super::port::TableResult;
use crate::domain::inferences::{EpochFrame, InferenceLists, InferenceTally};
use crate::ids::ParticipantId;

/// Where a scan in progress stands: small, stored in the checkpoint item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScanPosition {
    /// When the scan started (ms): its records' order against other scans'.
    pub started_ms: i64,
    /// The height every page is read at (`X-Cosmos-Block-Height`).
    pub height: u64,
    pub frame: EpochFrame,
    /// The key of the next page; `None` before the first page.
    pub next_key: Option<String>,
    pub pages: u64,
    pub inferences_seen: u64,
}

/// A scan in progress: its position, the current epoch's members and the
/// running top 10s (stored compressed, in pieces under the item limit).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanState {
    pub position: ScanPosition,
    pub members: Vec<String>,
    pub tally: InferenceTally,
}

/// The scan's checkpoint as read: `version` is what a save is conditional
/// on (0: never saved).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScanCheckpoint {
    pub version: u64,
    /// `None`: no scan in progress (the next run starts one).
    pub scan: Option<ScanState>,
    /// When the last completed scan started and completed (ms).
    pub last_started_ms: Option<i64>,
    pub last_completed_ms: Option<i64>,
    /// Where the adapter stored the state it read (to remove once replaced).
    pub(crate) stored_state: Option<StoredState>,
}

/// The pieces a stored state occupies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct StoredState {
    pub token: String,
    pub pieces: u32,
}

/// One participant's lists for one epoch, as the route reads them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishedInferences {
    pub lists: InferenceLists,
    /// When the scan that produced them completed (ms).
    pub cached_at_ms: i64,
}

/// When a published record was made: the order between scans is their
/// start, so a slow run of an older scan never replaces a newer one's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PublishStamp {
    pub scan_started_ms: i64,
    pub cached_at_ms: i64,
}

pub trait InferenceTable: Send + Sync {
    /// The checkpoint; version 0 and no scan when none was ever saved. A
    /// state whose pieces are gone (expired) reads as no scan.
    fn load_scan(&self) -> impl Future<Output = TableResult<ScanCheckpoint>> + Send;

    /// Stores `next` as version `read.version + 1` if the stored version is
    /// still `read.version`; `LostRace` if another run saved first (then
    /// nothing of `next` stays).
    fn save_scan(
        &self,
        read: &ScanCheckpoint,
        next: &ScanCheckpoint,
    ) -> impl Future<Output = TableResult<PutOutcome>> + Send;

    /// Replaces the epoch's records with `records` (every participant the
    /// scan covered), unless a newer scan's are stored.
    fn publish_inferences(
        &self,
        epoch: u64,
        records: &BTreeMap<String, InferenceLists>,
        stamp: PublishStamp,
    ) -> impl Future<Output = TableResult<()>> + Send;

    /// The participant's record for `epoch`; `None` if no scan covered it.
    fn load_inferences(
        &self,
        participant: &ParticipantId,
        epoch: u64,
    ) -> impl Future<Output = TableResult<Option<PublishedInferences>>> + Send;
}
