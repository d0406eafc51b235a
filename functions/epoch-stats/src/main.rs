//! epoch-stats: `GET /v1/inference/current` and `/v1/inference/epochs/{id}`.
//! Wiring only; the logic is in `shared`.

use std::sync::Arc;

use lambda_http::{service_fn, Error, Request};
use shared::epoch_stats::bootstrap::live_epoch_stats_state;
use shared::epoch_stats::handle_epoch_stats;

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::memory::configure();
    shared::logging::init_tracing();
    let state = Arc::new(live_epoch_stats_state().await?);
    lambda_http::run(service_fn(move |req: Request| {
        let state = state.clone();
        shared::memory::after_invocation(async move {
            Ok::<_, Error>(handle_epoch_stats(&state, &req).await)
        })
    }))
    .await
}
