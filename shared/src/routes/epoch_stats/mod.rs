//! epoch-stats: `GET /v1/inference/current[?reload=true]` and
//! `GET /v1/inference/epochs/{id}[?height=H]`, and the function's state.

pub mod render;
mod route;

use std::sync::{Arc, Mutex};

use lambda_http::{Body, Request, Response};

use crate::chain::Chain;
use crate::http::serve;
use crate::service::epochs::{current_epoch, epoch_by_id};
use crate::service::status::merge_statuses;
use crate::service::Core;
use crate::table::{CacheTable, StatsSlot, StatusTable};
use crate::time::now_ms;
use crate::warm::{WarmTrigger, WarmerInvoker};
use render::{render_epoch, RenderCache};
pub use route::{route_epoch_stats, EpochRoute};

/// What epoch-stats holds: the core, the warm trigger, and the answers it
/// keeps rendered.
pub struct EpochStatsState<C, T, W> {
    pub core: Core<C, T>,
    pub warm: WarmTrigger<W>,
    rendered: RenderCache,
    /// The current epoch's id and when it was learnt (ms): which finished
    /// epochs are in the warm window.
    current: Mutex<Option<(u64, i64)>>,
}

impl<C: Chain, T: CacheTable + StatusTable, W: WarmerInvoker> EpochStatsState<C, T, W> {
    /// `invoker: None` when no warmer is configured.
    pub fn new(core: Core<C, T>, invoker: Option<W>) -> Self {
        let warm = WarmTrigger::new(invoker, core.config.warm_lease);
        Self {
            core,
            warm,
            rendered: RenderCache::default(),
            current: Mutex::default(),
        }
    }

    /// The current epoch's id: learnt from current views, else read from
    /// the cached current snapshot's header (once per freshness window).
    async fn current_epoch_id(&self) -> Option<u64> {
        let now = now_ms();
        let max_age = self.core.config.current_epoch_freshness.as_millis() as i64;
        let known = *self.current.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((id, _)) = known.filter(|(_, at)| now - at < max_age) {
            return Some(id);
        }
        let bundle = self
            .core
            .table
            .load_modal_bundle(&[StatsSlot::Current], &[])
            .await
            .ok()?;
        let id = bundle.headers.get(&StatsSlot::Current)?.epoch_id;
        self.learn_current(id, now);
        Some(id)
    }

    fn learn_current(&self, id: u64, now: i64) {
        *self.current.lock().unwrap_or_else(|p| p.into_inner()) = Some((id, now));
    }

    /// Triggers the warm of a served epoch (if the dashboard offers it).
    async fn warm(&self, epoch: u64, is_current: bool) {
        let current = if is_current {
            self.learn_current(epoch, now_ms());
            Some(epoch)
        } else {
            self.current_epoch_id().await
        };
        self.warm
            .trigger(&self.core.table, epoch, !is_current, current)
            .await;
    }
}

/// `GET /v1/inference/current` and `GET /v1/inference/epochs/{id}`.
pub async fn handle_epoch_stats<C: Chain, T: CacheTable + StatusTable, W: WarmerInvoker>(
    state: &EpochStatsState<C, T, W>,
    req: &Request,
) -> Response<Body> {
    let core = &state.core;
    serve(
        req,
        &core.config.cors_allowed_origins,
        |path, query| async move {
            let route = route_epoch_stats(path, query)?;
            let kept = state.rendered.get(&route, now_ms());
            if let Some(kept) = kept {
                // Jail statuses arrive and health changes after a render:
                // a keys-and-times read says whether it still holds.
                let version = core.table.status_version(kept.epoch_id).await;
                if version.as_ref().map_or(true, |v| *v == kept.status_version) {
                    state.warm(kept.epoch_id, kept.is_current).await;
                    return Ok(kept.reply());
                }
            }
            let mut view = match route {
                EpochRoute::Current => current_epoch(core).await?,
                EpochRoute::Epoch { epoch, height } => epoch_by_id(core, epoch, height).await?,
            };
            let status_version = merge_statuses(
                &core.table,
                view.snapshot.header.epoch_id,
                &mut view.snapshot.participants,
            )
            .await;
            // The warmer trigger's I/O overlaps the rendering, and completes
            // before the handler returns (Lambda freezes the process after the
            // response).
            let freshness = core.config.current_epoch_freshness.as_secs();
            let epoch_id = view.snapshot.header.epoch_id;
            let (_, rendered) = tokio::join!(state.warm(epoch_id, view.is_current), async {
                render_epoch(&view, freshness, status_version, now_ms())
            });
            let rendered = Arc::new(rendered?);
            let reply = rendered.reply();
            state.rendered.put(route, rendered, now_ms());
            Ok(reply)
        },
    )
    .await
}
