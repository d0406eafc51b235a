//! A function's payload v2.0 response as the HTTP response API Gateway
//! sends: `statusCode`, `headers`, `multiValueHeaders`, `cookies`, and the
//! body, base64-decoded when `isBase64Encoded` (so a gzip body arrives as
//! gzip bytes with its `content-encoding`).
//!
//! As in API Gateway's format inference, valid JSON without a `statusCode`
//! is a 200 `application/json` body; anything unusable is an error (the
//! caller answers 500).
//!
//! (Read from JSON here, not through `aws_lambda_events`, whose response
//! type requires a `statusCode` where API Gateway infers a 200.)

use base64::Engine;
use serde_json::Value;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpResponse {
    pub status: u16,
    /// Lower-case names; a name may repeat.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// API Gateway's JSON error shape: `{"message":"Not Found"}`.
pub fn message(status: u16, message: &str) -> HttpResponse {
    HttpResponse {
        status,
        headers: vec![("content-type".into(), "application/json".into())],
        body: serde_json::json!({ "message": message })
            .to_string()
            .into_bytes(),
    }
}

/// Headers the HTTP layer computes itself.
const HOP_BY_HOP: [&str; 5] = [
    "content-length",
    "transfer-encoding",
    "connection",
    "keep-alive",
    "upgrade",
];

fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Converts the function's output; `Err` says why it is not a valid response.
pub fn from_lambda_output(output: &[u8]) -> Result<HttpResponse, String> {
    let value: Value =
        serde_json::from_slice(output).map_err(|e| format!("the output is not JSON: {e}"))?;
    let Some(obj) = value.as_object().filter(|o| o.contains_key("statusCode")) else {
        return Ok(HttpResponse {
            status: 200,
            headers: vec![("content-type".into(), "application/json".into())],
            body: output.to_vec(),
        });
    };
    let status = obj
        .get("statusCode")
        .and_then(Value::as_u64)
        .filter(|s| (100..=599).contains(s))
        .ok_or("statusCode is not an HTTP status")? as u16;

    let mut headers: Vec<(String, String)> = Vec::new();
    let mut push = |name: &str, value: String| {
        let name = name.to_ascii_lowercase();
        if !HOP_BY_HOP.contains(&name.as_str()) && !headers.contains(&(name.clone(), value.clone()))
        {
            headers.push((name, value));
        }
    };
    match obj.get("headers") {
        None | Some(Value::Null) => {}
        Some(Value::Object(map)) => {
            for (name, v) in map {
                let v = scalar(v).ok_or_else(|| format!("header {name} is not a string"))?;
                push(name, v);
            }
        }
        Some(_) => return Err("headers is not an object".into()),
    }
    match obj.get("multiValueHeaders") {
        None | Some(Value::Null) => {}
        Some(Value::Object(map)) => {
            for (name, values) in map {
                let values = values
                    .as_array()
                    .ok_or_else(|| format!("multiValueHeaders.{name} is not a list"))?;
                for v in values {
                    let v = scalar(v)
                        .ok_or_else(|| format!("multiValueHeaders.{name} holds a non-string"))?;
                    push(name, v);
                }
            }
        }
        Some(_) => return Err("multiValueHeaders is not an object".into()),
    }
    match obj.get("cookies") {
        None | Some(Value::Null) => {}
        Some(Value::Array(cookies)) => {
            for c in cookies {
                let c = c.as_str().ok_or("cookies holds a non-string")?;
                push("set-cookie", c.to_string());
            }
        }
        Some(_) => return Err("cookies is not a list".into()),
    }
    let base64 = match obj.get("isBase64Encoded") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err("isBase64Encoded is not a boolean".into()),
    };
    let body = match obj.get("body") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::String(s)) if base64 => base64::engine::general_purpose::STANDARD
            .decode(s)
            .map_err(|e| format!("body is not valid base64: {e}"))?,
        Some(Value::String(s)) => s.clone().into_bytes(),
        Some(_) => return Err("body is not a string".into()),
    };
    Ok(HttpResponse {
        status,
        headers,
        body,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use lambda_http::http::header;
    use lambda_http::{Body, Response};

    /// Serializes a response exactly as lambda_http does for an API
    /// Gateway v2 request (run through the real runtime adapter).
    fn lambda_http_output(resp: Response<Body>) -> Vec<u8> {
        let event = serde_json::json!({
            "version": "2.0",
            "routeKey": "GET /x",
            "rawPath": "/x",
            "rawQueryString": "",
            "headers": {"host": "localhost"},
            "requestContext": {
                "accountId": "123456789012", "apiId": "local", "domainName": "localhost",
                "domainPrefix": "localhost",
                "http": {"method": "GET", "path": "/x", "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1", "userAgent": ""},
                "requestId": "id", "routeKey": "GET /x", "stage": "$default",
                "time": "24/Nov/2026:02:10:00 +0000", "timeEpoch": 0
            },
            "isBase64Encoded": false
        });
        let req: lambda_http::request::LambdaRequest =
            serde_json::from_value(event).expect("a v2 request");
        let mut resp = Some(resp);
        let mut adapter = lambda_http::Adapter::from(lambda_http::service_fn(
            move |_req: lambda_http::Request| {
                let r = resp.take().expect("called once");
                async move { Ok::<_, lambda_http::Error>(r) }
            },
        ));
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let out = rt
            .block_on(lambda_http::Service::call(
                &mut adapter,
                lambda_http::LambdaEvent::new(req, lambda_http::Context::default()),
            ))
            .unwrap();
        serde_json::to_vec(&out).unwrap()
    }

    #[test]
    fn binary_gzip_body_from_lambda_http() {
        let gz = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255];
        let resp = Response::builder()
            .status(200)
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::CONTENT_ENCODING, "gzip")
            .header(header::SET_COOKIE, "a=1")
            .body(Body::Binary(gz.clone()))
            .unwrap();
        let out = from_lambda_output(&lambda_http_output(resp)).unwrap();
        assert_eq!(out.status, 200);
        assert_eq!(out.header("content-encoding"), Some("gzip"));
        assert_eq!(out.header("content-type"), Some("application/json"));
        assert_eq!(out.header("set-cookie"), Some("a=1"));
        assert_eq!(out.body, gz);
    }

    #[test]
    fn text_and_empty_bodies_from_lambda_http() {
        let resp = Response::builder()
            .status(400)
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::Text(r#"{"detail":"bad"}"#.into()))
            .unwrap();
        let out = from_lambda_output(&lambda_http_output(resp)).unwrap();
        assert_eq!(
            (out.status, out.body.as_slice()),
            (400, &br#"{"detail":"bad"}"#[..])
        );
        let resp = Response::builder().status(304).body(Body::Empty).unwrap();
        let out = from_lambda_output(&lambda_http_output(resp)).unwrap();
        assert_eq!((out.status, out.body.len()), (304, 0));
    }

    #[test]
    fn hand_written_responses() {
        let out = from_lambda_output(
            br#"{"statusCode":201,"headers":{"X-A":"1","content-length":"99"},
                "multiValueHeaders":{"x-b":["1","2"]},"cookies":["c=1","d=2"],"body":"hi"}"#,
        )
        .unwrap();
        assert_eq!(out.status, 201);
        assert_eq!(
            out.headers,
            [
                ("x-a".to_string(), "1".to_string()),
                ("x-b".to_string(), "1".to_string()),
                ("x-b".to_string(), "2".to_string()),
                ("set-cookie".to_string(), "c=1".to_string()),
                ("set-cookie".to_string(), "d=2".to_string()),
            ]
        );
        assert_eq!(out.body, b"hi");

        // Format inference: JSON without statusCode is a 200 JSON body.
        let out = from_lambda_output(br#"{"epoch_id":1}"#).unwrap();
        assert_eq!(
            (out.status, out.body.as_slice()),
            (200, &br#"{"epoch_id":1}"#[..])
        );

        for bad in [
            &b"not json"[..],
            br#"{"statusCode":"200"}"#,
            br#"{"statusCode":99}"#,
            br#"{"statusCode":200,"body":"!!","isBase64Encoded":true}"#,
            br#"{"statusCode":200,"headers":{"a":["x"]}}"#,
            br#"{"statusCode":200,"body":{"a":1}}"#,
        ] {
            assert!(
                from_lambda_output(bad).is_err(),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }
}
