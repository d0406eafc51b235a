//! The front's HTTP server: one handler for every request, which does what
//! API Gateway does in order (preflight, route match, event, synchronous
//! invoke, response mapping, CORS headers) and logs one access line.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, DefaultBodyLimit, Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::Response;
use axum::Router;

use super::cors;
use super::event::{build_event, HttpRequest};
use super::response::{from_lambda_output, message, HttpResponse};
use super::routes::RouteTable;
use crate::ids;
use crate::invoke_api::Functions;
use crate::output;
use crate::runtime_api::Outcome;
use crate::template::CorsConfig;

/// API Gateway's request payload limit is 10 MB, Lambda's 6 MB: the
/// smaller one is what a function can ever receive.
const MAX_REQUEST_BYTES: usize = 6 * 1024 * 1024;

pub struct Front {
    pub routes: RouteTable,
    pub functions: Arc<Functions>,
    pub cors: Option<CorsConfig>,
    /// The port the front listens on (`x-forwarded-port`, default `host`).
    pub port: u16,
}

/// Serve with `into_make_service_with_connect_info::<SocketAddr>()`: the
/// peer address is the event's `sourceIp`.
pub fn router(front: Arc<Front>) -> Router {
    Router::new()
        .fallback(handle)
        .layer(DefaultBodyLimit::disable())
        .with_state(front)
}

async fn handle(
    State(front): State<Arc<Front>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    req: Request,
) -> Response {
    let started = Instant::now();
    let (parts, body) = req.into_parts();
    let method = parts.method.as_str().to_string();
    let path = parts.uri.path().to_string();
    let request_id = ids::apigw_request_id();
    let (resp, function) = match axum::body::to_bytes(body, MAX_REQUEST_BYTES).await {
        Err(_) => (message(413, "Request Entity Too Large"), None),
        Ok(body) => front.respond(&parts, &body, peer, &request_id).await,
    };
    output::out(
        "api",
        &format!(
            "{method} {} {} {} ms{}",
            parts
                .uri
                .path_and_query()
                .map_or(path.as_str(), |p| p.as_str()),
            resp.status,
            started.elapsed().as_millis(),
            function.map_or(String::new(), |f| format!(" ({f})"))
        ),
    );
    into_response(resp, &request_id)
}

impl Front {
    /// The response, and the function that produced it (if one did).
    async fn respond(
        &self,
        parts: &axum::http::request::Parts,
        body: &Bytes,
        peer: SocketAddr,
        request_id: &str,
    ) -> (HttpResponse, Option<String>) {
        let method = parts.method.as_str();
        if let Some(cors) = &self.cors {
            if cors::is_preflight(method, &parts.headers) {
                return (cors::preflight(cors, &parts.headers), None);
            }
        }
        let Some(matched) = self.routes.find(method, parts.uri.path()) else {
            return (self.with_cors(parts, message(404, "Not Found")), None);
        };
        let function = matched.route.function.clone();
        let Some(runtime) = self.functions.get(&function) else {
            return (message(500, "Internal Server Error"), None);
        };
        let protocol = format!("{:?}", parts.version);
        let http = HttpRequest {
            method,
            raw_path: parts.uri.path(),
            raw_query: parts.uri.query().unwrap_or(""),
            headers: &parts.headers,
            body,
            source_ip: peer.ip().to_string(),
            protocol: &protocol,
            local_port: self.port,
            time: chrono::Utc::now(),
            request_id,
        };
        let event = build_event(&http, &matched.route_key, &matched.path_parameters);
        let outcome = runtime
            .invoke(
                ids::uuid(),
                Bytes::from(event.to_string()),
                runtime.timeout(),
            )
            .await;
        let resp = match outcome {
            Outcome::Success(out) => from_lambda_output(&out).unwrap_or_else(|e| {
                output::warn(&format!("{function}: invalid API Gateway response: {e}"));
                message(500, "Internal Server Error")
            }),
            Outcome::Error { body, .. } => {
                output::warn(&format!(
                    "{function}: invocation failed: {}",
                    String::from_utf8_lossy(&body)
                ));
                message(500, "Internal Server Error")
            }
            Outcome::TimedOut { secs, .. } => {
                output::warn(&format!("{function}: timed out after {secs} s"));
                message(503, "Service Unavailable")
            }
            Outcome::NotStarted => {
                output::warn(&format!(
                    "{function}: no instance became free within its timeout"
                ));
                message(503, "Service Unavailable")
            }
        };
        (self.with_cors(parts, resp), Some(function))
    }

    fn with_cors(
        &self,
        parts: &axum::http::request::Parts,
        mut resp: HttpResponse,
    ) -> HttpResponse {
        if let Some(cors) = &self.cors {
            cors::decorate(cors, &parts.headers, &mut resp);
        }
        resp
    }
}

