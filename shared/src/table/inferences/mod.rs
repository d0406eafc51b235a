//! What the inference scan and the inferences route ask of the table: a
//! narrow port ([`InferenceTable`]) beside [`super::CacheTable`], the
//! values it stores (the scan's checkpoint and the published records), and
//! in `rules` what keeps its writes to what changed.

use std::collections::BTreeMap;
use std::future::Future;

use serde::{Deserialize, Serialize};

use super::items::PutOutcome;
use super::port::TableResult;
use crate::domain::inferences::{EpochFrame, InferenceLists, InferenceTally};
use crate::ids::ParticipantId;

pub mod rules;

/// Record buckets per epoch. At 10,000 participants that is ~40 a bucket:
/// even with 30 inferences each (~7 KB compressed) a bucket stays far under
/// DynamoDB's item limit; a small epoch writes mostly tiny items (1 WCU
/// each).
pub const RECORD_BUCKETS: u32 = 256;

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
    /// Runs in a row whose next page failed (a node that pruned `height`
    /// fails it every time): at the settings' limit the scan restarts.
    #[serde(default)]
    pub failed_runs: u32,
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
    /// Where the adapter stored the state it read (the parts a save keeps
    /// or replaces).
    pub(crate) stored_state: Option<StoredState>,
}

/// The parts a saved state is made of: a base (members and the running
/// result when it was last written whole), then the deltas (what each
/// later save added), each under a token unique to the save that wrote it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct StoredState {
    pub parts: Vec<StoredPart>,
}

/// One part: its pieces (each under the item limit) and compressed size.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct StoredPart {
    pub token: String,
    pub pieces: u32,
    pub bytes: u64,
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
    /// nothing of `next` stays). Writes what `next`'s running result adds
    /// to `read`'s, not the whole state (see [`rules::save_as_delta`]).
    fn save_scan(
        &self,
        read: &ScanCheckpoint,
        next: &ScanCheckpoint,
    ) -> impl Future<Output = TableResult<PutOutcome>> + Send;

    /// Replaces the epoch's records with `records` (every participant the
    /// scan covered), unless a newer scan's are stored, and stamps the epoch
    /// with the completion time. Only the bucket items whose records changed
    /// are written (see [`rules::plan_publish`]); returns how many.
    fn publish_inferences(
        &self,
        epoch: u64,
        records: &BTreeMap<String, InferenceLists>,
        stamp: PublishStamp,
    ) -> impl Future<Output = TableResult<usize>> + Send;

    /// The participant's record for `epoch`, with the last completion that
    /// covered it (one table round trip); `None` if no scan covered it.
    fn load_inferences(
        &self,
        participant: &ParticipantId,
        epoch: u64,
    ) -> impl Future<Output = TableResult<Option<PublishedInferences>>> + Send;
}
