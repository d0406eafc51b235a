//! A simulated Gonka chain node.
//!
//! Serves the upstream endpoints the tracker uses (contract section 2) over
//! HTTP, with deterministic generated data for a universe of participants
//! over many epochs, shaped exactly like the recorded mainnet responses.
//! Tests start it in-process ([`SimChain::start`]) and compare what the code
//! under test computed with the same truth from [`Model`]; the local stack
//! and benchmarks run the `sim-chain` binary.
//!
//! Knobs: per-request latency, per-endpoint fault injection (503, 500,
//! truncated body, wrong JSON shape, hang; optionally only after the first N
//! requests of the kind, e.g. to fail the inference list's third page),
//! epoch transitions, and request statistics, from Rust or over the `/__`
//! control endpoints.

mod body_cache;
mod config;
mod faults;
mod model;
mod pagination;
mod prng;
mod render;
mod reply;
mod routes;
mod stats;
mod time;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::serve::ListenerExt;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use config::{
    parse_fault_spec, ConfigPatch, EffectiveConfig, EndpointKind, Fault, FaultMode, SimConfig,
    DEFAULT_BLOCK_INTERVAL_MS, MIN_BLOCK_INTERVAL_MS, MIN_EPOCH_LENGTH,
};
pub use model::{
    encode_address, is_valid_address, keybase_username, valcons_of_key, Authorization, BlockWindow,
    ChainModel, EpochParticipant, EpochStages, EpochStats, Grant, Hardware, HardwareNode,
    Inference, InferenceTruth, ListParticipant, MlNode, MlNodeGroup, Model, ModelStatsEntry,
    NodeBehaviour, PerformanceSummary, SeedSignature, Threshold, Validator, ValidatorDescription,
    ValidatorPubkey, WarmKey, CREATED_DELAY, EFFECTIVE_DELAY, GENERIC_AUTHORIZATION, HRP,
    LATE_MODEL, MODEL_NAMES, POC_START_OFFSET, RESTRICTION_END_EPOCH, WARM_KEY_MSG_TYPES,
};
pub use stats::Stats;

use routes::AppState;

/// How long [`SimChain::shutdown`] waits for in-flight requests (e.g. an
/// injected hang) before aborting them.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);

/// A running simulated chain. Dropping it aborts the server task.
pub struct SimChain {
    addr: SocketAddr,
    state: Arc<AppState>,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for SimChain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimChain")
            .field("addr", &self.addr)
            .field("model", &self.state.model())
            .finish()
    }
}

impl SimChain {
    /// Starts a simulator on `127.0.0.1` with an OS-assigned port.
    pub async fn start(config: SimConfig) -> std::io::Result<SimChain> {
        let listener = TcpListener::bind((std::net::Ipv4Addr::LOCALHOST, 0)).await?;
        Self::start_on(listener, config).await
    }

    /// Starts a simulator on an already bound listener.
    pub async fn start_on(listener: TcpListener, config: SimConfig) -> std::io::Result<SimChain> {
        config
            .validate()
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
        let addr = listener.local_addr()?;
        let mut config = config;
        if config.node_base_url.is_none() {
            let host = if addr.ip().is_unspecified() {
                std::net::Ipv4Addr::LOCALHOST.into()
            } else {
                addr.ip()
            };
            config.node_base_url = Some(format!("http://{}", SocketAddr::new(host, addr.port())));
        }
        let state = Arc::new(AppState::new(&config));
        let app = routes::router(Arc::clone(&state));
        let (shutdown_tx, shutdown_rx) = oneshot::channel::<()>();
        let listener = listener.tap_io(|tcp| {
            // Large bodies go out in several segments; do not let Nagle
            // and delayed ACKs add 40 ms to them.
            let _ = tcp.set_nodelay(true);
        });
        let task = tokio::spawn(async move {
            let server = axum::serve(listener, app).with_graceful_shutdown(async {
                let _ = shutdown_rx.await;
            });
            if let Err(e) = server.await {
                tracing::error!(error = %e, "sim-chain server failed");
            }
        });
        Ok(SimChain {
            addr,
            state,
            shutdown: Some(shutdown_tx),
            task: Some(task),
        })
    }

    /// Base URL, e.g. `http://127.0.0.1:41234` (no trailing slash).
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Request counters (the same data as `GET /__stats`).
    pub fn stats(&self) -> Stats {
        self.state.stats.snapshot()
    }

    pub fn reset_stats(&self) {
        self.state.stats.reset();
    }

    /// Latency added to every chain request from now on.
    pub fn set_latency(&self, latency: Duration) {
        self.state.set_latency(latency);
    }

    /// Sets (or with `None` clears) the fault injected into one endpoint kind.
    pub fn set_fault(&self, kind: EndpointKind, fault: Option<Fault>) {
        self.state.faults.set(kind, fault);
    }

    /// Gives participants hostile links and Keybase names (`true`) or the
    /// normal ones (`false`); see [`Model::hostile_links`].
    pub fn set_hostile_links(&self, on: bool) {
        self.state.set_hostile_links(on);
    }

    /// Prunes the state below `height` (0: an archive node again): a query
    /// at a lower height answers HTTP 400 "version does not exist", as a
    /// pruning node does.
    pub fn set_pruned_below(&self, height: u64) {
        self.state.set_pruned_below(height);
    }

    /// Simulates an epoch transition (or goes back in time). Epochs below 1
    /// are treated as 1.
    pub fn set_current_epoch(&self, epoch: u64) {
        self.state.set_current_epoch(epoch);
    }

    /// A snapshot of the generated truth at the current epoch (cheap: the
    /// universe is shared). Take a new one after [`SimChain::set_current_epoch`].
    pub fn model(&self) -> Model {
        self.state.model()
    }

    /// The configuration in force (the same data as `GET /__config`).
    pub fn config(&self) -> EffectiveConfig {
        self.state.effective_config()
    }

    /// Stops accepting connections, lets in-flight requests finish (up to a
    /// short grace period), then stops.
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(mut task) = self.task.take() {
            if tokio::time::timeout(SHUTDOWN_GRACE, &mut task)
                .await
                .is_err()
            {
                task.abort();
            }
        }
    }
}

impl Drop for SimChain {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}
