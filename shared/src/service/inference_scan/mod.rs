//! The inference scan, one bounded step per scheduled run: it reads at
//! most a page budget of the chain's inference list (and starts no page
//! past the run's deadline), folds each page into the running top 10s,
//! and saves its position in the table's checkpoint so the next run
//! continues. When the last page is read it publishes every participant's
//! record for the current and the previous epoch at once; the next run
//! starts a new scan.
//!
//! A failed page keeps what the run read before it (saved) and fails the
//! step; the next run resumes at that page. A page that fails in
//! `max_failed_runs` runs in a row (a node that pruned the scan's height
//! fails it for good) drops the scan, and the next run starts a new one
//! at the latest height. Nothing is published before
//! the last page, so a partial picture is never shown as complete. Two
//! overlapping runs cannot both save: the checkpoint is conditional on
//! its version, and the loser's pages are dropped.
//!
//! The table writes what changed only: a save what the run added to the
//! running result, a completion the bucket items whose records differ
//! from the previous scan's, plus the epochs' completion stamps.

use std::time::Duration;

use serde::Serialize;

use crate::chain::{Chain, ChainError, InferenceChain};
use crate::domain::inferences::{EpochFrame, InferenceTally};
use crate::table::{
    InferenceTable, PublishStamp, PutOutcome, ScanCheckpoint, ScanPosition, ScanState, TableError,
};
use crate::time::now_ms;

/// How much one run may do.
#[derive(Debug, Clone)]
pub struct ScanSettings {
    /// Pages read per run at most (at least 1).
    pub page_budget: u32,
    /// No page is started (and none waited for) past this instant; the
    /// caller keeps a margin for the save after it.
    pub deadline: Option<tokio::time::Instant>,
    /// A new scan starts only this long after the previous one started.
    pub min_interval: Duration,
    /// Pages per scan at most: past it (or on a repeated page key) the
    /// chain's answer is broken, and the scan is dropped.
    pub max_pages: u64,
    /// Runs in a row whose page fails before the scan restarts at a newer
    /// height (at least 1).
    pub max_failed_runs: u32,
}

impl Default for ScanSettings {
    fn default() -> Self {
        Self {
            page_budget: 10,
            deadline: None,
            min_interval: Duration::from_secs(300),
            max_pages: 10_000,
            max_failed_runs: 3,
        }
    }
}

/// How a step ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ScanOutcome {
    /// No scan in progress, and the last one started less than
    /// `min_interval` ago.
    Waiting,
    /// Pages read and saved; more remain.
    Progressed,
    /// The last page was read and the records published.
    Completed,
    /// Another run saved the checkpoint first; this run's pages are dropped.
    LostRace,
}

/// What a step did (for the scheduled function's log and the benchmarks).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ScanReport {
    pub outcome: ScanOutcome,
    pub pages_read: u32,
    /// Pages of this scan so far, this run's included.
    pub scan_pages: u64,
    pub scan_inferences: u64,
    /// Inferences held in the running top 10s.
    pub kept: usize,
    /// Records published (participants x epochs) when completed.
    pub published: usize,
    /// Bucket items written to publish them: those whose records changed.
    pub buckets_written: usize,
    pub scan_started_ms: Option<i64>,
    pub height: Option<u64>,
    pub epoch: Option<u64>,
}

#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    /// Starting a scan needs the current epoch, its length and the height.
    #[error("starting a scan: {0}")]
    Start(ChainError),
    #[error("the chain's latest epoch has no epoch_length")]
    NoEpochLength,
    /// A page failed; the pages read before it are saved.
    #[error("inference page {page} failed ({pages_read} read and saved this run): {source}")]
    Page {
        page: u64,
        pages_read: u32,
        source: ChainError,
    },
    /// The same page failed in `runs` runs in a row: the scan is dropped,
    /// and the next run starts one at the latest height.
    #[error("inference page {page} at height {height} failed in {runs} runs in a row; the scan restarts at a newer height: {source}")]
    Restarted {
        page: u64,
        height: u64,
        runs: u32,
        source: ChainError,
    },
    /// The list does not end (a repeated key, or more than `max_pages`):
    /// the scan is dropped and the next one starts over.
    #[error("inference list abandoned after {pages} pages: {reason}")]
    Abandoned { pages: u64, reason: String },
    #[error(transparent)]
    Table(#[from] TableError),
}

