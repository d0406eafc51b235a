//! [`NetworkTable`] on the in-memory fake, with the same write rules.

use std::sync::atomic::Ordering;
use std::sync::MutexGuard;

use super::items::PutOutcome;
use super::memory::MemoryTable;
use super::memory_state::NetworkMemory;
use super::network::{network_may_replace, NetworkItem, NetworkTable, StoredDoc};
use super::port::{TableError, TableResult};

impl MemoryTable {
    fn network_state(&self) -> TableResult<MutexGuard<'_, NetworkMemory>> {
        self.count_round_trip();
        if self.fail.load(Ordering::Relaxed) {
            return Err(TableError::Unavailable("memory table set to fail".into()));
        }
        Ok(self.network.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

impl NetworkTable for MemoryTable {
    async fn load_network(&self, item: NetworkItem) -> TableResult<Option<StoredDoc>> {
        Ok(self.network_state()?.docs.get(&item).cloned())
    }

    async fn store_network(&self, item: NetworkItem, doc: &StoredDoc) -> TableResult<PutOutcome> {
        let mut state = self.network_state()?;
        let stored = state.docs.get(&item).map(|d| d.fetched_at_ms);
        if !network_may_replace(item.write_rule(), stored, doc.fetched_at_ms) {
            return Ok(PutOutcome::LostRace);
        }
        state.docs.insert(item, doc.clone());
        Ok(PutOutcome::Written)
    }
}
