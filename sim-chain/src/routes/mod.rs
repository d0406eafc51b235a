//! HTTP layer: accounting, latency, fault
//! injection, the control endpoints, and a small cache of the big bodies;
//! requests are classified into routes in [`classify`].
//!
//! Chain paths are matched by hand in one fallback handler instead of
//! through axum's router, so that every request (including malformed
//! arguments and unknown paths) is counted exactly once and answered with
//! the chain's own error shapes rather than axum's plain-text rejections.

use std::collections::{BTreeSet, HashMap};
use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Query, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde_json::json;

use crate::body_cache::BodyCache;
use crate::config::{ConfigPatch, EffectiveConfig, EndpointKind, FaultMode, SimConfig};
use crate::faults::FaultInjector;
use crate::model::Model;
use crate::pagination::{PageRequest, MAX_AUTHZ_PAGE_LIMIT};
use crate::render;
use crate::reply::{self, json_response, Reply};
use crate::stats::StatsRecorder;

mod classify;
use classify::{RequestInfo, Route};

/// Rendered epoch participant bodies kept (one per epoch).
const EPOCH_BODIES: NonZeroUsize = NonZeroUsize::new(16).unwrap();
/// Rendered participant list bodies kept (one per height and page); each
/// can be several megabytes.
const LIST_BODIES: NonZeroUsize = NonZeroUsize::new(6).unwrap();
/// Rendered inference list pages kept (one per current epoch, height and
/// page; each is about 1.5 MB with its payloads).
const INFERENCE_BODIES: NonZeroUsize = NonZeroUsize::new(8).unwrap();
/// The largest inference page served.
const MAX_INFERENCE_PAGE_LIMIT: usize = 1_000;

/// Shared state of one running simulator.
pub(crate) struct AppState {
    model: RwLock<Model>,
    latency: Mutex<Duration>,
    pub(crate) faults: FaultInjector,
    pub(crate) stats: StatsRecorder,
    /// Nodes whose health answer is flipped (`flip_health`).
    health_flips: Mutex<BTreeSet<usize>>,
    epoch_bodies: BodyCache<u64>,
    list_bodies: BodyCache<(u64, PageRequest)>,
    inference_bodies: BodyCache<(u64, u64, PageRequest)>,
}

impl AppState {
    pub(crate) fn new(config: &SimConfig) -> AppState {
        AppState {
            model: RwLock::new(Model::new(config)),
            latency: Mutex::new(config.latency),
            faults: FaultInjector::new(config.seed, config.faults.clone()),
            stats: StatsRecorder::default(),
            health_flips: Mutex::new(BTreeSet::new()),
            // Bodies depend only on the epoch / height, never on the current
            // epoch, so they stay valid across epoch transitions.
            epoch_bodies: BodyCache::new(EPOCH_BODIES),
            list_bodies: BodyCache::new(LIST_BODIES),
            inference_bodies: BodyCache::new(INFERENCE_BODIES),
        }
    }

