//! Epoch stats: served from the table when possible, built from the chain
//! when not (docs/contract.md 1.1-1.4, 2.1, 2.2 with section 0's decisions).

use crate::chain::{Chain, ChainError, EpochRef};
use crate::domain::{
    avg_block_time, heights::AVG_BLOCK_WINDOW, join_epoch_stats, resolve_past_height,
    stats::sort_for_display,
};
use std::time::Duration;

use super::height_budget::take_height_build;
use crate::table::Budget;
use crate::table::{BlockInfo, CacheTable, EpochSnapshot, SnapshotHeader, StatsSlot, TableResult};
use crate::time::now_ms;

use super::finished::finished_epoch_range;
use super::snapshot::{choose_snapshot, SnapshotChoice, StoredHeaders};
use super::{ApiError, Core};

/// An epoch's stats as the API serves them.
#[derive(Debug, Clone, PartialEq)]
pub struct EpochView {
    pub snapshot: EpochSnapshot,
    pub is_current: bool,
    pub total_assigned_rewards_gnk: Option<u64>,
    /// Where the stats came from this time.
    pub source: Source,
    /// Why the chain could not refresh a stale copy (with `StaleTable`).
    pub chain_error: Option<ChainError>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// Read from the table, within its freshness rules.
    Table,
    /// Built from the chain just now.
    Chain,
    /// The chain failed; an older copy from the table is served.
    StaleTable,
}

fn view(
    snapshot: EpochSnapshot,
    is_current: bool,
    total: Option<u64>,
    source: Source,
) -> EpochView {
    EpochView {
        snapshot,
        is_current,
        total_assigned_rewards_gnk: total,
        source,
        chain_error: None,
    }
}

/// A table read whose failure is not the request's: with the table down
/// the answer comes from the chain (and is not stored).
fn or_absent<T>(read: TableResult<Option<T>>, what: &str) -> Option<T> {
    read.unwrap_or_else(|e| {
        tracing::warn!(error = %e, what, "cache table unreadable; answering from the chain");
        None
    })
}

/// `GET /v1/inference/current`: the cached copy (the scheduled function
/// keeps it fresh) until it is older than the rebuild window, else a
/// rebuild (or the stale copy while the chain is down).
pub async fn current_epoch<C: Chain, T: CacheTable>(
    core: &Core<C, T>,
) -> Result<EpochView, ApiError> {
    let cached = or_absent(
        core.table.load_stats(StatsSlot::Current).await,
        "current epoch",
    );
    if let Some(snapshot) = &cached {
        let fresh = choose_snapshot(
            snapshot.header.epoch_id,
            None,
            StoredHeaders {
                current: Some(&snapshot.header),
                finished: None,
            },
            now_ms(),
            core.config.current_epoch_rebuild,
        )? == SnapshotChoice::Stored(StatsSlot::Current);
        if fresh {
            // Moved, not copied: an epoch's rows are megabytes.
            let snapshot = cached.expect("checked above");
            return Ok(view(snapshot, true, None, Source::Table));
        }
    }
    match refresh_current(core).await {
        Ok(snapshot) => Ok(view(snapshot, true, None, Source::Chain)),
        Err(err) => match cached {
            Some(snapshot) => {
                tracing::warn!(error = %err, cached_at = snapshot.header.fetched_at_ms, "chain unavailable, serving the stale current epoch");
                Ok(EpochView {
                    chain_error: Some(err),
                    ..view(snapshot, true, None, Source::StaleTable)
                })
            }
            None => Err(ApiError::upstream(
                "Failed to fetch current epoch stats",
                err,
            )),
        },
    }
}

/// Builds the current epoch's stats from the chain and stores them (the
/// scheduled refresh, and a request whose cached copy is too old). A
/// failed store is logged: the built stats are still right.
pub async fn refresh_current<C: Chain, T: CacheTable>(
    core: &Core<C, T>,
) -> Result<EpochSnapshot, ChainError> {
    let snapshot = build_current(&core.chain).await?;
    if let Err(e) = core.table.store_stats(StatsSlot::Current, &snapshot).await {
        tracing::error!(error = %e, "could not store the current epoch's stats");
    }
    Ok(snapshot)
}

