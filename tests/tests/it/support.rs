//! Shared test plumbing: contexts over the real adapters, a recording
//! Lambda Invoke endpoint, and request helpers.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use lambda_http::{Body, Request, Response};
pub use shared::bootstrap::LiveCore;
use shared::chain::{HttpChain, HttpChainOptions};
use shared::config::Config;
use shared::epoch_stats::bootstrap::LiveEpochStatsState;
use shared::epoch_stats::EpochStatsState;
use shared::service::Core;
use shared::warm::{LambdaInvoker, WarmRequest};

use crate::dynamo_local::TestTable;

/// The simulated chain with `participants` participants at `current_epoch`.
pub async fn start_sim(participants: usize, current_epoch: u64) -> sim_chain::SimChain {
    sim_chain::SimChain::start(sim_chain::SimConfig {
        participants,
        current_epoch,
        ..Default::default()
    })
    .await
    .expect("simulated chain")
}

/// Serves `app` on a free loopback port for the rest of the test.
pub async fn serve(app: Router) -> (String, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let task = tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    (url, task)
}

/// The table's participant items (rewards, warm keys, hardware: not the
/// history entries beside them) as sorted JSON, without their fetch time
/// (which differs from run to run): equal fingerprints, equal contents.
pub async fn participant_items_fingerprint(table: &TestTable) -> Vec<String> {
    let mut items: Vec<String> = table
        .scan_all()
        .await
        .into_iter()
        .filter(|i| i["pk"].as_s().is_ok_and(|pk| pk.starts_with("P#")))
        .filter(|i| i["sk"].as_s().is_ok_and(|sk| sk.starts_with("E#")))
        .map(|mut i| {
            i.remove("fetched_at");
            serde_dynamo::from_item::<_, serde_json::Value>(i)
                .unwrap()
                .to_string()
        })
        .collect();
    items.sort();
    items
}

/// A configuration for tests; `extra` overrides the defaults.
pub fn config(table: &str, chain_urls: &[String], extra: &[(&str, &str)]) -> Config {
    let mut vars: HashMap<String, String> = HashMap::from([
        ("TABLE_NAME".into(), table.to_owned()),
        ("CHAIN_API_URLS".into(), chain_urls.join(",")),
        ("WARMER_FUNCTION_NAME".into(), "warmer".into()),
        ("CHAIN_TIMEOUT_MS".into(), "2000".into()),
        ("CHAIN_RETRY_ROUNDS".into(), "1".into()),
        // The simulated chain also serves a Keybase stand-in; never the real one.
        (
            "KEYBASE_API_URL".into(),
            chain_urls.first().cloned().unwrap_or_else(dead_url),
        ),
    ]);
    for (k, v) in extra {
        vars.insert((*k).to_owned(), (*v).to_owned());
    }
    Config::from_lookup(|k| vars.get(k).cloned()).expect("test config")
}

pub fn chain_for(config: &Config) -> HttpChain {
    HttpChain::new(HttpChainOptions {
        backoff: Duration::from_millis(5),
        ..config.chain_options()
    })
    .expect("chain client")
}

pub fn ctx(table: &TestTable, chain_urls: &[String], extra: &[(&str, &str)]) -> LiveCore {
    let config = config(&table.name, chain_urls, extra);
    Core::new(chain_for(&config), table.table.clone(), config)
}

/// epoch-stats' state, its warmer invoked through `invoke`'s endpoint.
pub fn stats(
    table: &TestTable,
    chain_urls: &[String],
    extra: &[(&str, &str)],
    invoke: &InvokeRecorder,
) -> LiveEpochStatsState {
    stats_of(ctx(table, chain_urls, extra), invoke)
}

/// epoch-stats' state over `core`, its warmer invoked through `invoke`'s
/// endpoint.
pub fn stats_of(core: LiveCore, invoke: &InvokeRecorder) -> LiveEpochStatsState {
    EpochStatsState::new(core, Some(invoke.invoker()))
}

/// `core` with a warm lease of `lease`: the lease tests set it in
/// milliseconds (`WARM_LEASE_SECS` counts whole seconds), so they do not
/// wait out real seconds.
pub fn with_lease(mut core: LiveCore, lease: Duration) -> LiveCore {
    std::sync::Arc::make_mut(&mut core.config).warm_lease = lease;
    core
}

/// The scheduled function's state: its warmer invoked through `invoke`'s
/// endpoint, Keybase at the first chain URL (the simulated chain's
/// stand-in), private health targets allowed (the simulated nodes are on
/// loopback).
pub fn scheduler(
    table: &TestTable,
    chain_urls: &[String],
    invoke: &InvokeRecorder,
) -> shared::schedule::bootstrap::LiveSchedulerState {
    shared::schedule::SchedulerState::new(
        ctx(table, chain_urls, &[]),
        Some(invoke.invoker()),
        shared::keybase::HttpKeybase::new(&chain_urls[0]).expect("a Keybase client"),
        shared::health::HealthProber::new(true).expect("a health prober"),
    )
}

/// A jail run's Keybase with no budget (waits for every answer).
pub fn unbounded<'a>(
    lookup: &'a shared::keybase::HttpKeybase,
    memo: &'a shared::service::keybase_names::KeybaseMemo,
) -> shared::service::keybase_names::KeybaseRun<'a, shared::keybase::HttpKeybase> {
    shared::service::keybase_names::KeybaseRun {
        lookup,
        memo,
        deadline: None,
    }
}

/// The warmer's payload for `epoch` (every participant).
pub fn warm_job(epoch: u64, finished: bool) -> WarmRequest {
    WarmRequest::new(epoch.try_into().expect("epoch >= 1"), finished)
}

