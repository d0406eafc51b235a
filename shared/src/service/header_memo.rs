//! The stats headers an instance has seen. A finished epoch's header never
//! changes, and the current one names its rows' version until a new
//! snapshot replaces it; knowing the version, the modal reads the
//! participant's row in the same round trip as its items (a header that
//! turns out replaced costs one more read, as before).

use std::collections::VecDeque;
use std::sync::Mutex;

use crate::table::{RowSource, SnapshotHeader, StatsSlot};

/// Headers kept (small: a few hundred bytes each).
const HEADERS: usize = 32;

#[derive(Default)]
pub struct HeaderMemo {
    seen: Mutex<VecDeque<(StatsSlot, SnapshotHeader)>>,
}

impl HeaderMemo {
    /// Remembers the header read for `slot` (the newest replaces any other).
    pub fn remember(&self, slot: StatsSlot, header: &SnapshotHeader) {
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        seen.retain(|(s, _)| *s != slot);
        if seen.len() >= HEADERS {
            seen.pop_front();
        }
        seen.push_back((slot, header.clone()));
    }

    /// The snapshots that may hold `epoch`'s rows at `height`: its
    /// finished snapshot, the current one when it is of that epoch, one at
    /// that height.
    pub fn row_sources(&self, epoch: u64, height: Option<u64>) -> Vec<RowSource> {
        let seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        seen.iter()
            .filter(|(slot, h)| match slot {
                StatsSlot::Current => h.epoch_id == epoch,
                StatsSlot::Final(e) => *e == epoch,
                StatsSlot::AtHeight(e, at) => *e == epoch && Some(*at) == height,
            })
            .map(|(_, h)| RowSource::of(h))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table::BlockInfo;

    fn header(epoch: u64, version: &str) -> SnapshotHeader {
        SnapshotHeader {
            epoch_id: epoch,
            height: 1,
            fetched_at_ms: 1,
            is_finished: false,
            effective_block_height: 1,
            canonical_height: None,
            block: BlockInfo::default(),
            participant_count: 1,
            version: version.into(),
            buckets: 3,
            rows_hash: None,
            tallies_hash: None,
            chunks_written_ms: None,
        }
    }

    fn source(version: &str) -> RowSource {
        RowSource {
            version: version.into(),
            buckets: 3,
            tallies_apart: false,
        }
    }

    #[test]
    fn the_snapshots_that_may_hold_an_epoch() {
        let memo = HeaderMemo::default();
        memo.remember(StatsSlot::Current, &header(60, "c1"));
        memo.remember(StatsSlot::Final(59), &header(59, "f59"));
        memo.remember(StatsSlot::AtHeight(59, 9), &header(59, "h9"));
        assert_eq!(memo.row_sources(60, None), vec![source("c1")]);
        assert_eq!(memo.row_sources(59, None), vec![source("f59")]);
        assert_eq!(memo.row_sources(59, Some(9)).len(), 2);
        assert!(memo.row_sources(58, None).is_empty());
        // A newer current snapshot replaces the old one.
        memo.remember(StatsSlot::Current, &header(60, "c2"));
        assert_eq!(memo.row_sources(60, None), vec![source("c2")]);
    }
}
