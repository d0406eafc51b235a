//! The cache table: one DynamoDB table for everything (item design in the
//! README). [`CacheTable`] is the port; [`DynamoTable`] the real adapter,
//! [`MemoryTable`] an in-memory fake with the same rules for unit tests.

mod dynamo;
pub mod items;
mod memory;
mod memory_network;
pub mod network;
mod port;

pub use dynamo::{DynamoTable, TableCounters, PK, SK, TTL_ATTRIBUTE};
pub use items::*;
pub use memory::MemoryTable;
pub use network::{NetworkItem, NetworkTable, NetworkWriteRule, StoredDoc};
pub use port::{CacheTable, ModalBundle, StatsSlotKey, TableError, TableResult};
