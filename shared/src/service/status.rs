//! Serving jail and health: the stored values merged into the rows an
//! answer carries (null where nothing is stored). No request ever waits
//! for a jail or health fetch, and a table that cannot be read leaves the
//! fields null rather than failing the request.

use chrono::Utc;

use crate::domain::jail::{apply_health, apply_jail};
use crate::domain::{JailStatus, NodeHealth, ParticipantStats};
use crate::table::{StatusTable, TableResult};

/// Merges the epoch's stored jail statuses and the stored node health into
/// `rows`; the status version merged (0 when nothing could be read).
pub async fn merge_statuses<T: StatusTable>(
    table: &T,
    epoch: u64,
    rows: &mut [ParticipantStats],
) -> u64 {
    let stored = match table.load_statuses(epoch).await {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!(epoch, error = %e, "jail and health unreadable; served as unknown");
            return 0;
        }
    };
    let now = Utc::now();
    for row in rows.iter_mut() {
        if let Some(j) = stored.jail.get(&row.index) {
            apply_jail(row, j, now);
        }
        if let Some(h) = stored.health.get(&row.index) {
            apply_health(row, h);
        }
    }
    stored.version
}

/// The same for one participant's row (the modal), from its two chunks
/// read beside the row itself.
pub fn apply_participant_status(
    row: &mut ParticipantStats,
    epoch: u64,
    stored: TableResult<(Option<JailStatus>, Option<NodeHealth>)>,
) {
    match stored {
        Ok((jail, health)) => {
            if let Some(j) = jail {
                apply_jail(row, &j, Utc::now());
            }
            if let Some(h) = health {
                apply_health(row, &h);
            }
        }
        Err(e) => {
            tracing::warn!(epoch, participant = %row.index, error = %e, "jail and health unreadable; served as unknown");
        }
    }
}
