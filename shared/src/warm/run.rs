//! The warm run (the warmer function): for an epoch's participants, every
//! missing or stale reward, warm-key and hardware item fetched once and
//! written with conditional puts, under one bounded concurrency and a
//! deadline; for a finished epoch, its jail statuses too (once).

use std::collections::{BTreeMap, HashSet};
use std::time::Instant;

use futures::StreamExt;
use serde::Serialize;

use super::lease::{run_under_lease, Leased};
use super::request::WarmRequest;
use super::total::settle_total;
use crate::chain::{Chain, ChainError, EpochRef, ValidatorChain};
use crate::domain::history::UnavailableEpoch;
use crate::ids::ParticipantId;
use crate::keybase::HttpKeybase;
use crate::service::history::{record_epoch_history, HistoryReport};
use crate::service::items::{
    fetch_item, missing_items, modal_item_keys, store_fetched, ItemOutcome,
};
use crate::service::jail::{warm_finished_jail, JailReport};
use crate::service::keybase_names::{KeybaseMemo, KeybaseRun};
use crate::service::{ApiError, Core};
use crate::table::{
    CacheTable, CachedItem, HistoryTable, ItemKey, ItemKind, LeaseToken, StatsSlot, StatusTable,
    TableError, WarmRest,
};
use crate::time::now_ms;

/// One step of a warm run's stream.
enum Step {
    /// A slice's keys were checked: how many, how many are present, how
    /// many could not be read.
    Checked {
        keys: usize,
        present: usize,
        unreadable: usize,
        /// The oldest fetch among the present items that are refreshed.
        oldest_refreshable_ms: Option<i64>,
    },
    /// An item to fetch and store.
    Fetch(ItemKey),
    /// What the chain answered for an item, to store.
    Fetched(ItemKey, Result<CachedItem, ChainError>),
    /// An item's outcome; `None` when the deadline stopped it from starting.
    Done(ItemKey, Option<ItemOutcome>),
}

/// The warm run's summary, logged as one structured line.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct WarmReport {
    pub epoch_id: u64,
    pub finished: bool,
    pub participants: usize,
    pub items_checked: usize,
    pub present: usize,
    pub fetched: usize,
    pub written: usize,
    pub lost_races: usize,
    pub failures: BTreeMap<&'static str, usize>,
    /// Items not started because the deadline came (the next run does them).
    pub left_for_next_run: usize,
    pub upstream_calls: u64,
    pub dynamodb_requests: u64,
    pub dynamodb_read_units: f64,
    pub dynamodb_write_units: f64,
    pub total_assigned_rewards_gnk: Option<u64>,
    /// The oldest fetch (ms) among the items found present that are
    /// refreshed (not final): when the next run has work.
    pub oldest_refreshable_ms: Option<i64>,
    /// A finished epoch's jail statuses (fetched once, at its canonical
    /// height); `None` when not fetched (why is logged; the next warm run
    /// of the epoch retries).
    pub jail: Option<JailReport>,
    /// A finished epoch's history entries, recorded from what the run
    /// stored; `None` when not recorded (why is logged).
    pub history: Option<HistoryReport>,
    pub duration_ms: u64,
}

impl WarmReport {
    /// Every item of the run's participants is stored: none failed, none
    /// was left for a next run, none unreadable.
    pub fn every_item_stored(&self) -> bool {
        self.failures.is_empty()
            && self.left_for_next_run == 0
            && self.present + self.written + self.lost_races == self.items_checked
    }

