//! Building the real adapters from the configuration, once per process.
//! What every function needs is here; a function with state of its own
//! builds it beside that state (`epoch_stats::bootstrap`,
//! `schedule::bootstrap`).

use crate::chain::HttpChain;
use crate::config::{Config, ConfigError};
use crate::health::HealthProber;
use crate::keybase::HttpKeybase;
use crate::service::Core;
use crate::table::DynamoTable;
use crate::warm::LambdaInvoker;

pub type LiveCore = Core<HttpChain, DynamoTable>;

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

/// The warm trigger's invoker: `None` without `WARMER_FUNCTION_NAME`.
pub fn warmer_invoker(core: &LiveCore, sdk: &aws_config::SdkConfig) -> Option<LambdaInvoker> {
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