    pub(crate) fn model(&self) -> Model {
        self.model.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// An epoch transition: the new head is made now (so block times are
    /// re-anchored and the rendered bodies, which carry them, forgotten).
    pub(crate) fn set_current_epoch(&self, epoch: u64) {
        let mut model = self.model.write().unwrap_or_else(|e| e.into_inner());
        *model = model
            .with_current_epoch(epoch)
            .anchored_at(crate::time::now_unix_ms());
        self.epoch_bodies.clear();
        self.list_bodies.clear();
    }

    /// Moves the head (`freeze_head`, `advance_blocks`). Block times do
    /// not move, so the rendered bodies that carry them stay valid.
    pub(crate) fn move_head(&self, freeze: Option<bool>, blocks: Option<u64>) {
        let mut model = self.model.write().unwrap_or_else(|e| e.into_inner());
        let now = crate::time::now_unix_ms();
        if let Some(freeze) = freeze {
            *model = model.with_advancing_at(!freeze, now);
        }
        if let Some(blocks) = blocks.filter(|b| *b > 0) {
            *model = model.advanced_at(blocks, now);
        }
    }

    /// Turns the `hostile_links` knob; the rendered list and epoch bodies
    /// carry inference URLs, so they are forgotten.
    pub(crate) fn set_hostile_links(&self, on: bool) {
        let mut model = self.model.write().unwrap_or_else(|e| e.into_inner());
        *model = model.with_hostile_links(on);
        self.epoch_bodies.clear();
        self.list_bodies.clear();
    }

    pub(crate) fn set_pruned_below(&self, height: u64) {
        let mut model = self.model.write().unwrap_or_else(|e| e.into_inner());
        *model = model.with_pruned_below(height);
        self.epoch_bodies.clear();
        self.list_bodies.clear();
    }

    /// Flips each node's health answer (again: back).
    pub(crate) fn flip_health(&self, nodes: &[usize]) {
        let mut flips = self.health_flips.lock().unwrap_or_else(|e| e.into_inner());
        for node in nodes {
            if !flips.remove(node) {
                flips.insert(*node);
            }
        }
    }

    fn health_flipped(&self, node: usize) -> bool {
        let flips = self.health_flips.lock().unwrap_or_else(|e| e.into_inner());
        flips.contains(&node)
    }

    pub(crate) fn latency(&self) -> Duration {
        *self.latency.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn set_latency(&self, latency: Duration) {
        *self.latency.lock().unwrap_or_else(|e| e.into_inner()) = latency;
    }

    pub(crate) fn effective_config(&self) -> EffectiveConfig {
        let model = self.model();
        EffectiveConfig {
            participants: model.participant_count(),
            inferences: model.inference_count(),
            current_epoch: model.current_epoch(),
            seed: model.seed(),
            epoch_length: model.epoch_length(),
            latency_ms: self.latency().as_millis() as u64,
            faults: self.faults.all(),
        }
    }
}

pub(crate) fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route(
            "/__health",
            get(|| async {
                json_response(StatusCode::OK, Bytes::from_static(b"{\"status\":\"ok\"}"))
            }),
        )
        .route("/__stats", get(get_stats))
        // Not chain endpoints: the participants' nodes and a Keybase
        // stand-in (no latency, no faults, not counted).
        .route("/node/{index}/health", get(node_health))
        .route("/_/api/1.0/user/lookup.json", get(keybase_lookup))
        .route("/__stats/reset", post(reset_stats))
        .route("/__config", get(get_config).post(post_config))
        .fallback(chain)
        .with_state(state)
}

async fn get_stats(State(state): State<Arc<AppState>>) -> Response {
    json_response(StatusCode::OK, reply::to_bytes(&state.stats.snapshot()))
}

async fn reset_stats(State(state): State<Arc<AppState>>) -> Response {
    state.stats.reset();
    json_response(StatusCode::OK, reply::to_bytes(&state.stats.snapshot()))
}

async fn get_config(State(state): State<Arc<AppState>>) -> Response {
    json_response(StatusCode::OK, reply::to_bytes(&state.effective_config()))
}

/// `POST /__config` with a partial [`ConfigPatch`]; answers the effective config.
async fn post_config(State(state): State<Arc<AppState>>, body: Bytes) -> Response {
    let bad_request = |message: String| {
        json_response(
            StatusCode::BAD_REQUEST,
            reply::to_bytes(&json!({"error": message})),
        )
    };
    let patch: ConfigPatch = match serde_json::from_slice(&body) {
        Ok(patch) => patch,
        Err(e) => return bad_request(format!("invalid config patch: {e}")),
    };
    if patch.current_epoch == Some(0) {
        return bad_request("current_epoch must be >= 1".into());
    }
    let faults = patch.faults.unwrap_or_default();
    for fault in faults.values().flatten() {
        if let Err(e) = fault.validate() {
            return bad_request(e);
        }
    }
    if let Some(ms) = patch.latency_ms {
        state.set_latency(Duration::from_millis(ms));
    }
    if let Some(epoch) = patch.current_epoch {
        state.set_current_epoch(epoch);
    }
    state.move_head(patch.freeze_head, patch.advance_blocks);
    if let Some(on) = patch.hostile_links {
        state.set_hostile_links(on);
    }
    if let Some(nodes) = &patch.flip_health {
        state.flip_health(nodes);
    }
    for (kind, fault) in faults {
        state.faults.set(kind, fault);
    }
    json_response(StatusCode::OK, reply::to_bytes(&state.effective_config()))
}

/// Every non-control request lands here.
async fn chain(State(state): State<Arc<AppState>>, req: Request) -> Response {
    let route = Route::classify(req.method(), req.uri().path());
    let info = RequestInfo::from_request(&req);
    let kind = route.kind();
    state.stats.record(
        kind.map_or("unknown", EndpointKind::as_str),
        route.stats_key(&info),
    );
    tracing::debug!(path = %info.path, ?route, "chain request");

    let latency = state.latency();
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }

    let fault = kind.and_then(|k| state.faults.draw(k));
    if fault.is_some() {
        state.stats.record_fault();
    }
    match fault {
        Some(FaultMode::Status503) => {
            return reply::grpc_error(
                StatusCode::SERVICE_UNAVAILABLE,
                14,
                "service unavailable (injected fault)",
            )
            .into_response()
        }
        Some(FaultMode::Status500) => {
            return reply::grpc_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                13,
                "internal error (injected fault)",
            )
            .into_response()
        }
        Some(FaultMode::WrongShape) => {
            return json_response(StatusCode::OK, Bytes::from_static(b"{\"unexpected\":true}"))
        }
        Some(FaultMode::Hang(d)) => tokio::time::sleep(d).await,
        Some(FaultMode::Truncated) | None => {}
    }

    let reply = answer(&state, route, &info).await;
    match fault {
        Some(FaultMode::Truncated) => reply.truncated().into_response(),
        _ => reply.into_response(),
    }
}