/// One run's step of the scan (see the module docs).
pub async fn scan_step<C, T>(
    chain: &C,
    table: &T,
    settings: &ScanSettings,
) -> Result<ScanReport, ScanError>
where
    C: Chain + InferenceChain,
    T: InferenceTable,
{
    let read = table.load_scan().await?;
    let resumed = read.scan.is_some();
    let mut state = match read.scan.clone() {
        Some(state) => state,
        None => {
            let interval_ms = i64::try_from(settings.min_interval.as_millis()).unwrap_or(i64::MAX);
            if read
                .last_started_ms
                .is_some_and(|t| now_ms().saturating_sub(t) < interval_ms)
            {
                return Ok(report(ScanOutcome::Waiting, 0, None));
            }
            start_scan(chain).await?
        }
    };

    let mut pages_read = 0u32;
    let mut failure: Option<ChainError> = None;
    let mut end: Option<Result<(), String>> = None;
    while pages_read < settings.page_budget.max(1) {
        if settings
            .deadline
            .is_some_and(|d| tokio::time::Instant::now() >= d)
        {
            break;
        }
        let key = state.position.next_key.clone();
        let fetch = chain.inference_page(key.as_deref(), state.position.height);
        let page = match settings.deadline {
            Some(d) => match tokio::time::timeout_at(d, fetch).await {
                Ok(page) => page,
                // Out of time, not a failure: the next run reads this page.
                Err(_) => break,
            },
            None => fetch.await,
        };
        let page = match page {
            Ok(page) => page,
            Err(e) => {
                failure = Some(e);
                break;
            }
        };
        pages_read += 1;
        let position = &mut state.position;
        position.pages += 1;
        position.inferences_seen += page.inference.len() as u64;
        let next = page.next_key().map(str::to_owned);
        let frame = position.frame;
        for inference in page.inference {
            state.tally.add(inference, &frame);
        }
        match next {
            None => {
                end = Some(Ok(()));
                break;
            }
            Some(k) if key.as_deref() == Some(k.as_str()) => {
                end = Some(Err(format!("the page key {k} came back")));
                break;
            }
            Some(_) if state.position.pages >= settings.max_pages => {
                end = Some(Err(format!("more than {} pages", settings.max_pages)));
                break;
            }
            Some(k) => state.position.next_key = Some(k),
        }
    }

    match end {
        Some(Ok(())) => complete(table, &read, state, pages_read).await,
        Some(Err(reason)) => {
            let pages = state.position.pages;
            let next = ScanCheckpoint {
                scan: None,
                last_started_ms: Some(state.position.started_ms),
                ..read.clone()
            };
            table.save_scan(&read, &next).await?;
            tracing::error!(pages, %reason, "inference list abandoned");
            Err(ScanError::Abandoned { pages, reason })
        }
        None => {
            if pages_read > 0 {
                state.position.failed_runs = 0;
            }
            if failure.is_some() {
                state.position.failed_runs += 1;
            }
            let runs = state.position.failed_runs;
            if let Some(source) = failure.take_if(|_| runs >= settings.max_failed_runs.max(1)) {
                let (page, height) = (state.position.pages + 1, state.position.height);
                // Not a completed scan: the interval counts from the last one.
                let next = ScanCheckpoint {
                    scan: None,
                    ..read.clone()
                };
                table.save_scan(&read, &next).await?;
                tracing::error!(page, height, runs, error = %source, "inference page keeps failing; the scan restarts at a newer height");
                return Err(ScanError::Restarted {
                    page,
                    height,
                    runs,
                    source,
                });
            }
            // Save what was read, a failure counted or a scan just started,
            // unless nothing changed.
            let outcome = if pages_read > 0 || failure.is_some() || !resumed {
                let next = ScanCheckpoint {
                    scan: Some(state.clone()),
                    ..read.clone()
                };
                table.save_scan(&read, &next).await?
            } else {
                PutOutcome::Written
            };
            if outcome == PutOutcome::LostRace {
                return Ok(report(ScanOutcome::LostRace, pages_read, Some(&state)));
            }
            match failure {
                Some(source) => Err(ScanError::Page {
                    page: state.position.pages + 1,
                    pages_read,
                    source,
                }),
                None => Ok(report(ScanOutcome::Progressed, pages_read, Some(&state))),
            }
        }
    }
}

