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
}

impl FaultInjector {
    pub(crate) fn new(seed: u64, faults: HashMap<EndpointKind, Fault>) -> Self {
        FaultInjector {
            seed,
            draws: AtomicU64::new(0),
            faults: Mutex::new(faults),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<EndpointKind, Fault>> {
        self.faults.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Sets (or with `None` clears) the fault of one endpoint kind.
    pub(crate) fn set(&self, kind: EndpointKind, fault: Option<Fault>) {
        let mut faults = self.lock();
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
        if fault.rate <= 0.0 {
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
}
