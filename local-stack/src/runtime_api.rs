//! The Lambda Runtime API, one server per function.
//!
//! Each function's processes (its "instances") get
//! `AWS_LAMBDA_RUNTIME_API=127.0.0.1:PORT` and run the unmodified
//! `lambda_runtime` loop against it: long-poll
//! `GET /2018-06-01/runtime/invocation/next`, then post the result to
//! `/invocation/{id}/response` or `/invocation/{id}/error`. All instances of
//! a function poll the same queue, so N processes serve N invocations at a
//! time, like N warm Lambda instances; an instance takes the next event only
//! after it answered the previous one.
//!
//! Callers (the Invoke API, the API Gateway front) go through
//! [`FunctionRuntime::invoke`], which queues the event and waits for its
//! outcome, bounded by the time allowed in the queue and then by the
//! function's `Timeout`, as Lambda bounds it.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde_json::json;
use tokio::sync::{oneshot, Notify};
use tokio::time::Instant;

use crate::ids;
use crate::output;
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
    fn error(error_type: &str, message: String) -> Outcome {
        let body = json!({ "errorType": error_type, "errorMessage": message });
        Outcome::Error {
            error_type: error_type.to_string(),
            body: Bytes::from(body.to_string()),
        }
    }
}

/// One queued invocation.
struct Pending {
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
    available: Notify,
    in_flight: Mutex<HashMap<String, oneshot::Sender<Outcome>>>,
    /// Instances currently waiting in `/next` (start-up waits for all).
    pollers: AtomicUsize,
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
        })
    }

    pub fn name(&self) -> &str {
        &self.def.name
    }

    pub fn timeout(&self) -> Duration {
        Duration::from_secs(u64::from(self.def.timeout_secs))
    }

    /// Instances waiting for an event right now.
    pub fn idle_instances(&self) -> usize {
        self.pollers.load(Ordering::SeqCst)
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
        let drained: Vec<(String, oneshot::Sender<Outcome>)> =
            lock(&self.in_flight).drain().collect();
        for (id, reply) in drained {
            let _ = reply.send(Outcome::error(
                "Runtime.ExitError",
                format!("RequestId: {id} Error: Runtime exited: {why}"),
            ));
        }
    }

    /// The next queued invocation whose caller is still waiting.
    fn pop_live(&self) -> Option<Pending> {
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
    fn dispatch(&self, p: Pending) -> Option<Response> {
        let timeout = self.timeout();
        let deadline_ms = ids::now_ms() + timeout.as_millis() as u64;
        lock(&self.in_flight).insert(p.request_id.clone(), p.reply);
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

    fn complete(&self, request_id: &str, outcome: Outcome) -> bool {
        match lock(&self.in_flight).remove(request_id) {
            Some(reply) => {
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

/// Counts an instance as idle while its `/next` request is open.
struct PollGuard<'a>(&'a AtomicUsize);

impl<'a> PollGuard<'a> {
    fn new(counter: &'a AtomicUsize) -> Self {
        counter.fetch_add(1, Ordering::SeqCst);
        PollGuard(counter)
    }
}

impl Drop for PollGuard<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The Runtime API routes for one function.
pub fn router(runtime: Arc<FunctionRuntime>) -> Router {
    Router::new()
        .route("/2018-06-01/runtime/invocation/next", get(next))
        .route(
            "/2018-06-01/runtime/invocation/{id}/response",
            post(response),
        )
        .route("/2018-06-01/runtime/invocation/{id}/error", post(error))
        .route("/2018-06-01/runtime/init/error", post(init_error))
        .fallback(|| async { (StatusCode::NOT_FOUND, "not a Runtime API path\n") })
        // Oversized results are refused in the handler, with Lambda's error.
        .layer(DefaultBodyLimit::max(MAX_RESPONSE_BYTES * 4))
        .with_state(runtime)
}

/// Long-polls until an invocation is queued. If the instance goes away
/// while waiting, hyper drops this future and nothing is taken.
async fn next(State(rt): State<Arc<FunctionRuntime>>) -> Response {
    let _idle = PollGuard::new(&rt.pollers);
    loop {
        while let Some(p) = rt.pop_live() {
            if let Some(resp) = rt.dispatch(p) {
                return resp;
            }
        }
        rt.available.notified().await;
    }
}

fn accepted() -> Response {
    (StatusCode::ACCEPTED, axum::Json(json!({ "status": "OK" }))).into_response()
}

fn unknown_request(id: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        axum::Json(json!({
            "errorMessage": format!("Invalid request ID: {id} (not in flight: answered, timed out or abandoned)"),
            "errorType": "InvalidRequestID",
        })),
    )
        .into_response()
}

async fn response(
    State(rt): State<Arc<FunctionRuntime>>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    if body.len() > MAX_RESPONSE_BYTES {
        let outcome = Outcome::error(
            "Function.ResponseSizeTooLarge",
            format!(
                "Response payload size ({} bytes) exceeded maximum allowed payload size ({MAX_RESPONSE_BYTES} bytes).",
                body.len()
            ),
        );
        rt.complete(&id, outcome);
        return (
            StatusCode::PAYLOAD_TOO_LARGE,
            axum::Json(json!({
                "errorMessage": "Exceeded maximum allowed payload size",
                "errorType": "RequestEntityTooLarge",
            })),
        )
            .into_response();
    }
    if rt.complete(&id, Outcome::Success(body)) {
        accepted()
    } else {
        unknown_request(&id)
    }
}

async fn error(
    State(rt): State<Arc<FunctionRuntime>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let error_type = serde_json::from_slice::<serde_json::Value>(&body)
        .ok()
        .and_then(|v| {
            v.get("errorType")
                .and_then(|t| t.as_str())
                .map(str::to_string)
        })
        .or_else(|| {
            headers
                .get("lambda-runtime-function-error-type")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        })
        .unwrap_or_else(|| "Unhandled".to_string());
    if rt.complete(&id, Outcome::Error { error_type, body }) {
        accepted()
    } else {
        unknown_request(&id)
    }
}

async fn init_error(State(rt): State<Arc<FunctionRuntime>>, body: Bytes) -> Response {
    output::warn(&format!(
        "{}: init error: {}",
        rt.name(),
        String::from_utf8_lossy(&body)
    ));
    accepted()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn def(timeout_secs: u32) -> FunctionDef {
        FunctionDef {
            logical_id: "F".into(),
            name: "f".into(),
            binary: "f".into(),
            memory_mb: 128,
            timeout_secs,
            environment: BTreeMap::new(),
            routes: Vec::new(),
            max_retry_attempts: 2,
            max_event_age_secs: 60,
        }
    }

    async fn serve(rt: Arc<FunctionRuntime>) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, router(rt)).await });
        format!("http://{addr}/2018-06-01/runtime")
    }

    #[tokio::test]
    async fn next_response_and_error_round_trip() {
        let rt = FunctionRuntime::new(def(5));
        let base = serve(rt.clone()).await;
        let client = reqwest::Client::new();

        let invoker = {
            let rt = rt.clone();
            tokio::spawn(async move {
                rt.invoke(
                    "req-1".into(),
                    Bytes::from_static(b"{\"a\":1}"),
                    Duration::from_secs(5),
                )
                .await
            })
        };
        let next = client
            .get(format!("{base}/invocation/next"))
            .send()
            .await
            .unwrap();
        assert_eq!(next.status(), 200);
        let h = next.headers();
        assert_eq!(h["lambda-runtime-aws-request-id"], "req-1");
        let deadline: u64 = h["lambda-runtime-deadline-ms"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        let now = ids::now_ms();
        assert!(
            deadline > now + 4_000 && deadline <= now + 5_000,
            "{deadline} vs {now}"
        );
        assert_eq!(
            h["lambda-runtime-invoked-function-arn"],
            "arn:aws:lambda:us-east-1:123456789012:function:f"
        );
        assert!(h.contains_key("lambda-runtime-trace-id"));
        assert_eq!(next.bytes().await.unwrap(), "{\"a\":1}");

        let posted = client
            .post(format!("{base}/invocation/req-1/response"))
            .body("\"done\"")
            .send()
            .await
            .unwrap();
        assert_eq!(posted.status(), 202);
        assert_eq!(
            invoker.await.unwrap(),
            Outcome::Success(Bytes::from_static(b"\"done\""))
        );

        // A second answer for the same id is refused.
        let again = client
            .post(format!("{base}/invocation/req-1/response"))
            .body("1")
            .send()
            .await
            .unwrap();
        assert_eq!(again.status(), 400);

        let invoker = {
            let rt = rt.clone();
            tokio::spawn(async move {
                rt.invoke(
                    "req-2".into(),
                    Bytes::from_static(b"{}"),
                    Duration::from_secs(5),
                )
                .await
            })
        };
        let next = client
            .get(format!("{base}/invocation/next"))
            .send()
            .await
            .unwrap();
        assert_eq!(next.headers()["lambda-runtime-aws-request-id"], "req-2");
        let posted = client
            .post(format!("{base}/invocation/req-2/error"))
            .header("lambda-runtime-function-error-type", "unhandled")
            .body(r#"{"errorType":"&str","errorMessage":"boom"}"#)
            .send()
            .await
            .unwrap();
        assert_eq!(posted.status(), 202);
        match invoker.await.unwrap() {
            Outcome::Error { error_type, body } => {
                assert_eq!(error_type, "&str");
                assert!(String::from_utf8_lossy(&body).contains("boom"));
            }
            other => panic!("{other:?}"),
        }
    }

    #[tokio::test]
    async fn abandoned_and_unclaimed_invocations() {
        let rt = FunctionRuntime::new(def(1));
        // Nobody polls: the invocation never starts.
        let outcome = rt
            .invoke("lost".into(), Bytes::new(), Duration::from_millis(50))
            .await;
        assert_eq!(outcome, Outcome::NotStarted);
        // ... and an instance polling later does not get it.
        assert!(rt.pop_live().is_none());

        // Started but never answered: the function's timeout applies.
        let base = serve(rt.clone()).await;
        let waiter = {
            let rt = rt.clone();
            tokio::spawn(async move {
                rt.invoke("slow".into(), Bytes::new(), Duration::from_secs(5))
                    .await
            })
        };
        let next = reqwest::get(format!("{base}/invocation/next"))
            .await
            .unwrap();
        assert_eq!(next.status(), 200);
        let outcome = waiter.await.unwrap();
        assert_eq!(
            outcome,
            Outcome::TimedOut {
                request_id: "slow".into(),
                secs: 1
            }
        );
        assert_eq!(rt.idle_instances(), 0);
    }
}
