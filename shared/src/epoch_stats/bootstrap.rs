//! epoch-stats' real adapters, built once per process by its `main.rs`.

use crate::bootstrap::{live_core, warmer_invoker};
use crate::chain::HttpChain;
use crate::config::ConfigError;
use crate::table::DynamoTable;
use crate::warm::LambdaInvoker;

use super::EpochStatsState;

pub type LiveEpochStatsState = EpochStatsState<HttpChain, DynamoTable, LambdaInvoker>;

/// The core plus the warm trigger (a no-op without `WARMER_FUNCTION_NAME`).
pub async fn live_epoch_stats_state() -> Result<LiveEpochStatsState, ConfigError> {
    let (core, sdk) = live_core().await?;
    let invoker = warmer_invoker(&core, &sdk);
    Ok(EpochStatsState::new(core, invoker))
}
