//! The steps every route shares: the CORS preflight, the method check,
//! errors as `{"detail"}` with a log line, and content negotiation.

use std::time::Duration;

use lambda_http::http::{header, HeaderValue, Method, StatusCode};
use lambda_http::{Body, Request, RequestExt, Response};

use super::negotiate::{cors_origin, respond};
use super::reply::{log_error, Reply};
use super::route::ApiRoute;
use crate::service::ApiError;
use crate::time::now_ms;

/// Kept back from the invocation's deadline to render and send the answer.
const ANSWER_MARGIN: Duration = Duration::from_millis(1_500);

/// How long the answer may take: the invocation's deadline (the Lambda
/// context's) less the margin; `None` outside Lambda (no deadline).
fn time_left(req: &Request) -> Option<Duration> {
    let deadline_ms = i64::try_from(req.lambda_context_ref()?.deadline).ok()?;
    let left_ms = deadline_ms - now_ms() - ANSWER_MARGIN.as_millis() as i64;
    Some(Duration::from_millis(left_ms.max(0) as u64))
}

/// `OPTIONS` preflight (API Gateway answers it itself when CORS is
/// configured there; this keeps the functions correct on their own).
fn preflight(req: &Request, cors: &[String]) -> Option<Response<Body>> {
    if req.method() != Method::OPTIONS {
        return None;
    }
    let mut builder = Response::builder()
        .status(StatusCode::NO_CONTENT)
        .header(header::VARY, "Origin");
    if let Some(origin) = cors_origin(req.headers(), cors) {
        builder = builder
            .header(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin)
            .header(header::ACCESS_CONTROL_ALLOW_METHODS, "GET, OPTIONS")
            .header(
                header::ACCESS_CONTROL_ALLOW_HEADERS,
                "Content-Type, If-None-Match",
            )
            .header(
                header::ACCESS_CONTROL_MAX_AGE,
                HeaderValue::from_static("86400"),
            );
    }
    Some(builder.body(Body::Empty).unwrap_or_default())
}

fn method_check(req: &Request) -> Result<(), ApiError> {
    match *req.method() {
        Method::GET | Method::HEAD => Ok(()),
        _ => Err(ApiError::BadRequest("Only GET is supported".into())),
    }
}

/// Answers `req` with `answer(route, query)` (the route API Gateway
/// matched, [`ApiRoute`]), the shared steps around it.
pub async fn serve<'r, F, Fut>(req: &'r Request, cors: &[String], answer: F) -> Response<Body>
where
    F: FnOnce(ApiRoute, Option<&'r str>) -> Fut,
    Fut: std::future::Future<Output = Result<Reply, ApiError>>,
{
    if let Some(resp) = preflight(req, cors) {
        return resp;
    }
    let path = req.uri().path();
    let result = match method_check(req) {
        // Past the deadline Lambda would end the invocation and API Gateway
        // answer a body-less 502: stop waiting on the chain in time to say so.
        Ok(()) => match time_left(req) {
            Some(left) => tokio::time::timeout(left, answer(ApiRoute::of(req), req.uri().query()))
                .await
                .unwrap_or(Err(ApiError::DeadlineExceeded)),
            None => answer(ApiRoute::of(req), req.uri().query()).await,
        },
        Err(e) => Err(e),
    };
    let reply = result.unwrap_or_else(|e| {
        log_error(&e, path);
        Reply::error(&e)
    });
    respond(req.headers(), cors, reply)
}
