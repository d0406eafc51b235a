//! Content negotiation: 304 on a matching ETag, gzip when accepted, CORS.
//! Hand-written on purpose: tower-http's compression and CORS layers wrap
//! a tower service with streaming bodies, while a Lambda answer is one
//! buffered body and ours are often already gzipped (kept rendered).

use std::io::{Read, Write};

use flate2::write::GzEncoder;
use flate2::Compression;
use lambda_http::http::{header, HeaderMap, StatusCode};
use lambda_http::{Body, Response};

use super::lambda_size::{lambda_payload_len, MAX_LAMBDA_PAYLOAD_BYTES};
use super::reply::{Payload, Reply};
use crate::service::ApiError;

/// Smaller bodies are not worth compressing.
const GZIP_MIN_BYTES: usize = 1024;

/// A plain answer too large for Lambda: the client must take gzip.
fn too_large(plain_len: usize) -> ApiError {
    ApiError::NotAcceptable(format!(
        "The answer is {:.1} MB of JSON, more than a Lambda response can carry; \
         send Accept-Encoding: gzip",
        plain_len as f64 / 1e6
    ))
}

/// The uncompressed size a gzip stream declares (its trailer's ISIZE,
/// modulo 2^32: exact below 4 GiB), without inflating it.
fn gzip_declared_len(gz: &[u8]) -> usize {
    gz.len()
        .checked_sub(4)
        .and_then(|at| gz.get(at..))
        .and_then(|tail| <[u8; 4]>::try_from(tail).ok())
        .map_or(0, |b| u32::from_le_bytes(b) as usize)
}

fn accepts_gzip(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|enc| {
            let mut parts = enc.split(';').map(str::trim);
            let name = parts.next().unwrap_or("");
            let refused =
                parts.any(|p| p.replace(' ', "") == "q=0" || p.replace(' ', "") == "q=0.0");
            (name.eq_ignore_ascii_case("gzip") || name == "*") && !refused
        })
}

fn etag_matches(headers: &HeaderMap, etag: &str) -> bool {
    let weak = |t: &str| t.trim().trim_start_matches("W/").to_owned();
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|t| t.trim() == "*" || weak(t) == weak(etag))
}

/// CORS: `*` allows any origin; otherwise a listed origin is echoed back.
pub fn cors_origin(req_headers: &HeaderMap, allowed: &[String]) -> Option<String> {
    if allowed.iter().any(|o| o == "*") {
        return Some("*".into());
    }
    let origin = req_headers.get(header::ORIGIN)?.to_str().ok()?;
    allowed
        .iter()
        .any(|o| o == origin)
        .then(|| origin.to_owned())
}