/// The normal (fault-free) answer to a chain request.
async fn answer(state: &AppState, route: Route, info: &RequestInfo) -> Reply {
    let model = state.model();
    match route {
        Route::Latest => render::latest(&model),
        Route::Status => render::status(&model),
        Route::Block => render::block(&model, info.query.get("height").map(String::as_str)),
        Route::EpochParticipants { epoch } => {
            let current = model.current_epoch();
            let epoch = match epoch.as_str() {
                "current" => current,
                raw => match raw.parse::<u64>() {
                    Ok(0) => return reply::invalid_argument("epoch id must be >= 1"),
                    Ok(e) => e,
                    Err(_) => return reply::invalid_argument(format!("invalid epoch id {raw:?}")),
                },
            };
            if epoch > current {
                return reply::not_found(format!("epoch {epoch} not found"));
            }
            let body = state
                .epoch_bodies
                .get_or_render(epoch, move || {
                    render::epoch_participants_body(&model, epoch)
                })
                .await;
            body_reply(body)
        }
        Route::ParticipantList => {
            let height = match render::query_height(&model, info.height.as_deref()) {
                Ok(h) => h,
                Err(reply) => return reply,
            };
            let mut page = match PageRequest::parse(&info.query, usize::MAX) {
                Ok(page) => page,
                Err(reply) => return reply,
            };
            // Every limit that covers the whole list renders the same body.
            if page.offset == 0 && page.limit >= model.participant_count() {
                page.limit = model.participant_count().max(1);
            }
            let body = state
                .list_bodies
                .get_or_render((height, page), move || {
                    render::participant_list_body(&model, height, page)
                })
                .await;
            body_reply(body)
        }
        Route::Summary { epoch, participant } => render::summary(&model, &epoch, &participant),
        Route::Authz { granter } => match PageRequest::parse(&info.query, MAX_AUTHZ_PAGE_LIMIT) {
            Ok(page) => render::grants(&model, &granter, page),
            Err(reply) => reply,
        },
        Route::Hardware { participant } => render::hardware(&model, &participant),
        Route::RestrictionsParams => render::restrictions_params(&model),
        Route::ModelsAll => match render::query_height(&model, info.height.as_deref()) {
            Ok(height) => render::models_all(&model, height),
            Err(reply) => reply,
        },
        Route::ModelsStats => render::models_stats(&model),
        Route::Inferences => {
            let height = match render::query_height(&model, info.height.as_deref()) {
                Ok(h) => h,
                Err(reply) => return reply,
            };
            let page = match PageRequest::parse(&info.query, MAX_INFERENCE_PAGE_LIMIT) {
                Ok(page) => page,
                Err(reply) => return reply,
            };
            let body = state
                .inference_bodies
                .get_or_render((model.current_epoch(), height, page), move || {
                    render::inference_list_body(&model, height, page)
                })
                .await;
            body_reply(body)
        }
        Route::Validators => {
            let height = match render::query_height(&model, info.height.as_deref()) {
                Ok(h) => h,
                Err(reply) => return reply,
            };
            render::validators(&model, height, &info.query)
        }
        Route::SigningInfo { valcons } => {
            let height = match render::query_height(&model, info.height.as_deref()) {
                Ok(h) => h,
                Err(reply) => return reply,
            };
            render::signing_info(&model, &valcons, height)
        }
        Route::Unknown => reply::not_implemented(),
    }
}

/// `GET /node/{i}/health`: participant `i`'s node.
async fn node_health(
    State(state): State<Arc<AppState>>,
    axum::extract::Path(index): axum::extract::Path<String>,
) -> Response {
    let model = state.model();
    let flipped = model
        .node_index(&index)
        .is_some_and(|i| state.health_flipped(i));
    render::node_health(&model, &index, flipped).into_response()
}

/// `GET /_/api/1.0/user/lookup.json?key_suffix=...`: the Keybase stand-in.
async fn keybase_lookup(Query(query): Query<HashMap<String, String>>) -> Response {
    render::keybase_lookup(query.get("key_suffix").map(String::as_str)).into_response()
}

fn body_reply(body: Result<Bytes, String>) -> Reply {
    match body {
        Ok(body) => Reply::ok(body),
        Err(e) => reply::grpc_error(StatusCode::INTERNAL_SERVER_ERROR, 13, e),
    }
}
