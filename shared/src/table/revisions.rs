//! The one small read that tells an instance whether the answer it keeps
//! still holds: the revision items of an epoch's jail statuses and of the
//! node health, the current snapshot's header (it names the rows' version
//! and carries the chain's tip), and a finished epoch's reward total,
//! in one batched call of small items (well under a read unit each).

use std::future::Future;

use super::items::{EpochTotal, SnapshotHeader};
use super::port::TableResult;
use super::status_port::StatusRevision;

/// What to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RevisionQuery {
    /// The epoch whose jail revision is read (the health's always is).
    pub epoch: u64,
    /// Read the current snapshot's header.
    pub current_header: bool,
    /// Read the epoch's reward total (a finished epoch not yet settled).
    pub total: bool,
}

/// What was read; `0` / `None` where nothing is stored.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Revisions {
    pub jail: StatusRevision,
    pub health: StatusRevision,
    pub current: Option<SnapshotHeader>,
    pub total: Option<EpochTotal>,
}

pub trait RevisionTable: Send + Sync {
    /// One round trip (a BatchGetItem of at most four small items).
    fn load_revisions(
        &self,
        query: RevisionQuery,
    ) -> impl Future<Output = TableResult<Revisions>> + Send;
}
