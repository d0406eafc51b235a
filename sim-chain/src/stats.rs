//! Request accounting, so tests can assert how often (and with what
//! arguments) the code under test called the chain, e.g. that a cache
//! absorbed repeated reads or that no caller-chosen path reached the chain.

use std::collections::BTreeMap;
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

/// Counters since start or the last reset (`GET /__stats`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stats {
    /// Every request that reached a chain route or an unknown path.
    pub total: u64,
    /// Per endpoint kind (`summary`, `authz`, ..., and `unknown`).
    pub by_kind: BTreeMap<String, u64>,
    /// Per kind and arguments, e.g. `summary:56:gonka1...`, `authz:gonka1...`
    /// (all pages of one granter), `unknown:/some/path`.
    pub by_key: BTreeMap<String, u64>,
    /// Requests answered with an injected fault (hangs included).
    pub failures_injected: u64,
}

impl Stats {
    /// Count for one kind (0 if never seen).
    pub fn kind(&self, kind: &str) -> u64 {
        self.by_kind.get(kind).copied().unwrap_or(0)
    }

    /// Count for one key (0 if never seen).
    pub fn key(&self, key: &str) -> u64 {
        self.by_key.get(key).copied().unwrap_or(0)
    }

    /// Sum of the counts of all keys starting with `prefix`.
    pub fn keys_with_prefix(&self, prefix: &str) -> u64 {
        self.by_key
            .range(prefix.to_string()..)
            .take_while(|(k, _)| k.starts_with(prefix))
            .map(|(_, v)| v)
            .sum()
    }
}

/// Thread-safe recorder behind [`Stats`].
#[derive(Debug, Default)]
pub(crate) struct StatsRecorder {
    inner: Mutex<Stats>,
}

impl StatsRecorder {
    fn with<R>(&self, f: impl FnOnce(&mut Stats) -> R) -> R {
        // A poisoned lock only means another request panicked mid-update;
        // the counters are still usable.
        let mut guard = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut guard)
    }

    pub(crate) fn record(&self, kind: &str, key: String) {
        self.with(|s| {
            s.total += 1;
            *s.by_kind.entry(kind.to_string()).or_default() += 1;
            *s.by_key.entry(key).or_default() += 1;
        });
    }

    pub(crate) fn record_fault(&self) {
        self.with(|s| s.failures_injected += 1);
    }

    pub(crate) fn snapshot(&self) -> Stats {
        self.with(|s| s.clone())
    }

    pub(crate) fn reset(&self) {
        self.with(|s| *s = Stats::default());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_by_kind_and_key() {
        let r = StatsRecorder::default();
        r.record("authz", "authz:a".into());
        r.record("authz", "authz:a".into());
        r.record("summary", "summary:5:a".into());
        r.record_fault();
        let s = r.snapshot();
        assert_eq!(s.total, 3);
        assert_eq!(s.kind("authz"), 2);
        assert_eq!(s.key("authz:a"), 2);
        assert_eq!(s.keys_with_prefix("summary:"), 1);
        assert_eq!(s.failures_injected, 1);
        r.reset();
        assert_eq!(r.snapshot(), Stats::default());
    }
}
