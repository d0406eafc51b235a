//! The Lambda Invoke API (`POST /2015-03-31/functions/{name}/invocations`),
//! the endpoint epoch-stats reaches through aws-sdk-lambda
//! (`AWS_ENDPOINT_URL_LAMBDA`).
//!
//! It answers as AWS does, which is the point of having it: with
//! `X-Amz-Invocation-Type: Event` the call is accepted at once (202, empty
//! body) and the function runs afterwards from a queue, with the template's
//! `EventInvokeConfig` retries; `RequestResponse` waits for the result;
//! `DryRun` only checks. (`cargo lambda watch` runs Event invocations
//! synchronously, which hides whether the caller really returns before the
//! warmer finishes.)

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use serde_json::json;

use crate::ids;
use crate::output;
use crate::runtime_api::{FunctionRuntime, Outcome, MAX_RESPONSE_BYTES};
use crate::template::{function_arn, ACCOUNT_ID, REGION};

/// Lambda's payload limits: 256 KB queued, 6 MB synchronous.
pub const MAX_EVENT_PAYLOAD: usize = 256 * 1024;
pub const MAX_SYNC_PAYLOAD: usize = MAX_RESPONSE_BYTES;
/// Waits between attempts of a failed asynchronous invocation. Lambda waits
/// about one and then two minutes; locally that would only slow debugging.
const RETRY_DELAYS: [Duration; 2] = [Duration::from_secs(1), Duration::from_secs(2)];

/// The functions by name.
#[derive(Default)]
pub struct Functions {
    by_name: BTreeMap<String, Arc<FunctionRuntime>>,
}

impl Functions {
    pub fn new(runtimes: impl IntoIterator<Item = Arc<FunctionRuntime>>) -> Functions {
        Functions {
            by_name: runtimes
                .into_iter()
                .map(|r| (r.name().to_string(), r))
                .collect(),
        }
    }

    pub fn get(&self, name: &str) -> Option<&Arc<FunctionRuntime>> {
        self.by_name.get(name)
    }

    /// Finds a function the way Lambda accepts its name: `name`,
    /// `name:$LATEST`, `123456789012:function:name` or the full ARN.
    pub fn resolve(&self, raw: &str, qualifier: Option<&str>) -> Option<&Arc<FunctionRuntime>> {
        let arn_prefix = format!("arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:");
        let partial_prefix = format!("{ACCOUNT_ID}:function:");
        let rest = raw
            .strip_prefix(&arn_prefix)
            .or_else(|| raw.strip_prefix(&partial_prefix))
            .unwrap_or(raw);
        let (name, inline_qualifier) = match rest.split_once(':') {
            Some((n, q)) => (n, Some(q)),
            None => (rest, None),
        };
        // Only unpublished code exists locally.
        let qualifier_ok = [inline_qualifier, qualifier]
            .into_iter()
            .flatten()
            .all(|q| q == "$LATEST");
        self.by_name.get(name).filter(|_| qualifier_ok)
    }
}

/// The Invoke API routes.
pub fn router(functions: Arc<Functions>) -> Router {
    Router::new()
        .route("/2015-03-31/functions/{name}/invocations", post(invoke))
        .fallback(|| async {
            aws_error(
                StatusCode::NOT_FOUND,
                "UnknownOperationException",
                "Unknown operation (only Invoke is emulated)".into(),
            )
        })
        .layer(DefaultBodyLimit::max(MAX_SYNC_PAYLOAD * 2))
        .with_state(functions)
}

/// A Lambda API error: `x-amzn-ErrorType` and `{"Type":"User","message":...}`.
pub fn aws_error(status: StatusCode, error_type: &'static str, message: String) -> Response {
    (
        status,
        [
            (HeaderName::from_static("x-amzn-errortype"), error_type),
            (HeaderName::from_static("content-type"), "application/json"),
        ],
        json!({ "Type": "User", "message": message }).to_string(),
    )
        .into_response()
}