    /// The rest this run earned (recorded with the lease's release): a
    /// finished epoch with every item, its total, its final jail
    /// statuses and its history stored needs no warm again; the current epoch none until
    /// its oldest refreshable item goes stale (`started_ms` stands for
    /// those this run wrote). A run for a list of participants earns none.
    pub fn rest(&self, started_ms: i64, freshness_ms: i64, whole_epoch: bool) -> Option<WarmRest> {
        if !whole_epoch || !self.every_item_stored() {
            return None;
        }
        if self.finished {
            let jail_final = self.jail.as_ref().is_some_and(|j| j.is_final);
            let history = self.history.is_some();
            (jail_final && history && self.total_assigned_rewards_gnk.is_some()).then_some(
                WarmRest {
                    until_ms: WarmRest::FOREVER,
                    finished: true,
                },
            )
        } else {
            let oldest = self
                .oldest_refreshable_ms
                .map_or(started_ms, |o| o.min(started_ms));
            Some(WarmRest {
                until_ms: oldest.saturating_add(freshness_ms),
                finished: false,
            })
        }
    }
}

/// Runs one warm. `stop_at_ms`: no fetch starts at or after this time.
pub async fn warm_epoch<C: Chain + ValidatorChain, T: CacheTable + StatusTable + HistoryTable>(
    core: &Core<C, T>,
    job: &WarmRequest,
    stop_at_ms: Option<i64>,
) -> WarmReport {
    let started = Instant::now();
    let usage0 = usage(core);
    let epoch = job.epoch();
    let mut report = WarmReport {
        epoch_id: epoch,
        finished: job.finished,
        ..WarmReport::default()
    };
    let participants = match &job.participants {
        Some(p) => p.clone(),
        None => match epoch_participants(core, epoch, job.finished).await {
            Ok(p) => p,
            Err(e) => {
                tracing::error!(epoch, error = %e, "cannot list the epoch's participants; nothing warmed");
                report.failures.insert("participants", 1);
                return finish(core, report, started, usage0);
            }
        },
    };
    report.participants = participants.len();
    let epoch_is_current = !job.finished;
    let current = epoch_is_current.then_some(epoch);
    let freshness = core.config.item_freshness;

    // The keys of one slice of participants are checked against the
    // table (keys-only BatchGetItem) while the previous slice's fetches
    // run; the fetches form one stream, so the concurrency bound holds
    // across all participants and kinds, not batch after batch, and only
    // a slice's keys are in memory at a time.
    let checked = futures::stream::iter(participants.chunks(core.config.warmer_slice))
        .map(|slice| async move {
            let keys: Vec<ItemKey> = slice
                .iter()
                .flat_map(|p| modal_item_keys(p, epoch, epoch_is_current))
                .collect();
            let stored = core.table.item_meta(&keys).await;
            (keys, stored)
        })
        .buffered(2);
    let steps = checked.flat_map(|(keys, stored)| {
        let steps: Vec<Step> = match stored {
            Ok(stored) => {
                let missing = missing_items(&keys, &stored, current, now_ms(), freshness);
                let present = keys.len() - missing.len();
                let oldest_refreshable_ms = stored
                    .values()
                    .filter(|m| !m.is_final)
                    .map(|m| m.fetched_at_ms)
                    .min();
                std::iter::once(Step::Checked { keys: keys.len(), present, unreadable: 0, oldest_refreshable_ms })
                    .chain(missing.into_iter().map(Step::Fetch))
                    .collect()
            }
            Err(e) => {
                tracing::error!(epoch, error = %e, "cannot read what is cached; skipping these participants");
                vec![Step::Checked { keys: keys.len(), present: 0, unreadable: keys.len(), oldest_refreshable_ms: None }]
            }
        };
        futures::stream::iter(steps)
    });
    // Two stages, so the chain, not the table, bounds the fill: a fetch
    // slot (one of `warmer_concurrency`) is held only while the chain
    // answers (each authz page its own call), and the conditional puts run
    // beside the fetches, as many in flight at most (memory stays flat).
    let fetched = steps
        .map(|step| async move {
            match step {
                Step::Fetch(key) => {
                    if stop_at_ms.is_some_and(|stop| now_ms() >= stop) {
                        return Step::Done(key, None);
                    }
                    let item = fetch_item(&core.chain, &key, job.finished).await;
                    Step::Fetched(key, item)
                }
                other => other,
            }
        })
        .buffer_unordered(core.config.warmer_concurrency);
    let mut outcomes = fetched
        .map(|step| async move {
            match step {
                Step::Fetched(key, item) => {
                    Step::Done(key, Some(store_fetched(&core.table, item).await))
                }
                other => other,
            }
        })
        .buffer_unordered(core.config.warmer_concurrency);
    // Earlier epochs whose reward items this run rewrote (their history follows).
    let mut rewards_written_for = std::collections::BTreeSet::new();
    while let Some(step) = outcomes.next().await {
        let (key, outcome) = match step {
            Step::Checked {
                keys,
                present,
                unreadable,
                oldest_refreshable_ms,
            } => {
                report.items_checked += keys;
                report.present += present;
                report.oldest_refreshable_ms =
                    match (report.oldest_refreshable_ms, oldest_refreshable_ms) {
                        (Some(a), Some(b)) => Some(a.min(b)),
                        (a, b) => a.or(b),
                    };
                if unreadable > 0 {
                    *report.failures.entry("table").or_default() += unreadable;
                }
                continue;
            }
            Step::Fetch(_) | Step::Fetched(..) => continue,
            Step::Done(key, outcome) => (key, outcome),
        };
        match outcome {
            None => report.left_for_next_run += 1,
            Some(ItemOutcome::Written(_)) => {
                report.fetched += 1;
                report.written += 1;
                if key.kind == ItemKind::Reward && key.epoch != epoch {
                    rewards_written_for.insert(key.epoch);
                }
            }
            Some(ItemOutcome::LostRace(_)) => {
                report.fetched += 1;
                report.lost_races += 1;
            }
            Some(ItemOutcome::FetchFailed(e)) => {
                tracing::warn!(participant = %key.participant, epoch = key.epoch, kind = key.kind.as_str(), error = %e, "fetch failed");
                *report.failures.entry(key.kind.as_str()).or_default() += 1;
            }
            Some(ItemOutcome::StoreFailed(_, e)) => {
                report.fetched += 1;
                tracing::warn!(participant = %key.participant, epoch = key.epoch, kind = key.kind.as_str(), error = %e, "write failed");
                *report.failures.entry("table").or_default() += 1;
            }
        }
    }
    drop(outcomes);
    if report.left_for_next_run > 0 {
        tracing::warn!(
            epoch = epoch,
            left = report.left_for_next_run,
            "deadline reached; the next run finishes the epoch"
        );
    }
    if job.finished {
        // Against every participant of the epoch, never only the payload's.
        let everyone = match &job.participants {
            None => Ok(participants),
            Some(_) => epoch_participants(core, epoch, true).await,
        };
        report.total_assigned_rewards_gnk = match everyone {
            Ok(everyone) => settle_total(&core.table, epoch, &everyone).await,
            Err(e) => {
                tracing::warn!(epoch, error = %e, "cannot list the epoch's participants; the total waits");
                None
            }
        };
        if stop_at_ms.is_some_and(|stop| now_ms() >= stop) {
            tracing::warn!(
                epoch,
                "deadline reached; the jail statuses wait for the next run"
            );
        } else {
            report.jail = warm_jail(core, epoch, stop_at_ms).await;
        }
        // Last, from what the run stored: the rewards and jail statuses.
        if stop_at_ms.is_some_and(|stop| now_ms() >= stop) {
            tracing::warn!(
                epoch,
                "deadline reached; the history waits for the next run"
            );
        } else {
            report.history = record_history(core, epoch).await;
            // The earlier epochs of the modal's window whose rewards this
            // run rewrote: their entries' claims follow (the others have
            // nothing new to record).
            for earlier in rewards_written_for.into_iter().rev() {
                if stop_at_ms.is_some_and(|stop| now_ms() >= stop) {
                    break;
                }
                record_history(core, earlier).await;
            }
        }
    }
    finish(core, report, started, usage0)
}

