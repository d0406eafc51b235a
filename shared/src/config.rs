//! One configuration, read from the environment, the same in Lambda and
//! locally. Every variable is documented in the README's table.

use std::time::Duration;

use crate::chain::HttpChainOptions;
use crate::keybase::DEFAULT_KEYBASE_API_URL;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("configuration: {0}")]
pub struct ConfigError(pub String);

#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// `TABLE_NAME`: the cache table.
    pub table_name: String,
    /// `CHAIN_API_URLS`: comma-separated base URLs, tried in order on failure.
    pub chain_api_urls: Vec<String>,
    /// `WARMER_FUNCTION_NAME`: the function epoch-stats invokes (name or ARN).
    pub warmer_function_name: Option<String>,
    /// `CHAIN_TIMEOUT_MS` (default 5000): per upstream request (two stages of
    /// two rounds fit well inside the API functions' 29 s).
    pub chain_timeout: Duration,
    /// `CHAIN_CONCURRENCY` (default 16): upstream requests in flight per process.
    pub chain_concurrency: usize,
    /// `CHAIN_MAX_RPS` (default unset): cap on upstream request starts per second.
    pub chain_max_rps: Option<f64>,
    /// `CHAIN_RETRY_ROUNDS` (default 2): passes over all URLs before failing.
    pub chain_retry_rounds: u32,
    /// `CHAIN_MAX_BODY_BYTES` (default 64 MiB): larger upstream bodies are refused.
    pub chain_max_body_bytes: usize,
    /// `CURRENT_EPOCH_FRESHNESS_SECS` (default 30): how long an answer for
    /// the current epoch is served as it is (Cache-Control `max-age`, and
    /// the rendered copy an epoch-stats instance keeps) before the table is
    /// read again.
    pub current_epoch_freshness: Duration,
    /// `HOT_REVALIDATE_SECS` (default 10): how often an instance that holds
    /// an answer (an epoch's stats, the timeline, the models) checks it
    /// against the table, with one read of small revision items; in
    /// between it answers from memory without any table request. `0`
    /// checks on every request.
    pub hot_revalidate: Duration,
    /// `CURRENT_EPOCH_REBUILD_SECS` (default 150): age at which a request
    /// rebuilds the current epoch's stats from the chain itself. The
    /// scheduled function refreshes them every minute, so this happens only
    /// when the schedule has fallen behind (or is not deployed).
    pub current_epoch_rebuild: Duration,
    /// `ITEM_FRESHNESS_SECS` (default 300): age at which unclaimed rewards and
    /// the current epoch's warm keys and hardware are refetched.
    pub item_freshness: Duration,
    /// `WARM_LEASE_SECS` (default 60, at least 1): an epoch's warm lease. A trigger claims it
    /// for this long; the warmer holding it renews it every third of this
    /// while it runs and releases it when done, so a warmer that dies
    /// holds the epoch for this long at most.
    pub warm_lease: Duration,
    /// `WARMER_DEADLINE_MARGIN_MS` (default 5000): the warmer stops starting
    /// fetches when less than this remains of its invocation.
    pub warmer_deadline_margin: Duration,
    /// `WARMER_CONCURRENCY` (default 16): item fetches in flight in one warm run.
    pub warmer_concurrency: usize,
    /// `WARMER_SLICE_PARTICIPANTS` (default 500): participants whose items
    /// are looked up in the table at a time (bounds the warmer's memory).
    pub warmer_slice: usize,
    /// `HEIGHT_BUILDS_PER_MINUTE` (default 5): builds of a finished epoch at
    /// a requested height allowed per epoch per minute, across all
    /// instances (each is 3-4 chain calls and a stored snapshot).
    pub height_builds_per_minute: u32,
    /// `HEIGHT_BUILDS_PER_MINUTE_TOTAL` (default 10): builds at requested
    /// heights allowed per minute in all, of any epoch, stats or models,
    /// across all instances: what a caller cycling through epochs can cost.
    pub height_builds_per_minute_total: u32,
    /// `HISTORY_BACKFILL_EPOCHS_PER_RUN` (default 1, 1-20): older epochs one
    /// scheduled backfill run hands to the warmer.
    pub history_backfill_epochs_per_run: usize,
    /// `INFERENCE_SCAN_PAGES_PER_RUN` (default 10, at least 1): pages of the
    /// chain's inference list one scheduled run reads at most.
    pub inference_scan_pages_per_run: u32,
    /// `INFERENCE_SCAN_INTERVAL_SECS` (default 300): a new scan of the
    /// inference list starts this long after the previous one started.
    pub inference_scan_interval: Duration,
    /// `CORS_ALLOWED_ORIGINS` (default `*`): comma-separated origins.
    pub cors_allowed_origins: Vec<String>,
    /// `KEYBASE_API_URL` (default `https://keybase.io`): where validator
    /// identities are looked up.
    pub keybase_api_url: String,
    /// `KEYBASE_DEADLINE_MARGIN_MS` (default 10000): a jail run stops
    /// waiting for Keybase when less than this remains of its invocation
    /// (room to store the rows with the answers that came).
    pub keybase_deadline_margin: Duration,
    /// `FIRST_VIEW_JAIL_WAIT_MS` (default 5000): how long the first view of
    /// a finished epoch without jail statuses waits for them to be fetched
    /// (at its canonical height); past it the answer is sent `no-store`.
    pub first_view_jail_wait: Duration,
    /// `HEALTH_ALLOW_PRIVATE_TARGETS` (default false): lets health probes
    /// reach loopback and private addresses. Local use only.
    pub health_allow_private_targets: bool,
    /// `HEALTH_CONCURRENCY` (default 256): health probes in flight (sockets).
    pub health_concurrency: usize,
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// Reads from any key-value source (tests pass a map, not the process env).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |k: &str| {
            get(k)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let table_name =
            get("TABLE_NAME").ok_or_else(|| ConfigError("TABLE_NAME is required".into()))?;
        let chain_api_urls = parse_urls(
            &get("CHAIN_API_URLS")
                .ok_or_else(|| ConfigError("CHAIN_API_URLS is required".into()))?,
            "CHAIN_API_URLS",
        )?;
        let num = |k: &str, default: u64| -> Result<u64, ConfigError> {
            get(k).map_or(Ok(default), |v| {
                v.parse()
                    .map_err(|_| ConfigError(format!("{k} must be a whole number, got {v:?}")))
            })
        };
        let chain_max_rps = match get("CHAIN_MAX_RPS") {
            None => None,
            Some(v) => match v.parse::<f64>() {
                Ok(r) if r > 0.0 && r.is_finite() => Some(r),
                _ => {
                    return Err(ConfigError(format!(
                        "CHAIN_MAX_RPS must be a positive number, got {v:?}"
                    )))
                }
            },
        };
        let keybase_api_url = parse_urls(
            &get("KEYBASE_API_URL").unwrap_or_else(|| DEFAULT_KEYBASE_API_URL.into()),
            "KEYBASE_API_URL",
        )?
        .swap_remove(0);
        let health_allow_private_targets = match get("HEALTH_ALLOW_PRIVATE_TARGETS").as_deref() {
            None | Some("false" | "0") => false,
            Some("true" | "1") => true,
            Some(v) => {
                return Err(ConfigError(format!(
                    "HEALTH_ALLOW_PRIVATE_TARGETS must be true or false, got {v:?}"
                )))
            }
        };
        let concurrency = num("CHAIN_CONCURRENCY", 16)?;
        if concurrency == 0 {
            return Err(ConfigError("CHAIN_CONCURRENCY must be at least 1".into()));
        }
        Ok(Self {
            table_name,
            chain_api_urls,
            warmer_function_name: get("WARMER_FUNCTION_NAME"),
            chain_timeout: Duration::from_millis(num("CHAIN_TIMEOUT_MS", 5_000)?.max(1)),
            chain_concurrency: concurrency as usize,
            chain_max_rps,
            chain_retry_rounds: num("CHAIN_RETRY_ROUNDS", 2)?.clamp(1, 10) as u32,
            chain_max_body_bytes: num("CHAIN_MAX_BODY_BYTES", 64 << 20)? as usize,
            current_epoch_freshness: Duration::from_secs(num("CURRENT_EPOCH_FRESHNESS_SECS", 30)?),
            hot_revalidate: Duration::from_secs(num("HOT_REVALIDATE_SECS", 10)?),
            current_epoch_rebuild: Duration::from_secs(num("CURRENT_EPOCH_REBUILD_SECS", 150)?),
            item_freshness: Duration::from_secs(num("ITEM_FRESHNESS_SECS", 300)?),
            warm_lease: Duration::from_secs(num("WARM_LEASE_SECS", 60)?.max(1)),
            warmer_deadline_margin: Duration::from_millis(num("WARMER_DEADLINE_MARGIN_MS", 5_000)?),
            warmer_concurrency: num("WARMER_CONCURRENCY", 16)?.clamp(1, 1024) as usize,
            warmer_slice: num("WARMER_SLICE_PARTICIPANTS", 500)?.clamp(1, 100_000) as usize,
            height_builds_per_minute: num("HEIGHT_BUILDS_PER_MINUTE", 5)?.min(1_000) as u32,
            height_builds_per_minute_total: num("HEIGHT_BUILDS_PER_MINUTE_TOTAL", 10)?.min(10_000)
                as u32,
            inference_scan_pages_per_run: num("INFERENCE_SCAN_PAGES_PER_RUN", 10)?.clamp(1, 1_000)
                as u32,
            history_backfill_epochs_per_run: num("HISTORY_BACKFILL_EPOCHS_PER_RUN", 1)?.clamp(1, 20)
                as usize,
            inference_scan_interval: Duration::from_secs(num("INFERENCE_SCAN_INTERVAL_SECS", 300)?),
            cors_allowed_origins: get("CORS_ALLOWED_ORIGINS")
                .unwrap_or_else(|| "*".into())
                .split(',')
                .map(|o| o.trim().to_owned())
                .filter(|o| !o.is_empty())
                .collect(),
            keybase_api_url,
            keybase_deadline_margin: Duration::from_millis(num(
                "KEYBASE_DEADLINE_MARGIN_MS",
                10_000,
            )?),
            first_view_jail_wait: Duration::from_millis(num("FIRST_VIEW_JAIL_WAIT_MS", 5_000)?),
            health_allow_private_targets,
            health_concurrency: num("HEALTH_CONCURRENCY", 256)?.clamp(1, 900) as usize,
        })
    }

    pub fn chain_options(&self) -> HttpChainOptions {
        HttpChainOptions {
            urls: self.chain_api_urls.clone(),
            timeout: self.chain_timeout,
            concurrency: self.chain_concurrency,
            retry_rounds: self.chain_retry_rounds,
            max_rps: self.chain_max_rps,
            max_body_bytes: self.chain_max_body_bytes,
            ..HttpChainOptions::default()
        }
    }
}

