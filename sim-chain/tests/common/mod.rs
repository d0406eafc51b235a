//! Test helpers: a small HTTP client over reqwest, the recorded chain
//! responses, and JSON shape comparison.

use std::path::Path;
use std::sync::OnceLock;
use std::time::Duration;

use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use serde_json::Value;

/// Where the recorded mainnet responses live: `../shared/fixtures` next to
/// the repository checkout.
const FIXTURES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../shared/fixtures/gonka-tracker"
);

#[derive(Debug)]
pub struct HttpResponse {
    pub status: u16,
    pub body: Vec<u8>,
}

impl HttpResponse {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}): {}", self.text()))
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// The client of every request. Pooling is off, so no connection outlives
/// the request (and the test runtime that opened it).
fn client() -> &'static reqwest::Client {
    static CLIENT: OnceLock<reqwest::Client> = OnceLock::new();
    CLIENT.get_or_init(|| {
        reqwest::Client::builder()
            .no_proxy()
            .pool_max_idle_per_host(0)
            .timeout(Duration::from_secs(20))
            .build()
            .expect("HTTP client")
    })
}

pub async fn request(
    base_url: &str,
    method: reqwest::Method,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> HttpResponse {
    let mut req = client().request(method, format!("{base_url}{path}"));
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    if let Some(body) = body {
        req = req
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body.to_string());
    }
    let response = req.send().await.expect("send request");
    let status = response.status().as_u16();
    let body = response.bytes().await.expect("read body").to_vec();
    HttpResponse { status, body }
}

/// A GET of `path` exactly as written. reqwest (through the `url` crate)
/// resolves `..` segments before sending, so the traversal paths thrown at
/// the simulator go through hyper's connection API instead.
pub async fn get_raw(base_url: &str, path: &str) -> HttpResponse {
    let host = base_url.strip_prefix("http://").expect("http:// base url");
    let stream = tokio::net::TcpStream::connect(host).await.expect("connect");
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .expect("HTTP/1 handshake");
    tokio::spawn(connection);
    let req = hyper::Request::get(path)
        .header(hyper::header::HOST, host)
        .body(Empty::<Bytes>::new())
        .expect("request");
    let response = sender.send_request(req).await.expect("send request");
    let status = response.status().as_u16();
    let body = response.into_body().collect().await.expect("read body");
    HttpResponse {
        status,
        body: body.to_bytes().to_vec(),
    }
}

pub async fn get(base_url: &str, path: &str) -> HttpResponse {
    request(base_url, reqwest::Method::GET, path, &[], None).await
}

pub async fn get_with(base_url: &str, path: &str, headers: &[(&str, &str)]) -> HttpResponse {
    request(base_url, reqwest::Method::GET, path, headers, None).await
}

pub async fn post(base_url: &str, path: &str, body: &str) -> HttpResponse {
    request(base_url, reqwest::Method::POST, path, &[], Some(body)).await
}

/// Percent-encodes a query value (base64 keys contain `+`, `/`, `=`).
pub fn url_encode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// One recorded chain response. Panics when the shared fixtures are not
/// checked out: the shape comparisons are part of the suite, not optional.
pub fn fixture(name: &str) -> Value {
    let dir = Path::new(FIXTURES);
    assert!(
        dir.is_dir(),
        "shared fixtures not found: expected the recorded chain responses in {} \
         (the `shared` checkout next to this repository)",
        dir.display()
    );
    let path = dir.join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_i64() || n.is_u64() => "int",
        Value::Number(_) => "float",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Hand-written: JSON diff crates (e.g. assert-json-diff) compare values, not
/// key sets and types, which is what a generated-vs-recorded check needs.
///
/// Asserts `ours` has the same shape as `fixture`: the same keys in every
/// object (all of them if `exact`, a subset otherwise), the same JSON type
/// for every value, and integer-looking strings where the fixture has them.
/// Every element of our arrays is checked against the fixture's first one.
pub fn assert_same_shape(ours: &Value, fixture: &Value, path: &str, exact: bool) {
    match (ours, fixture) {
        (Value::Object(o), Value::Object(f)) => {
            let ok: std::collections::BTreeSet<_> = o.keys().collect();
            let fk: std::collections::BTreeSet<_> = f.keys().collect();
            if exact {
                assert_eq!(ok, fk, "key sets differ at {path}");
            } else {
                assert!(
                    ok.is_subset(&fk),
                    "unexpected keys at {path}: {:?}",
                    ok.difference(&fk)
                );
            }
            for (k, v) in o {
                assert_same_shape(v, &f[k.as_str()], &format!("{path}.{k}"), exact);
            }
        }
        (Value::Array(o), Value::Array(f)) => {
            if let Some(first) = f.first() {
                for (i, v) in o.iter().enumerate() {
                    assert_same_shape(v, first, &format!("{path}[{i}]"), exact);
                }
            }
        }
        (Value::String(o), Value::String(f)) => {
            if f.parse::<u64>().is_ok() {
                assert!(
                    o.parse::<u64>().is_ok(),
                    "{path}: {o:?} should be an integer string like {f:?}"
                );
            }
        }
        // The chain sends a null `poc_weight` at times (contract part 2,
        // 7.5); the recording happens to have none.
        (Value::Null, Value::Number(_)) if path.ends_with(".poc_weight") => {}
        _ => assert_eq!(
            kind(ours),
            kind(fixture),
            "type differs at {path}: {ours} vs {fixture}"
        ),
    }
}
