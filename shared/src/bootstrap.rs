//! Building the real adapters from the configuration, once per process
//! (each function's `main.rs` calls these, then hands a handler to the
//! runtime).

use crate::chain::HttpChain;
use crate::config::{Config, ConfigError};
use crate::routes::EpochStatsState;
use crate::schedule::SchedulerState;
use crate::service::Core;
use crate::table::DynamoTable;
use crate::warm::LambdaInvoker;

pub type LiveCore = Core<HttpChain, DynamoTable>;
pub type LiveEpochStatsState = EpochStatsState<HttpChain, DynamoTable, LambdaInvoker>;
pub type LiveSchedulerState = SchedulerState<HttpChain, DynamoTable, LambdaInvoker>;

/// Reads the configuration and builds the chain client and the table.
pub async fn live_core() -> Result<(LiveCore, aws_config::SdkConfig), ConfigError> {
    let config = Config::from_env()?;
    let sdk = crate::aws::load_sdk_config().await;
    let chain = HttpChain::new(config.chain_options()).map_err(ConfigError)?;
    let table = DynamoTable::new(
        aws_sdk_dynamodb::Client::new(&sdk),
        config.table_name.clone(),
    );
    Ok((Core::new(chain, table, config), sdk))
}

/// epoch-stats' state: the core plus the warm trigger (a no-op without
/// `WARMER_FUNCTION_NAME`).
pub async fn live_epoch_stats_state() -> Result<LiveEpochStatsState, ConfigError> {
    let (core, sdk) = live_core().await?;
    let invoker = warmer_invoker(&core, &sdk);
    Ok(EpochStatsState::new(core, invoker))
}

/// The scheduled function's state: the core plus the warm trigger.
pub async fn live_scheduler_state() -> Result<LiveSchedulerState, ConfigError> {
    let (core, sdk) = live_core().await?;
    let invoker = warmer_invoker(&core, &sdk);
    Ok(SchedulerState::new(core, invoker))
}

fn warmer_invoker(core: &LiveCore, sdk: &aws_config::SdkConfig) -> Option<LambdaInvoker> {
    core.config
        .warmer_function_name
        .as_ref()
        .map(|name| LambdaInvoker::new(aws_sdk_lambda::Client::new(sdk), name.clone()))
}
