//! participant: `GET /v1/participants/{participant_id}?epoch_id=N`.
//! Wiring only; the logic is in `shared`.

use std::sync::Arc;

use lambda_http::{service_fn, Error, Request};
use shared::bootstrap::live_core;
use shared::routes::handle_participant;

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::memory::configure();
    shared::logging::init_tracing();
    let (core, _sdk) = live_core().await?;
    let core = Arc::new(core);
    lambda_http::run(service_fn(move |req: Request| {
        let core = core.clone();
        shared::memory::after_invocation(async move {
            Ok::<_, Error>(handle_participant(&core, &req).await)
        })
    }))
    .await
}
