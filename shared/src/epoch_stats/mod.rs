//! epoch-stats: `GET /v1/inference/current[?reload=true]` and
//! `GET /v1/inference/epochs/{id}[?height=H]`; its state and bootstrap
//! sit beside the routes.
//!
//! A warm instance answers a route it has answered before from memory.
//! At most once per `HOT_REVALIDATE_SECS` per route it checks the answer
//! with one read of small items (the jail and health revisions, the
//! current snapshot's header, an unsettled total): unchanged, it is served
//! as it is; a new tip, total or status is merged into the kept rows and
//! re-rendered; new rows (another snapshot version) or counters (other
//! tallies) are read again.
//!
//! The first view of a finished epoch in the warm window whose jail
//! statuses are not stored yet fetches them (at the epoch's canonical
//! height, known Keybase usernames only) before answering, for at most
//! `FIRST_VIEW_JAIL_WAIT_MS`; cut short, the answer goes `no-store`.

pub mod bootstrap;
pub mod render;
mod route;
mod state;
pub mod statuses;

use std::sync::Arc;

use lambda_http::{Body, Request, Response};

use crate::chain::{Chain, ValidatorChain};
use crate::http::{serve, Reply};
use crate::service::epochs::{current_epoch, epoch_by_id, EpochView, Source};
use crate::service::jail::{first_view_jail, jail_entries};
use crate::service::ApiError;
use crate::table::{CacheTable, RevisionTable, StatusTable};
use crate::time::now_ms;
use crate::warm::{warms, WarmerInvoker};
use render::render_epoch;
pub use route::{route_epoch_stats, EpochRoute};
pub use state::EpochStatsState;
use statuses::Statuses;

/// `GET /v1/inference/current` and `GET /v1/inference/epochs/{id}`.
pub async fn handle_epoch_stats<C, T, W>(
    state: &EpochStatsState<C, T, W>,
    req: &Request,
) -> Response<Body>
where
    C: Chain + ValidatorChain,
    T: CacheTable + StatusTable + RevisionTable,
    W: WarmerInvoker,
{
    let core = &state.core;
    serve(
        req,
        &core.config.cors_allowed_origins,
        |route, query| async move {
            let route = route_epoch_stats(&route, query)?;
            let now = now_ms();
            if let Some(kept) = state.kept.get(&route) {
                let (epoch, is_current) = (kept.rendered.epoch_id, kept.rendered.is_current);
                let reply = if now - kept.checked_at_ms() < state.window_ms() {
                    Some(kept.rendered.reply())
                } else {
                    state.revalidate(&route, &kept, now).await
                };
                if let Some(reply) = reply {
                    state.warm(epoch, is_current).await;
                    return Ok(reply);
                }
            }
            build(state, route, now).await
        },
    )
    .await
}

/// The answer built from the table (or the chain), kept for later requests.
async fn build<C, T, W>(
    state: &EpochStatsState<C, T, W>,
    route: EpochRoute,
    now: i64,
) -> Result<Reply, ApiError>
where
    C: Chain + ValidatorChain,
    T: CacheTable + StatusTable + RevisionTable,
    W: WarmerInvoker,
{
    let core = &state.core;
    let canonical = matches!(
        route,
        EpochRoute::Current | EpochRoute::Epoch { height: None, .. }
    );
    let view = match route {
        EpochRoute::Current => current_epoch(core).await?,
        EpochRoute::Epoch { epoch, height } => epoch_by_id(core, epoch, height).await?,
    };
    let epoch_id = view.snapshot.header.epoch_id;
    let statuses = state
        .statuses
        .get(&core.table, epoch_id, None, now, state.window_ms())
        .await;
    // The warmer trigger's I/O overlaps the first view's jail fetch and
    // the rendering, and completes before the handler returns (Lambda
    // freezes the process after the response).
    let freshness = core.config.current_epoch_freshness.as_secs();
    let (_, rendered) = tokio::join!(state.warm(epoch_id, view.is_current), async {
        let statuses = if canonical {
            complete_first_view(state, &view, statuses).await
        } else {
            statuses
        };
        render_epoch(&view, &statuses, freshness)
    });
    let rendered = Arc::new(rendered?);
    let reply = rendered.reply();
    state
        .kept
        .put(route, rendered, Some(Arc::new(view)), now_ms());
    Ok(reply)
}

/// A finished epoch's first view (in the warm window) without jail
/// statuses: they are fetched at its canonical height (the view's) and
/// read back, within `FIRST_VIEW_JAIL_WAIT_MS`; otherwise `statuses` as
/// they were (the answer then goes `no-store`).
async fn complete_first_view<C, T, W>(
    state: &EpochStatsState<C, T, W>,
    view: &EpochView,
    statuses: Statuses,
) -> Statuses
where
    C: Chain + ValidatorChain,
    T: CacheTable + StatusTable + RevisionTable,
    W: WarmerInvoker,
{
    let epoch = view.snapshot.header.epoch_id;
    let incomplete = !view.is_current
        && view.source != Source::StaleTable
        && statuses.jail.is_empty()
        && !view.snapshot.participants.is_empty();
    if !incomplete || !warms(epoch, true, state.current_epoch_id().await) {
        return statuses;
    }
    let core = &state.core;
    let fetch = async {
        let _one_at_a_time = state.first_view_fetch.lock().await;
        // A first view before this one may have stored them meanwhile.
        let held = state
            .statuses
            .get(&core.table, epoch, None, now_ms(), state.window_ms())
            .await;
        if !held.jail.is_empty() {
            return Ok(held);
        }
        let entries = jail_entries(
            view.snapshot
                .participants
                .iter()
                .map(|p| (&p.index, &p.validator_key)),
        );
        let report = first_view_jail(
            &core.chain,
            &core.table,
            &state.keybase,
            epoch,
            view.snapshot.header.height,
            &entries,
        )
        .await?;
        tracing::info!(
            epoch,
            matched = report.matched,
            written = report.written,
            "first view: jail statuses fetched before answering"
        );
        state.statuses.forget_jail(epoch);
        Ok::<_, crate::service::jail::JailError>(
            state
                .statuses
                .get(&core.table, epoch, None, now_ms(), state.window_ms())
                .await,
        )
    };
    let wait = core.config.first_view_jail_wait;
    match tokio::time::timeout(wait, fetch).await {
        Ok(Ok(filled)) => filled,
        Ok(Err(e)) => {
            tracing::warn!(epoch, error = %e, "first view: jail statuses unavailable; answered no-store");
            statuses
        }
        Err(_) => {
            tracing::warn!(
                epoch,
                wait_ms = wait.as_millis() as u64,
                "first view: jail fetch cut by its wait; answered no-store"
            );
            statuses
        }
    }
}