/// Only absolute http(s) base URLs without query or fragment: each request
/// appends a fixed path, so a base must not be able to reshape it.
fn parse_urls(raw: &str, name: &str) -> Result<Vec<String>, ConfigError> {
    let urls: Vec<String> = raw
        .split(',')
        .map(|u| u.trim().trim_end_matches('/').to_owned())
        .filter(|u| !u.is_empty())
        .collect();
    if urls.is_empty() {
        return Err(ConfigError(format!("{name} lists no URL")));
    }
    for u in &urls {
        let rest = u
            .strip_prefix("http://")
            .or_else(|| u.strip_prefix("https://"));
        let ok = rest.is_some_and(|r| !r.is_empty() && !r.contains(['?', '#', ' ']));
        if !ok {
            return Err(ConfigError(format!(
                "{name} entry {u:?} is not an http(s) base URL"
            )));
        }
    }
    Ok(urls)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn load(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_lookup(|k| map.get(k).cloned())
    }

    const BASE: [(&str, &str); 2] = [
        ("TABLE_NAME", "t"),
        ("CHAIN_API_URLS", "http://a:1/, https://b"),
    ];

    #[test]
    fn defaults() {
        let c = load(&BASE).unwrap();
        assert_eq!(c.chain_api_urls, vec!["http://a:1", "https://b"]);
        assert_eq!(c.chain_timeout, Duration::from_secs(5));
        assert_eq!(c.chain_concurrency, 16);
        assert_eq!(c.current_epoch_freshness, Duration::from_secs(30));
        assert_eq!(c.hot_revalidate, Duration::from_secs(10));
        assert_eq!(c.current_epoch_rebuild, Duration::from_secs(150));
        assert_eq!(c.warm_lease, Duration::from_secs(60));
        assert_eq!(c.cors_allowed_origins, vec!["*"]);
        assert_eq!(c.warmer_function_name, None);
        assert_eq!(c.chain_max_rps, None);
        assert_eq!(c.keybase_api_url, "https://keybase.io");
        assert!(
            !c.health_allow_private_targets,
            "the guard is on by default"
        );
        assert_eq!(c.health_concurrency, 256);
    }

    #[test]
    fn the_warm_lease_and_its_former_name() {
        let lease = |pairs: &[(&str, &str)]| load(&[&BASE[..], pairs].concat()).unwrap().warm_lease;
        assert_eq!(lease(&[]), Duration::from_secs(60));
        assert_eq!(lease(&[("WARM_LEASE_SECS", "90")]), Duration::from_secs(90));
        assert_eq!(lease(&[("WARM_LEASE_SECS", "0")]), Duration::from_secs(1));
        assert_eq!(
            lease(&[("WARM_LEASE_SECS", "0")]),
            Duration::from_secs(1),
            "renewed every third of it: never 0"
        );
    }

    #[test]
    fn errors() {
        let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
            (
                vec![("CHAIN_API_URLS", "http://a")],
                "TABLE_NAME is required",
            ),
            (vec![("TABLE_NAME", "t")], "CHAIN_API_URLS is required"),
            (
                vec![("TABLE_NAME", "t"), ("CHAIN_API_URLS", "ftp://x")],
                "is not an http(s) base URL",
            ),
            (
                vec![("TABLE_NAME", "t"), ("CHAIN_API_URLS", "http://x?y=1")],
                "is not an http(s) base URL",
            ),
            (
                vec![("TABLE_NAME", "t"), ("CHAIN_API_URLS", " , ")],
                "lists no URL",
            ),
            (
                [&BASE[..], &[("CHAIN_CONCURRENCY", "0")]].concat(),
                "at least 1",
            ),
            (
                [&BASE[..], &[("CHAIN_TIMEOUT_MS", "soon")]].concat(),
                "whole number",
            ),
            (
                [&BASE[..], &[("CHAIN_MAX_RPS", "-1")]].concat(),
                "positive number",
            ),
            (
                [&BASE[..], &[("WARM_LEASE_SECS", "1m")]].concat(),
                "WARM_LEASE_SECS must be a whole number",
            ),
            (
                [&BASE[..], &[("KEYBASE_API_URL", "file:///etc")]].concat(),
                "KEYBASE_API_URL entry",
            ),
            (
                [&BASE[..], &[("HEALTH_ALLOW_PRIVATE_TARGETS", "yes")]].concat(),
                "HEALTH_ALLOW_PRIVATE_TARGETS must be true or false",
            ),
        ];
        for (pairs, want) in cases {
            let err = load(&pairs).unwrap_err().to_string();
            assert!(err.contains(want), "{pairs:?}: {err}");
        }
    }

    #[test]
    fn overrides() {
        let c = load(
            &[
                &BASE[..],
                &[
                    ("CHAIN_MAX_RPS", "50"),
                    (
                        "CORS_ALLOWED_ORIGINS",
                        "https://a.example, https://b.example",
                    ),
                    ("WARMER_FUNCTION_NAME", "warmer"),
                    ("KEYBASE_API_URL", "http://127.0.0.1:9/keybase/"),
                    ("HEALTH_ALLOW_PRIVATE_TARGETS", "true"),
                ],
            ]
            .concat(),
        )
        .unwrap();
        assert_eq!(c.chain_max_rps, Some(50.0));
        assert_eq!(
            c.cors_allowed_origins,
            vec!["https://a.example", "https://b.example"]
        );
        assert_eq!(c.warmer_function_name.as_deref(), Some("warmer"));
        assert_eq!(c.keybase_api_url, "http://127.0.0.1:9/keybase");
        assert!(c.health_allow_private_targets);
    }
}
