//! One function's invocations: the queue its instances take events from,
//! the invocations in flight until their answer (or deadline), and what
//! they would be billed ([`Usage`]: invocations and duration rounded up to
//! 1 ms, as Lambda bills).

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use tokio::sync::{oneshot, Notify};
use tokio::time::Instant;

use crate::ids;
use crate::template::FunctionDef;

/// Lambda's limit on a synchronous response payload.
pub const MAX_RESPONSE_BYTES: usize = 6 * 1024 * 1024;
/// A result posted right at the deadline still counts.
const DEADLINE_GRACE: Duration = Duration::from_millis(250);

/// How an invocation ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The function's result (`/response`).
    Success(Bytes),
    /// `/error`, or the instance exited mid-invocation. `body` is Lambda's
    /// error document, `{"errorType": ..., "errorMessage": ...}`.
    Error { error_type: String, body: Bytes },
    /// No answer within the function's `Timeout`.
    TimedOut { request_id: String, secs: u32 },
    /// No instance took the invocation within the time allowed in the queue.
    NotStarted,
}

impl Outcome {
    pub(super) fn error(error_type: &str, message: String) -> Outcome {
        let body = json!({ "errorType": error_type, "errorMessage": message });
        Outcome::Error {
            error_type: error_type.to_string(),
            body: Bytes::from(body.to_string()),
        }
    }
}

/// What a function's invocations would be billed: how many were answered
/// (a result or an error posted) and their durations, each from the moment
/// an instance took the event to its answer, rounded up to the millisecond.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Usage {
    pub invocations: u64,
    pub billed_ms: u64,
}

/// One queued invocation.
pub(super) struct Pending {
    request_id: String,
    payload: Bytes,
    /// Tells the caller the invocation started, and its deadline.
    started: oneshot::Sender<Instant>,
    reply: oneshot::Sender<Outcome>,
}

/// One function's queue and in-flight invocations.
pub struct FunctionRuntime {
    pub def: FunctionDef,
    queue: Mutex<VecDeque<Pending>>,
    pub(super) available: Notify,
    /// Each in-flight invocation's caller and when an instance took it.
    in_flight: Mutex<HashMap<String, (oneshot::Sender<Outcome>, Instant)>>,
    /// Instances currently waiting in `/next` (start-up waits for all).
    pub(super) pollers: AtomicUsize,
    invocations: AtomicU64,
    billed_ms: AtomicU64,
}

/// A poisoned lock only means a panic elsewhere; the data is still usable.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl FunctionRuntime {
    pub fn new(def: FunctionDef) -> Arc<FunctionRuntime> {
        Arc::new(FunctionRuntime {
            def,
            queue: Mutex::new(VecDeque::new()),
            available: Notify::new(),
            in_flight: Mutex::new(HashMap::new()),
            pollers: AtomicUsize::new(0),
            invocations: AtomicU64::new(0),
            billed_ms: AtomicU64::new(0),
        })
    }

    /// The invocations answered since start (or the last reset).
    pub fn usage(&self) -> Usage {
        Usage {
            invocations: self.invocations.load(Ordering::SeqCst),
            billed_ms: self.billed_ms.load(Ordering::SeqCst),
        }
    }

    pub fn reset_usage(&self) {
        self.invocations.store(0, Ordering::SeqCst);
        self.billed_ms.store(0, Ordering::SeqCst);
    }

    pub fn name(&self) -> &str {
        &self.def.name
    }

    pub fn timeout(&self) -> Duration {
        Duration::from_secs(u64::from(self.def.timeout_secs))
    }

    /// Invocations queued or running right now (a gauge, not reset).
    /// Queued ones whose caller gave up do not count (an instance skips them).
    pub fn busy(&self) -> usize {
        let queued = lock(&self.queue)
            .iter()
            .filter(|p| !p.started.is_closed())
            .count();
        queued + lock(&self.in_flight).len()
    }

    /// Instances waiting for an event right now.
    pub fn idle_instances(&self) -> usize {
        self.pollers.load(Ordering::SeqCst)
    }

    /// Instances known to be up: waiting for an event or running one (an
    /// early request can keep an instance busy past start-up's wait).
    pub fn live_instances(&self) -> usize {
        self.idle_instances() + lock(&self.in_flight).len()
    }

    /// Queues an invocation and waits for its outcome: at most `queue_wait`
    /// for an instance to take it, then at most the function's timeout.
    /// Dropping the future abandons the invocation (an instance skips it if
    /// it is still queued).
    pub async fn invoke(
        &self,
        request_id: String,
        payload: Bytes,
        queue_wait: Duration,
    ) -> Outcome {
        let (started_tx, started_rx) = oneshot::channel();
        let (reply_tx, reply_rx) = oneshot::channel();
        lock(&self.queue).push_back(Pending {
            request_id: request_id.clone(),
            payload,
            started: started_tx,
            reply: reply_tx,
        });
        self.available.notify_one();
        let _forget = InFlightGuard {
            runtime: self,
            request_id: &request_id,
        };
        let deadline = match tokio::time::timeout(queue_wait, started_rx).await {
            Ok(Ok(deadline)) => deadline,
            _ => return Outcome::NotStarted,
        };
        match tokio::time::timeout_at(deadline + DEADLINE_GRACE, reply_rx).await {
            Ok(Ok(outcome)) => outcome,
            // The sender went away without an answer: the instance exited.
            Ok(Err(_)) => Outcome::error(
                "Runtime.ExitError",
                format!("RequestId: {request_id} Error: Runtime exited without providing a reason"),
            ),
            Err(_) => Outcome::TimedOut {
                request_id: request_id.clone(),
                secs: self.def.timeout_secs,
            },
        }
    }

    /// Fails every in-flight invocation at once (its instance exited; used
    /// when the function has one instance, so they were all on it).
    pub fn fail_in_flight(&self, why: &str) {
        let drained: Vec<(String, (oneshot::Sender<Outcome>, Instant))> =
            lock(&self.in_flight).drain().collect();
        for (id, (reply, _)) in drained {
            let _ = reply.send(Outcome::error(
                "Runtime.ExitError",
                format!("RequestId: {id} Error: Runtime exited: {why}"),
            ));
        }
    }

    /// The next queued invocation whose caller is still waiting.
    pub(super) fn pop_live(&self) -> Option<Pending> {
        let mut queue = lock(&self.queue);
        while let Some(p) = queue.pop_front() {
            if !p.started.is_closed() {
                return Some(p);
            }
        }
        None
    }

    /// Hands an invocation to an instance: registers it as in flight, tells
    /// the caller its deadline, and builds the `/next` answer. `None` if the
    /// caller gave up in the meantime.
    pub(super) fn dispatch(&self, p: Pending) -> Option<Response> {
        let timeout = self.timeout();
        let deadline_ms = ids::now_ms() + timeout.as_millis() as u64;
        lock(&self.in_flight).insert(p.request_id.clone(), (p.reply, Instant::now()));
        if p.started.send(Instant::now() + timeout).is_err() {
            lock(&self.in_flight).remove(&p.request_id);
            return None;
        }
        let mut headers = HeaderMap::new();
        let mut set = |name: &'static str, value: String| {
            if let Ok(v) = HeaderValue::from_str(&value) {
                headers.insert(name, v);
            }
        };
        set("lambda-runtime-aws-request-id", p.request_id);
        set("lambda-runtime-deadline-ms", deadline_ms.to_string());
        set("lambda-runtime-invoked-function-arn", self.def.arn());
        set("lambda-runtime-trace-id", ids::trace_id());
        set("content-type", "application/json".to_string());
        Some((StatusCode::OK, headers, p.payload).into_response())
    }

    pub(super) fn complete(&self, request_id: &str, outcome: Outcome) -> bool {
        let taken = lock(&self.in_flight).remove(request_id);
        match taken {
            Some((reply, started)) => {
                let micros = started.elapsed().as_micros() as u64;
                self.invocations.fetch_add(1, Ordering::SeqCst);
                self.billed_ms
                    .fetch_add(micros.div_ceil(1_000).max(1), Ordering::SeqCst);
                // The caller may have given up (timeout, closed connection).
                let _ = reply.send(outcome);
                true
            }
            None => false,
        }
    }
}

