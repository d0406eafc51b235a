//! An HTTP request as the API Gateway HTTP API payload v2.0 event its
//! function receives.
//!
//! Field by field as AWS builds it: lower-case header names with repeated
//! values joined by commas, the `cookie` header moved to `cookies`,
//! `x-forwarded-*` added, decoded `queryStringParameters` (repeated values
//! joined by commas, omitted when there are none), `pathParameters`, the
//! `requestContext`, and the body as text or base64.
//!
//! (Written as JSON here, not through `aws_lambda_events`: that crate models
//! what a function reads, and the tests check this output with it, through
//! `lambda_http`.)

use std::collections::BTreeMap;
use std::str::FromStr;

use axum::http::uri::Authority;
use axum::http::HeaderMap;
use base64::Engine;
use chrono::{DateTime, Utc};
use serde_json::{json, Map, Value};

use crate::template::ACCOUNT_ID;

/// The API id in every event (and the first label of its domain name).
pub const API_ID: &str = "local";

/// What the front knows about one request.
#[derive(Debug, Clone)]
pub struct HttpRequest<'a> {
    pub method: &'a str,
    pub raw_path: &'a str,
    /// Without the `?`; empty when there is none.
    pub raw_query: &'a str,
    pub headers: &'a HeaderMap,
    pub body: &'a [u8],
    pub source_ip: String,
    /// `HTTP/1.1`
    pub protocol: &'a str,
    /// The front's port (`x-forwarded-port`, the default `host`).
    pub local_port: u16,
    pub time: DateTime<Utc>,
    pub request_id: &'a str,
}

/// Content types API Gateway passes as text; other bodies are base64.
fn is_text(content_type: Option<&str>) -> bool {
    let Some(ct) = content_type else {
        return false;
    };
    let mime = ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    mime.starts_with("text/")
        || mime.ends_with("/json")
        || mime.ends_with("+json")
        || mime.ends_with("/xml")
        || mime.ends_with("+xml")
        || mime == "application/javascript"
        || mime == "application/x-www-form-urlencoded"
}