async fn invoke(
    State(functions): State<Arc<Functions>>,
    Path(name): Path<String>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let qualifier = form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
        .find(|(k, _)| k == "Qualifier")
        .map(|(_, v)| v.into_owned());
    let Some(runtime) = functions.resolve(&name, qualifier.as_deref()) else {
        let arn = if name.starts_with("arn:") {
            name.clone()
        } else {
            function_arn(&name)
        };
        return aws_error(
            StatusCode::NOT_FOUND,
            "ResourceNotFoundException",
            format!("Function not found: {arn}"),
        );
    };
    let runtime = Arc::clone(runtime);
    // No payload is an empty JSON object; anything else must be JSON.
    let payload = if body.is_empty() {
        Bytes::from_static(b"{}")
    } else if let Err(e) = serde_json::from_slice::<serde::de::IgnoredAny>(&body) {
        return aws_error(
            StatusCode::BAD_REQUEST,
            "InvalidRequestContentException",
            format!("Could not parse request body into json: {e}"),
        );
    } else {
        body
    };
    let invocation_type = headers
        .get("x-amz-invocation-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("RequestResponse");
    let request_id = ids::uuid();
    output::out(
        "invoke",
        &format!("{invocation_type} {} ({request_id})", runtime.name()),
    );
    match invocation_type {
        "Event" => {
            if payload.len() > MAX_EVENT_PAYLOAD {
                return too_large(payload.len(), MAX_EVENT_PAYLOAD);
            }
            tokio::spawn(run_event(runtime, request_id.clone(), payload));
            let mut resp = StatusCode::ACCEPTED.into_response();
            set_header(resp.headers_mut(), "x-amzn-requestid", &request_id);
            resp
        }
        "RequestResponse" => {
            if payload.len() > MAX_SYNC_PAYLOAD {
                return too_large(payload.len(), MAX_SYNC_PAYLOAD);
            }
            let outcome = runtime
                .invoke(request_id.clone(), payload, runtime.timeout())
                .await;
            sync_response(&request_id, outcome)
        }
        "DryRun" => {
            let mut resp = StatusCode::NO_CONTENT.into_response();
            set_header(resp.headers_mut(), "x-amzn-requestid", &request_id);
            resp
        }
        other => aws_error(
            StatusCode::BAD_REQUEST,
            "InvalidParameterValueException",
            format!(
                "1 validation error detected: Value '{other}' at 'invocationType' failed to satisfy constraint: Member must satisfy enum value set: [Event, RequestResponse, DryRun]"
            ),
        ),
    }
}

fn set_header(headers: &mut HeaderMap, name: &'static str, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        headers.insert(name, v);
    }
}

fn too_large(len: usize, max: usize) -> Response {
    aws_error(
        StatusCode::PAYLOAD_TOO_LARGE,
        "RequestTooLargeException",
        format!(
            "Request must be smaller than {max} bytes for the InvokeFunction operation (got {len})"
        ),
    )
}

/// A synchronous invocation's answer: 200 with the function's output, and
/// `X-Amz-Function-Error: Unhandled` when it failed.
pub fn sync_response(request_id: &str, outcome: Outcome) -> Response {
    let (body, failed) = match outcome {
        Outcome::Success(body) => (body, false),
        Outcome::Error { body, .. } => (body, true),
        Outcome::TimedOut { request_id, secs } => (
            Bytes::from(
                json!({
                    "errorMessage": format!(
                        "{} {request_id} Task timed out after {secs}.00 seconds",
                        chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S%.3fZ")
                    ),
                    "errorType": "Sandbox.Timedout",
                })
                .to_string(),
            ),
            true,
        ),
        Outcome::NotStarted => {
            return aws_error(
                StatusCode::TOO_MANY_REQUESTS,
                "TooManyRequestsException",
                "Rate Exceeded. (every local instance stayed busy)".into(),
            )
        }
    };
    let mut resp = (StatusCode::OK, body).into_response();
    let h = resp.headers_mut();
    set_header(h, "content-type", "application/json");
    set_header(h, "x-amzn-requestid", request_id);
    set_header(h, "x-amz-executed-version", "$LATEST");
    if failed {
        set_header(h, "x-amz-function-error", "Unhandled");
    }
    resp
}

