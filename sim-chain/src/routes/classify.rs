//! Chain paths classified into [`Route`]s (arguments still raw), by
//! segments, so a malformed or unknown path is a route too and gets
//! counted and answered like any other.

use std::collections::HashMap;

use axum::extract::{Query, Request};
use axum::http::{Method, Uri};

use crate::config::EndpointKind;

/// Header selecting the state height of a Cosmos REST query.
const HEIGHT_HEADER: &str = "x-cosmos-block-height";

const INFERENCE_PREFIX: [&str; 4] = ["chain-api", "productscience", "inference", "inference"];

/// A chain request, classified by path (arguments still raw).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Route {
    Latest,
    EpochParticipants { epoch: String },
    Status,
    Block,
    ParticipantList,
    Summary { epoch: String, participant: String },
    Authz { granter: String },
    Hardware { participant: String },
    RestrictionsParams,
    ModelsAll,
    ModelsStats,
    Inferences,
    Validators,
    SigningInfo { valcons: String },
    Unknown,
}

impl Route {
    pub(crate) fn classify(method: &Method, path: &str) -> Route {
        if method != Method::GET {
            return Route::Unknown;
        }
        let Some(path) = path.strip_prefix('/') else {
            return Route::Unknown;
        };
        let segments: Vec<&str> = path.split('/').collect();
        let owned = |s: &str| s.to_string();
        match segments.as_slice() {
            ["v1", "epochs", "latest"] => Route::Latest,
            ["v1", "epochs", epoch, "participants"] => Route::EpochParticipants {
                epoch: owned(epoch),
            },
            ["chain-rpc", "status"] => Route::Status,
            ["chain-rpc", "block"] => Route::Block,
            ["chain-api", "cosmos", "staking", "v1beta1", "validators"] => Route::Validators,
            ["chain-api", "cosmos", "slashing", "v1beta1", "signing_infos", valcons] => {
                Route::SigningInfo {
                    valcons: owned(valcons),
                }
            }
            ["chain-api", "cosmos", "authz", "v1beta1", "grants", "granter", granter] => {
                Route::Authz {
                    granter: owned(granter),
                }
            }
            [a, b, c, d, rest @ ..] if [*a, *b, *c, *d] == INFERENCE_PREFIX => match rest {
                ["participant"] => Route::ParticipantList,
                ["inference"] => Route::Inferences,
                ["epoch_performance_summary", epoch, participant] => Route::Summary {
                    epoch: owned(epoch),
                    participant: owned(participant),
                },
                ["hardware_nodes", participant] => Route::Hardware {
                    participant: owned(participant),
                },
                ["models_all"] => Route::ModelsAll,
                ["models_stats_by_time"] => Route::ModelsStats,
                _ => Route::Unknown,
            },
            ["chain-api", "productscience", "inference", "restrictions", "params"] => {
                Route::RestrictionsParams
            }
            _ => Route::Unknown,
        }
    }

    pub(crate) fn kind(&self) -> Option<EndpointKind> {
        Some(match self {
            Route::Latest => EndpointKind::Latest,
            Route::EpochParticipants { .. } => EndpointKind::EpochParticipants,
            Route::Status => EndpointKind::Status,
            Route::Block => EndpointKind::Block,
            Route::ParticipantList => EndpointKind::ParticipantList,
            Route::Summary { .. } => EndpointKind::Summary,
            Route::Authz { .. } => EndpointKind::Authz,
            Route::Hardware { .. } => EndpointKind::Hardware,
            Route::RestrictionsParams => EndpointKind::RestrictionsParams,
            Route::ModelsAll => EndpointKind::ModelsAll,
            Route::ModelsStats => EndpointKind::ModelsStats,
            Route::Inferences => EndpointKind::Inferences,
            Route::Validators => EndpointKind::Validators,
            Route::SigningInfo { .. } => EndpointKind::SigningInfo,
            Route::Unknown => return None,
        })
    }

    /// The `by_key` entry: the kind plus the arguments that select the data.
    pub(super) fn stats_key(&self, req: &RequestInfo) -> String {
        match self {
            Route::Latest => "latest".into(),
            Route::Status => "status".into(),
            Route::EpochParticipants { epoch } => format!("epoch_participants:{epoch}"),
            Route::Block => format!(
                "block:{}",
                req.query.get("height").map_or("latest", String::as_str)
            ),
            Route::ParticipantList => {
                format!(
                    "participant_list:{}",
                    req.height.as_deref().unwrap_or("latest")
                )
            }
            Route::Summary { epoch, participant } => format!("summary:{epoch}:{participant}"),
            Route::Authz { granter } => format!("authz:{granter}"),
            Route::Hardware { participant } => format!("hardware:{participant}"),
            Route::RestrictionsParams => "restrictions_params".into(),
            Route::ModelsAll => format!("models_all:{}", req.height.as_deref().unwrap_or("latest")),
            Route::ModelsStats => "models_stats".into(),
            Route::Inferences => {
                format!("inferences:{}", req.height.as_deref().unwrap_or("latest"))
            }
            Route::Validators => format!(
                "validators:{}:{}",
                req.height.as_deref().unwrap_or("latest"),
                req.query
                    .get("pagination.key")
                    .map_or("first", String::as_str)
            ),
            Route::SigningInfo { valcons } => format!(
                "signing_info:{valcons}:{}",
                req.height.as_deref().unwrap_or("latest")
            ),
            Route::Unknown => format!("unknown:{}", req.path),
        }
    }
}

/// The parts of a request the chain routes look at.
pub(super) struct RequestInfo {
    pub(super) path: String,
    pub(super) query: HashMap<String, String>,
    /// Raw `X-Cosmos-Block-Height` value.
    pub(super) height: Option<String>,
}

impl RequestInfo {
    pub(super) fn from_request(req: &Request) -> Self {
        let uri: &Uri = req.uri();
        RequestInfo {
            path: uri.path().to_string(),
            query: Query::<HashMap<String, String>>::try_from_uri(uri)
                .map(|q| q.0)
                .unwrap_or_default(),
            height: req
                .headers()
                .get(HEIGHT_HEADER)
                .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_paths() {
        let get = |p: &str| Route::classify(&Method::GET, p);
        assert_eq!(get("/v1/epochs/latest"), Route::Latest);
        assert_eq!(
            get("/v1/epochs/56/participants"),
            Route::EpochParticipants { epoch: "56".into() }
        );
        assert_eq!(
            get(
                "/chain-api/productscience/inference/inference/epoch_performance_summary/5/gonka1x"
            ),
            Route::Summary {
                epoch: "5".into(),
                participant: "gonka1x".into()
            }
        );
        assert_eq!(
            get("/chain-api/productscience/inference/inference/participant"),
            Route::ParticipantList
        );
        assert_eq!(
            get("/chain-api/productscience/inference/inference/participant/"),
            Route::Unknown
        );
        assert_eq!(get("/v1/epochs/latest/"), Route::Unknown);
        assert_eq!(
            get("/chain-api/productscience/inference/restrictions/params"),
            Route::RestrictionsParams
        );
        assert_eq!(
            get("/chain-api/productscience/inference/inference/models_all"),
            Route::ModelsAll
        );
        assert_eq!(
            get("/chain-api/productscience/inference/inference/models_stats_by_time"),
            Route::ModelsStats
        );
        assert_eq!(get("/chain-rpc/status/../status"), Route::Unknown);
        assert_eq!(
            Route::classify(&Method::POST, "/chain-rpc/status"),
            Route::Unknown
        );
    }
}
