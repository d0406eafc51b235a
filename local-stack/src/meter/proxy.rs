//! Forwarding: each request to DynamoDB Local as it came (method, path,
//! headers but `Host`, body), its answer back as it came, and both counted
//! ([`super::table::count`]) once the answer is in.

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderName, StatusCode};
use axum::response::{IntoResponse, Response};

use super::{table, Meter};

/// DynamoDB's largest request (a BatchWriteItem of 25 items of 400 KB is
/// 10 MB) with room to spare.
pub const MAX_BODY_BYTES: usize = 32 * 1024 * 1024;

/// Headers that belong to one hop, not to the request or answer.
fn hop_by_hop(name: &HeaderName) -> bool {
    matches!(
        name.as_str(),
        "host" | "connection" | "transfer-encoding" | "content-length" | "keep-alive"
    )
}

pub async fn forward(State(meter): State<Arc<Meter>>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let request = match axum::body::to_bytes(body, MAX_BODY_BYTES).await {
        Ok(b) => b,
        Err(e) => return (StatusCode::PAYLOAD_TOO_LARGE, e.to_string()).into_response(),
    };
    let operation = table::operation(
        parts
            .headers
            .get("x-amz-target")
            .and_then(|v| v.to_str().ok()),
    );
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let mut upstream = meter
        .client
        .request(parts.method.clone(), format!("{}{path}", meter.upstream))
        .body(request.clone());
    for (name, value) in &parts.headers {
        if !hop_by_hop(name) {
            upstream = upstream.header(name, value);
        }
    }
    let answer = match upstream.send().await {
        Ok(a) => a,
        Err(e) => {
            return (
                StatusCode::BAD_GATEWAY,
                format!("the meter could not reach DynamoDB Local: {e}"),
            )
                .into_response()
        }
    };
    let status = answer.status();
    let headers = answer.headers().clone();
    let body: Bytes = match answer.bytes().await {
        Ok(b) => b,
        Err(e) => return (StatusCode::BAD_GATEWAY, e.to_string()).into_response(),
    };
    let counts = table::count(&operation, &request, status.as_u16(), &body);
    meter.table.record(&operation, &counts);
    let mut out = Response::new(Body::from(body));
    *out.status_mut() = status;
    for (name, value) in &headers {
        if !hop_by_hop(name) {
            out.headers_mut().append(name, value.clone());
        }
    }
    out
}