/// Runs a queued (Event) invocation: waits in the queue up to
/// `MaximumEventAgeInSeconds`, retries a failure `MaximumRetryAttempts`
/// times, as Lambda's asynchronous invocation does. (An `OnFailure`
/// destination is not emulated: the failure is logged.)
pub async fn run_event(runtime: Arc<FunctionRuntime>, request_id: String, payload: Bytes) {
    let name = runtime.name().to_string();
    let max_age = Duration::from_secs(u64::from(runtime.def.max_event_age_secs));
    let attempts = runtime.def.max_retry_attempts + 1;
    let received = tokio::time::Instant::now();
    for attempt in 1..=attempts {
        let wait = max_age.saturating_sub(received.elapsed());
        let outcome = runtime
            .invoke(request_id.clone(), payload.clone(), wait)
            .await;
        let why = match outcome {
            Outcome::Success(_) => return,
            Outcome::NotStarted => {
                output::warn(&format!(
                    "{name}: event {request_id} dropped: older than MaximumEventAgeInSeconds ({}s)",
                    max_age.as_secs()
                ));
                return;
            }
            Outcome::Error { body, .. } => String::from_utf8_lossy(&body).into_owned(),
            Outcome::TimedOut { secs, .. } => format!("timed out after {secs} s"),
        };
        output::warn(&format!(
            "{name}: event {request_id} failed (attempt {attempt} of {attempts}): {why}"
        ));
        if let Some(delay) = RETRY_DELAYS
            .get(attempt as usize - 1)
            .filter(|_| attempt < attempts)
        {
            tokio::time::sleep(*delay).await;
        }
    }
    output::warn(&format!(
        "{name}: event {request_id} discarded after {attempts} attempts"
    ));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::template::FunctionDef;

    fn functions() -> Functions {
        let def = FunctionDef {
            logical_id: "WarmerFunction".into(),
            name: "warmer".into(),
            binary: "warmer".into(),
            memory_mb: 512,
            timeout_secs: 2,
            environment: Default::default(),
            routes: Vec::new(),
            schedules: Vec::new(),
            max_retry_attempts: 0,
            max_event_age_secs: 60,
        };
        Functions::new([FunctionRuntime::new(def)])
    }

    #[test]
    fn resolves_names_like_lambda() {
        let f = functions();
        for ok in [
            "warmer",
            "warmer:$LATEST",
            "123456789012:function:warmer",
            "arn:aws:lambda:us-east-1:123456789012:function:warmer",
            "arn:aws:lambda:us-east-1:123456789012:function:warmer:$LATEST",
        ] {
            assert!(f.resolve(ok, None).is_some(), "{ok}");
        }
        assert!(f.resolve("warmer", Some("$LATEST")).is_some());
        for bad in ["WarmerFunction", "warmer:prod", "nope", ""] {
            assert!(f.resolve(bad, None).is_none(), "{bad}");
        }
        assert!(f.resolve("warmer", Some("7")).is_none());
    }

    async fn serve(functions: Functions) -> (String, Arc<Functions>) {
        let functions = Arc::new(functions);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let app = router(functions.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        (format!("http://{addr}/2015-03-31/functions"), functions)
    }

    #[tokio::test]
    async fn event_is_accepted_before_the_function_runs() {
        let (base, functions) = serve(functions()).await;
        let client = reqwest::Client::new();
        // No instance is polling: an Event call still returns at once.
        let resp = client
            .post(format!("{base}/warmer/invocations"))
            .header("X-Amz-Invocation-Type", "Event")
            .body(r#"{"epoch_id":59,"finished":true}"#)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 202);
        assert!(resp.headers().contains_key("x-amzn-requestid"));
        assert_eq!(resp.bytes().await.unwrap().len(), 0);

        // The event is queued for the next instance that polls.
        let runtime_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = runtime_listener.local_addr().unwrap();
        let rt = Arc::clone(functions.get("warmer").unwrap());
        tokio::spawn(
            async move { axum::serve(runtime_listener, crate::runtime_api::router(rt)).await },
        );
        let next = reqwest::get(format!("http://{addr}/2018-06-01/runtime/invocation/next"))
            .await
            .unwrap();
        assert_eq!(
            next.bytes().await.unwrap(),
            r#"{"epoch_id":59,"finished":true}"#
        );
    }

    #[tokio::test]
    async fn errors_like_aws() {
        let (base, _functions) = serve(functions()).await;
        let client = reqwest::Client::new();
        let resp = client
            .post(format!("{base}/nope/invocations"))
            .header("X-Amz-Invocation-Type", "Event")
            .body("{}")
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 404);
        assert_eq!(
            resp.headers()["x-amzn-errortype"],
            "ResourceNotFoundException"
        );
        let body: serde_json::Value = serde_json::from_slice(&resp.bytes().await.unwrap()).unwrap();
        assert_eq!(
            body,
            json!({"Type": "User", "message": "Function not found: arn:aws:lambda:us-east-1:123456789012:function:nope"})
        );

        let dry = client
            .post(format!("{base}/warmer/invocations"))
            .header("X-Amz-Invocation-Type", "DryRun")
            .send()
            .await
            .unwrap();
        assert_eq!(dry.status(), 204);

        let bad = client
            .post(format!("{base}/warmer/invocations"))
            .body("{not json")
            .send()
            .await
            .unwrap();
        assert_eq!(bad.status(), 400);
        assert_eq!(
            bad.headers()["x-amzn-errortype"],
            "InvalidRequestContentException"
        );

        let big = client
            .post(format!("{base}/warmer/invocations"))
            .header("X-Amz-Invocation-Type", "Event")
            .body(format!("\"{}\"", "x".repeat(MAX_EVENT_PAYLOAD)))
            .send()
            .await
            .unwrap();
        assert_eq!(big.status(), 413);
    }

    #[test]
    fn sync_answers() {
        let ok = sync_response("id", Outcome::Success(Bytes::from_static(b"1")));
        assert_eq!(ok.status(), 200);
        assert!(!ok.headers().contains_key("x-amz-function-error"));
        let failed = sync_response(
            "id",
            Outcome::TimedOut {
                request_id: "id".into(),
                secs: 3,
            },
        );
        assert_eq!(failed.status(), 200);
        assert_eq!(failed.headers()["x-amz-function-error"], "Unhandled");
        let throttled = sync_response("id", Outcome::NotStarted);
        assert_eq!(throttled.status(), 429);
    }
}
