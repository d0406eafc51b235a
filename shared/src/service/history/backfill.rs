//! The history's backfill: a scheduled step that walks back from the
//! newest finished epoch to epoch 1 and has the warmer warm (and so
//! record) each epoch not recorded yet, a bounded number per run. The
//! cursor is stored, so a run resumes where the last one stopped; every
//! epoch looked at is passed (an epoch whose state is pruned on every
//! node is recorded as unavailable by the warmer and skipped from then
//! on), so no run loops on one epoch. A pass that reaches the bottom
//! without handing anything on proves every epoch below its start
//! recorded: the cursor keeps that mark, and later passes stop above it.
//! Once the history is complete a run reads two small items and writes
//! nothing, until an epoch finishes (one stamp read, one cursor write).

use serde::Serialize;

use crate::service::ApiError;
use crate::table::{BackfillCursor, CacheTable, HistoryTable, StatsSlot};
use crate::warm::{WarmOutcome, WarmTrigger, WarmerInvoker};

/// Epochs one run looks at, at most (recorded ones are skipped with one
/// small read each).
pub const BACKFILL_LOOKS_PER_RUN: usize = 200;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct BackfillReport {
    /// The epochs this run handed to the warmer, with how each trigger went.
    pub triggered: Vec<(u64, String)>,
    /// Epochs already recorded (or recorded as unavailable), passed over.
    pub skipped: usize,
    /// Where the next run goes on (at or below `complete_through`: this
    /// pass reached the bottom).
    pub next_epoch: u64,
    pub passes: u64,
    /// Every epoch up to this one is recorded (or recorded unavailable).
    pub complete_through: u64,
}

/// One step (see the module): at most `epochs_per_run` warms triggered.
/// Without a stored current epoch (the `current_epoch` job stores it)
/// nothing is done.
pub async fn backfill_step<T, W>(
    table: &T,
    warm: &WarmTrigger<W>,
    epochs_per_run: usize,
) -> Result<BackfillReport, ApiError>
where
    T: CacheTable + HistoryTable,
    W: WarmerInvoker,
{
    let Some(current) = table.load_header(StatsSlot::Current).await? else {
        tracing::info!("no current epoch stored yet; the backfill waits for it");
        return Ok(BackfillReport::default());
    };
    let newest = current.epoch_id.saturating_sub(1);
    let cursor = table.load_backfill_cursor().await?.unwrap_or_default();
    let floor = cursor.complete_through;
    // A pass in progress goes on; otherwise one starts from the newest.
    let mut next = if cursor.next_epoch > floor {
        BackfillCursor {
            next_epoch: cursor.next_epoch.min(newest),
            ..cursor
        }
    } else {
        BackfillCursor {
            next_epoch: newest,
            pass_top: newest,
            pass_clean: true,
            ..cursor
        }
    };
    let start = next.next_epoch;
    let mut report = BackfillReport {
        passes: cursor.passes,
        complete_through: floor,
        next_epoch: start,
        ..BackfillReport::default()
    };
    if start <= floor {
        // Nothing finished since the history was complete: nothing to write.
        return Ok(report);
    }
    let mut epoch = start;
    let mut looked = 0;
    while epoch > floor
        && report.triggered.len() < epochs_per_run
        && looked < BACKFILL_LOOKS_PER_RUN
    {
        looked += 1;
        if table.network_history_stamp(epoch).await?.is_some() {
            report.skipped += 1;
        } else {
            let outcome = warm.trigger_backfill(table, epoch).await;
            if outcome == WarmOutcome::NotConfigured {
                return Err(ApiError::Internal(
                    "no warmer configured for the backfill".into(),
                ));
            }
            report.triggered.push((epoch, format!("{outcome:?}")));
            next.pass_clean = false;
        }
        epoch -= 1;
    }
    next.next_epoch = epoch;
    if epoch == floor {
        next.passes += 1;
        if next.pass_clean {
            next.complete_through = next.pass_top;
        }
    }
    report.next_epoch = next.next_epoch;
    report.passes = next.passes;
    report.complete_through = next.complete_through;
    table.store_backfill_cursor(next).await?;
    Ok(report)
}