/// A warmer payload without its `lease_token` (a fresh random id per
/// trigger), which it must carry.
pub fn without_lease_token(payload: &serde_json::Value) -> serde_json::Value {
    let mut payload = payload.clone();
    let token = payload
        .as_object_mut()
        .and_then(|p| p.remove("lease_token"));
    assert!(
        token.as_ref().is_some_and(|t| t.is_string()),
        "a lease token in {payload}"
    );
    payload
}

/// One invocation as the Lambda Invoke API received it.
#[derive(Debug, Clone)]
pub struct Invocation {
    pub function: String,
    pub invocation_type: Option<String>,
    pub payload: serde_json::Value,
}

/// A local Lambda Invoke endpoint that records each call and answers as
/// AWS does for InvocationType Event (202, empty body).
pub struct InvokeRecorder {
    pub url: String,
    pub calls: Arc<Mutex<Vec<Invocation>>>,
    _task: tokio::task::JoinHandle<()>,
}

impl InvokeRecorder {
    pub async fn start() -> Self {
        let calls: Arc<Mutex<Vec<Invocation>>> = Arc::default();
        let app = Router::new()
            .route("/2015-03-31/functions/{name}/invocations", post(record))
            .with_state(calls.clone());
        let (url, task) = serve(app).await;
        Self {
            url,
            calls,
            _task: task,
        }
    }

    pub fn invoker(&self) -> LambdaInvoker {
        let conf = aws_sdk_lambda::Config::builder()
            .behavior_version(aws_sdk_lambda::config::BehaviorVersion::latest())
            .endpoint_url(&self.url)
            .region(aws_sdk_lambda::config::Region::new("us-east-1"))
            .credentials_provider(aws_sdk_lambda::config::Credentials::new(
                "test", "test", None, None, "tests",
            ))
            .build();
        LambdaInvoker::new(aws_sdk_lambda::Client::from_conf(conf), "warmer")
    }

    pub fn calls(&self) -> Vec<Invocation> {
        self.calls.lock().unwrap().clone()
    }
}

async fn record(
    State(calls): State<Arc<Mutex<Vec<Invocation>>>>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> (StatusCode, &'static str) {
    let invocation_type = headers
        .get("x-amz-invocation-type")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let payload = serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null);
    calls.lock().unwrap().push(Invocation {
        function: name,
        invocation_type,
        payload,
    });
    (StatusCode::ACCEPTED, "")
}

pub fn get(path: &str, headers: &[(&str, &str)]) -> Request {
    request("GET", path, headers)
}

/// `method path` as API Gateway hands it to a function: matched against
/// template.yaml's routes by local-stack's front (the route key and the
/// decoded path variables), as the payload v2.0 event it would send.
pub fn request(method: &str, path_and_query: &str, headers: &[(&str, &str)]) -> Request {
    static ROUTES: std::sync::OnceLock<local_stack::apigw::routes::RouteTable> =
        std::sync::OnceLock::new();
    let routes = ROUTES.get_or_init(|| {
        let text = std::fs::read_to_string(crate::dynamo_local::repo_root().join("template.yaml"))
            .expect("template.yaml");
        let template =
            local_stack::template::Template::parse(&text, &[]).expect("template.yaml parses");
        local_stack::apigw::routes::RouteTable::new(template.routes())
    });
    let (raw_path, raw_query) = path_and_query
        .split_once('?')
        .unwrap_or((path_and_query, ""));
    let mut map = HeaderMap::new();
    for (k, v) in headers {
        map.append(
            axum::http::HeaderName::from_bytes(k.as_bytes()).expect("a header name"),
            axum::http::HeaderValue::from_str(v).expect("a header value"),
        );
    }
    let (route_key, params) = match routes.find(method, raw_path) {
        Some(m) => (m.route_key, m.path_parameters),
        None => ("$default".to_owned(), Vec::new()),
    };
    let http = local_stack::apigw::event::HttpRequest {
        method,
        raw_path,
        raw_query,
        headers: &map,
        body: &[],
        source_ip: "127.0.0.1".into(),
        protocol: "HTTP/1.1",
        local_port: 443,
        time: chrono::Utc::now(),
        request_id: "test",
    };
    let event = local_stack::apigw::event::build_event(&http, &route_key, &params);
    lambda_http::request::from_str(&event.to_string()).expect("an API Gateway event")
}

/// The body of a response, gunzipped if needed, as JSON.
pub fn json_body(resp: &Response<Body>) -> serde_json::Value {
    let bytes: Vec<u8> = match resp.body() {
        Body::Empty => Vec::new(),
        Body::Text(t) => t.clone().into_bytes(),
        Body::Binary(b) => b.clone(),
        _ => panic!("unexpected body"),
    };
    let bytes = if resp
        .headers()
        .get("content-encoding")
        .is_some_and(|v| v == "gzip")
    {
        use std::io::Read;
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(&bytes[..])
            .read_to_end(&mut out)
            .unwrap();
        out
    } else {
        bytes
    };
    serde_json::from_slice(&bytes).unwrap_or_else(|e| {
        panic!(
            "body is not JSON ({e}): {}",
            String::from_utf8_lossy(&bytes)
        )
    })
}

pub fn header<'a>(resp: &'a Response<Body>, name: &str) -> Option<&'a str> {
    resp.headers().get(name).and_then(|v| v.to_str().ok())
}

/// A base URL nothing listens on (connections are refused).
pub fn dead_url() -> String {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    format!("http://127.0.0.1:{port}")
}
