//! The port: what the functions ask of the cache table, and how it fails.

use std::collections::HashMap;
use std::future::Future;

use super::budget::Budget;
use super::items::*;
use crate::domain::{JailStatus, NodeHealth, ParticipantStats};
use crate::ids::ParticipantId;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TableError {
    /// The table cannot be reached, does not exist, or kept throttling.
    #[error("cache table unavailable: {0}")]
    Unavailable(String),
    /// A stored item cannot be decoded (or one to store cannot be encoded).
    #[error("cache item unreadable: {0}")]
    Corrupt(String),
}

pub type TableResult<T> = Result<T, TableError>;

/// What the modal reads in one round trip: stats headers, the
/// participant's items, its row from the snapshots whose headers the
/// caller already knows (`rows_in`), with their tallies where stored apart, and
/// its jail and health in `status_epoch`.
#[derive(Debug, Clone, Default)]
pub struct ModalRead<'a> {
    pub slots: &'a [StatsSlot],
    pub items: &'a [ItemKey],
    pub participant: Option<&'a ParticipantId>,
    pub rows_in: &'a [RowSource],
    pub status_epoch: Option<u64>,
}

impl<'a> ModalRead<'a> {
    /// Headers and items only.
    pub fn headers_and_items(slots: &'a [StatsSlot], items: &'a [ItemKey]) -> Self {
        Self {
            slots,
            items,
            ..Self::default()
        }
    }
}

/// What [`ModalTable::load_modal_bundle`] returns: the stats headers asked
/// for, the participant's items that exist, its row by snapshot version
/// (`None`: that snapshot's chunk holds no such row; absent: not read),
/// and its jail status and node health (when asked).
#[derive(Debug, Clone, Default)]
pub struct ModalBundle {
    pub headers: HashMap<StatsSlotKey, SnapshotHeader>,
    pub items: HashMap<ItemKey, CachedItem>,
    pub rows: HashMap<String, Option<ParticipantStats>>,
    pub status: (Option<JailStatus>, Option<NodeHealth>),
}

/// A participant's id and consensus key, as a snapshot row holds them.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct ValidatorKeyRow {
    pub index: String,
    pub validator_key: Option<String>,
}

/// `StatsSlot` as a map key (`StatsSlot` itself is `Copy + Hash`).
pub type StatsSlotKey = StatsSlot;

/// What the adapter has done so far, for logs and benchmarks.
pub trait TableMetrics: Send + Sync {
    /// DynamoDB requests made so far (for logs and benchmarks).
    fn requests(&self) -> u64 {
        0
    }

    /// Read and write capacity units consumed so far, as DynamoDB reports them.
    fn capacity_units(&self) -> (f64, f64) {
        (0.0, 0.0)
    }
}

/// A participant's cached items (rewards, warm keys, hardware), under
/// [`may_replace`].
pub trait ItemTable: Send + Sync {
    /// Full items, batched (100 keys a call); absent keys are left out.
    fn load_items(
        &self,
        keys: &[ItemKey],
    ) -> impl Future<Output = TableResult<HashMap<ItemKey, CachedItem>>> + Send;

    /// Freshness of the given items that exist (keys-only reads, batched).
    fn item_meta(
        &self,
        keys: &[ItemKey],
    ) -> impl Future<Output = TableResult<HashMap<ItemKey, ItemMeta>>> + Send;

    /// Conditional put under [`may_replace`].
    fn put_item(&self, item: &CachedItem) -> impl Future<Output = TableResult<PutOutcome>> + Send;
}

/// Epoch stats snapshots: a header and its chunks.
pub trait SnapshotTable: Send + Sync {
    /// A whole epoch snapshot: the header, then its chunks.
    fn load_stats(
        &self,
        slot: StatsSlot,
    ) -> impl Future<Output = TableResult<Option<EpochSnapshot>>> + Send;

    /// The header and each participant's id and validator key of a stored
    /// snapshot, without keeping the rows (the warmer needs the ids, a
    /// finished epoch's jail fetch the keys; a whole 10,000-row epoch is
    /// tens of MB decoded).
    fn load_validator_keys(
        &self,
        slot: StatsSlot,
    ) -> impl Future<Output = TableResult<Option<(SnapshotHeader, Vec<ValidatorKeyRow>)>>> + Send;

