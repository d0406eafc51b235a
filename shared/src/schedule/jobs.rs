//! The network-wide jobs (timeline, current models) and the inference
//! scan's step, as the scheduled function runs them: each returns a small
//! JSON summary for its log line and report.

use std::time::Duration;

use serde_json::{json, Value};

use crate::chain::{Chain, InferenceChain, NetworkChain, ValidatorChain};
use crate::config::Config;
use crate::health::HealthProber;
use crate::keybase::KeybaseLookup;
use crate::service::health::{probe_node_health, HealthError};
use crate::service::inference_scan::{scan_step, ScanError, ScanSettings};
use crate::service::jail::{refresh_current_jail, JailError};
use crate::service::keybase_names::{KeybaseMemo, KeybaseRun};
use crate::service::network::{refresh_models_current, refresh_timeline, RefreshError};
use crate::service::Core;
use crate::table::{InferenceTable, NetworkTable, StatusTable};
use crate::time::now_ms;

pub async fn timeline_job<C: Chain + NetworkChain, T: NetworkTable>(
    core: &Core<C, T>,
) -> Result<Value, RefreshError> {
    let r = refresh_timeline(core).await?;
    Ok(json!({
        "height": r.timeline.current_block.height,
        "epoch": r.timeline.current_epoch_index,
        "outcome": format!("{:?}", r.outcome),
        "restrictions_from_chain": r.restrictions_from_chain,
    }))
}

pub async fn models_job<C: Chain + NetworkChain, T: NetworkTable>(
    core: &Core<C, T>,
) -> Result<Value, RefreshError> {
    let r = refresh_models_current(core).await?;
    Ok(json!({
        "epoch": r.models.response.epoch_id,
        "models": r.models.response.models.len(),
        "outcome": format!("{:?}", r.outcome),
    }))
}

/// Keybase's budget when the invocation has no deadline (outside Lambda).
const KEYBASE_BUDGET_WITHOUT_DEADLINE: Duration = Duration::from_secs(40);

/// The current epoch's jail statuses at the latest height; Keybase is
/// waited for until the invocation's deadline less the configured margin.
pub async fn jail_job<C: Chain + ValidatorChain, T: StatusTable, K: KeybaseLookup>(
    core: &Core<C, T>,
    keybase: &K,
    memo: &KeybaseMemo,
    deadline_ms: Option<i64>,
) -> Result<Value, JailError> {
    let run = KeybaseRun {
        lookup: keybase,
        memo,
        deadline: Some(
            tokio::time::Instant::now() + keybase_budget(&core.config, deadline_ms, now_ms()),
        ),
    };
    let report = refresh_current_jail(&core.chain, &core.table, &run).await?;
    Ok(to_report(report))
}

/// How long a jail run may wait for Keybase.
fn keybase_budget(config: &Config, deadline_ms: Option<i64>, now_ms: i64) -> Duration {
    time_left(deadline_ms, now_ms).map_or(KEYBASE_BUDGET_WITHOUT_DEADLINE, |left| {
        left.saturating_sub(config.keybase_deadline_margin)
    })
}

/// A probe already started may take its whole 5 s timeout (and the round
/// is stored after it).
const HEALTH_PROBE_TAIL: Duration = Duration::from_secs(7);

/// Every current participant's node health: probes start until the
/// invocation's deadline less a probe's worst case and the store.
pub async fn health_job<C: Chain, T: StatusTable>(
    core: &Core<C, T>,
    prober: &HealthProber,
    deadline_ms: Option<i64>,
) -> Result<Value, HealthError> {
    let left = time_left(deadline_ms, now_ms()).unwrap_or(Duration::from_secs(40));
    let report = probe_node_health(
        &core.chain,
        &core.table,
        prober,
        core.config.health_concurrency,
        left.saturating_sub(HEALTH_PROBE_TAIL),
    )
    .await?;
    Ok(to_report(report))
}

/// One bounded step of the inference scan: at most the configured pages,
/// and none started later than the chain's worst case before the
/// invocation's deadline (the step saves what it read after its last page).
pub async fn inference_scan_job<C: Chain + InferenceChain, T: InferenceTable>(
    core: &Core<C, T>,
    deadline_ms: Option<i64>,
) -> Result<Value, ScanError> {
    let settings = scan_settings(&core.config, deadline_ms, now_ms());
    let report = scan_step(&core.chain, &core.table, &settings).await?;
    Ok(to_report(report))
}

/// What remains of the invocation (none past its deadline); `None`
/// without a deadline.
fn time_left(deadline_ms: Option<i64>, now_ms: i64) -> Option<Duration> {
    deadline_ms.map(|d| Duration::from_millis(d.saturating_sub(now_ms).max(0) as u64))
}

/// A job's report as the run's JSON (every report serializes).
pub(super) fn to_report<R: serde::Serialize>(report: R) -> Value {
    serde_json::to_value(report).unwrap_or_default()
}

/// A page may take every retry round at the full timeout, and the save
/// after the last page needs a few seconds of its own.
fn scan_settings(config: &Config, deadline_ms: Option<i64>, now_ms: i64) -> ScanSettings {
    let page_worst =
        config.chain_timeout * config.chain_retry_rounds * config.chain_api_urls.len() as u32;
    let margin = page_worst + Duration::from_secs(5);
    ScanSettings {
        page_budget: config.inference_scan_pages_per_run,
        deadline: time_left(deadline_ms, now_ms)
            .map(|left| tokio::time::Instant::now() + left.saturating_sub(margin)),
        min_interval: config.inference_scan_interval,
        ..ScanSettings::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scan_stops_starting_pages_a_page_and_a_save_before_the_deadline() {
        let config = Config::from_lookup(|k| match k {
            "TABLE_NAME" => Some("t".into()),
            "CHAIN_API_URLS" => Some("http://a,http://b".into()),
            "CHAIN_TIMEOUT_MS" => Some("2000".into()),
            "CHAIN_RETRY_ROUNDS" => Some("2".into()),
            "INFERENCE_SCAN_PAGES_PER_RUN" => Some("7".into()),
            _ => None,
        })
        .unwrap();
        let s = scan_settings(&config, Some(1_000_000 + 55_000), 1_000_000);
        let now = tokio::time::Instant::now();
        assert_eq!(s.page_budget, 7);
        assert_eq!(s.min_interval, Duration::from_secs(300));
        // 55 s left - (2 s x 2 rounds x 2 URLs + 5 s) = 42 s.
        let until = s.deadline.unwrap() - now;
        assert!(
            until <= Duration::from_secs(42) && until > Duration::from_secs(41),
            "{until:?}"
        );
        // Past its deadline already: no page at all.
        let late = scan_settings(&config, Some(1_000_000), 1_000_000 + 5);
        assert!(late.deadline.unwrap() <= tokio::time::Instant::now());
        assert!(scan_settings(&config, None, 0).deadline.is_none());
    }

    #[test]
    fn keybase_waits_until_the_deadline_less_the_margin() {
        let config = Config::from_lookup(|k| match k {
            "TABLE_NAME" => Some("t".into()),
            "CHAIN_API_URLS" => Some("http://a".into()),
            "KEYBASE_DEADLINE_MARGIN_MS" => Some("12000".into()),
            _ => None,
        })
        .unwrap();
        let budget = |d, now| keybase_budget(&config, d, now);
        assert_eq!(budget(Some(55_000), 0), Duration::from_secs(43));
        assert_eq!(budget(Some(5_000), 0), Duration::ZERO);
        assert_eq!(budget(None, 0), KEYBASE_BUDGET_WITHOUT_DEADLINE);
    }
}
