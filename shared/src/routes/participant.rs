//! participant: `GET /v1/participants/{id}?epoch_id=N[&height=H]`, and
//! `GET /v1/participants/{id}/inferences?epoch_id=N` (in
//! [`super::participant_inferences`]), and the participant's history (in
//! [`super::history`]).

use lambda_http::{Body, Request, Response};

use crate::chain::Chain;
use crate::config::Config;
use crate::http::{
    parse_height, parse_participant_id, query_param, required_epoch_id, serve, ApiRoute, Reply,
};
use crate::ids::ParticipantId;
use crate::service::participant::{participant_details, DetailsMeta};
use crate::service::{ApiError, Core};
use crate::table::{CacheTable, HistoryTable, InferenceTable, StatusTable};

use super::history::{handle_history, is_history_route};

use super::participant_inferences::{handle_participant_inferences, INFERENCES_ROUTE};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParticipantRoute {
    pub participant: ParticipantId,
    pub epoch: u64,
    pub height: Option<u64>,
}

pub fn route_participant(
    route: &ApiRoute,
    query: Option<&str>,
) -> Result<ParticipantRoute, ApiError> {
    if route.path != "/v1/participants/{participant_id}" {
        return Err(ApiError::NotFound("Not Found".into()));
    }
    Ok(ParticipantRoute {
        participant: parse_participant_id(route.param("participant_id")?)?,
        epoch: required_epoch_id(query)?,
        height: parse_height(query_param(query, "height"))?,
    })
}

/// `GET /v1/participants/{id}?epoch_id=N[&height=H]` and
/// `GET /v1/participants/{id}/inferences?epoch_id=N`.
pub async fn handle_participant<
    C: Chain,
    T: CacheTable + InferenceTable + StatusTable + HistoryTable,
>(
    core: &Core<C, T>,
    req: &Request,
) -> Response<Body> {
    let route = ApiRoute::of(req);
    if route.path == INFERENCES_ROUTE {
        return handle_participant_inferences(core, req).await;
    }
    if is_history_route(&route) {
        return handle_history(&core.table, &core.config.cors_allowed_origins, req).await;
    }
    serve(
        req,
        &core.config.cors_allowed_origins,
        |route, query| async move {
            let route = route_participant(&route, query)?;
            let (details, meta) =
                participant_details(core, &route.participant, route.epoch, route.height).await?;
            Reply::json(&details, details_cache_control(meta, &core.config))
        },
    )
    .await
}

fn details_cache_control(meta: DetailsMeta, config: &Config) -> String {
    if !meta.complete {
        "no-store".into()
    } else if meta.is_current {
        format!(
            "public, max-age={}",
            config.current_epoch_freshness.as_secs()
        )
    } else if meta.all_final {
        // The items never change, but the row carries today's node health.
        "public, max-age=60".into()
    } else {
        format!("public, max-age={}", config.item_freshness.as_secs())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::route::gateway;

    const ROUTES: [&str; 2] = [
        "/v1/participants/{participant_id}",
        super::super::participant_inferences::INFERENCES_ROUTE,
    ];

    fn route(path: &str, query: Option<&str>) -> Result<ParticipantRoute, ApiError> {
        route_participant(&gateway(&ROUTES, path), query)
    }

    #[test]
    fn participant_routes() {
        let id = "gonka14cu38xpsd8pz5zdkkzwf0jwtpc0vv309ake364";
        let r = route(
            &format!("/v1/participants/{id}"),
            Some("epoch_id=56&height=10"),
        )
        .unwrap();
        assert_eq!(
            (r.participant.as_str(), r.epoch, r.height),
            (id, 56, Some(10))
        );
        let long = format!("/v1/participants/gonka1{}", "q".repeat(2000));
        let cosmos = format!(
            "/v1/participants/{}",
            "cosmos1qypqxpq9qcrsszg2pvxq6rs0zqg3yyc5lzv7xu"
        );
        let cases = [
            (
                format!("/v1/participants/{id}"),
                None,
                400,
                "epoch_id is required",
            ),
            (
                format!("/v1/participants/{id}"),
                Some("epoch_id=abc"),
                400,
                "Invalid epoch ID",
            ),
            (
                format!("/v1/participants/{id}"),
                Some("epoch_id=0"),
                400,
                "Invalid epoch ID",
            ),
            (
                format!("/v1/participants/{id}"),
                Some("epoch_id=5&height=0"),
                400,
                "Invalid height",
            ),
            (
                "/v1/participants/..%2F..%2Fx".to_string(),
                Some("epoch_id=5"),
                400,
                "Invalid participant ID",
            ),
            (
                "/v1/participants/../../x".to_string(),
                Some("epoch_id=5"),
                404,
                "Not Found",
            ),
            (long, Some("epoch_id=5"), 400, "Invalid participant ID"),
            (
                format!("/v1/participants/{id}/inferences"),
                Some("epoch_id=5"),
                404,
                "Not Found",
            ),
            (cosmos, Some("epoch_id=5"), 400, "Invalid participant ID"),
        ];
        for (path, query, status, detail) in cases {
            let err = route(&path, query).unwrap_err();
            assert_eq!(err.status(), status, "{path}");
            assert!(err.detail().starts_with(detail), "{path}: {}", err.detail());
        }
    }
}
