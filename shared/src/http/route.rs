//! The route API Gateway matched, as its event says: the route's path as
//! template.yaml declares it (from `routeKey`, e.g.
//! `GET /v1/inference/epochs/{epoch_id}`) and the path's variables
//! (`pathParameters`, decoded). A function never parses its own path: what
//! the gateway matched is what it answers.

use lambda_http::request::RequestContext;
use lambda_http::{Request, RequestExt};

use crate::service::ApiError;

/// See the module docs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiRoute {
    /// The route's path template; `$default` when no route matched (or
    /// the event names none).
    pub path: String,
    params: Vec<(String, String)>,
}

impl ApiRoute {
    pub fn new(path: &str, params: &[(&str, &str)]) -> Self {
        Self {
            path: path.into(),
            params: params
                .iter()
                .map(|(k, v)| ((*k).into(), (*v).into()))
                .collect(),
        }
    }

    /// The route of `req`'s event (payload v2.0).
    pub fn of(req: &Request) -> Self {
        let path = match req.request_context_ref() {
            Some(RequestContext::ApiGatewayV2(ctx)) => ctx
                .route_key
                .as_deref()
                .map(|k| k.split_once(' ').map_or(k, |(_, path)| path)),
            _ => None,
        };
        let params = req
            .path_parameters_ref()
            .map(|m| {
                m.iter()
                    .map(|(k, v)| (k.to_owned(), v.to_owned()))
                    .collect()
            })
            .unwrap_or_default();
        Self {
            path: path.unwrap_or("$default").into(),
            params,
        }
    }

    /// The path variable `name` (the route declares it, so a missing one
    /// is a route this function does not serve).
    pub fn param(&self, name: &str) -> Result<&str, ApiError> {
        self.params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .ok_or_else(|| ApiError::NotFound("Not Found".into()))
    }
}

/// The route API Gateway would match for `path` among `templates` (for
/// unit tests of the routers): a template whose segments align, each
/// `{name}` taking its segment; none: `$default`.
#[cfg(test)]
pub(crate) fn gateway(templates: &[&str], path: &str) -> ApiRoute {
    let segments: Vec<&str> = path.split('/').collect();
    for template in templates {
        let parts: Vec<&str> = template.split('/').collect();
        if parts.len() != segments.len() {
            continue;
        }
        let mut params = Vec::new();
        let aligned = parts.iter().zip(&segments).all(|(t, s)| {
            match t.strip_prefix('{').and_then(|t| t.strip_suffix('}')) {
                Some(name) if !s.is_empty() => {
                    params.push((name, *s));
                    true
                }
                Some(_) => false,
                None => t == s,
            }
        });
        if aligned {
            return ApiRoute::new(template, &params);
        }
    }
    ApiRoute::new("$default", &[])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An API Gateway HTTP API event (payload v2.0) as the gateway sends it.
    fn event(route_key: &str, params: serde_json::Value) -> Request {
        let raw = serde_json::json!({
            "version": "2.0",
            "routeKey": route_key,
            "rawPath": "/v1/inference/epochs/56",
            "rawQueryString": "",
            "headers": {},
            "pathParameters": params,
            "requestContext": {
                "accountId": "1", "apiId": "local", "domainName": "d", "domainPrefix": "d",
                "http": {"method": "GET", "path": "/v1/inference/epochs/56", "protocol": "HTTP/1.1",
                         "sourceIp": "127.0.0.1", "userAgent": "t"},
                "requestId": "r", "routeKey": route_key, "stage": "$default",
                "time": "07/Dec/2026:12:00:00 +0000", "timeEpoch": 0
            },
            "isBase64Encoded": false
        });
        lambda_http::request::from_str(&raw.to_string()).expect("an event")
    }

    #[test]
    fn the_route_and_its_variables_come_from_the_event() {
        let r = ApiRoute::of(&event(
            "GET /v1/inference/epochs/{epoch_id}",
            serde_json::json!({"epoch_id": "56"}),
        ));
        assert_eq!(r.path, "/v1/inference/epochs/{epoch_id}");
        assert_eq!(r.param("epoch_id").unwrap(), "56");
        assert_eq!(r.param("other").unwrap_err().status(), 404);
        let unmatched = ApiRoute::of(&event("$default", serde_json::Value::Null));
        assert_eq!(unmatched.path, "$default");
        let plain = lambda_http::http::Request::builder()
            .uri("/v1/inference/current")
            .body(lambda_http::Body::Empty)
            .unwrap();
        assert_eq!(
            ApiRoute::of(&plain).path,
            "$default",
            "no event, no route: the path itself is never parsed"
        );
    }
}
