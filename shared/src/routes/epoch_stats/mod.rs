//! epoch-stats: `GET /v1/inference/current[?reload=true]` and
//! `GET /v1/inference/epochs/{id}[?height=H]`, and the function's state.
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

pub mod render;
mod route;
pub mod statuses;

use std::sync::{Arc, Mutex};

use lambda_http::{Body, Request, Response};

use crate::chain::{Chain, ValidatorChain};
use crate::http::{serve, Reply};
use crate::service::epochs::{current_epoch, epoch_by_id, EpochView, Source};
use crate::service::jail::{first_view_jail, jail_entries};
use crate::service::keybase_names::KeybaseMemo;
use crate::service::{ApiError, Core};
use crate::table::{CacheTable, RevisionQuery, RevisionTable, StatsSlot, StatusTable};
use crate::time::now_ms;
use crate::warm::{warms, WarmTrigger, WarmerInvoker};
use render::{render_epoch, Kept, KeptAnswers};
pub use route::{route_epoch_stats, EpochRoute};
use statuses::{StatusCache, Statuses};

/// What epoch-stats holds: the core, the warm trigger, the answers it
/// keeps and the jail and health it merges into them.
pub struct EpochStatsState<C, T, W> {
    pub core: Core<C, T>,
    pub warm: WarmTrigger<W>,
    kept: KeptAnswers,
    statuses: StatusCache,
    /// Keybase usernames known to this instance (a first view's jail fetch
    /// serves them; it asks Keybase nothing).
    keybase: KeybaseMemo,
    /// One first-view jail fetch at a time in the instance: concurrent
    /// first views wait for it and serve what it stored.
    first_view_fetch: tokio::sync::Mutex<()>,
    /// The current epoch's id and when it was learnt (ms): which finished
    /// epochs are in the warm window.
    current: Mutex<Option<(u64, i64)>>,
}

impl<C, T, W> EpochStatsState<C, T, W>
where
    C: Chain + ValidatorChain,
    T: CacheTable + StatusTable + RevisionTable,
    W: WarmerInvoker,
{
    /// `invoker: None` when no warmer is configured.
    pub fn new(core: Core<C, T>, invoker: Option<W>) -> Self {
        let warm = WarmTrigger::new(invoker, core.config.warm_lease);
        Self {
            core,
            warm,
            kept: KeptAnswers::default(),
            statuses: StatusCache::default(),
            keybase: KeybaseMemo::default(),
            first_view_fetch: tokio::sync::Mutex::new(()),
            current: Mutex::default(),
        }
    }

    fn window_ms(&self) -> i64 {
        self.core.config.hot_revalidate.as_millis() as i64
    }

    /// The current epoch's id: learnt from current views and revalidations,
    /// else read from the cached current snapshot's header (once per
    /// freshness window).
    async fn current_epoch_id(&self) -> Option<u64> {
        let now = now_ms();
        let max_age = self.core.config.current_epoch_freshness.as_millis() as i64;
        let known = *self.current.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((id, _)) = known.filter(|(_, at)| now - at < max_age) {
            return Some(id);
        }
        let id = self
            .core
            .table
            .load_header(StatsSlot::Current)
            .await
            .ok()??
            .epoch_id;
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

    /// A kept answer checked against the table's small items: the reply
    /// if it holds (re-rendered from the kept rows when only the tip, the
    /// total or a status changed); `None` when it must be built again.
    async fn revalidate(&self, route: &EpochRoute, kept: &Kept, now: i64) -> Option<Reply> {
        let core = &self.core;
        let r = &kept.rendered;
        let query = RevisionQuery {
            epoch: r.epoch_id,
            current_header: true,
            total: !r.is_current && r.total.is_none(),
        };
        let revisions = match core.table.load_revisions(query).await {
            Ok(v) => v,
            Err(e) => {
                tracing::warn!(epoch = r.epoch_id, error = %e, "cannot revalidate a kept answer; building it again");
                return None;
            }
        };
        if let Some(h) = &revisions.current {
            self.learn_current(h.epoch_id, now);
        }
        let header = if r.is_current {
            let h = revisions.current?;
            let rebuild_ms = core.config.current_epoch_rebuild.as_millis() as i64;
            // Other rows or counters, or a copy so old that the request
            // rebuilds it.
            if h.epoch_id != r.epoch_id
                || h.version != r.version
                || h.tallies_hash != r.tallies_hash
                || now - h.fetched_at_ms >= rebuild_ms
            {
                return None;
            }
            Some(h).filter(|h| h.fetched_at_ms != r.fetched_at_ms)
        } else {
            None
        };
        let total = revisions
            .total
            .map(|t| t.total_assigned_rewards_gnk)
            .filter(|_| query.total);
        let statuses = self
            .statuses
            .get(
                &core.table,
                r.epoch_id,
                Some((revisions.jail, revisions.health)),
                now,
                self.window_ms(),
            )
            .await;
        let statuses_changed = statuses.jail_revision != r.jail_revision
            || statuses.health_revision != r.health_revision;
        if header.is_none() && total.is_none() && !statuses_changed {
            kept.mark_checked(now);
            return Some(r.reply());
        }
        // Re-rendered from the kept rows, else built again.
        let mut view = EpochView::clone(kept.view.as_ref()?);
        if let Some(h) = header {
            view.snapshot.header = h;
        }
        if total.is_some() {
            view.total_assigned_rewards_gnk = total;
        }
        let freshness = core.config.current_epoch_freshness.as_secs();
        let rendered = Arc::new(render_epoch(&view, &statuses, freshness).ok()?);
        let reply = rendered.reply();
        self.kept
            .put(route.clone(), rendered, Some(Arc::new(view)), now);
        Some(reply)
    }
}

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
