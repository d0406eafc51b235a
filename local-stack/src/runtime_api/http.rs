//! The Runtime API's HTTP routes over a [`FunctionRuntime`]: `/next`
//! (long-polled), `/response`, `/error` and `/init/error`.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde_json::json;

use super::queue::{FunctionRuntime, Outcome, MAX_RESPONSE_BYTES};
use crate::output;

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
