//! The scheduled event: which job to run, running it, and the report the
//! run logs and returns.

use std::time::Instant;

use serde::Deserialize;

use super::jobs::{health_job, inference_scan_job, jail_job, models_job, timeline_job, to_report};
use super::{refresh_current_epoch, SchedulerState};
use crate::chain::{Chain, ChainError, InferenceChain, NetworkChain, ValidatorChain};
use crate::keybase::KeybaseLookup;
use crate::service::health::HealthError;
use crate::service::history::backfill_step;
use crate::service::inference_scan::ScanError;
use crate::service::jail::JailError;
use crate::service::network::RefreshError;
use crate::table::{CacheTable, HistoryTable, InferenceTable, NetworkTable, StatusTable};
use crate::warm::WarmerInvoker;

/// The jobs, by the name a schedule's input gives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Job {
    /// The current epoch's stats, and the warm of a new epoch.
    CurrentEpoch,
    /// The timeline (head, reference block, stages, events).
    Timeline,
    /// The current epoch's models and the 24 h model stats.
    Models,
    /// The current epoch's jail statuses (validators, signing infos, Keybase).
    Jail,
    /// Every current participant's node health (guarded probes).
    Health,
    /// One bounded step of the scan of the chain's inference list.
    InferenceScan,
    /// One bounded step of the history's backfill of older epochs.
    HistoryBackfill,
}

impl Job {
    pub fn as_str(self) -> &'static str {
        match self {
            Job::CurrentEpoch => "current_epoch",
            Job::Timeline => "timeline",
            Job::Models => "models",
            Job::Jail => "jail",
            Job::Health => "health",
            Job::InferenceScan => "inference_scan",
            Job::HistoryBackfill => "history_backfill",
        }
    }
}

/// A payload that names no job this function knows.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("scheduled event rejected: {0}; expected {{\"job\": \"<name>\"}} (see template.yaml)")]
pub struct JobRequestError(String);

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct JobRequest {
    job: Job,
}

impl Job {
    /// The schedule's `Input` (EventBridge sends it instead of the event).
    pub fn from_event(event: &serde_json::Value) -> Result<Job, JobRequestError> {
        JobRequest::deserialize(event)
            .map(|r| r.job)
            .map_err(|e| JobRequestError(e.to_string()))
    }
}

/// Why a job run failed; the next scheduled run is the retry.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    #[error(transparent)]
    Request(#[from] JobRequestError),
    #[error("job {job}: {source}")]
    Chain {
        job: &'static str,
        source: ChainError,
    },
    #[error("job {job}: {source}")]
    Refresh {
        job: &'static str,
        source: RefreshError,
    },
    #[error("job jail: {0}")]
    Jail(#[from] JailError),
    #[error("job health: {0}")]
    Health(#[from] HealthError),
    #[error("job inference_scan: {0}")]
    Scan(#[from] ScanError),
    #[error("job history_backfill: {0}")]
    Backfill(crate::service::ApiError),
}

/// Runs the job the event names and returns its report. A failed job is an
/// error (the invocation fails, so Lambda's error metric shows it; the
/// template sets no retries: the next scheduled run is the retry).
pub async fn handle_scheduled_event<C, T, W, K>(
    state: &SchedulerState<C, T, W, K>,
    event: &serde_json::Value,
    deadline_ms: Option<i64>,
) -> Result<serde_json::Value, JobError>
where
    C: Chain + NetworkChain + InferenceChain + ValidatorChain,
    T: CacheTable + NetworkTable + InferenceTable + StatusTable + HistoryTable,
    W: WarmerInvoker,
    K: KeybaseLookup,
{
    let job = Job::from_event(event).inspect_err(|e| tracing::error!(error = %e))?;
    let started = Instant::now();
    let calls_before = state.core.chain.upstream_calls();
    // Boxed: a job's future nests deep enough (retrying fetches, stream
    // adapters) to overflow the compiler's layout depth inside main.
    let core = &state.core;
    let refresh = |source| JobError::Refresh {
        job: job.as_str(),
        source,
    };
    let report = match job {
        Job::CurrentEpoch => Box::pin(refresh_current_epoch(state))
            .await
            .map(to_report)
            .map_err(|source| JobError::Chain {
                job: job.as_str(),
                source,
            }),
        Job::Timeline => Box::pin(timeline_job(core)).await.map_err(refresh),
        Job::Models => Box::pin(models_job(core)).await.map_err(refresh),
        Job::Jail => Box::pin(jail_job(
            core,
            &state.keybase,
            &state.keybase_memo,
            deadline_ms,
        ))
        .await
        .map_err(JobError::Jail),
        Job::Health => Box::pin(health_job(core, &state.prober, deadline_ms))
            .await
            .map_err(JobError::Health),
        Job::InferenceScan => Box::pin(inference_scan_job(core, deadline_ms))
            .await
            .map_err(JobError::Scan),
        Job::HistoryBackfill => Box::pin(backfill_step(
            &core.table,
            &state.warm,
            core.config.history_backfill_epochs_per_run,
        ))
        .await
        .map(|r| serde_json::to_value(r).unwrap_or_default())
        .map_err(JobError::Backfill),
    };
    let duration_ms = started.elapsed().as_millis() as u64;
    let chain_calls = state.core.chain.upstream_calls() - calls_before;
    match report {
        Ok(report) => {
            tracing::info!(job = job.as_str(), duration_ms, chain_calls, %report, "scheduled job done");
            Ok(serde_json::json!({
                "job": job.as_str(),
                "status": "done",
                "duration_ms": duration_ms,
                "chain_calls": chain_calls,
                "report": report,
            }))
        }
        Err(e) => {
            tracing::error!(job = job.as_str(), duration_ms, chain_calls, error = %e, "scheduled job failed");
            Err(e)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn events_name_a_known_job() {
        let cases = [
            (json!({"job": "current_epoch"}), Some(Job::CurrentEpoch)),
            (json!({"job": "timeline"}), Some(Job::Timeline)),
            (json!({"job": "models"}), Some(Job::Models)),
            (json!({"job": "inference_scan"}), Some(Job::InferenceScan)),
            (json!({"job": "jail"}), Some(Job::Jail)),
            (json!({"job": "health"}), Some(Job::Health)),
            (
                json!({"job": "history_backfill"}),
                Some(Job::HistoryBackfill),
            ),
            (json!({"job": "reboot"}), None),
            (json!({}), None),
            (json!({"job": "current_epoch", "extra": 1}), None),
            // EventBridge's own event (a schedule without Input): no job.
            (
                json!({"detail-type": "Scheduled Event", "source": "aws.events"}),
                None,
            ),
            (json!("current_epoch"), None),
        ];
        for (event, want) in cases {
            assert_eq!(Job::from_event(&event).ok(), want, "{event}");
        }
    }
}
