//! participant: `GET /v1/participants/{participant_id}?epoch_id=N`.
//! Wiring only; the logic is in `shared`.

use std::sync::Arc;

use lambda_http::{service_fn, Error, Request};
use shared::bootstrap::live_context;
use shared::web::handle_participant;

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::logging::init_tracing();
    let (ctx, _sdk) = live_context().await?;
    let ctx = Arc::new(ctx);
    lambda_http::run(service_fn(move |req: Request| {
        let ctx = ctx.clone();
        async move { Ok::<_, Error>(handle_participant(&ctx, &req).await) }
    }))
    .await
}