/// A new scan: the current epoch (C, E, members), L, and the height H it
/// reads every page at.
async fn start_scan<C: Chain + InferenceChain>(chain: &C) -> Result<ScanState, ScanError> {
    let members = chain
        .current_epoch_members()
        .await
        .map_err(ScanError::Start)?;
    let epoch_length = chain
        .latest_epoch()
        .await
        .map_err(ScanError::Start)?
        .epoch_params
        .epoch_length
        .filter(|l| *l > 0)
        .ok_or(ScanError::NoEpochLength)?;
    let height = chain.latest_height().await.map_err(ScanError::Start)?;
    Ok(ScanState {
        position: ScanPosition {
            started_ms: now_ms(),
            height,
            frame: EpochFrame {
                current: members.epoch_group_id,
                effective_height: members.effective_block_height,
                epoch_length,
            },
            next_key: None,
            pages: 0,
            inferences_seen: 0,
            failed_runs: 0,
        },
        members: members.participants.into_iter().map(|m| m.index).collect(),
        tally: InferenceTally::default(),
    })
}

/// Publishes every record of the kept epochs (the table writes the buckets
/// whose records changed, and each epoch's completion stamp), then ends the
/// scan in the checkpoint. A failed publish fails the step before the
/// checkpoint moves, so the next run reads this run's pages again and
/// publishes then.
async fn complete<T: InferenceTable>(
    table: &T,
    read: &ScanCheckpoint,
    state: ScanState,
    pages_read: u32,
) -> Result<ScanReport, ScanError> {
    let stamp = PublishStamp {
        scan_started_ms: state.position.started_ms,
        cached_at_ms: now_ms(),
    };
    let (mut published, mut buckets_written) = (0, 0);
    for epoch in state.position.frame.kept_epochs() {
        let records = state.tally.records_for(epoch, &state.members);
        buckets_written += table.publish_inferences(epoch, &records, stamp).await?;
        published += records.len();
    }
    let next = ScanCheckpoint {
        scan: None,
        last_started_ms: Some(stamp.scan_started_ms),
        last_completed_ms: Some(stamp.cached_at_ms),
        ..read.clone()
    };
    // Losing here means another run completed the same scan: the records
    // are the same.
    table.save_scan(read, &next).await?;
    tracing::info!(
        pages = state.position.pages,
        inferences = state.position.inferences_seen,
        published,
        buckets_written,
        "inference scan completed"
    );
    Ok(ScanReport {
        published,
        buckets_written,
        ..report(ScanOutcome::Completed, pages_read, Some(&state))
    })
}

fn report(outcome: ScanOutcome, pages_read: u32, state: Option<&ScanState>) -> ScanReport {
    ScanReport {
        outcome,
        pages_read,
        scan_pages: state.map_or(0, |s| s.position.pages),
        scan_inferences: state.map_or(0, |s| s.position.inferences_seen),
        kept: state.map_or(0, |s| s.tally.kept()),
        published: 0,
        buckets_written: 0,
        scan_started_ms: state.map(|s| s.position.started_ms),
        height: state.map(|s| s.position.height),
        epoch: state.map(|s| s.position.frame.current),
    }
}

#[cfg(test)]
mod tests;
