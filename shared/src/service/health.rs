//! The node health job (docs/contract-part2.md 4.4 with section 0): every
//! current epoch entry's `inference_url` probed under the SSRF guard,
//! concurrently under one deadline, stored per participant (global).
//!
//! Each round probes in its own order (shuffled by the round's minute),
//! so when slow nodes use up a round the ones left out differ from round
//! to round. A node not probed keeps its last result and probe time,
//! until that result is older than [`MAX_CARRIED_AGE_MS`]; then it is
//! dropped, not restamped. Unhealthy nodes are counted in the round's one
//! info line (by kind); each one's reason is logged at debug.

use std::collections::BTreeMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::time::{Duration, Instant};

use futures::StreamExt;
use serde::Serialize;

use crate::chain::{Chain, ChainError, EpochRef};
use crate::domain::NodeHealth;
use crate::health::{HealthProber, ProbeFailure};
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
    /// Unhealthy nodes by why.
    pub unhealthy_by_kind: BTreeMap<ProbeFailure, usize>,
    /// Not started before the deadline: their last stored result is kept.
    pub not_probed: usize,
    /// Not probed, and their last result too old to keep: dropped.
    pub dropped_stale: usize,
    pub written: bool,
    pub duration_ms: u64,
}

/// A probe's stored result and, when unhealthy, why.
type Probed = (NodeHealth, Option<ProbeFailure>);

/// How long a node's last result is carried over rounds that did not
/// probe it (the health items' own lifetime).
pub const MAX_CARRIED_AGE_MS: i64 = 24 * 3_600_000;

/// The order a round probes `targets` in: a shuffle seeded by `round`
/// (deterministic, so a round can be replayed).
pub fn probe_order<T>(targets: &mut [(String, T)], round: u64) {
    targets.sort_by_cached_key(|(participant, _)| {
        let mut h = DefaultHasher::new();
        (round, participant).hash(&mut h);
        h.finish()
    });
}

/// Whether a stored result probed at `checked_at` may be carried at `now_ms`.
fn carried(checked_at: &str, now_ms: i64) -> bool {
    chrono::DateTime::parse_from_rfc3339(checked_at)
        .is_ok_and(|t| now_ms - t.timestamp_millis() < MAX_CARRIED_AGE_MS)
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
    let mut targets: Vec<(String, String)> = active
        .participants
        .iter()
        .map(|p| (p.index.clone(), p.inference_url.clone().unwrap_or_default()))
        .collect();
    probe_order(&mut targets, (now_ms() / 60_000) as u64);
    let mut report = HealthReport {
        epoch_id: epoch,
        participants: targets.len(),
        ..HealthReport::default()
    };
    let stop_at = started + deadline;
    let results: Vec<(String, Option<Probed>)> = futures::stream::iter(targets)
        .map(|(participant, url)| async move {
            if Instant::now() >= stop_at {
                return (participant, None);
            }
            let result = prober.probe(&url).await;
            if let Some(reason) = &result.reason {
                tracing::debug!(%participant, inference_url = %url, %reason, "node unhealthy");
            }
            let health = NodeHealth {
                participant: participant.clone(),
                healthy: result.healthy,
                checked_at: crate::time::rfc3339_ms(now_ms()),
            };
            (participant, Some((health, result.failure)))
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
    let now = now_ms();
    let mut rows = Vec::with_capacity(results.len());
    for (participant, health) in results {
        match health {
            Some((h, failure)) => {
                if h.healthy {
                    report.healthy += 1;
                } else {
                    report.unhealthy += 1;
                    if let Some(kind) = failure {
                        *report.unhealthy_by_kind.entry(kind).or_default() += 1;
                    }
                }
                rows.push(h);
            }
            None => {
                report.not_probed += 1;
                match previous.get(&participant) {
                    Some(old) if carried(&old.checked_at, now) => rows.push(old.clone()),
                    Some(_) => report.dropped_stale += 1,
                    None => {}
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

#[cfg(test)]
mod tests {
    use super::*;

    fn targets(n: usize) -> Vec<(String, ())> {
        (0..n).map(|i| (format!("gonka1p{i:03}"), ())).collect()
    }

    #[test]
    fn each_round_probes_in_its_own_order_and_every_node_comes_first_sometimes() {
        let mut seen_early = std::collections::BTreeSet::new();
        let mut orders = std::collections::BTreeSet::new();
        for round in 0..60 {
            let mut t = targets(40);
            probe_order(&mut t, round);
            let mut sorted: Vec<_> = t.iter().map(|(p, _)| p.clone()).collect();
            sorted.sort();
            assert_eq!(
                sorted,
                targets(40).into_iter().map(|(p, _)| p).collect::<Vec<_>>()
            );
            // The first quarter: what a round cut short still probes.
            seen_early.extend(t[..10].iter().map(|(p, _)| p.clone()));
            orders.insert(t.iter().map(|(p, _)| p.clone()).collect::<Vec<_>>());
        }
        assert_eq!(orders.len(), 60, "no two rounds alike");
        assert_eq!(seen_early.len(), 40, "no node always in the tail");
        // The same round, the same order (a run can be replayed).
        let (mut a, mut b) = (targets(40), targets(40));
        probe_order(&mut a, 7);
        probe_order(&mut b, 7);
        assert_eq!(a, b);
    }

    #[test]
    fn a_result_is_carried_for_a_day_at_most() {
        let now = 1_800_000_000_000;
        let cases = [
            (crate::time::rfc3339_ms(now - 60_000), true),
            (crate::time::rfc3339_ms(now - MAX_CARRIED_AGE_MS + 1), true),
            (crate::time::rfc3339_ms(now - MAX_CARRIED_AGE_MS), false),
            (crate::time::rfc3339_ms(now - 2 * MAX_CARRIED_AGE_MS), false),
            ("not a time".to_owned(), false),
        ];
        for (checked_at, want) in cases {
            assert_eq!(carried(&checked_at, now), want, "{checked_at}");
        }
    }
}
