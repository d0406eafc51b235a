//! What the scheduled function holds between runs.

use crate::chain::Chain;
use crate::health::HealthProber;
use crate::keybase::KeybaseLookup;
use crate::service::keybase_names::KeybaseMemo;
use crate::service::Core;
use crate::table::CacheTable;
use crate::warm::{WarmTrigger, WarmerInvoker};

/// The core, the warm trigger (for the new-epoch warm), and the jail and
/// health jobs' clients (Keybase and its answers in memory, the guarded
/// health prober).
pub struct SchedulerState<C, T, W, K> {
    pub core: Core<C, T>,
    pub warm: WarmTrigger<W>,
    pub keybase: K,
    pub keybase_memo: KeybaseMemo,
    pub prober: HealthProber,
}

impl<C: Chain, T: CacheTable, W: WarmerInvoker, K: KeybaseLookup> SchedulerState<C, T, W, K> {
    /// `invoker: None` when no warmer is configured (then only views warm).
    pub fn new(core: Core<C, T>, invoker: Option<W>, keybase: K, prober: HealthProber) -> Self {
        let warm = WarmTrigger::new(invoker, core.config.warm_lease);
        Self {
            core,
            warm,
            keybase,
            keybase_memo: KeybaseMemo::default(),
            prober,
        }
    }
}
