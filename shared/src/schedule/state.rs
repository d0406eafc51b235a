//! What the scheduled function holds between runs.

use crate::chain::Chain;
use crate::service::Core;
use crate::table::CacheTable;
use crate::warm::{WarmTrigger, WarmerInvoker};

/// The core plus the warm trigger (for the new-epoch warm).
pub struct SchedulerState<C, T, W> {
    pub core: Core<C, T>,
    pub warm: WarmTrigger<W>,
}

impl<C: Chain, T: CacheTable, W: WarmerInvoker> SchedulerState<C, T, W> {
    /// `invoker: None` when no warmer is configured (new epochs are then
    /// warmed only by their first view... which cannot trigger either).
    pub fn new(core: Core<C, T>, invoker: Option<W>) -> Self {
        let warm = WarmTrigger::new(invoker, core.config.warm_lease);
        Self { core, warm }
    }
}
