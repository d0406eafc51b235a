//! The scheduled function's real adapters, built once per process by its
//! `main.rs`.

use crate::bootstrap::{live_core, live_status_clients, warmer_invoker};
use crate::chain::HttpChain;
use crate::config::ConfigError;
use crate::keybase::HttpKeybase;
use crate::table::DynamoTable;
use crate::warm::LambdaInvoker;

use super::SchedulerState;

pub type LiveSchedulerState = SchedulerState<HttpChain, DynamoTable, LambdaInvoker, HttpKeybase>;

/// The core, the warm trigger and the jail and health jobs' clients.
pub async fn live_scheduler_state() -> Result<LiveSchedulerState, ConfigError> {
    let (core, sdk) = live_core().await?;
    let invoker = warmer_invoker(&core, &sdk);
    let (keybase, prober) = live_status_clients(&core.config)?;
    Ok(SchedulerState::new(core, invoker, keybase, prober))
}
