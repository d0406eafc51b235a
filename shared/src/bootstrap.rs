//! Building the real adapters from the configuration, once per process
//! (each function's `main.rs` calls these, then hands a handler to the
//! runtime).

use crate::chain::HttpChain;
use crate::config::{Config, ConfigError};
use crate::service::{Ctx, LambdaInvoker};
use crate::table::DynamoTable;

pub type LiveCtx = Ctx<HttpChain, DynamoTable>;

/// Reads the configuration and builds the chain client and the table.
pub async fn live_context() -> Result<(LiveCtx, aws_config::SdkConfig), ConfigError> {
    let config = Config::from_env()?;
    let sdk = crate::aws::load_sdk_config().await;
    let chain = HttpChain::new(config.chain_options()).map_err(ConfigError)?;
    let table = DynamoTable::new(
        aws_sdk_dynamodb::Client::new(&sdk),
        config.table_name.clone(),
    );
    Ok((Ctx::new(chain, table, config), sdk))
}

/// The warmer invoker, if `WARMER_FUNCTION_NAME` is set.
pub fn warmer_invoker(ctx: &LiveCtx, sdk: &aws_config::SdkConfig) -> Option<LambdaInvoker> {
    match &ctx.config.warmer_function_name {
        Some(name) => Some(LambdaInvoker::new(
            aws_sdk_lambda::Client::new(sdk),
            name.clone(),
        )),
        None => {
            tracing::warn!("WARMER_FUNCTION_NAME is not set: the warmer will not be triggered");
            None
        }
    }
}
