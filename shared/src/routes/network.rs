//! network: `GET /v1/timeline`, `GET /v1/models/current` and
//! `GET /v1/models/epochs/{epoch_id}[?height=H]`, and the tracker's liveness
//! route `GET /v1/hello` (answered from code: no table, no chain), and
//! `GET /v1/network/history` (in [`super::history`]).

use lambda_http::{Body, Request, Response};
use serde::Serialize;

use crate::chain::{Chain, NetworkChain};
use crate::hash::fnv1a;
use crate::http::{parse_epoch_id, parse_height, query_param, serve, ApiRoute, Payload, Reply};
use crate::service::network::{models_current, models_for_epoch, timeline, Served, Source};
use crate::service::{ApiError, Core};
use crate::table::{HistoryTable, NetworkTable};

use super::history::{handle_history, is_history_route};
use crate::time::now_ms;

/// Browsers and CDNs may keep a timeline this long (the dashboard polls
/// every 30-60 s; the scheduled refresh runs every minute).
const TIMELINE_MAX_AGE_SECS: u64 = 30;
/// The current models change every 5 minutes at most.
const MODELS_MAX_AGE_SECS: u64 = 60;
/// A finished epoch's models never change, but the 24 h stats beside them do.
const FINISHED_MODELS_MAX_AGE_SECS: u64 = 300;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NetworkRoute {
    Hello,
    Timeline,
    ModelsCurrent,
    ModelsEpoch { epoch: u64, height: Option<u64> },
}

pub fn route_network(route: &ApiRoute, query: Option<&str>) -> Result<NetworkRoute, ApiError> {
    match route.path.as_str() {
        "/v1/hello" => Ok(NetworkRoute::Hello),
        "/v1/timeline" => Ok(NetworkRoute::Timeline),
        "/v1/models/current" => Ok(NetworkRoute::ModelsCurrent),
        "/v1/models/epochs/{epoch_id}" => Ok(NetworkRoute::ModelsEpoch {
            epoch: parse_epoch_id(route.param("epoch_id")?)?,
            height: parse_height(query_param(query, "height"))?,
        }),
        _ => Err(ApiError::NotFound("Not Found".into())),
    }
}

/// The three routes of the network function. An answer this instance
/// gave within `HOT_REVALIDATE_SECS` is given again from memory; after
/// that its one small item is read again.
pub async fn handle_network<C: Chain + NetworkChain, T: NetworkTable + HistoryTable>(
    core: &Core<C, T>,
    req: &Request,
) -> Response<Body> {
    if is_history_route(&ApiRoute::of(req)) {
        return handle_history(&core.table, &core.config.cors_allowed_origins, req).await;
    }
    serve(
        req,
        &core.config.cors_allowed_origins,
        |route, query| async move {
            let route = route_network(&route, query)?;
            let key = format!("{route:?}");
            let window = core.config.hot_revalidate;
            if let Some(held) = core.replies.get(&key, now_ms(), window) {
                return Ok(held);
            }
            let reply = answer(core, route).await?;
            core.replies.put(key, &reply, now_ms());
            Ok(reply)
        },
    )
    .await
}

async fn answer<C: Chain + NetworkChain, T: NetworkTable>(
    core: &Core<C, T>,
    route: NetworkRoute,
) -> Result<Reply, ApiError> {
    match route {
        // Uptime monitors call this: it must answer while the table or chain is down.
        NetworkRoute::Hello => reply(&serde_json::json!({"message": "hello"}), Source::Table, 0),
        NetworkRoute::Timeline => {
            let served = timeline(core).await?;
            reply(&served.value, served.source, TIMELINE_MAX_AGE_SECS)
        }
        NetworkRoute::ModelsCurrent => {
            let served = models_current(core).await?;
            reply_models(served)
        }
        NetworkRoute::ModelsEpoch { epoch, height } => {
            let served = models_for_epoch(core, epoch, height).await?;
            reply_models(served)
        }
    }
}

fn reply_models(
    served: Served<crate::service::network::models::StoredModels>,
) -> Result<Reply, ApiError> {
    let max_age = if served.value.response.is_current {
        MODELS_MAX_AGE_SECS
    } else {
        FINISHED_MODELS_MAX_AGE_SECS
    };
    reply(&served.value.response, served.source, max_age)
}

/// The JSON answer with its validator; a copy served because the chain
/// failed is not to be kept by caches.
fn reply<B: Serialize>(body: &B, source: Source, max_age_secs: u64) -> Result<Reply, ApiError> {
    let body = serde_json::to_vec(body)
        .map_err(|e| ApiError::Internal(format!("encoding the response: {e}")))?;
    let cache_control = match source {
        Source::StaleTable => "no-store".to_owned(),
        Source::Table | Source::Chain => format!("public, max-age={max_age_secs}"),
    };
    Ok(Reply {
        media: crate::http::Media::Json,
        status: 200,
        etag: Some(format!("W/\"{:016x}\"", fnv1a(&body))),
        retry_after_secs: None,
        body: Payload::Plain(body),
        cache_control,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::route::gateway;

    const ROUTES: [&str; 4] = [
        "/v1/hello",
        "/v1/timeline",
        "/v1/models/current",
        "/v1/models/epochs/{epoch_id}",
    ];

    fn route(path: &str, query: Option<&str>) -> Result<NetworkRoute, ApiError> {
        route_network(&gateway(&ROUTES, path), query)
    }

    #[test]
    fn network_routes() {
        let ok = |p: &str, q: Option<&str>| route(p, q).unwrap();
        assert_eq!(ok("/v1/hello", None), NetworkRoute::Hello);
        assert_eq!(ok("/v1/timeline", None), NetworkRoute::Timeline);
        assert_eq!(
            ok("/v1/models/current", Some("x=1")),
            NetworkRoute::ModelsCurrent
        );
        assert_eq!(
            ok("/v1/models/epochs/56", Some("height=887711")),
            NetworkRoute::ModelsEpoch {
                epoch: 56,
                height: Some(887_711)
            }
        );
        let cases = [
            (
                "/v1/models/epochs/0",
                None,
                400,
                "Invalid epoch ID: must be at least 1",
            ),
            ("/v1/models/epochs/abc", None, 400, "Invalid epoch ID"),
            ("/v1/models/epochs/-3", None, 400, "Invalid epoch ID"),
            (
                "/v1/models/epochs/5",
                Some("height=0"),
                400,
                "Invalid height",
            ),
            (
                "/v1/models/epochs/5",
                Some("height=x"),
                400,
                "Invalid height",
            ),
            ("/v1/models/epochs/", None, 404, "Not Found"),
            ("/v1/models/epochs/5/x", None, 404, "Not Found"),
            ("/v1/models", None, 404, "Not Found"),
            ("/v1/timeline/x", None, 404, "Not Found"),
        ];
        for (path, query, status, detail) in cases {
            let err = route(path, query).unwrap_err();
            assert_eq!(err.status(), status, "{path} {query:?}");
            assert!(err.detail().starts_with(detail), "{path}: {}", err.detail());
        }
    }
}
