//! epoch-stats: `GET /v1/inference/current[?reload=true]` and
//! `GET /v1/inference/epochs/{id}[?height=H]`, and the function's state.

pub mod render;

use std::sync::{Arc, Mutex};

use lambda_http::{Body, Request, Response};

use crate::chain::Chain;
use crate::http::{api_path, parse_epoch_id, parse_height, query_param, serve};
use crate::service::epochs::{current_epoch, epoch_by_id};
use crate::service::{ApiError, Core};
use crate::table::{CacheTable, StatsSlot};
use crate::time::now_ms;
use crate::warm::{WarmTrigger, WarmerInvoker};
use render::{render_epoch, RenderCache};

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

impl<C: Chain, T: CacheTable, W: WarmerInvoker> EpochStatsState<C, T, W> {
    /// `invoker: None` when no warmer is configured.
    pub fn new(core: Core<C, T>, invoker: Option<W>) -> Self {
        let warm = WarmTrigger::new(invoker, core.config.warm_guard_window);
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

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EpochRoute {
    /// `reload` is accepted and validated, but never skips a cache: from the
    /// public API a rebuild costs no more than a plain request (the
    /// scheduled refresh is what rebuilds).
    Current,
    Epoch {
        epoch: u64,
        height: Option<u64>,
    },
}

pub fn route_epoch_stats(path: &str, query: Option<&str>) -> Result<EpochRoute, ApiError> {
    match api_path(path) {
        "/v1/inference/current" => match query_param(query, "reload").as_deref() {
            None | Some("false" | "0" | "true" | "1") => Ok(EpochRoute::Current),
            Some(_) => Err(ApiError::BadRequest(
                "Invalid reload: must be true or false".into(),
            )),
        },
        p => match p.strip_prefix("/v1/inference/epochs/") {
            Some(id) if !id.contains('/') => Ok(EpochRoute::Epoch {
                epoch: parse_epoch_id(id)?,
                height: parse_height(query_param(query, "height"))?,
            }),
            _ => Err(ApiError::NotFound("Not Found".into())),
        },
    }
}

/// `GET /v1/inference/current` and `GET /v1/inference/epochs/{id}`.
pub async fn handle_epoch_stats<C: Chain, T: CacheTable, W: WarmerInvoker>(
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
                state.warm(kept.epoch_id, kept.is_current).await;
                return Ok(kept.reply());
            }
            let view = match route {
                EpochRoute::Current => current_epoch(core, false).await?,
                EpochRoute::Epoch { epoch, height } => epoch_by_id(core, epoch, height).await?,
            };
            // The warmer trigger's I/O overlaps the rendering, and completes
            // before the handler returns (Lambda freezes the process after the
            // response).
            let freshness = core.config.current_epoch_freshness.as_secs();
            let epoch_id = view.snapshot.header.epoch_id;
            let (_, rendered) = tokio::join!(state.warm(epoch_id, view.is_current), async {
                render_epoch(&view, freshness)
            });
            let rendered = Arc::new(rendered?);
            let reply = rendered.reply();
            state.rendered.put(route, rendered, now_ms());
            Ok(reply)
        },
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epoch_routes() {
        let ok = |p: &str, q: Option<&str>| route_epoch_stats(p, q).unwrap();
        assert_eq!(ok("/v1/inference/current", None), EpochRoute::Current);
        assert_eq!(
            ok("/v1/inference/current/", Some("reload=true")),
            EpochRoute::Current
        );
        assert_eq!(
            ok("/prod/v1/inference/epochs/56", Some("height=887711")),
            EpochRoute::Epoch {
                epoch: 56,
                height: Some(887711)
            }
        );
        assert_eq!(
            ok("/v1/inference/epochs/56", Some("x=1")),
            EpochRoute::Epoch {
                epoch: 56,
                height: None
            }
        );
        let cases: [(&str, Option<&str>, u16, &str); 14] = [
            (
                "/v1/inference/epochs/0",
                None,
                400,
                "Invalid epoch ID: must be at least 1",
            ),
            (
                "/v1/inference/epochs/-1",
                None,
                400,
                "Invalid epoch ID: must be a positive integer",
            ),
            (
                "/v1/inference/epochs/abc",
                None,
                400,
                "Invalid epoch ID: must be a positive integer",
            ),
            ("/v1/inference/epochs/1.5", None, 400, "Invalid epoch ID"),
            ("/v1/inference/epochs/+5", None, 400, "Invalid epoch ID"),
            (
                "/v1/inference/epochs/99999999999999999999999",
                None,
                400,
                "Invalid epoch ID: must be a positive integer",
            ),
            (
                "/v1/inference/epochs/18446744073709551615",
                None,
                400,
                "Invalid epoch ID: too large",
            ),
            ("/v1/inference/epochs/", None, 404, "Not Found"),
            ("/v1/inference/epochs/5/x", None, 404, "Not Found"),
            (
                "/v1/inference/epochs/5",
                Some("height=0"),
                400,
                "Invalid height: must be at least 1",
            ),
            (
                "/v1/inference/epochs/5",
                Some("height=-100"),
                400,
                "Invalid height",
            ),
            (
                "/v1/inference/epochs/5",
                Some("height=abc"),
                400,
                "Invalid height",
            ),
            (
                "/v1/inference/current",
                Some("reload=maybe"),
                400,
                "Invalid reload",
            ),
            ("/v2/other", None, 404, "Not Found"),
        ];
        for (path, query, status, detail) in cases {
            let err = route_epoch_stats(path, query).unwrap_err();
            assert_eq!(err.status(), status, "{path} {query:?}");
            assert!(err.detail().starts_with(detail), "{path}: {}", err.detail());
        }
    }
}
