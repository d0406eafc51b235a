//! The node health job (contract part 2, 4.4 with section 0): every
//! current epoch entry's `inference_url` probed under the SSRF guard,
//! concurrently under one deadline, stored per participant (global).

use std::time::{Duration, Instant};

use futures::StreamExt;
use serde::Serialize;

use crate::chain::{Chain, ChainError, EpochRef};
use crate::domain::NodeHealth;
use crate::health::HealthProber;
use crate::table::{PutOutcome, StatusParts, StatusTable, TableError};
use crate::time::now_ms;

#[derive(Debug, thiserror::Error)]
pub enum HealthError {
    #[error(transparent)]
    Chain(#[from] ChainError),
    #[error(transparent)]
    Table(#[from] TableError),
    #[error("the chain has no current epoch")]
    NoCurrentEpoch,
}

/// One probe round's summary.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct HealthReport {
    pub epoch_id: u64,
    pub participants: usize,
    pub healthy: usize,
    pub unhealthy: usize,
    /// Not started before the deadline: their last stored result is kept.
    pub not_probed: usize,
    pub written: bool,
    pub duration_ms: u64,
}

/// Probes every current participant's node and stores the results.
/// `concurrency` bounds the probes in flight (sockets), `deadline` the
/// round: a probe not started by then is skipped and keeps its last result.
pub async fn probe_node_health<C: Chain, T: StatusTable>(
    chain: &C,
    table: &T,
    prober: &HealthProber,
    concurrency: usize,
    deadline: Duration,
) -> Result<HealthReport, HealthError> {
    let started = Instant::now();
    let active = chain
        .epoch_participants(EpochRef::Current)
        .await?
        .ok_or(HealthError::NoCurrentEpoch)?;
    let epoch = active.epoch_group_id;
    let targets: Vec<(String, String)> = active
        .participants
        .iter()
        .map(|p| (p.index.clone(), p.inference_url.clone().unwrap_or_default()))
        .collect();
    let mut report = HealthReport {
        epoch_id: epoch,
        participants: targets.len(),
        ..HealthReport::default()
    };
    let stop_at = started + deadline;
    let results: Vec<(String, Option<NodeHealth>)> = futures::stream::iter(targets)
        .map(|(participant, url)| async move {
            if Instant::now() >= stop_at {
                return (participant, None);
            }
            let result = prober.probe(&url).await;
            if let Some(reason) = &result.reason {
                tracing::info!(%participant, inference_url = %url, %reason, "node unhealthy");
            }
            let health = NodeHealth {
                participant: participant.clone(),
                healthy: result.healthy,
                checked_at: crate::time::rfc3339_ms(now_ms()),
            };
            (participant, Some(health))
        })
        .buffer_unordered(concurrency.max(1))
        .collect()
        .await;

    let skipped: Vec<&String> = results
        .iter()
        .filter(|(_, h)| h.is_none())
        .map(|(p, _)| p)
        .collect();
    let previous = if skipped.is_empty() {
        Default::default()
    } else {
        table
            .load_statuses(StatusParts {
                jail: None,
                health: true,
            })
            .await?
            .health
    };
    let mut rows = Vec::with_capacity(results.len());
    for (participant, health) in &results {
        match health {
            Some(h) => {
                if h.healthy {
                    report.healthy += 1;
                } else {
                    report.unhealthy += 1;
                }
                rows.push(h.clone());
            }
            None => {
                report.not_probed += 1;
                if let Some(old) = previous.get(participant) {
                    rows.push(old.clone());
                }
            }
        }
    }
    report.written = table.store_health(&rows, now_ms()).await? == PutOutcome::Written;
    report.duration_ms = started.elapsed().as_millis() as u64;
    tracing::info!(
        epoch,
        report = %serde_json::to_string(&report).unwrap_or_default(),
        "node health probed"
    );
    Ok(report)
}
