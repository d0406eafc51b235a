//! participant: `GET /v1/participants/{id}/inferences?epoch_id=N`, the
//! modal's Inferences tab, answered from the table only (what the
//! inference scan published).

use lambda_http::{Body, Request, Response};

use crate::chain::Chain;
use crate::http::{parse_participant_id, required_epoch_id, serve, ApiRoute, Reply};
use crate::ids::ParticipantId;
use crate::service::inferences::participant_inferences;
use crate::service::{ApiError, Core};
use crate::table::InferenceTable;

/// This route, as template.yaml declares it.
pub const INFERENCES_ROUTE: &str = "/v1/participants/{participant_id}/inferences";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InferencesRoute {
    pub participant: ParticipantId,
    pub epoch: u64,
}

pub fn route_participant_inferences(
    route: &ApiRoute,
    query: Option<&str>,
) -> Result<InferencesRoute, ApiError> {
    if route.path != INFERENCES_ROUTE {
        return Err(ApiError::NotFound("Not Found".into()));
    }
    Ok(InferencesRoute {
        participant: parse_participant_id(route.param("participant_id")?)?,
        epoch: required_epoch_id(query)?,
    })
}

/// `GET /v1/participants/{id}/inferences?epoch_id=N`.
pub async fn handle_participant_inferences<C: Chain, T: InferenceTable>(
    core: &Core<C, T>,
    req: &Request,
) -> Response<Body> {
    serve(
        req,
        &core.config.cors_allowed_origins,
        |route, query| async move {
            let route = route_participant_inferences(&route, query)?;
            let answer =
                participant_inferences(&core.table, &route.participant, route.epoch).await?;
            // Refreshed when a scan completes; an answer no scan has
            // covered yet may change any minute.
            let cache_control = match answer.cached_at {
                Some(_) => format!(
                    "public, max-age={}",
                    core.config.current_epoch_freshness.as_secs()
                ),
                None => "no-store".into(),
            };
            Reply::json(&answer, cache_control)
        },
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::route::gateway;

    const ROUTES: [&str; 2] = ["/v1/participants/{participant_id}", INFERENCES_ROUTE];

    fn route(path: &str, query: Option<&str>) -> Result<InferencesRoute, ApiError> {
        route_participant_inferences(&gateway(&ROUTES, path), query)
    }

    #[test]
    fn inferences_routes() {
        let id = "gonka14cu38xpsd8pz5zdkkzwf0jwtpc0vv309ake364";
        let r = route(
            &format!("/v1/participants/{id}/inferences"),
            Some("epoch_id=56"),
        )
        .unwrap();
        assert_eq!((r.participant.as_str(), r.epoch), (id, 56));
        assert_eq!(
            route(&format!("/v1/participants/{id}"), Some("epoch_id=56"))
                .unwrap_err()
                .status(),
            404,
            "the function's other route"
        );
        let cases = [
            (
                format!("/v1/participants/{id}/inferences"),
                None,
                400,
                "epoch_id is required",
            ),
            (
                format!("/v1/participants/{id}/inferences"),
                Some("epoch_id=0"),
                400,
                "Invalid epoch ID",
            ),
            (
                format!("/v1/participants/{id}/inferences"),
                Some("epoch_id=-1"),
                400,
                "Invalid epoch ID",
            ),
            (
                format!("/v1/participants/{id}/inferences"),
                Some("epoch_id=x"),
                400,
                "Invalid epoch ID",
            ),
            (
                "/v1/participants/GONKA1X/inferences".to_string(),
                Some("epoch_id=5"),
                400,
                "Invalid participant ID",
            ),
            (
                "/v1/participants/x%2F..%2F/inferences".to_string(),
                Some("epoch_id=5"),
                400,
                "Invalid participant ID",
            ),
            (
                "/v1/participants/a/b/inferences".to_string(),
                Some("epoch_id=5"),
                404,
                "Not Found",
            ),
        ];
        for (path, query, status, detail) in cases {
            let err = route(&path, query).unwrap_err();
            assert_eq!(err.status(), status, "{path}");
            assert!(err.detail().starts_with(detail), "{path}: {}", err.detail());
        }
    }
}
