//! The cache table: one DynamoDB table for everything (item design in the
//! README). [`CacheTable`] is the port; [`DynamoTable`] the real adapter,
//! [`MemoryTable`] an in-memory fake with the same rules for unit tests.

pub mod budget;
mod dynamo;
pub mod history;
pub mod inferences;
pub mod items;
mod memory;
mod memory_history;
mod memory_inferences;
mod memory_network;
mod memory_state;
mod memory_status;
pub mod network;
mod port;
pub mod revisions;
mod status_port;

pub use budget::Budget;
pub use dynamo::{
    DynamoTable, TableCounters, MAX_STATUS_CHUNK_BYTES, PK, RECORD_BUCKETS, SK, TTL_ATTRIBUTE,
};
pub use history::{BackfillCursor, HistoryRecord, HistoryStamp, HistoryTable, NetworkRecord};
pub use inferences::{
    InferenceTable, PublishStamp, PublishedInferences, ScanCheckpoint, ScanPosition, ScanState,
};
pub use items::*;
pub use memory::MemoryTable;
pub use network::{NetworkItem, NetworkTable, NetworkWriteRule, StoredDoc};
pub use port::{
    BudgetTable, CacheTable, ItemTable, LeaseTable, ModalBundle, ModalRead, ModalTable,
    SnapshotTable, StatsSlotKey, TableError, TableMetrics, TableResult, TotalTable,
    ValidatorKeyRow,
};
/// Every table port, to bring their methods into scope on a concrete
/// adapter (`use crate::table::ports::*`).
pub mod ports {
    pub use super::port::{
        BudgetTable, CacheTable, ItemTable, LeaseTable, ModalTable, SnapshotTable, TableMetrics,
        TotalTable,
    };
}
pub use revisions::{RevisionQuery, RevisionTable, Revisions};
pub use status_port::{
    chunk_needs_write, jail_may_replace, revision_of, split_statuses, status_bucket, CachedKeybase,
    ChunkStamp, StatusParts, StatusRevision, StatusTable, StoredStatuses, HEALTH_RESTAMP_MS,
    KEYBASE_KEPT_PAST_EXPIRY_MS, STATUS_BUCKETS,
};
