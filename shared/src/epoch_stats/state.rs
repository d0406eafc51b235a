//! What an epoch-stats instance holds between requests: the core, the warm
//! trigger, the answers it keeps with the jail and health merged into them,
//! and what it has learnt of the current epoch; and how a kept answer is
//! checked against the table's small items.

use std::sync::{Arc, Mutex};

use crate::chain::{Chain, ValidatorChain};
use crate::http::Reply;
use crate::service::epochs::EpochView;
use crate::service::keybase_names::KeybaseMemo;
use crate::service::Core;
use crate::table::{CacheTable, RevisionQuery, RevisionTable, StatsSlot, StatusTable};
use crate::time::now_ms;
use crate::warm::{WarmTrigger, WarmerInvoker};

use super::render::{render_epoch, Kept, KeptAnswers};
use super::route::EpochRoute;
use super::statuses::StatusCache;

/// What epoch-stats holds: the core, the warm trigger, the answers it
/// keeps and the jail and health it merges into them.
pub struct EpochStatsState<C, T, W> {
    pub core: Core<C, T>,
    pub warm: WarmTrigger<W>,
    pub(super) kept: KeptAnswers,
    pub(super) statuses: StatusCache,
    /// Keybase usernames known to this instance (a first view's jail fetch
    /// serves them; it asks Keybase nothing).
    pub(super) keybase: KeybaseMemo,
    /// One first-view jail fetch at a time in the instance: concurrent
    /// first views wait for it and serve what it stored.
    pub(super) first_view_fetch: tokio::sync::Mutex<()>,
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

    pub(super) fn window_ms(&self) -> i64 {
        self.core.config.hot_revalidate.as_millis() as i64
    }

    /// The current epoch's id: learnt from current views and revalidations,
    /// else read from the cached current snapshot's header (once per
    /// freshness window).
    pub(super) async fn current_epoch_id(&self) -> Option<u64> {
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
    pub(super) async fn warm(&self, epoch: u64, is_current: bool) {
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
    pub(super) async fn revalidate(
        &self,
        route: &EpochRoute,
        kept: &Kept,
        now: i64,
    ) -> Option<Reply> {
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
