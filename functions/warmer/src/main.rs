//! warmer: invoked asynchronously (InvocationType Event) by epoch-stats with
//! `{"epoch_id": N, "finished": bool}`. Wiring only; the logic is in `shared`.

use std::sync::Arc;

use lambda_runtime::{service_fn, Error, LambdaEvent};
use shared::bootstrap::live_core;
use shared::warm::handle_warm_event;

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::memory::configure();
    shared::logging::init_tracing();
    let (core, _sdk) = live_core().await?;
    let core = Arc::new(core);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<serde_json::Value>| {
        let core = core.clone();
        shared::memory::after_invocation(async move {
            let deadline_ms = i64::try_from(event.context.deadline).ok();
            Ok::<_, Error>(handle_warm_event(&core, &event.payload, deadline_ms).await)
        })
    }))
    .await
}