/// Records `epoch`'s history entries (see `service::history`); a failure
/// is logged and left to the next warm run.
async fn record_history<C: Chain, T: CacheTable + StatusTable + HistoryTable>(
    core: &Core<C, T>,
    epoch: u64,
) -> Option<HistoryReport> {
    match record_epoch_history(core, epoch).await {
        Ok(h) => {
            tracing::info!(
                epoch,
                entries = h.entries,
                written = h.written,
                settled = h.settled,
                "history recorded"
            );
            Some(h)
        }
        Err(ApiError::Upstream {
            source: source @ ChainError::HeightPruned { .. },
            context,
        }) => {
            // Gone on every node: listed as unavailable, and passed over.
            let err = ApiError::Upstream { context, source };
            tracing::warn!(epoch, error = %err, "epoch pruned on every node; recorded as unavailable");
            let gap = UnavailableEpoch {
                epoch_id: epoch,
                reason: err.detail(),
            };
            if let Err(e) = core.table.store_network_unavailable(&gap, now_ms()).await {
                tracing::warn!(epoch, error = %e, "cannot record the unavailable epoch");
            }
            None
        }
        Err(e) => {
            tracing::warn!(epoch, error = %e, "history not recorded; the next warm run retries");
            None
        }
    }
}

/// A finished epoch's jail statuses, unless stored final already; Keybase
/// is waited for until `stop_at_ms`. The Keybase client and its memory
/// are made per run (a warm run is minutes apart from the next).
async fn warm_jail<C: Chain + ValidatorChain, T: CacheTable + StatusTable>(
    core: &Core<C, T>,
    epoch: u64,
    stop_at_ms: Option<i64>,
) -> Option<JailReport> {
    let keybase = match HttpKeybase::new(&core.config.keybase_api_url) {
        Ok(k) => k,
        Err(e) => {
            tracing::error!(epoch, error = %e, "no Keybase client; jail statuses not fetched");
            return None;
        }
    };
    let memo = KeybaseMemo::default();
    let run = KeybaseRun {
        lookup: &keybase,
        memo: &memo,
        deadline: stop_at_ms.map(|stop| {
            let left = stop.saturating_sub(now_ms()).max(0) as u64;
            tokio::time::Instant::now() + std::time::Duration::from_millis(left)
        }),
    };
    match warm_finished_jail(&core.chain, &core.table, &run, epoch).await {
        Ok(report) => Some(report),
        Err(e) => {
            tracing::warn!(epoch, error = %e, "jail statuses not fetched; the next warm run retries");
            None
        }
    }
}

