//! The request logic over the ports ([`Chain`], [`CacheTable`], and the
//! narrow network ports): epoch stats, the participant modal, fetching
//! items, and the timeline and models (`network`). Free functions over a
//! [`Core`]; HTTP lives in [`crate::routes`], the warm hop in [`crate::warm`].

pub mod epochs;
pub mod errors;
#[cfg(test)]
mod fakes;
pub mod finished;
pub mod header_memo;
pub mod health;
pub mod height_budget;
pub mod history;
pub mod inference_scan;
pub mod inferences;
pub mod items;
pub mod jail;
pub mod keybase_names;
pub mod network;
pub mod participant;
pub mod reply_memo;
pub mod responses;
pub mod snapshot;
pub mod status;

pub use errors::ApiError;
pub use header_memo::HeaderMemo;
pub use reply_memo::ReplyMemo;

use std::sync::Arc;

use crate::chain::Chain;
use crate::config::Config;
use crate::table::CacheTable;

/// What every function holds: the chain, the table and the settings. A
/// function with more state (epoch-stats: the warm trigger and its kept
/// answers) wraps a `Core` in a state of its own, next to its routes.
pub struct Core<C, T> {
    pub chain: C,
    pub table: T,
    pub config: Arc<Config>,
    /// The stats headers this instance has seen, so a modal reads its row
    /// in the same round trip as everything else.
    pub headers: HeaderMemo,
    /// Answers this instance gave, held for `HOT_REVALIDATE_SECS` (the
    /// network routes).
    pub replies: ReplyMemo,
}

impl<C: Chain, T: CacheTable> Core<C, T> {
    pub fn new(chain: C, table: T, config: Config) -> Self {
        Self {
            chain,
            table,
            config: Arc::new(config),
            headers: HeaderMemo::default(),
            replies: ReplyMemo::default(),
        }
    }
}