/// Turns a reply into the HTTP response: 304 on a matching ETag, gzip when
/// accepted, CORS headers.
pub fn respond(req_headers: &HeaderMap, cors: &[String], reply: Reply) -> Response<Body> {
    let mut builder = Response::builder()
        .header(header::CONTENT_TYPE, reply.media.content_type())
        .header(header::CACHE_CONTROL, &reply.cache_control)
        .header(header::VARY, "Accept-Encoding, Origin");
    if let Some(disposition) = reply.media.disposition() {
        builder = builder.header(header::CONTENT_DISPOSITION, disposition);
    }
    if let Some(secs) = reply.retry_after_secs {
        builder = builder.header(header::RETRY_AFTER, secs);
    }
    if let Some(origin) = cors_origin(req_headers, cors) {
        builder = builder
            .header(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin)
            .header(
                header::ACCESS_CONTROL_EXPOSE_HEADERS,
                "ETag, Retry-After, Content-Disposition",
            );
    }
    if let Some(etag) = &reply.etag {
        builder = builder.header(header::ETAG, etag);
        if reply.status == 200 && etag_matches(req_headers, etag) {
            return builder
                .status(StatusCode::NOT_MODIFIED)
                .body(Body::Empty)
                .unwrap_or_default();
        }
    }
    let status = StatusCode::from_u16(reply.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let gzip_ok = accepts_gzip(req_headers);
    let (body, gzipped) = match reply.body {
        Payload::Gzipped(gz) if gzip_ok => (gz.to_vec(), true),
        // Its JSON alone is past the limit: refused without inflating it.
        Payload::Gzipped(gz) if gzip_declared_len(&gz) > MAX_LAMBDA_PAYLOAD_BYTES => {
            let e = too_large(gzip_declared_len(&gz));
            return respond(req_headers, cors, Reply::error(&e));
        }
        Payload::Gzipped(gz) => match gunzip(&gz) {
            Ok(plain) => (plain, false),
            Err(e) => return respond(req_headers, cors, Reply::error(&e)),
        },
        Payload::Plain(plain) if gzip_ok && plain.len() >= GZIP_MIN_BYTES => match gzip(&plain) {
            Ok(gz) => (gz, true),
            Err(_) => (plain, false),
        },
        Payload::Plain(plain) => (plain, false),
    };
    let plain_len = body.len();
    let body = if gzipped {
        builder = builder.header(header::CONTENT_ENCODING, "gzip");
        Body::Binary(body)
    } else {
        // JSON is text: sent as is, not base64-inflated by a 4/3.
        match String::from_utf8(body) {
            Ok(text) => Body::Text(text),
            Err(e) => Body::Binary(e.into_bytes()),
        }
    };
    let response = builder.status(status).body(body).unwrap_or_default();
    // What Lambda returns is the serialised document around the body (its
    // escaping, or base64), so that is what is measured.
    if lambda_payload_len(&response) > MAX_LAMBDA_PAYLOAD_BYTES {
        let e = if gzipped {
            ApiError::Internal(format!("a gzipped answer of {plain_len} bytes"))
        } else {
            too_large(plain_len)
        };
        return respond(req_headers, cors, Reply::error(&e));
    }
    response
}

fn gzip(plain: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut enc = GzEncoder::new(Vec::with_capacity(plain.len() / 5), Compression::fast());
    enc.write_all(plain)?;
    enc.finish()
}

fn gunzip(gz: &[u8]) -> Result<Vec<u8>, ApiError> {
    let mut plain = Vec::with_capacity(gz.len() * 5);
    flate2::read::GzDecoder::new(gz)
        .read_to_end(&mut plain)
        .map_err(|e| ApiError::Internal(format!("inflating a kept answer: {e}")))?;
    Ok(plain)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_answer_larger_than_lambda_can_carry_is_refused_unless_gzipped() {
        let big = format!("[{}1]", "1,".repeat(MAX_LAMBDA_PAYLOAD_BYTES / 2));
        let reply = |body| Reply {
            media: crate::http::Media::Json,
            status: 200,
            body,
            cache_control: "no-store".into(),
            etag: None,
            retry_after_secs: None,
        };
        let plain = respond(
            &headers(&[]),
            &[],
            reply(Payload::Plain(big.clone().into_bytes())),
        );
        assert_eq!(plain.status(), 406);
        let Body::Text(detail) = plain.body() else {
            panic!("a JSON error")
        };
        assert!(detail.contains("send Accept-Encoding: gzip"), "{detail}");
        let gz = std::sync::Arc::new(gzip(big.as_bytes()).unwrap());
        assert_eq!(gzip_declared_len(&gz), big.len());
        let kept = respond(&headers(&[]), &[], reply(Payload::Gzipped(gz.clone())));
        assert_eq!(
            kept.status(),
            406,
            "a kept gzipped answer is not inflated to be refused"
        );
        let accepted = respond(
            &headers(&[("accept-encoding", "gzip")]),
            &[],
            reply(Payload::Gzipped(gz)),
        );
        assert_eq!(accepted.status(), 200);
        let small = respond(&headers(&[]), &[], reply(Payload::Plain(b"[1]".to_vec())));
        assert!(matches!(small.body(), Body::Text(t) if t == "[1]"));
    }
    #[test]
    fn the_limit_is_on_the_bytes_lambda_returns_not_on_the_body() {
        let reply = |body: Vec<u8>| Reply {
            media: crate::http::Media::Json,
            status: 200,
            body: Payload::Plain(body),
            cache_control: "no-store".into(),
            etag: None,
            retry_after_secs: None,
        };
        let empty = respond(&headers(&[]), &[], reply(Vec::new()));
        let floor = lambda_payload_len(&empty);
        // Each quote is written `\"` in the payload: two bytes.
        let fits = (MAX_LAMBDA_PAYLOAD_BYTES - floor) / 2;
        let at_limit = respond(&headers(&[]), &[], reply(vec![b'"'; fits]));
        assert_eq!(at_limit.status(), 200);
        assert!(lambda_payload_len(&at_limit) <= MAX_LAMBDA_PAYLOAD_BYTES);
        assert!(lambda_payload_len(&at_limit) + 2 > MAX_LAMBDA_PAYLOAD_BYTES);
        // Half the limit in body bytes, past it once escaped.
        let over = respond(&headers(&[]), &[], reply(vec![b'"'; fits + 1]));
        assert!(fits + 1 < MAX_LAMBDA_PAYLOAD_BYTES / 2 + 1);
        assert_eq!(over.status(), 406);
        let Body::Text(detail) = over.body() else {
            panic!("a JSON error")
        };
        assert!(detail.contains("send Accept-Encoding: gzip"), "{detail}");
    }

    use lambda_http::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        pairs
            .iter()
            .map(|(k, v)| {
                (
                    lambda_http::http::HeaderName::from_static(k),
                    HeaderValue::from_static(v),
                )
            })
            .collect()
    }

    #[test]
    fn negotiation() {
        let cases = [
            (headers(&[("accept-encoding", "gzip, deflate, br")]), true),
            (
                headers(&[("accept-encoding", "br;q=1.0, gzip;q=0.8")]),
                true,
            ),
            (headers(&[("accept-encoding", "gzip;q=0")]), false),
            (headers(&[("accept-encoding", "identity")]), false),
            (headers(&[]), false),
        ];
        for (h, want) in cases {
            assert_eq!(accepts_gzip(&h), want, "{h:?}");
        }
        assert!(etag_matches(
            &headers(&[("if-none-match", "W/\"a\", W/\"b\"")]),
            "W/\"b\""
        ));
        assert!(etag_matches(
            &headers(&[("if-none-match", "\"b\"")]),
            "W/\"b\""
        ));
        assert!(!etag_matches(
            &headers(&[("if-none-match", "W/\"c\"")]),
            "W/\"b\""
        ));
        let allowed = vec!["https://tracker.example".to_string()];
        assert_eq!(
            cors_origin(&headers(&[("origin", "https://tracker.example")]), &allowed).as_deref(),
            Some("https://tracker.example")
        );
        assert_eq!(
            cors_origin(&headers(&[("origin", "https://evil.example")]), &allowed),
            None
        );
        assert_eq!(
            cors_origin(&headers(&[]), &["*".to_string()]).as_deref(),
            Some("*")
        );
    }
}