fn into_response(resp: HttpResponse, request_id: &str) -> Response {
    let mut out = Response::new(Body::from(resp.body));
    *out.status_mut() =
        StatusCode::from_u16(resp.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let headers = out.headers_mut();
    for (name, value) in resp.headers {
        match (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(&value),
        ) {
            (Ok(n), Ok(v)) => {
                headers.append(n, v);
            }
            _ => output::warn(&format!("dropped an invalid response header {name:?}")),
        }
    }
    if let Ok(v) = HeaderValue::from_str(request_id) {
        headers.insert("apigw-requestid", v);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime_api::{self, FunctionRuntime};
    use crate::template::{FunctionDef, Route};

    /// A front over one function whose single "instance" is this test: it
    /// takes each event from the Runtime API and posts `answer` to
    /// `/response` (or `/error`). Returns the front's base URL.
    async fn front_with(answer: &'static str, as_error: bool) -> String {
        let route = Route {
            function: "f".into(),
            method: "GET".into(),
            path: "/items/{id}".into(),
        };
        let runtime = FunctionRuntime::new(FunctionDef {
            logical_id: "F".into(),
            name: "f".into(),
            binary: "f".into(),
            memory_mb: 128,
            timeout_secs: 5,
            environment: Default::default(),
            routes: vec![route.clone()],
            schedules: Vec::new(),
            max_retry_attempts: 0,
            max_event_age_secs: 60,
        });
        let rt_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let rt_base = format!(
            "http://{}/2018-06-01/runtime/invocation",
            rt_listener.local_addr().unwrap()
        );
        let app = runtime_api::router(runtime.clone());
        tokio::spawn(async move { axum::serve(rt_listener, app).await });
        tokio::spawn(async move {
            let client = reqwest::Client::new();
            loop {
                let next = client.get(format!("{rt_base}/next")).send().await.unwrap();
                let id = next.headers()["lambda-runtime-aws-request-id"]
                    .to_str()
                    .unwrap()
                    .to_string();
                let event: serde_json::Value =
                    serde_json::from_slice(&next.bytes().await.unwrap()).unwrap();
                assert_eq!(event["pathParameters"]["id"], "7");
                assert_eq!(event["routeKey"], "GET /items/{id}");
                let kind = if as_error { "error" } else { "response" };
                client
                    .post(format!("{rt_base}/{id}/{kind}"))
                    .body(answer)
                    .send()
                    .await
                    .unwrap();
            }
        });

        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let front = Arc::new(Front {
            routes: RouteTable::new([&route]),
            functions: Arc::new(Functions::new([runtime])),
            cors: Some(CorsConfig {
                allow_origins: vec!["*".into()],
                allow_methods: vec!["GET".into()],
                ..CorsConfig::default()
            }),
            port: addr.port(),
        });
        let app = router(front).into_make_service_with_connect_info::<SocketAddr>();
        tokio::spawn(async move { axum::serve(listener, app).await });
        format!("http://{addr}")
    }

    async fn get(url: String) -> (u16, reqwest::header::HeaderMap, String) {
        let resp = reqwest::Client::new()
            .get(url)
            .header("origin", "https://x.example")
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        (status, headers, resp.text().await.unwrap())
    }

    #[tokio::test]
    async fn maps_the_function_response() {
        let base = front_with(
            r#"{"statusCode":201,"headers":{"content-type":"text/plain","access-control-allow-origin":"https://evil.example"},"body":"made"}"#,
            false,
        )
        .await;
        let (status, headers, body) = get(format!("{base}/items/7")).await;
        assert_eq!((status, body.as_str()), (201, "made"));
        assert_eq!(headers["content-type"], "text/plain");
        // API Gateway's CORS headers replace the function's.
        assert_eq!(headers["access-control-allow-origin"], "*");
        assert!(headers.contains_key("apigw-requestid"));

        let (status, _, body) = get(format!("{base}/other")).await;
        assert_eq!((status, body.as_str()), (404, r#"{"message":"Not Found"}"#));
    }

    #[tokio::test]
    async fn function_errors_and_invalid_responses_are_500() {
        let internal = r#"{"message":"Internal Server Error"}"#;
        let base = front_with(r#"{"errorType":"Boom","errorMessage":"no"}"#, true).await;
        let (status, _, body) = get(format!("{base}/items/7")).await;
        assert_eq!((status, body.as_str()), (500, internal));

        let base = front_with(r#"{"statusCode":"teapot"}"#, false).await;
        let (status, _, body) = get(format!("{base}/items/7")).await;
        assert_eq!((status, body.as_str()), (500, internal));
    }
}