/// `GET /v1/inference/epochs/{epoch}[?height=N]`.
pub async fn epoch_by_id<C: Chain, T: CacheTable>(
    core: &Core<C, T>,
    epoch: u64,
    height: Option<u64>,
) -> Result<EpochView, ApiError> {
    let (finished, total) = futures::join!(
        core.table.load_stats(StatsSlot::Final(epoch)),
        core.table.load_total(epoch)
    );
    let finished = or_absent(finished, "finished epoch");
    let total = or_absent(total, "epoch total").map(|t| t.total_assigned_rewards_gnk);
    // A finished epoch's request never reads the (large) current snapshot
    // first: the choice is made on the finished header alone.
    let stored = StoredHeaders {
        current: None,
        finished: finished.as_ref().map(|f| &f.header),
    };
    let freshness = core.config.current_epoch_freshness;
    match choose_snapshot(epoch, height, stored, now_ms(), freshness)? {
        SnapshotChoice::Stored(StatsSlot::Final(_)) => {
            if let Some(fin) = finished {
                return Ok(view(fin, false, total, Source::Table));
            }
        }
        SnapshotChoice::Stored(slot) => {
            if let Some(at) = or_absent(core.table.load_stats(slot).await, "epoch at a height") {
                return Ok(view(at, false, total, Source::Table));
            }
        }
        SnapshotChoice::Build => {}
    }

    // Which epoch is current: a fresh stored header says it without its
    // rows (no second epoch's rows held while this one is built).
    let rebuild_ms = core.config.current_epoch_rebuild.as_millis() as i64;
    let header = or_absent(
        core.table.load_header(StatsSlot::Current).await,
        "current epoch",
    );
    let known_past = header
        .filter(|h| now_ms() - h.fetched_at_ms < rebuild_ms)
        .is_some_and(|h| epoch < h.epoch_id);
    if !known_past {
        return epoch_at_or_after_current(core, epoch, height, total).await;
    }
    build_and_store_finished(core, epoch, height, total).await
}

/// An epoch not known to be finished: the current one answers, a later one
/// is unknown, an earlier one is built.
async fn epoch_at_or_after_current<C: Chain, T: CacheTable>(
    core: &Core<C, T>,
    epoch: u64,
    height: Option<u64>,
    total: Option<u64>,
) -> Result<EpochView, ApiError> {
    let current = current_epoch(core).await?;
    let current_id = current.snapshot.header.epoch_id;
    if epoch > current_id {
        // With the chain down, the cached current epoch may be behind: a
        // newer epoch is unknown, not missing.
        return Err(match current.chain_error {
            Some(err) => ApiError::upstream(format!("Failed to fetch epoch {epoch} stats"), err),
            None => ApiError::NotFound(format!(
                "Epoch {epoch} not found (the current epoch is {current_id})"
            )),
        });
    }
    if epoch == current_id {
        // Section 0: /epochs/{C} answers like /current and never marks C
        // finished; the rule checks the height against C's start.
        let stored = StoredHeaders {
            current: Some(&current.snapshot.header),
            finished: None,
        };
        choose_snapshot(epoch, height, stored, now_ms(), Duration::MAX)?;
        return Ok(current);
    }
    drop(current);
    build_and_store_finished(core, epoch, height, total).await
}

/// A finished epoch built from the chain (under the height budget when a
/// height is asked) and stored.
async fn build_and_store_finished<C: Chain, T: CacheTable>(
    core: &Core<C, T>,
    epoch: u64,
    height: Option<u64>,
    total: Option<u64>,
) -> Result<EpochView, ApiError> {
    if height.is_some() {
        take_height_build(
            &core.table,
            &core.config,
            Budget::EpochHeightBuilds(epoch),
            now_ms(),
        )
        .await?;
    }
    let (slot, snapshot) = build_finished(&core.chain, epoch, height).await?;
    if let Err(e) = core.table.store_stats(slot, &snapshot).await {
        tracing::error!(error = %e, epoch, "could not store a finished epoch's stats");
    }
    Ok(view(snapshot, false, total, Source::Chain))
}

