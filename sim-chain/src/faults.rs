//! Fault injection: decides which requests fail, and how.
//!
//! Draws come from a seeded counter-based stream rather than a thread RNG,
//! so a run with the same seed and the same request sequence fails the same
//! requests (handy when reproducing a flaky test), while the rate still
//! holds over many requests.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use crate::config::{EndpointKind, Fault, FaultMode};
use crate::prng::{Purpose, Rng};

#[derive(Debug)]
pub(crate) struct FaultInjector {
    seed: u64,
    draws: AtomicU64,
    faults: Mutex<HashMap<EndpointKind, Fault>>,
    /// Requests of each faulted kind since its fault was set (for `after`).
    seen: Mutex<HashMap<EndpointKind, u64>>,
}

impl FaultInjector {
    pub(crate) fn new(seed: u64, faults: HashMap<EndpointKind, Fault>) -> Self {
        FaultInjector {
            seed,
            draws: AtomicU64::new(0),
            faults: Mutex::new(faults),
            seen: Mutex::default(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<EndpointKind, Fault>> {
        self.faults.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Sets (or with `None` clears) the fault of one endpoint kind.
    pub(crate) fn set(&self, kind: EndpointKind, fault: Option<Fault>) {
        let mut faults = self.lock();
        self.seen
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&kind);
        match fault {
            Some(fault) => faults.insert(kind, fault),
            None => faults.remove(&kind),
        };
    }

    pub(crate) fn all(&self) -> BTreeMap<EndpointKind, Fault> {
        self.lock().iter().map(|(k, f)| (*k, f.clone())).collect()
    }

    /// The fault to inject into this request of `kind`, if any.
    pub(crate) fn draw(&self, kind: EndpointKind) -> Option<FaultMode> {
        let fault = self.lock().get(&kind).cloned()?;
        let seen = {
            let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
            let n = seen.entry(kind).or_insert(0);
            *n += 1;
            *n
        };
        if fault.rate <= 0.0 || seen <= fault.after {
            return None;
        }
        let n = self.draws.fetch_add(1, Ordering::Relaxed);
        let u = Rng::new(self.seed, Purpose::Fault, &[n]).unit();
        (u < fault.rate).then_some(fault.mode)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn injects_at_roughly_the_rate() {
        let injector = FaultInjector::new(
            7,
            HashMap::from([(EndpointKind::Summary, Fault::new(0.3, FaultMode::Status503))]),
        );
        let hits = (0..10_000)
            .filter(|_| injector.draw(EndpointKind::Summary).is_some())
            .count();
        assert!((2_700..3_300).contains(&hits), "{hits}");
        assert_eq!(injector.draw(EndpointKind::Authz), None);

        injector.set(
            EndpointKind::Summary,
            Some(Fault::new(1.0, FaultMode::Truncated)),
        );
        assert_eq!(
            injector.draw(EndpointKind::Summary),
            Some(FaultMode::Truncated)
        );
        injector.set(EndpointKind::Summary, None);
        assert_eq!(injector.draw(EndpointKind::Summary), None);
    }

    /// `after`: that many requests pass, counted from when the fault is set.
    #[test]
    fn fails_after_the_given_requests() {
        let injector = FaultInjector::new(7, HashMap::new());
        assert_eq!(injector.draw(EndpointKind::Inferences), None);
        let fault = Fault::new(1.0, FaultMode::Status503).after(2);
        injector.set(EndpointKind::Inferences, Some(fault));
        let draws: Vec<bool> = (0..4)
            .map(|_| injector.draw(EndpointKind::Inferences).is_some())
            .collect();
        assert_eq!(draws, [false, false, true, true]);
    }
}
