//! [`HistoryTable`] on the in-memory fake, with the same write rule.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::MutexGuard;

use super::history::{BackfillCursor, HistoryRecord, HistoryStamp, HistoryTable, NetworkRecord};
use super::items::{may_replace, ItemMeta, PutOutcome};
use super::memory::MemoryTable;
use super::memory_state::HistoryMemory;
use super::port::{TableError, TableResult};
use crate::domain::history::{EpochRange, HistoryEntry, NetworkHistoryRow, UnavailableEpoch};
use crate::ids::ParticipantId;

fn meta(fetched_at_ms: i64, is_final: bool) -> ItemMeta {
    ItemMeta {
        fetched_at_ms,
        is_final,
    }
}

impl MemoryTable {
    fn history_state(&self) -> TableResult<MutexGuard<'_, HistoryMemory>> {
        self.count_round_trip();
        if self.fail.load(Ordering::Relaxed) {
            return Err(TableError::Unavailable("memory table set to fail".into()));
        }
        Ok(self.history.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

impl HistoryTable for MemoryTable {
    async fn history_stamps(
        &self,
        epoch: u64,
        participants: &[ParticipantId],
    ) -> TableResult<HashMap<ParticipantId, HistoryStamp>> {
        let state = self.history_state()?;
        Ok(participants
            .iter()
            .filter_map(|p| {
                let r = state.entries.get(&(p.clone(), epoch))?;
                Some((
                    p.clone(),
                    HistoryStamp {
                        hash: r.hash(),
                        is_final: r.is_final,
                    },
                ))
            })
            .collect())
    }

    async fn store_history(&self, records: &[HistoryRecord]) -> TableResult<usize> {
        let mut state = self.history_state()?;
        let mut written = 0;
        for r in records {
            let key = (r.participant.clone(), r.entry.epoch_id);
            let stored = state
                .entries
                .get(&key)
                .map(|s| meta(s.fetched_at_ms, s.is_final));
            if may_replace(stored, meta(r.fetched_at_ms, r.is_final)) {
                state.entries.insert(key, r.clone());
                written += 1;
            }
        }
        Ok(written)
    }

    async fn load_history(
        &self,
        participant: &ParticipantId,
        range: EpochRange,
        limit: usize,
    ) -> TableResult<Vec<(HistoryEntry, bool)>> {
        let state = self.history_state()?;
        let from = (participant.clone(), range.from);
        let to = (participant.clone(), range.to);
        Ok(state
            .entries
            .range(from..=to)
            .rev()
            .take(limit)
            .map(|(_, r)| (r.entry.clone(), r.is_final))
            .collect())
    }

    async fn network_history_stamp(&self, epoch: u64) -> TableResult<Option<HistoryStamp>> {
        let state = self.history_state()?;
        let gap = state.unavailable.get(&epoch).map(|_| HistoryStamp {
            hash: 0,
            is_final: false,
        });
        Ok(state
            .network
            .get(&epoch)
            .map(|r| HistoryStamp {
                hash: r.hash(),
                is_final: r.is_final,
            })
            .or(gap))
    }

    async fn store_network_unavailable(
        &self,
        gap: &UnavailableEpoch,
        _at_ms: i64,
    ) -> TableResult<PutOutcome> {
        let mut state = self.history_state()?;
        if state.network.contains_key(&gap.epoch_id)
            || state.unavailable.contains_key(&gap.epoch_id)
        {
            return Ok(PutOutcome::LostRace);
        }
        state.unavailable.insert(gap.epoch_id, gap.clone());
        Ok(PutOutcome::Written)
    }

    async fn load_backfill_cursor(&self) -> TableResult<Option<BackfillCursor>> {
        Ok(self.history_state()?.cursor)
    }

    async fn store_backfill_cursor(&self, cursor: BackfillCursor) -> TableResult<()> {
        let mut state = self.history_state()?;
        // A cursor never goes back a pass (as the DynamoDB condition).
        if state.cursor.is_none_or(|c| c.passes <= cursor.passes) {
            state.cursor = Some(cursor);
        }
        Ok(())
    }

    async fn store_network_history(&self, record: &NetworkRecord) -> TableResult<PutOutcome> {
        let mut state = self.history_state()?;
        let stored = state
            .network
            .get(&record.row.epoch_id)
            .map(|s| meta(s.fetched_at_ms, s.is_final));
        if !may_replace(stored, meta(record.fetched_at_ms, record.is_final)) {
            return Ok(PutOutcome::LostRace);
        }
        state.unavailable.remove(&record.row.epoch_id);
        state.network.insert(record.row.epoch_id, record.clone());
        Ok(PutOutcome::Written)
    }

    async fn load_network_history(
        &self,
        range: EpochRange,
        limit: usize,
    ) -> TableResult<Vec<NetworkHistoryRow>> {
        let state = self.history_state()?;
        let mut rows: Vec<NetworkHistoryRow> = state
            .network
            .range(range.from..=range.to)
            .map(|(_, r)| NetworkHistoryRow::Epoch(r.row.clone()))
            .chain(
                state
                    .unavailable
                    .range(range.from..=range.to)
                    .map(|(_, u)| NetworkHistoryRow::Unavailable(u.clone())),
            )
            .collect();
        rows.sort_by_key(|r| std::cmp::Reverse(r.epoch_id()));
        rows.truncate(limit);
        Ok(rows)
    }
}
