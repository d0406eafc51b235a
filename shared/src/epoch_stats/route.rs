//! The epoch routes (as API Gateway matched them) and their parameters,
//! validated before any I/O.

use crate::http::{parse_epoch_id, parse_height, query_param, ApiRoute};
use crate::service::ApiError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EpochRoute {
    /// `reload` is accepted and validated, but never skips a cache: from the
    /// public API a rebuild costs no more than a plain request (the
    /// scheduled refresh is what rebuilds).
    Current,
    Epoch {
        epoch: u64,
        height: Option<u64>,
    },
}

pub fn route_epoch_stats(route: &ApiRoute, query: Option<&str>) -> Result<EpochRoute, ApiError> {
    match route.path.as_str() {
        "/v1/inference/current" => match query_param(query, "reload").as_deref() {
            None | Some("false" | "0" | "true" | "1") => Ok(EpochRoute::Current),
            Some(_) => Err(ApiError::BadRequest(
                "Invalid reload: must be true or false".into(),
            )),
        },
        "/v1/inference/epochs/{epoch_id}" => Ok(EpochRoute::Epoch {
            epoch: parse_epoch_id(route.param("epoch_id")?)?,
            height: parse_height(query_param(query, "height"))?,
        }),
        _ => Err(ApiError::NotFound("Not Found".into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::route::gateway;

    const ROUTES: [&str; 2] = ["/v1/inference/current", "/v1/inference/epochs/{epoch_id}"];

    fn route(path: &str, query: Option<&str>) -> Result<EpochRoute, ApiError> {
        route_epoch_stats(&gateway(&ROUTES, path), query)
    }

    #[test]
    fn epoch_routes() {
        let ok = |p: &str, q: Option<&str>| route(p, q).unwrap();
        assert_eq!(ok("/v1/inference/current", None), EpochRoute::Current);
        assert_eq!(
            ok("/v1/inference/current", Some("reload=true")),
            EpochRoute::Current
        );
        assert_eq!(
            ok("/v1/inference/epochs/56", Some("height=887711")),
            EpochRoute::Epoch {
                epoch: 56,
                height: Some(887711)
            }
        );
        assert_eq!(
            ok("/v1/inference/epochs/56", Some("x=1")),
            EpochRoute::Epoch {
                epoch: 56,
                height: None
            }
        );
        let cases: [(&str, Option<&str>, u16, &str); 14] = [
            (
                "/v1/inference/epochs/0",
                None,
                400,
                "Invalid epoch ID: must be at least 1",
            ),
            (
                "/v1/inference/epochs/-1",
                None,
                400,
                "Invalid epoch ID: must be a positive integer",
            ),
            (
                "/v1/inference/epochs/abc",
                None,
                400,
                "Invalid epoch ID: must be a positive integer",
            ),
            ("/v1/inference/epochs/1.5", None, 400, "Invalid epoch ID"),
            ("/v1/inference/epochs/+5", None, 400, "Invalid epoch ID"),
            (
                "/v1/inference/epochs/99999999999999999999999",
                None,
                400,
                "Invalid epoch ID: must be a positive integer",
            ),
            (
                "/v1/inference/epochs/18446744073709551615",
                None,
                400,
                "Invalid epoch ID: too large",
            ),
            ("/v1/inference/epochs/", None, 404, "Not Found"),
            ("/v1/inference/epochs/5/x", None, 404, "Not Found"),
            (
                "/v1/inference/epochs/5",
                Some("height=0"),
                400,
                "Invalid height: must be at least 1",
            ),
            (
                "/v1/inference/epochs/5",
                Some("height=-100"),
                400,
                "Invalid height",
            ),
            (
                "/v1/inference/epochs/5",
                Some("height=abc"),
                400,
                "Invalid height",
            ),
            (
                "/v1/inference/current",
                Some("reload=maybe"),
                400,
                "Invalid reload",
            ),
            ("/v2/other", None, 404, "Not Found"),
        ];
        for (path, query, status, detail) in cases {
            let err = route(path, query).unwrap_err();
            assert_eq!(err.status(), status, "{path} {query:?}");
            assert!(err.detail().starts_with(detail), "{path}: {}", err.detail());
        }
    }
}
