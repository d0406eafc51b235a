//! The size of a response as Lambda returns it: the API Gateway (HTTP API)
//! response document that `lambda_http` serialises, with the body as a
//! JSON string (quotes, backslashes and control characters escaped) or, for
//! a binary body, base64. Lambda refuses a synchronous payload above 6 MB
//! (`Function.ResponseSizeTooLarge`), so that document, not the body, is
//! what must fit.

use lambda_http::aws_lambda_events::apigw::ApiGatewayV2httpResponse;
use lambda_http::{Body, Response};

/// Lambda's limit on a synchronous response payload: 6 MB (6,291,456 bytes).
pub const MAX_LAMBDA_PAYLOAD_BYTES: usize = 6 * 1024 * 1024;

/// The bytes of `body` as a JSON string (with its quotes), as serde_json
/// writes it, counted without building it.
fn json_string_len(text: &str) -> usize {
    2 + text
        .bytes()
        .map(|b| match b {
            b'"' | b'\\' | b'\n' | b'\r' | b'\t' | 0x08 | 0x0c => 2,
            0x00..=0x1f => 6,
            _ => 1,
        })
        .sum::<usize>()
}

/// The length of `response`'s Lambda payload: the envelope serialised with
/// an empty body, plus the body as it would be written in it.
pub fn lambda_payload_len(response: &Response<Body>) -> usize {
    let (body_len, base64) = match response.body() {
        Body::Empty => (0, false),
        Body::Text(text) => (json_string_len(text), false),
        Body::Binary(bytes) => (
            2 + base64::encoded_len(bytes.len(), true).unwrap_or(usize::MAX),
            true,
        ),
        _ => (0, false),
    };
    let mut envelope = ApiGatewayV2httpResponse::default();
    envelope.status_code = i64::from(response.status().as_u16());
    envelope.headers = response.headers().clone();
    envelope.is_base64_encoded = base64;
    if body_len > 0 {
        envelope.body = Some(Body::Text(String::new()));
    }
    let rest = serde_json::to_vec(&envelope).map_or(0, |v| v.len());
    // The empty body was written as `""`, counted in `body_len` already.
    rest + body_len - if body_len > 0 { 2 } else { 0 }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lambda_http::http::header;

    fn response(body: Body) -> Response<Body> {
        Response::builder()
            .status(200)
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::CACHE_CONTROL, "public, max-age=60")
            .body(body)
            .unwrap()
    }

    fn serialised_len(r: &Response<Body>) -> usize {
        let mut envelope = ApiGatewayV2httpResponse::default();
        envelope.status_code = i64::from(r.status().as_u16());
        envelope.headers = r.headers().clone();
        envelope.is_base64_encoded = matches!(r.body(), Body::Binary(_));
        envelope.body = match r.body() {
            Body::Empty => None,
            b => Some(b.clone()),
        };
        serde_json::to_vec(&envelope).unwrap().len()
    }

    #[test]
    fn the_count_is_the_serialised_document_length() {
        let bodies = [
            Body::Empty,
            Body::Text("[]".into()),
            Body::Text(r#"{"a":"b \"q\" \\ </script>"}"#.into()),
            Body::Text("line\nbreak\ttab\u{1}ctl\u{7f} é ✓".into()),
            Body::Binary(vec![0, 1, 2, 3, 255]),
            Body::Binary(vec![7; 1000]),
        ];
        for body in bodies {
            let r = response(body);
            assert_eq!(lambda_payload_len(&r), serialised_len(&r), "{:?}", r.body());
        }
    }

    #[test]
    fn quotes_make_a_text_body_larger_than_its_bytes() {
        let text = "\"".repeat(1000);
        let r = response(Body::Text(text));
        assert!(lambda_payload_len(&r) > 2000);
    }
}
