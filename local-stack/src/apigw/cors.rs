//! CORS as an HTTP API with a `CorsConfiguration` does it: API Gateway
//! answers preflight requests itself (they never reach a function), adds
//! the configured headers to every response to an allowed origin, and
//! ignores the CORS headers a function returns. Doing the same locally
//! means the dashboard sees exactly the headers it will see deployed.
//! (tower-http's `CorsLayer` does CORS its own way, not API Gateway's.)

use axum::http::HeaderMap;

use super::response::HttpResponse;
use crate::template::CorsConfig;

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// `OPTIONS` with `Origin` and `Access-Control-Request-Method`.
pub fn is_preflight(method: &str, headers: &HeaderMap) -> bool {
    method == "OPTIONS"
        && headers.contains_key("origin")
        && headers.contains_key("access-control-request-method")
}

/// The `Access-Control-Allow-Origin` value for `origin`, if allowed.
fn allowed_origin(cors: &CorsConfig, origin: &str) -> Option<String> {
    if cors.allow_origins.iter().any(|o| o == "*") {
        // A wildcard cannot be combined with credentials.
        return Some(if cors.allow_credentials {
            origin.to_string()
        } else {
            "*".to_string()
        });
    }
    cors.allow_origins
        .iter()
        .any(|o| o.eq_ignore_ascii_case(origin))
        .then(|| origin.to_string())
}

fn list_or_wildcard(configured: &[String], requested: &str) -> String {
    if configured.iter().any(|c| c == "*") {
        requested.to_string()
    } else {
        configured.join(",")
    }
}

/// The answer to a preflight: 204, with the CORS headers only if the origin,
/// method and headers asked for are all allowed.
pub fn preflight(cors: &CorsConfig, headers: &HeaderMap) -> HttpResponse {
    let mut resp = HttpResponse {
        status: 204,
        headers: Vec::new(),
        body: Vec::new(),
    };
    let origin = header(headers, "origin").unwrap_or("");
    let method = header(headers, "access-control-request-method")
        .unwrap_or("")
        .trim()
        .to_ascii_uppercase();
    let requested: Vec<String> = header(headers, "access-control-request-headers")
        .unwrap_or("")
        .split(',')
        .map(|h| h.trim().to_ascii_lowercase())
        .filter(|h| !h.is_empty())
        .collect();
    let method_ok = cors.allow_methods.iter().any(|m| m == "*" || *m == method);
    let headers_ok = cors.allow_headers.iter().any(|h| h == "*")
        || requested
            .iter()
            .all(|r| cors.allow_headers.iter().any(|h| h.eq_ignore_ascii_case(r)));
    let Some(allow_origin) = allowed_origin(cors, origin).filter(|_| method_ok && headers_ok)
    else {
        return resp;
    };
    let h = &mut resp.headers;
    h.push(("access-control-allow-origin".into(), allow_origin));
    h.push((
        "access-control-allow-methods".into(),
        list_or_wildcard(&cors.allow_methods, &method),
    ));
    if !cors.allow_headers.is_empty() {
        h.push((
            "access-control-allow-headers".into(),
            list_or_wildcard(&cors.allow_headers, &requested.join(",")).to_ascii_lowercase(),
        ));
    }
    if let Some(age) = cors.max_age {
        h.push(("access-control-max-age".into(), age.to_string()));
    }
    if cors.allow_credentials {
        h.push(("access-control-allow-credentials".into(), "true".into()));
    }
    resp
}

/// Replaces the function's CORS headers with the configured ones.
pub fn decorate(cors: &CorsConfig, request_headers: &HeaderMap, resp: &mut HttpResponse) {
    resp.headers
        .retain(|(name, _)| !name.starts_with("access-control-"));
    let Some(origin) = header(request_headers, "origin") else {
        return;
    };
    let Some(allow_origin) = allowed_origin(cors, origin) else {
        return;
    };
    resp.headers
        .push(("access-control-allow-origin".into(), allow_origin));
    if !cors.expose_headers.is_empty() {
        resp.headers.push((
            "access-control-expose-headers".into(),
            cors.expose_headers.join(",").to_ascii_lowercase(),
        ));
    }
    if cors.allow_credentials {
        resp.headers
            .push(("access-control-allow-credentials".into(), "true".into()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn config(origins: &[&str]) -> CorsConfig {
        CorsConfig {
            allow_origins: origins.iter().map(|s| s.to_string()).collect(),
            allow_methods: vec!["GET".into(), "OPTIONS".into()],
            allow_headers: vec!["Content-Type".into(), "If-None-Match".into()],
            expose_headers: vec!["ETag".into()],
            max_age: Some(86400),
            allow_credentials: false,
        }
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        pairs
            .iter()
            .map(|(k, v)| {
                (
                    axum::http::HeaderName::from_static(k),
                    HeaderValue::from_str(v).unwrap(),
                )
            })
            .collect()
    }

    #[test]
    fn preflight_allowed() {
        let h = headers(&[
            ("origin", "https://tracker.example.com"),
            ("access-control-request-method", "GET"),
            ("access-control-request-headers", "If-None-Match"),
        ]);
        assert!(is_preflight("OPTIONS", &h));
        assert!(!is_preflight("GET", &h));
        let resp = preflight(&config(&["*"]), &h);
        assert_eq!(resp.status, 204);
        assert_eq!(resp.header("access-control-allow-origin"), Some("*"));
        assert_eq!(
            resp.header("access-control-allow-methods"),
            Some("GET,OPTIONS")
        );
        assert_eq!(
            resp.header("access-control-allow-headers"),
            Some("content-type,if-none-match")
        );
        assert_eq!(resp.header("access-control-max-age"), Some("86400"));
        let listed = preflight(&config(&["https://tracker.example.com"]), &h);
        assert_eq!(
            listed.header("access-control-allow-origin"),
            Some("https://tracker.example.com")
        );
    }

    #[test]
    fn preflight_refused() {
        for (origins, method, hdrs) in [
            (&["https://a.example"][..], "GET", "content-type"),
            (&["*"][..], "DELETE", ""),
            (&["*"][..], "GET", "x-secret"),
        ] {
            let h = headers(&[
                ("origin", "https://other.example"),
                ("access-control-request-method", method),
                ("access-control-request-headers", hdrs),
            ]);
            let resp = preflight(&config(origins), &h);
            assert_eq!(resp.status, 204);
            assert!(resp.headers.is_empty(), "{origins:?} {method} {hdrs}");
        }
    }

    #[test]
    fn decorates_responses() {
        let mut resp = HttpResponse {
            status: 200,
            headers: vec![
                (
                    "access-control-allow-origin".into(),
                    "https://evil.example".into(),
                ),
                ("etag".into(), "W/\"1\"".into()),
            ],
            body: Vec::new(),
        };
        decorate(
            &config(&["*"]),
            &headers(&[("origin", "https://x.example")]),
            &mut resp,
        );
        assert_eq!(resp.header("access-control-allow-origin"), Some("*"));
        assert_eq!(resp.header("access-control-expose-headers"), Some("etag"));
        assert_eq!(resp.header("etag"), Some("W/\"1\""));

        let mut no_origin = resp.clone();
        decorate(&config(&["*"]), &HeaderMap::new(), &mut no_origin);
        assert_eq!(no_origin.header("access-control-allow-origin"), None);
    }
}
