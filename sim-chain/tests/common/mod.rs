//! Test helpers: a minimal HTTP/1.1 client (so sim-chain needs no HTTP
//! client dependency) and JSON shape comparison.
//!
//! The client uses blocking `std::net` on tokio's blocking pool: tokio's
//! `io-util` feature is not enabled in this workspace, and concurrent
//! requests still overlap.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use serde_json::Value;

#[derive(Debug)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
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

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// One request on a fresh connection (`Connection: close`).
pub async fn request(
    base_url: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> HttpResponse {
    let host = base_url
        .strip_prefix("http://")
        .expect("http:// base url")
        .to_string();
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    if let Some(body) = body {
        req.push_str(&format!(
            "Content-Type: application/json\r\nContent-Length: {}\r\n",
            body.len()
        ));
    }
    req.push_str("\r\n");
    if let Some(body) = body {
        req.push_str(body);
    }
    tokio::task::spawn_blocking(move || {
        let mut stream = TcpStream::connect(&host).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(20)))
            .expect("timeout");
        stream.write_all(req.as_bytes()).expect("write");
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).expect("read");
        parse_response(&raw)
    })
    .await
    .expect("request task")
}

pub async fn get(base_url: &str, path: &str) -> HttpResponse {
    request(base_url, "GET", path, &[], None).await
}

pub async fn get_with(base_url: &str, path: &str, headers: &[(&str, &str)]) -> HttpResponse {
    request(base_url, "GET", path, headers, None).await
}

pub async fn post(base_url: &str, path: &str, body: &str) -> HttpResponse {
    request(base_url, "POST", path, &[], Some(body)).await
}

fn parse_response(raw: &[u8]) -> HttpResponse {
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("end of headers");
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.split("\r\n");
    let status_line = lines.next().expect("status line");
    let status = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("status code");
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let rest = &raw[split + 4..];
    let chunked = headers
        .iter()
        .any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"));
    let body = if chunked {
        dechunk(rest)
    } else {
        let len = headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
            .and_then(|(_, v)| v.parse::<usize>().ok())
            .unwrap_or(rest.len());
        rest[..len.min(rest.len())].to_vec()
    };
    HttpResponse {
        status,
        headers,
        body,
    }
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let Some(eol) = data.windows(2).position(|w| w == b"\r\n") else {
            return out;
        };
        let size_str = String::from_utf8_lossy(&data[..eol]);
        let size = usize::from_str_radix(size_str.split(';').next().unwrap_or("0").trim(), 16)
            .unwrap_or(0);
        if size == 0 {
            return out;
        }
        let start = eol + 2;
        out.extend_from_slice(&data[start..start + size]);
        data = &data[start + size + 2..];
    }
}

/// Percent-encodes a query value (base64 keys contain `+`, `/`, `=`).
pub fn url_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The recorded chain responses, when the shared fixtures are present.
pub fn fixture(name: &str) -> Option<Value> {
    let dir = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/fixtures/gonka-tracker"
    );
    let path = std::path::Path::new(dir).join(name);
    if !std::path::Path::new(dir).is_dir() {
        eprintln!("fixtures not found at {dir}: skipping the comparison");
        return None;
    }
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    Some(serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
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
        _ => assert_eq!(
            kind(ours),
            kind(fixture),
            "type differs at {path}: {ours} vs {fixture}"
        ),
    }
}
