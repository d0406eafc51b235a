//! A rendered response (status and JSON body) and the error bodies of each
//! upstream component: grpc-gateway for the Cosmos REST API, JSON-RPC for
//! CometBFT.

use axum::body::{Body, Bytes};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::json;

/// A rendered response: status and JSON body.
#[derive(Debug, Clone)]
pub(crate) struct Reply {
    pub status: StatusCode,
    pub body: Bytes,
}

impl Reply {
    pub(crate) fn ok(body: Bytes) -> Reply {
        Reply {
            status: StatusCode::OK,
            body,
        }
    }

    pub(crate) fn json(status: StatusCode, value: &impl Serialize) -> Reply {
        Reply {
            status,
            body: to_bytes(value),
        }
    }

    /// The `Truncated` fault: a 200 whose JSON stops halfway.
    pub(crate) fn truncated(self) -> Reply {
        let half = self.body.len() / 2;
        Reply {
            status: StatusCode::OK,
            body: self.body.slice(..half),
        }
    }
}

pub(crate) fn to_bytes(value: &impl Serialize) -> Bytes {
    // Serializing plain structs and `Value`s to memory cannot fail.
    Bytes::from(serde_json::to_vec(value).unwrap_or_default())
}

/// A grpc-gateway error body, e.g. `{"code":5,"message":"not found","details":[]}`.
pub(crate) fn grpc_error(status: StatusCode, code: u32, message: impl Into<String>) -> Reply {
    Reply::json(
        status,
        &json!({"code": code, "message": message.into(), "details": []}),
    )
}

pub(crate) fn not_found(message: impl Into<String>) -> Reply {
    grpc_error(StatusCode::NOT_FOUND, 5, message)
}

pub(crate) fn invalid_argument(message: impl Into<String>) -> Reply {
    grpc_error(StatusCode::BAD_REQUEST, 3, message)
}

/// The answer for any path the simulated node does not serve.
pub(crate) fn not_implemented() -> Reply {
    grpc_error(StatusCode::NOT_FOUND, 12, "Not Implemented")
}

/// A CometBFT JSON-RPC error (CometBFT answers those with HTTP 500).
pub(crate) fn rpc_error(code: i64, message: &str, data: String) -> Reply {
    Reply::json(
        StatusCode::INTERNAL_SERVER_ERROR,
        &json!({"jsonrpc": "2.0", "id": -1, "error": {"code": code, "message": message, "data": data}}),
    )
}

/// A response with a JSON body.
pub(crate) fn json_response(status: StatusCode, body: Bytes) -> Response {
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

impl IntoResponse for Reply {
    fn into_response(self) -> Response {
        json_response(self.status, self.body)
    }
}
