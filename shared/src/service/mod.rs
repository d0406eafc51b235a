//! The functions' logic, over the ports ([`Chain`], [`CacheTable`],
//! [`WarmerInvoker`]). Each Lambda's `main.rs` only builds the adapters.

pub mod epochs;
pub mod errors;
pub mod invoke;
pub mod items;
pub mod participant;
pub mod responses;
pub mod warm;

pub use errors::ApiError;
pub use invoke::{LambdaInvoker, RecordingInvoker, WarmRequest, WarmerInvoker};

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::chain::Chain;
use crate::config::Config;
use crate::table::CacheTable;

/// What every service call needs: the chain, the table and the settings.
pub struct Ctx<C, T> {
    pub chain: C,
    pub table: T,
    pub config: Arc<Config>,
    /// Until when this process knows each epoch's warm guard is held, so a
    /// busy instance does not write to the table on every request to learn
    /// it again (the table stays the authority across instances).
    guard_held_until: Mutex<HashMap<u64, i64>>,
    /// Rendered epoch answers this instance keeps (see [`crate::web::RenderCache`]).
    pub(crate) rendered: crate::web::RenderCache,
}

impl<C: Chain, T: CacheTable> Ctx<C, T> {
    pub fn new(chain: C, table: T, config: Config) -> Self {
        Self {
            chain,
            table,
            config: Arc::new(config),
            guard_held_until: Mutex::default(),
            rendered: Default::default(),
        }
    }
}
