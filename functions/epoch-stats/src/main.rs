//! epoch-stats: `GET /v1/inference/current` and `/v1/inference/epochs/{id}`.
//! Wiring only; the logic is in `shared`.

use std::sync::Arc;

use lambda_http::{service_fn, Error, Request};
use shared::bootstrap::{live_context, warmer_invoker};
use shared::web::handle_epoch_stats;

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::logging::init_tracing();
    let (ctx, sdk) = live_context().await?;
    let invoker = Arc::new(warmer_invoker(&ctx, &sdk));
    let ctx = Arc::new(ctx);
    lambda_http::run(service_fn(move |req: Request| {
        let (ctx, invoker) = (ctx.clone(), invoker.clone());
        async move { Ok::<_, Error>(handle_epoch_stats(&ctx, &*invoker, &req).await) }
    }))
    .await
}