    /// Writes the chunks, then the header. `Final` and `AtHeight` are
    /// written once (first write wins); `Current` only replaces an older
    /// snapshot.
    fn store_stats(
        &self,
        slot: StatsSlot,
        snapshot: &EpochSnapshot,
    ) -> impl Future<Output = TableResult<PutOutcome>> + Send;

    /// One stats header (one small read).
    fn load_header(
        &self,
        slot: StatsSlot,
    ) -> impl Future<Output = TableResult<Option<SnapshotHeader>>> + Send;
}

/// The modal's reads: everything it shows in one round trip.
pub trait ModalTable: Send + Sync {
    /// One round trip (a BatchGetItem): everything [`ModalRead`] names.
    fn load_modal_bundle(
        &self,
        read: &ModalRead<'_>,
    ) -> impl Future<Output = TableResult<ModalBundle>> + Send;

    /// One round trip: the row of `participant` in the snapshot `header` describes.
    fn load_participant_row(
        &self,
        header: &SnapshotHeader,
        participant: &ParticipantId,
    ) -> impl Future<Output = TableResult<Option<ParticipantStats>>> + Send;
}

/// An epoch's warm lease: who warms it, and whether it rests.
pub trait LeaseTable: Send + Sync {
    /// Takes the epoch's warm lease for `owner` until `now_ms + lease_ms`
    /// for a run of the kind `finished`, under [`lease_may_claim`]: when it
    /// is free, or already `owner`'s (a renewal), and the epoch does not
    /// rest. Says until when the lease is held, or the epoch rests.
    fn claim_warm_lease(
        &self,
        epoch: u64,
        owner: &LeaseToken,
        now_ms: i64,
        lease_ms: i64,
        finished: bool,
    ) -> impl Future<Output = TableResult<LeaseClaim>> + Send;

    /// Ends `owner`'s lease at `now_ms` (the item stays, `claimed_until`
    /// set to now, with the `rest` the run earned) under
    /// [`lease_may_release`]; `LostRace` when the lease is not `owner`'s.
    fn release_warm_lease(
        &self,
        epoch: u64,
        owner: &LeaseToken,
        now_ms: i64,
        rest: Option<WarmRest>,
    ) -> impl Future<Output = TableResult<PutOutcome>> + Send;

    /// Claims the epoch's warm lease until `now_ms + window_ms` for an
    /// owner nobody knows: a claim no run renews or releases, which only
    /// lapses (holds triggers off, e.g. while benchmarks measure).
    fn claim_warm_lease_unowned(
        &self,
        epoch: u64,
        now_ms: i64,
        window_ms: i64,
    ) -> impl Future<Output = TableResult<LeaseClaim>> + Send {
        async move {
            let nobody = LeaseToken::random();
            self.claim_warm_lease(epoch, &nobody, now_ms, window_ms, false)
                .await
        }
    }
}

/// A finished epoch's reward total.
pub trait TotalTable: Send + Sync {
    fn load_total(
        &self,
        epoch: u64,
    ) -> impl Future<Output = TableResult<Option<EpochTotal>>> + Send;

    /// Written once; a true 0 is a valid total.
    fn store_total(
        &self,
        total: &EpochTotal,
    ) -> impl Future<Output = TableResult<PutOutcome>> + Send;
}

/// Everything the functions ask of the cache table, by concern; a
/// function's code asks only for the ports it uses. Builds at requested
/// heights are budgeted, so every table that serves them holds the budgets
/// too.
pub trait CacheTable:
    TableMetrics + ItemTable + SnapshotTable + ModalTable + LeaseTable + TotalTable + BudgetTable
{
}

impl<T> CacheTable for T where
    T: TableMetrics
        + ItemTable
        + SnapshotTable
        + ModalTable
        + LeaseTable
        + TotalTable
        + BudgetTable
{
}

pub trait BudgetTable: Send + Sync {
    /// Takes one of the `limit` units `budget` allows in the window of
    /// `now_ms`, across all instances; `false` when they are used up.
    fn take_budget(
        &self,
        budget: Budget,
        now_ms: i64,
        limit: u32,
    ) -> impl Future<Output = TableResult<bool>> + Send;
}