fn finish<C: Chain, T: CacheTable>(
    core: &Core<C, T>,
    mut report: WarmReport,
    started: Instant,
    usage0: Usage,
) -> WarmReport {
    report.duration_ms = started.elapsed().as_millis() as u64;

    let usage = usage(core);
    report.upstream_calls = usage.calls.saturating_sub(usage0.calls);
    report.dynamodb_requests = usage.requests.saturating_sub(usage0.requests);
    report.dynamodb_read_units = usage.read_units - usage0.read_units;
    report.dynamodb_write_units = usage.write_units - usage0.write_units;
    // One line with the whole report (a JSON object, whatever fields it grows).
    tracing::info!(
        epoch = report.epoch_id,
        report = %serde_json::to_string(&report).unwrap_or_default(),
        "warm run finished"
    );
    report
}

/// Why a warm run could not list its epoch's participants.
#[derive(Debug, thiserror::Error)]
enum ListError {
    #[error(transparent)]
    Table(#[from] TableError),
    #[error(transparent)]
    Chain(#[from] ChainError),
    #[error("epoch {0} does not exist")]
    NoSuchEpoch(u64),
}

/// The epoch's participants: from the cached stats when present, else
/// from the chain (one call).
async fn epoch_participants<C: Chain, T: CacheTable>(
    core: &Core<C, T>,
    epoch: u64,
    finished: bool,
) -> Result<Vec<ParticipantId>, ListError> {
    let slot = if finished {
        StatsSlot::Final(epoch)
    } else {
        StatsSlot::Current
    };
    let from_table = core
        .table
        .load_validator_keys(slot)
        .await?
        .filter(|(header, _)| header.epoch_id == epoch);
    let indexes: Vec<String> = match from_table {
        Some((_, rows)) => rows.into_iter().map(|r| r.index).collect(),
        None => core
            .chain
            .epoch_member_ids(EpochRef::Number(epoch))
            .await?
            .ok_or(ListError::NoSuchEpoch(epoch))?,
    };
    let mut seen = HashSet::new();
    Ok(indexes
        .iter()
        .filter_map(|i| match ParticipantId::parse(i) {
            Ok(id) => seen.insert(id.clone()).then_some(id),
            Err(e) => {
                tracing::warn!(index = %i, error = %e, "skipping a participant with an invalid address");
                None
            }
        })
        .collect())
}

/// The warmer function's handler: validates the event, runs the warm until
/// `deadline_ms - margin` while holding the epoch's warm lease, and returns
/// the report (`skipped` when another run holds the lease; a rejected
/// payload is logged and answered, never retried by Lambda as an error).
pub async fn handle_warm_event<
    C: Chain + ValidatorChain,
    T: CacheTable + StatusTable + HistoryTable,
>(
    core: &Core<C, T>,
    event: &serde_json::Value,
    deadline_ms: Option<i64>,
) -> serde_json::Value {
    match WarmRequest::from_event(event) {
        Err(reason) => {
            tracing::error!(%reason, "rejected warmer payload; nothing written");
            serde_json::json!({ "status": "rejected", "reason": reason.to_string() })
        }
        Ok(job) => {
            let stop_at =
                deadline_ms.map(|d| d - core.config.warmer_deadline_margin.as_millis() as i64);
            // The trigger's lease, or (a payload without one) a claim of
            // this run's own.
            let owner = job.lease_token.clone().unwrap_or_else(LeaseToken::random);
            // Boxed: the run's future nests deep enough (stream adapters
            // over retrying fetches) to overflow the compiler's layout
            // depth inside a binary's main.
            let started_ms = now_ms();
            let run = Box::pin(warm_epoch(core, &job, stop_at));
            let lease = core.config.warm_lease;
            let freshness_ms = core.config.item_freshness.as_millis() as i64;
            let whole_epoch = job.participants.is_none();
            let rest_of = |report: &WarmReport| report.rest(started_ms, freshness_ms, whole_epoch);
            match Box::pin(run_under_lease(
                &core.table,
                job.epoch(),
                &owner,
                lease,
                job.finished,
                run,
                rest_of,
            ))
            .await
            {
                Leased::Ran(report, lease) => {
                    serde_json::json!({ "status": "done", "report": report, "lease": lease })
                }
                Leased::Held { until_ms } => {
                    tracing::info!(
                        epoch = job.epoch(),
                        held_until_ms = until_ms,
                        "another run holds the epoch's warm lease; skipped"
                    );
                    serde_json::json!({
                        "status": "skipped",
                        "reason": "another warm run holds this epoch's lease",
                        "held_until_ms": until_ms,
                    })
                }
            }
        }
    }
}

/// Upstream and table usage counters at one moment.
#[derive(Debug, Clone, Copy)]
struct Usage {
    calls: u64,
    requests: u64,
    read_units: f64,
    write_units: f64,
}

fn usage<C: Chain, T: CacheTable>(core: &Core<C, T>) -> Usage {
    let (read_units, write_units) = core.table.capacity_units();
    Usage {
        calls: core.chain.upstream_calls(),
        requests: core.table.requests(),
        read_units,
        write_units,
    }
}
