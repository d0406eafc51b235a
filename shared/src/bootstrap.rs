//! Building the real adapters from the configuration, once per process
//! (each function's `main.rs` calls these, then hands a handler to the
//! runtime).

use crate::chain::HttpChain;
use crate::config::{Config, ConfigError};
use crate::health::HealthProber;
use crate::keybase::HttpKeybase;
use crate::routes::EpochStatsState;
use crate::schedule::SchedulerState;
use crate::service::Core;
use crate::table::DynamoTable;
use crate::warm::LambdaInvoker;

pub type LiveCore = Core<HttpChain, DynamoTable>;
pub type LiveEpochStatsState = EpochStatsState<HttpChain, DynamoTable, LambdaInvoker>;
pub type LiveSchedulerState = SchedulerState<HttpChain, DynamoTable, LambdaInvoker, HttpKeybase>;

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

/// The scheduled function's state: the core, the warm trigger and the
/// jail and health jobs' clients.
pub async fn live_scheduler_state() -> Result<LiveSchedulerState, ConfigError> {
    let (core, sdk) = live_core().await?;
    let invoker = warmer_invoker(&core, &sdk);
    let (keybase, prober) = live_status_clients(&core.config)?;
    Ok(SchedulerState::new(core, invoker, keybase, prober))
}

fn warmer_invoker(core: &LiveCore, sdk: &aws_config::SdkConfig) -> Option<LambdaInvoker> {
    core.config
        .warmer_function_name
        .as_ref()
        .map(|name| LambdaInvoker::new(aws_sdk_lambda::Client::new(sdk), name.clone()))
}

/// The clients of the jail and health jobs: Keybase at `KEYBASE_API_URL`,
/// and the health prober with the SSRF guard (lifted only by
/// `HEALTH_ALLOW_PRIVATE_TARGETS`).
pub fn live_status_clients(config: &Config) -> Result<(HttpKeybase, HealthProber), ConfigError> {
    let keybase = HttpKeybase::new(&config.keybase_api_url).map_err(ConfigError)?;
    let prober = HealthProber::new(config.health_allow_private_targets).map_err(ConfigError)?;
    Ok((keybase, prober))
}