/// Forgets an invocation whose caller stopped waiting, so a late answer is
/// refused instead of kept forever.
struct InFlightGuard<'a> {
    runtime: &'a FunctionRuntime,
    request_id: &'a str,
}

impl Drop for InFlightGuard<'_> {
    fn drop(&mut self) {
        lock(&self.runtime.in_flight).remove(self.request_id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn runtime() -> Arc<FunctionRuntime> {
        FunctionRuntime::new(FunctionDef {
            logical_id: "F".into(),
            name: "f".into(),
            binary: "f".into(),
            memory_mb: 128,
            timeout_secs: 5,
            environment: BTreeMap::new(),
            routes: Vec::new(),
            schedules: Vec::new(),
            max_retry_attempts: 0,
            max_event_age_secs: 60,
        })
    }

    /// A caller invoking `rt` in the background, as the Invoke API does.
    pub(crate) fn spawn_invoke(
        rt: &Arc<FunctionRuntime>,
        request_id: &str,
    ) -> tokio::task::JoinHandle<Outcome> {
        let (rt, request_id) = (rt.clone(), request_id.to_string());
        tokio::spawn(async move {
            rt.invoke(
                request_id,
                Bytes::from_static(b"{}"),
                Duration::from_secs(5),
            )
            .await
        })
    }

    async fn until_busy(rt: &FunctionRuntime, want: usize) {
        for _ in 0..200 {
            if rt.busy() == want {
                return;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        panic!("busy stayed {} (wanted {want})", rt.busy());
    }

    #[tokio::test]
    async fn busy_counts_queued_and_running_invocations_until_answered() {
        let rt = runtime();
        assert_eq!(rt.busy(), 0);
        let caller = spawn_invoke(&rt, "r1");
        until_busy(&rt, 1).await;
        let pending = rt.pop_live().expect("queued");
        assert!(rt.dispatch(pending).is_some());
        assert_eq!(rt.busy(), 1, "running counts as busy");
        assert!(rt.complete("r1", Outcome::Success(Bytes::from_static(b"1"))));
        assert_eq!(
            caller.await.expect("caller"),
            Outcome::Success(Bytes::from_static(b"1"))
        );
        assert_eq!(rt.busy(), 0);
        assert_eq!(rt.usage().invocations, 1);
    }

    #[tokio::test]
    async fn an_abandoned_queued_invocation_is_not_busy() {
        let rt = runtime();
        let caller = spawn_invoke(&rt, "r2");
        until_busy(&rt, 1).await;
        caller.abort();
        let _ = caller.await;
        assert_eq!(rt.busy(), 0, "nobody waits for it");
    }
}
