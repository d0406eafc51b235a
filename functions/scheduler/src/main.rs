//! scheduler: run by EventBridge schedules (template.yaml), each with the
//! input `{"job": "<name>"}`. Wiring only; the jobs are in `shared::schedule`.

use std::sync::Arc;

use lambda_runtime::{service_fn, Error, LambdaEvent};
use shared::schedule::bootstrap::live_scheduler_state;
use shared::schedule::handle_scheduled_event;

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::memory::configure();
    shared::logging::init_tracing();
    let state = Arc::new(live_scheduler_state().await?);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<serde_json::Value>| {
        let state = state.clone();
        shared::memory::after_invocation(async move {
            let deadline_ms = i64::try_from(event.context.deadline).ok();
            Ok::<_, Error>(handle_scheduled_event(&state, &event.payload, deadline_ms).await?)
        })
    }))
    .await
}
