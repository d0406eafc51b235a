//! The API Gateway HTTP API front: the routes of template.yaml on one local
//! port, each request turned into a payload v2.0 event for its function and
//! the function's answer turned back into the HTTP response, with the CORS
//! handling API Gateway does itself.
//!
//! The conversions are pure functions ([`routes`], [`event`], [`response`],
//! [`cors`]) so they are tested against what `lambda_http` expects without
//! any process; [`server`] wires them to an HTTP listener.

pub mod cors;
pub mod event;
pub mod response;
pub mod routes;
pub mod server;

/// API Gateway's JSON error shape: `{"message":"Not Found"}`.
pub fn message(status: u16, message: &str) -> response::HttpResponse {
    response::HttpResponse {
        status,
        headers: vec![("content-type".into(), "application/json".into())],
        body: serde_json::json!({ "message": message })
            .to_string()
            .into_bytes(),
    }
}

/// Percent-decodes a path segment (`+` stays `+`: paths are not forms).
/// Invalid escapes are kept as written; invalid UTF-8 is replaced.
pub fn percent_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_paths() {
        assert_eq!(percent_decode("a%20b+c"), "a b+c");
        assert_eq!(percent_decode("%zz%4"), "%zz%4");
        assert_eq!(percent_decode("%C3%A9"), "é");
        assert_eq!(percent_decode("%FF"), "\u{FFFD}");
    }
}
