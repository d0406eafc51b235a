//! The history's backfill: a scheduled step that walks back from the
//! newest finished epoch to epoch 1 and has the warmer warm (and so
//! record) each epoch not recorded yet, a bounded number per run. The
//! cursor is stored, so a run resumes where the last one stopped; every
//! epoch looked at is passed (an epoch whose state is pruned on every
//! node is recorded as unavailable by the warmer and skipped from then
//! on), so no run loops on one epoch. Reaching epoch 1 ends a pass; the
//! next run starts another from the top, which only reads (one small
//! GetItem an epoch) until it finds an epoch that is missing.

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
    /// Where the next run goes on (0: this pass reached epoch 1).
    pub next_epoch: u64,
    pub passes: u64,
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
    let start = match cursor.next_epoch {
        0 => newest,
        next => next.min(newest),
    };
    let mut report = BackfillReport {
        passes: cursor.passes,
        ..BackfillReport::default()
    };
    let mut epoch = start;
    let mut looked = 0;
    while epoch >= 1 && report.triggered.len() < epochs_per_run && looked < BACKFILL_LOOKS_PER_RUN {
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
        }
        epoch -= 1;
    }
    report.next_epoch = epoch;
    if epoch == 0 {
        report.passes += 1;
    }
    table
        .store_backfill_cursor(BackfillCursor {
            next_epoch: report.next_epoch,
            passes: report.passes,
        })
        .await?;
    Ok(report)
}
