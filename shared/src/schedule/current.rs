//! The current-epoch job: rebuild the current epoch's stats into the table
//! (so `/v1/inference/current` never waits for the chain), and when the
//! epoch changed since the last stored copy, trigger the warmer for the new
//! epoch and for the one that just finished.

use serde::Serialize;

use super::SchedulerState;
use crate::chain::{Chain, ChainError};
use crate::keybase::KeybaseLookup;
use crate::service::epochs::refresh_current;
use crate::table::{CacheTable, StatsSlot};
use crate::warm::WarmerInvoker;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CurrentEpochReport {
    pub epoch: u64,
    /// The epoch of the copy this run replaced (`None`: nothing stored, or
    /// the table unreadable).
    pub previous_epoch: Option<u64>,
    pub participants: usize,
    pub new_epoch: bool,
    /// The warms this run triggered (empty unless the epoch changed).
    pub warms: Vec<WarmTriggered>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WarmTriggered {
    pub epoch: u64,
    pub finished: bool,
    /// `Invoked`, `LeaseHeld` (a view already triggered it), ...
    pub outcome: String,
}

pub async fn refresh_current_epoch<C: Chain, T: CacheTable, W: WarmerInvoker, K: KeybaseLookup>(
    state: &SchedulerState<C, T, W, K>,
) -> Result<CurrentEpochReport, ChainError> {
    let core = &state.core;
    // Only the header (one small read): which epoch the stored copy is of.
    let previous_epoch = match core.table.load_header(StatsSlot::Current).await {
        Ok(header) => header.map(|h| h.epoch_id),
        Err(e) => {
            tracing::warn!(error = %e, "cannot read the stored current epoch; treating it as unknown");
            None
        }
    };
    let snapshot = refresh_current(core).await?;
    let epoch = snapshot.header.epoch_id;
    let new_epoch = previous_epoch != Some(epoch);
    let mut warms = Vec::new();
    if new_epoch {
        tracing::info!(
            epoch,
            ?previous_epoch,
            "new epoch seen; triggering the warmer"
        );
        let mut to_warm = vec![(epoch, false)];
        // The epoch that just ended: its final items (and jail statuses at
        // its canonical height) are fetched while it is still in view.
        if let Some(p) = previous_epoch.filter(|p| *p < epoch) {
            to_warm.push((p, true));
        }
        for (e, finished) in to_warm {
            let outcome = state
                .warm
                .trigger(&core.table, e, finished, Some(epoch))
                .await;
            warms.push(WarmTriggered {
                epoch: e,
                finished,
                outcome: format!("{outcome:?}"),
            });
        }
    }
    Ok(CurrentEpochReport {
        epoch,
        previous_epoch,
        participants: snapshot.participants.len(),
        new_epoch,
        warms,
    })
}