fn header(
    epoch_id: u64,
    height: u64,
    effective: u64,
    canonical: Option<u64>,
    block: BlockInfo,
    finished: bool,
) -> SnapshotHeader {
    SnapshotHeader {
        epoch_id,
        height,
        fetched_at_ms: now_ms(),
        is_finished: finished,
        effective_block_height: effective,
        canonical_height: canonical,
        block,
        participant_count: 0,
        version: String::new(),
        buckets: 0,
        rows_hash: None,
        tallies_hash: None,
        chunks_written_ms: None,
    }
}

/// Block `height`'s header time.
async fn block_time<C: Chain>(chain: &C, height: u64) -> Result<Option<String>, ChainError> {
    Ok(chain.block_stamp(height).await?.map(|b| b.timestamp))
}

/// The current epoch from the chain: 6 upstream calls, 3 then 3, each
/// group concurrent.
pub async fn build_current<C: Chain>(chain: &C) -> Result<EpochSnapshot, ChainError> {
    let (latest, active, height) = futures::try_join!(
        chain.latest_epoch(),
        chain.epoch_participants(EpochRef::Current),
        chain.latest_height()
    )?;
    let active =
        active.ok_or_else(|| ChainError::BadResponse("the chain has no current epoch".into()))?;
    let tip = latest.block_height;
    let earlier = tip.checked_sub(AVG_BLOCK_WINDOW).filter(|h| *h > 0);
    let (list, tip_time, earlier_time) = futures::join!(
        chain.participant_list(height),
        block_time(chain, tip),
        async {
            match earlier {
                Some(h) => block_time(chain, h).await,
                None => Ok(None),
            }
        }
    );
    let mut rows = join_epoch_stats(&active.participants, &list?);
    sort_for_display(&mut rows);

    let epoch_id = active.epoch_group_id;
    let tip_time = tip_time.ok().flatten();
    let stages = if Some(epoch_id) == Some(latest.latest_epoch.index) {
        Some((
            latest.epoch_stages.next_poc_start,
            latest.next_epoch_stages.set_new_validators,
        ))
    } else if Some(epoch_id) == latest.next_epoch_stages.epoch_index {
        Some((latest.next_epoch_stages.next_poc_start, None))
    } else {
        None
    };
    let block = match stages {
        Some((next_poc_start_block, set_new_validators_block)) => BlockInfo {
            current_block_height: Some(tip),
            avg_block_time: Some(avg_block_time(
                tip_time.as_deref(),
                earlier_time.ok().flatten().as_deref(),
            )),
            current_block_timestamp: tip_time,
            next_poc_start_block,
            set_new_validators_block,
        },
        None => BlockInfo::default(),
    };
    Ok(EpochSnapshot {
        header: header(
            epoch_id,
            height,
            active.effective_block_height,
            None,
            block,
            false,
        ),
        participants: rows,
    })
}

/// A finished epoch at its canonical height (or a requested lower one).
pub async fn build_finished<C: Chain>(
    chain: &C,
    epoch: u64,
    requested: Option<u64>,
) -> Result<(StatsSlot, EpochSnapshot), ApiError> {
    let context = || format!("Failed to fetch epoch {epoch} stats");
    let (this, canonical) = finished_epoch_range(chain, epoch, &context()).await?;
    let target = resolve_past_height(requested, epoch, this.effective_block_height, canonical)?;
    let list = chain
        .participant_list(target)
        .await
        .map_err(|e| ApiError::upstream(context(), e))?;
    let mut rows = join_epoch_stats(&this.participants, &list);
    sort_for_display(&mut rows);
    let slot = if target == canonical {
        StatsSlot::Final(epoch)
    } else {
        StatsSlot::AtHeight(epoch, target)
    };
    let snapshot = EpochSnapshot {
        header: header(
            epoch,
            target,
            this.effective_block_height,
            Some(canonical),
            BlockInfo::default(),
            true,
        ),
        participants: rows,
    };
    Ok((slot, snapshot))
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod build_tests;
