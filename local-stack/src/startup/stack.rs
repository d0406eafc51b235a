//! What a starting (then running) stack holds, so that a failure halfway
//! through start-up, or the end, stops exactly what runs.

use std::time::Duration;

use sim_chain::SimChain;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::processes::{self, Shutdown, ShutdownTrigger};

/// How long the API front may take to finish in-flight requests on shutdown.
const FRONT_DRAIN: Duration = Duration::from_secs(5);
const INTERRUPTED: &str = "interrupted during start-up";

/// Everything started so far, so that a failure halfway through start-up
/// stops exactly what runs.
pub struct Stack {
    pub(super) trigger: ShutdownTrigger,
    pub(super) shutdown: Shutdown,
    /// Watchers of child processes; each stops its child on shutdown.
    pub(super) children: Vec<JoinHandle<()>>,
    /// Runtime API and Invoke API servers: aborted last, since instances
    /// long-poll them until they are stopped.
    pub(super) servers: Vec<JoinHandle<()>>,
    pub(super) front: Option<(ShutdownTrigger, JoinHandle<()>)>,
    pub(super) chain: Option<SimChain>,
    /// A process that must not exit (DynamoDB Local) did.
    pub(super) fatal: mpsc::UnboundedSender<String>,
    pub(super) fatal_rx: mpsc::UnboundedReceiver<String>,
}

impl Stack {
    /// Nothing started yet; `trigger` fires the `shutdown` everything watches.
    pub fn new(trigger: ShutdownTrigger, shutdown: Shutdown) -> Stack {
        let (fatal, fatal_rx) = mpsc::unbounded_channel();
        Stack {
            trigger,
            shutdown,
            children: Vec::new(),
            servers: Vec::new(),
            front: None,
            chain: None,
            fatal,
            fatal_rx,
        }
    }

    /// Resolves when a process that must not exit did, with why.
    pub async fn fatal(&mut self) -> Option<String> {
        self.fatal_rx.recv().await
    }

    /// Waits for `fut`, unless a fatal exit or the shutdown comes first.
    pub(super) async fn unless_stopped<T>(
        &mut self,
        fut: impl std::future::Future<Output = T>,
    ) -> Result<T, String> {
        tokio::select! {
            out = fut => Ok(out),
            Some(msg) = self.fatal_rx.recv() => Err(msg),
            _ = self.shutdown.wait() => Err(INTERRUPTED.into()),
        }
    }

    pub async fn stop(self) {
        // In order: no new requests (in-flight ones finish), then the
        // functions, then what they use.
        if let Some((trigger, front)) = self.front {
            trigger.fire();
            let abort = front.abort_handle();
            if tokio::time::timeout(FRONT_DRAIN, front).await.is_err() {
                abort.abort();
            }
        }
        self.trigger.fire();
        let limit = processes::STOP_GRACE + Duration::from_secs(2);
        let _ = tokio::time::timeout(limit, join_all(self.children)).await;
        for server in self.servers {
            server.abort();
        }
        if let Some(chain) = self.chain {
            chain.shutdown().await;
        }
    }
}

async fn join_all(handles: Vec<JoinHandle<()>>) {
    for h in handles {
        let _ = h.await;
    }
}