/// The event for `req` matched to `route_key` with `path_parameters`.
pub fn build_event(
    req: &HttpRequest<'_>,
    route_key: &str,
    path_parameters: &[(String, String)],
) -> Value {
    let text = |v: &axum::http::HeaderValue| String::from_utf8_lossy(v.as_bytes()).into_owned();

    let mut headers: BTreeMap<String, String> = BTreeMap::new();
    let mut cookies: Vec<String> = Vec::new();
    for name in req.headers.keys() {
        let values = req.headers.get_all(name).iter().map(text);
        if name.as_str() == "cookie" {
            cookies.extend(
                values
                    .flat_map(|v| {
                        v.split(';')
                            .map(|c| c.trim().to_string())
                            .collect::<Vec<_>>()
                    })
                    .filter(|c| !c.is_empty()),
            );
        } else {
            headers.insert(
                name.as_str().to_string(),
                values.collect::<Vec<_>>().join(","),
            );
        }
    }
    // The function builds its URL from `host`; only a valid authority is
    // passed on (API Gateway's own is always valid).
    let host = headers
        .get("host")
        .filter(|h| Authority::from_str(h).is_ok())
        .cloned()
        .unwrap_or_else(|| format!("127.0.0.1:{}", req.local_port));
    let domain_name = Authority::from_str(&host)
        .map(|a| a.host().to_string())
        .unwrap_or_else(|_| "127.0.0.1".to_string());
    headers.insert("host".into(), host);
    let forwarded_for = match headers.get("x-forwarded-for") {
        Some(prior) => format!("{prior}, {}", req.source_ip),
        None => req.source_ip.clone(),
    };
    headers.insert("x-forwarded-for".into(), forwarded_for);
    headers.insert("x-forwarded-port".into(), req.local_port.to_string());
    headers.insert("x-forwarded-proto".into(), "http".into());

    let user_agent = headers.get("user-agent").cloned().unwrap_or_default();
    let domain_prefix = domain_name
        .split('.')
        .next()
        .unwrap_or(&domain_name)
        .to_string();
    let time = req.time;

    let mut event = Map::new();
    event.insert("version".into(), json!("2.0"));
    event.insert("routeKey".into(), json!(route_key));
    event.insert("rawPath".into(), json!(req.raw_path));
    event.insert("rawQueryString".into(), json!(req.raw_query));
    if !cookies.is_empty() {
        event.insert("cookies".into(), json!(cookies));
    }
    event.insert("headers".into(), json!(headers));

    let mut query: Vec<(String, Vec<String>)> = Vec::new();
    for (k, v) in form_urlencoded::parse(req.raw_query.as_bytes()) {
        match query.iter_mut().find(|(name, _)| *name == k) {
            Some((_, values)) => values.push(v.into_owned()),
            None => query.push((k.into_owned(), vec![v.into_owned()])),
        }
    }
    if !query.is_empty() {
        let map: Map<String, Value> = query
            .into_iter()
            .map(|(k, v)| (k, Value::String(v.join(","))))
            .collect();
        event.insert("queryStringParameters".into(), Value::Object(map));
    }
    if !path_parameters.is_empty() {
        let map: Map<String, Value> = path_parameters
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect();
        event.insert("pathParameters".into(), Value::Object(map));
    }

    event.insert(
        "requestContext".into(),
        json!({
            "accountId": ACCOUNT_ID,
            "apiId": API_ID,
            "domainName": domain_name,
            "domainPrefix": domain_prefix,
            "http": {
                "method": req.method,
                "path": req.raw_path,
                "protocol": req.protocol,
                "sourceIp": req.source_ip,
                "userAgent": user_agent,
            },
            "requestId": req.request_id,
            "routeKey": route_key,
            "stage": "$default",
            "time": time.format("%d/%b/%Y:%H:%M:%S %z").to_string(),
            "timeEpoch": time.timestamp_millis(),
        }),
    );

    if !req.body.is_empty() {
        let content_type = headers.get("content-type").map(String::as_str);
        match std::str::from_utf8(req.body) {
            Ok(s) if is_text(content_type) => {
                event.insert("body".into(), json!(s));
                event.insert("isBase64Encoded".into(), json!(false));
            }
            _ => {
                let encoded = base64::engine::general_purpose::STANDARD.encode(req.body);
                event.insert("body".into(), json!(encoded));
                event.insert("isBase64Encoded".into(), json!(true));
            }
        }
    } else {
        event.insert("isBase64Encoded".into(), json!(false));
    }
    Value::Object(event)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;
    use lambda_http::{Body, RequestExt};

    fn request<'a>(
        method: &'a str,
        path: &'a str,
        query: &'a str,
        headers: &'a HeaderMap,
        body: &'a [u8],
    ) -> HttpRequest<'a> {
        HttpRequest {
            method,
            raw_path: path,
            raw_query: query,
            headers,
            body,
            source_ip: "127.0.0.1".into(),
            protocol: "HTTP/1.1",
            local_port: 3000,
            time: DateTime::from_timestamp_millis(1_795_486_200_000).unwrap(),
            request_id: "KtsP2gVwoAMEPlw=",
        }
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    /// What the function sees: lambda_http's own parsing of the event.
    fn parse(event: &Value) -> lambda_http::Request {
        lambda_http::request::from_str(&event.to_string()).expect("lambda_http accepts the event")
    }

    #[test]
    fn epoch_event_as_lambda_http_reads_it() {
        let h = headers(&[
            ("host", "127.0.0.1:3000"),
            ("accept-encoding", "gzip"),
            ("accept-encoding", "br"),
            ("user-agent", "curl/8"),
            ("x-forwarded-for", "203.0.113.10"),
        ]);
        let req = request("GET", "/v1/inference/epochs/59", "height=100", &h, b"");
        let params = [("epoch_id".to_string(), "59".to_string())];
        let event = build_event(&req, "GET /v1/inference/epochs/{epoch_id}", &params);

        assert_eq!(event["version"], "2.0");
        assert_eq!(event["routeKey"], "GET /v1/inference/epochs/{epoch_id}");
        assert_eq!(event["headers"]["accept-encoding"], "gzip,br");
        assert_eq!(
            event["headers"]["x-forwarded-for"],
            "203.0.113.10, 127.0.0.1"
        );
        assert_eq!(event["headers"]["x-forwarded-proto"], "http");
        let ctx = &event["requestContext"];
        assert_eq!(ctx["stage"], "$default");
        assert_eq!(ctx["domainName"], "127.0.0.1");
        assert_eq!(ctx["domainPrefix"], "127");
        assert_eq!(ctx["http"]["userAgent"], "curl/8");
        assert_eq!(ctx["time"], "24/Nov/2026:02:10:00 +0000");
        assert_eq!(ctx["timeEpoch"], 1_795_486_200_000_i64);
        assert!(event.get("body").is_none());
        assert!(event.get("cookies").is_none());

        let parsed = parse(&event);
        assert_eq!(parsed.method(), "GET");
        assert_eq!(parsed.uri().path(), "/v1/inference/epochs/59");
        assert_eq!(parsed.uri().query(), Some("height=100"));
        assert_eq!(parsed.uri().host(), Some("127.0.0.1"));
        assert_eq!(
            parsed
                .path_parameters_ref()
                .and_then(|p| p.first("epoch_id")),
            Some("59")
        );
        assert_eq!(
            parsed
                .query_string_parameters_ref()
                .and_then(|q| q.first("height")),
            Some("100")
        );
        assert_eq!(
            parsed.headers().get_all("accept-encoding").iter().count(),
            1
        );
        assert!(matches!(
            parsed.request_context_ref(),
            Some(lambda_http::request::RequestContext::ApiGatewayV2(_))
        ));
    }

    #[test]
    fn query_string_parameters() {
        let h = headers(&[("host", "localhost:3000")]);
        let req = request(
            "GET",
            "/v1/participants/gonka1abc",
            "epoch_id=60&tag=a&tag=b%20c&empty=",
            &h,
            b"",
        );
        let params = [("participant_id".to_string(), "gonka1abc".to_string())];
        let event = build_event(&req, "GET /v1/participants/{participant_id}", &params);
        assert_eq!(
            event["queryStringParameters"],
            json!({"epoch_id": "60", "tag": "a,b c", "empty": ""})
        );
        assert_eq!(
            event["rawQueryString"],
            "epoch_id=60&tag=a&tag=b%20c&empty="
        );
        assert_eq!(
            event["pathParameters"],
            json!({"participant_id": "gonka1abc"})
        );
        let parsed = parse(&event);
        let q = parsed.query_string_parameters();
        assert_eq!(q.first("epoch_id"), Some("60"));
        assert_eq!(q.all("tag"), Some(vec!["a", "b c"]));
        assert_eq!(parsed.uri().path(), "/v1/participants/gonka1abc");

        let none = build_event(&request("GET", "/x", "", &h, b""), "GET /x", &[]);
        assert!(none.get("queryStringParameters").is_none());
        assert!(none.get("pathParameters").is_none());
        assert_eq!(none["rawQueryString"], "");
    }

    #[test]
    fn cookies_bodies_and_a_bad_host() {
        let h = headers(&[
            ("host", "bad host"),
            ("cookie", "a=1; b=2"),
            ("content-type", "application/json"),
        ]);
        let event = build_event(
            &request("POST", "/x", "", &h, br#"{"k":1}"#),
            "POST /x",
            &[],
        );
        assert_eq!(event["cookies"], json!(["a=1", "b=2"]));
        assert!(event["headers"].get("cookie").is_none());
        assert_eq!(event["headers"]["host"], "127.0.0.1:3000");
        assert_eq!(event["body"], r#"{"k":1}"#);
        assert_eq!(event["isBase64Encoded"], false);
        let parsed = parse(&event);
        assert_eq!(parsed.headers()["cookie"], "a=1; b=2");
        assert_eq!(parsed.body(), &Body::Text(r#"{"k":1}"#.into()));

        let h = headers(&[("content-type", "application/octet-stream")]);
        let event = build_event(
            &request("POST", "/x", "", &h, &[0, 159, 255]),
            "POST /x",
            &[],
        );
        assert_eq!(event["isBase64Encoded"], true);
        assert_eq!(event["body"], "AJ//");
        assert_eq!(parse(&event).body(), &Body::Binary(vec![0, 159, 255]));
    }
}
