//! HTTP for the two API functions: route and parameter parsing (all input
//! validated before any I/O), the handlers, and the response details
//! (JSON errors, Cache-Control, ETag/304, gzip, CORS).

use std::collections::VecDeque;
use std::io::{Read, Write};
use std::sync::{Arc, Mutex};

use flate2::write::GzEncoder;
use flate2::Compression;
use lambda_http::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use lambda_http::{Body, Request, Response};

use crate::chain::Chain;
use crate::ids::ParticipantId;
use crate::service::epochs::{EpochView, Source};
use crate::service::participant::DetailsMeta;
use crate::service::responses::InferenceResponse;
use crate::service::{ApiError, Ctx, WarmerInvoker};
use crate::table::CacheTable;
use crate::time::now_ms;

/// Epoch ids and heights beyond these are input errors, not numbers to use
/// (they keep `epoch + 1` and friends far from overflow).
pub const MAX_EPOCH: u64 = 1_000_000_000;
pub const MAX_HEIGHT: u64 = 1_000_000_000_000_000;
/// Smaller bodies are not worth compressing.
const GZIP_MIN_BYTES: usize = 1024;
/// A finished epoch with its total never changes.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EpochRoute {
    Current { reload: bool },
    Epoch { epoch: u64, height: Option<u64> },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParticipantRoute {
    pub participant: ParticipantId,
    pub epoch: u64,
    pub height: Option<u64>,
}

/// The path from `/v1/` on (API Gateway stages may prefix it).
fn api_path(path: &str) -> &str {
    let path = path.find("/v1/").map_or(path, |i| &path[i..]);
    path.strip_suffix('/').unwrap_or(path)
}

/// First value of each query parameter, percent-decoded.
fn query_param(query: Option<&str>, name: &str) -> Option<String> {
    form_urlencoded::parse(query.unwrap_or("").as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

fn parse_positive(raw: &str, max: u64, what: &str) -> Result<u64, ApiError> {
    let bad = |why: &str| ApiError::BadRequest(format!("Invalid {what}: {why}"));
    if raw.is_empty() || raw.len() > 20 || !raw.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad("must be a positive integer"));
    }
    match raw.parse::<u64>() {
        Ok(0) => Err(bad("must be at least 1")),
        Ok(v) if v <= max => Ok(v),
        _ => Err(bad("too large")),
    }
}

pub fn parse_epoch_id(raw: &str) -> Result<u64, ApiError> {
    parse_positive(raw, MAX_EPOCH, "epoch ID")
}

pub fn parse_height(raw: Option<String>) -> Result<Option<u64>, ApiError> {
    raw.map(|h| parse_positive(&h, MAX_HEIGHT, "height"))
        .transpose()
}

pub fn route_epoch_stats(path: &str, query: Option<&str>) -> Result<EpochRoute, ApiError> {
    match api_path(path) {
        "/v1/inference/current" => {
            let reload = match query_param(query, "reload").as_deref() {
                None | Some("false") | Some("0") => false,
                Some("true") | Some("1") => true,
                Some(_) => {
                    return Err(ApiError::BadRequest(
                        "Invalid reload: must be true or false".into(),
                    ))
                }
            };
            Ok(EpochRoute::Current { reload })
        }
        p => match p.strip_prefix("/v1/inference/epochs/") {
            Some(id) if !id.contains('/') => Ok(EpochRoute::Epoch {
                epoch: parse_epoch_id(id)?,
                height: parse_height(query_param(query, "height"))?,
            }),
            _ => Err(ApiError::NotFound("Not Found".into())),
        },
    }
}

pub fn route_participant(path: &str, query: Option<&str>) -> Result<ParticipantRoute, ApiError> {
    let raw = api_path(path)
        .strip_prefix("/v1/participants/")
        .filter(|id| !id.contains('/'))
        .ok_or_else(|| ApiError::NotFound("Not Found".into()))?;
    let participant = ParticipantId::parse(raw)
        .map_err(|e| ApiError::BadRequest(format!("Invalid participant ID: {e}")))?;
    let epoch = query_param(query, "epoch_id")
        .ok_or_else(|| ApiError::BadRequest("epoch_id is required".into()))?;
    Ok(ParticipantRoute {
        participant,
        epoch: parse_epoch_id(&epoch)?,
        height: parse_height(query_param(query, "height"))?,
    })
}

/// A response before content negotiation.
pub struct Reply {
    pub status: u16,
    pub body: Payload,
    pub cache_control: String,
    pub etag: Option<String>,
}

/// A response body: plain JSON, or JSON gzipped once when rendered (an
/// epoch's answer is kept that way, 5-10x smaller, and sent as is to the
/// clients that accept gzip, which browsers all do).
#[derive(Clone)]
pub enum Payload {
    Plain(Vec<u8>),
    Gzipped(Arc<Vec<u8>>),
}

impl Reply {
    pub fn error(err: &ApiError) -> Self {
        let body =
            serde_json::to_vec(&serde_json::json!({ "detail": err.detail() })).unwrap_or_default();
        Reply {
            status: err.status(),
            body: Payload::Plain(body),
            cache_control: "no-store".into(),
            etag: None,
        }
    }
}

fn log_error(err: &ApiError, path: &str) {
    match err.status() {
        400 | 404 => tracing::info!(path, status = err.status(), error = %err, "request rejected"),
        _ => tracing::error!(path, status = err.status(), error = %err, "request failed"),
    }
}

fn accepts_gzip(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|enc| {
            let mut parts = enc.split(';').map(str::trim);
            let name = parts.next().unwrap_or("");
            let refused =
                parts.any(|p| p.replace(' ', "") == "q=0" || p.replace(' ', "") == "q=0.0");
            (name.eq_ignore_ascii_case("gzip") || name == "*") && !refused
        })
}

fn etag_matches(headers: &HeaderMap, etag: &str) -> bool {
    let weak = |t: &str| t.trim().trim_start_matches("W/").to_owned();
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|t| t.trim() == "*" || weak(t) == weak(etag))
}

/// CORS: `*` allows any origin; otherwise a listed origin is echoed back.
fn cors_origin(req_headers: &HeaderMap, allowed: &[String]) -> Option<String> {
    if allowed.iter().any(|o| o == "*") {
        return Some("*".into());
    }
    let origin = req_headers.get(header::ORIGIN)?.to_str().ok()?;
    allowed
        .iter()
        .any(|o| o == origin)
        .then(|| origin.to_owned())
}

/// Turns a reply into the HTTP response: 304 on a matching ETag, gzip when
/// accepted, CORS headers.
pub fn respond(req_headers: &HeaderMap, cors: &[String], reply: Reply) -> Response<Body> {
    let mut builder = Response::builder()
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::CACHE_CONTROL, &reply.cache_control)
        .header(header::VARY, "Accept-Encoding, Origin");
    if let Some(origin) = cors_origin(req_headers, cors) {
        builder = builder
            .header(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin)
            .header(header::ACCESS_CONTROL_EXPOSE_HEADERS, "ETag");
    }
    if let Some(etag) = &reply.etag {
        builder = builder.header(header::ETAG, etag);
        if reply.status == 200 && etag_matches(req_headers, etag) {
            return builder
                .status(StatusCode::NOT_MODIFIED)
                .body(Body::Empty)
                .unwrap_or_default();
        }
    }
    let status = StatusCode::from_u16(reply.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let gzip_ok = accepts_gzip(req_headers);
    let (body, gzipped) = match reply.body {
        Payload::Gzipped(gz) if gzip_ok => (gz.to_vec(), true),
        Payload::Gzipped(gz) => match gunzip(&gz) {
            Ok(plain) => (plain, false),
            Err(e) => return respond(req_headers, cors, Reply::error(&e)),
        },
        Payload::Plain(plain) if gzip_ok && plain.len() >= GZIP_MIN_BYTES => match gzip(&plain) {
            Ok(gz) => (gz, true),
            Err(_) => (plain, false),
        },
        Payload::Plain(plain) => (plain, false),
    };
    if gzipped {
        builder = builder.header(header::CONTENT_ENCODING, "gzip");
    }
    builder
        .status(status)
        .body(Body::Binary(body))
        .unwrap_or_default()
}

fn gzip(plain: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut enc = GzEncoder::new(Vec::with_capacity(plain.len() / 5), Compression::fast());
    enc.write_all(plain)?;
    enc.finish()
}

fn gunzip(gz: &[u8]) -> Result<Vec<u8>, ApiError> {
    let mut plain = Vec::with_capacity(gz.len() * 5);
    flate2::read::GzDecoder::new(gz)
        .read_to_end(&mut plain)
        .map_err(|e| ApiError::Internal(format!("inflating a kept answer: {e}")))?;
    Ok(plain)
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

/// The epoch-stats answer, rendered straight into gzip (no uncompressed
/// copy of a large epoch is held), with its caching headers.
pub fn render_epoch(view: &EpochView, current_freshness_secs: u64) -> Result<Rendered, ApiError> {
    let h = &view.snapshot.header;
    let total = view.total_assigned_rewards_gnk;
    let cache_control = match (view.is_current, view.source, total) {
        (_, Source::StaleTable, _) => "no-store".to_owned(),
        (true, _, _) => format!("public, max-age={current_freshness_secs}"),
        (false, _, Some(_)) => IMMUTABLE.to_owned(),
        // The total is still being settled by the warmer.
        (false, _, None) => "public, max-age=60".to_owned(),
    };
    let etag = format!(
        "W/\"e{}-h{}-f{}-t{}-{}\"",
        h.epoch_id,
        h.height,
        h.fetched_at_ms,
        total.map_or("none".to_owned(), |t| t.to_string()),
        if view.is_current { "c" } else { "p" }
    );
    // serde_json writes in tiny pieces; the encoder wants large ones.
    let mut out = std::io::BufWriter::with_capacity(
        64 * 1024,
        GzEncoder::new(Vec::new(), Compression::fast()),
    );
    serde_json::to_writer(
        &mut out,
        &InferenceResponse::new(&view.snapshot, view.is_current, total),
    )
    .map_err(|e| ApiError::Internal(format!("encoding the response: {e}")))?;
    let gz = out
        .into_inner()
        .map_err(|e| ApiError::Internal(format!("compressing the response: {}", e.error())))?
        .finish()
        .map_err(|e| ApiError::Internal(format!("compressing the response: {e}")))?;
    // Kept for later requests: a finished epoch once its total is settled
    // (it never changes again), the current epoch for its freshness window.
    let keep_until_ms = match (view.is_current, view.source, total) {
        (_, Source::StaleTable, _) => Some(0),
        (true, _, _) => Some(h.fetched_at_ms + current_freshness_secs as i64 * 1000),
        (false, _, Some(_)) => None,
        (false, _, None) => Some(0),
    };
    Ok(Rendered {
        epoch_id: h.epoch_id,
        is_current: view.is_current,
        keep_until_ms,
        body: Arc::new(gz),
        cache_control,
        etag,
    })
}

/// An epoch's rendered answer.
pub struct Rendered {
    pub epoch_id: u64,
    pub is_current: bool,
    /// `None`: valid for good; `Some(t)`: until `t` (ms); `Some(0)`: not kept.
    keep_until_ms: Option<i64>,
    body: Arc<Vec<u8>>,
    cache_control: String,
    etag: String,
}

impl Rendered {
    fn reply(&self) -> Reply {
        Reply {
            status: 200,
            body: Payload::Gzipped(self.body.clone()),
            cache_control: self.cache_control.clone(),
            etag: Some(self.etag.clone()),
        }
    }
}

/// The epoch-stats answers a warm instance keeps, so a repeated request is
/// answered without reading and rendering the epoch again. Few entries (an
/// epoch of 10,000 participants is about 2 MB gzipped).
#[derive(Default)]
pub struct RenderCache {
    entries: Mutex<VecDeque<(EpochRoute, Arc<Rendered>)>>,
}

const RENDER_CACHE_ENTRIES: usize = 4;

impl RenderCache {
    fn get(&self, route: &EpochRoute, now_ms: i64) -> Option<Arc<Rendered>> {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries.retain(|(_, r)| r.keep_until_ms.is_none_or(|t| t > now_ms));
        entries
            .iter()
            .find(|(k, _)| k == route)
            .map(|(_, r)| r.clone())
    }

    fn put(&self, route: EpochRoute, rendered: Arc<Rendered>, now_ms: i64) {
        if rendered.keep_until_ms.is_some_and(|t| t <= now_ms) {
            return;
        }
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries.retain(|(k, _)| *k != route);
        if entries.len() >= RENDER_CACHE_ENTRIES {
            entries.pop_front();
        }
        entries.push_back((route, rendered));
    }
}

/// The steps every route shares: the CORS preflight, the method check,
/// errors as `{"detail"}` with a log line, and content negotiation.
async fn serve<'r, F, Fut>(req: &'r Request, cors: &[String], answer: F) -> Response<Body>
where
    F: FnOnce(&'r str, Option<&'r str>) -> Fut,
    Fut: std::future::Future<Output = Result<Reply, ApiError>>,
{
    if let Some(resp) = preflight(req, cors) {
        return resp;
    }
    let path = req.uri().path();
    let result = match method_check(req) {
        Ok(()) => answer(path, req.uri().query()).await,
        Err(e) => Err(e),
    };
    let reply = result.unwrap_or_else(|e| {
        log_error(&e, path);
        Reply::error(&e)
    });
    respond(req.headers(), cors, reply)
}

/// `GET /v1/inference/current` and `GET /v1/inference/epochs/{id}`.
pub async fn handle_epoch_stats<C: Chain, T: CacheTable, W: WarmerInvoker>(
    ctx: &Ctx<C, T>,
    invoker: &W,
    req: &Request,
) -> Response<Body> {
    serve(
        req,
        &ctx.config.cors_allowed_origins,
        |path, query| async move {
            let route = route_epoch_stats(path, query)?;
            let kept = match route {
                EpochRoute::Current { reload: true } => None,
                _ => ctx.rendered.get(&route, now_ms()),
            };
            if let Some(kept) = kept {
                ctx.trigger_warm(invoker, kept.epoch_id, !kept.is_current)
                    .await;
                return Ok(kept.reply());
            }
            let view = match route {
                EpochRoute::Current { reload } => ctx.current_epoch(reload).await?,
                EpochRoute::Epoch { epoch, height } => ctx.epoch_by_id(epoch, height).await?,
            };
            // The warmer trigger's I/O overlaps the rendering, and completes
            // before the handler returns (Lambda freezes the process after the
            // response).
            let freshness = ctx.config.current_epoch_freshness.as_secs();
            let (_, rendered) = tokio::join!(
                ctx.trigger_warm(invoker, view.snapshot.header.epoch_id, !view.is_current),
                async { render_epoch(&view, freshness) }
            );
            let rendered = Arc::new(rendered?);
            let reply = rendered.reply();
            let key = match route {
                EpochRoute::Current { .. } => EpochRoute::Current { reload: false },
                other => other,
            };
            ctx.rendered.put(key, rendered, now_ms());
            Ok(reply)
        },
    )
    .await
}

/// `GET /v1/participants/{id}?epoch_id=N[&height=H]`.
pub async fn handle_participant<C: Chain, T: CacheTable>(
    ctx: &Ctx<C, T>,
    req: &Request,
) -> Response<Body> {
    serve(
        req,
        &ctx.config.cors_allowed_origins,
        |path, query| async move {
            let route = route_participant(path, query)?;
            let (details, meta) = ctx
                .participant_details(&route.participant, route.epoch, route.height)
                .await?;
            let body = to_json(&details)?;
            let etag = format!("W/\"{:016x}\"", fnv1a(&body));
            Ok(Reply {
                status: 200,
                body: Payload::Plain(body),
                cache_control: details_cache_control(meta, ctx),
                etag: Some(etag),
            })
        },
    )
    .await
}

fn to_json<T: serde::Serialize>(value: &T) -> Result<Vec<u8>, ApiError> {
    serde_json::to_vec(value).map_err(|e| ApiError::Internal(format!("encoding the response: {e}")))
}

fn details_cache_control<C: Chain, T: CacheTable>(meta: DetailsMeta, ctx: &Ctx<C, T>) -> String {
    if !meta.complete {
        "no-store".into()
    } else if meta.is_current {
        format!(
            "public, max-age={}",
            ctx.config.current_epoch_freshness.as_secs()
        )
    } else if meta.all_final {
        "public, max-age=86400".into()
    } else {
        format!("public, max-age={}", ctx.config.item_freshness.as_secs())
    }
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epoch_routes() {
        let ok = |p: &str, q: Option<&str>| route_epoch_stats(p, q).unwrap();
        assert_eq!(
            ok("/v1/inference/current", None),
            EpochRoute::Current { reload: false }
        );
        assert_eq!(
            ok("/v1/inference/current/", Some("reload=true")),
            EpochRoute::Current { reload: true }
        );
        assert_eq!(
            ok("/prod/v1/inference/epochs/56", Some("height=887711")),
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
            let err = route_epoch_stats(path, query).unwrap_err();
            assert_eq!(err.status(), status, "{path} {query:?}");
            assert!(err.detail().starts_with(detail), "{path}: {}", err.detail());
        }
    }

    #[test]
    fn participant_routes() {
        let id = "gonka14cu38xpsd8pz5zdkkzwf0jwtpc0vv309ake364";
        let r = route_participant(
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
            (cosmos, Some("epoch_id=5"), 400, "Invalid participant ID"),
        ];
        for (path, query, status, detail) in cases {
            let err = route_participant(&path, query).unwrap_err();
            assert_eq!(err.status(), status, "{path}");
            assert!(err.detail().starts_with(detail), "{path}: {}", err.detail());
        }
    }

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        pairs
            .iter()
            .map(|(k, v)| {
                (
                    lambda_http::http::HeaderName::from_static(k),
                    HeaderValue::from_static(v),
                )
            })
            .collect()
    }

    #[test]
    fn negotiation() {
        let cases = [
            (headers(&[("accept-encoding", "gzip, deflate, br")]), true),
            (
                headers(&[("accept-encoding", "br;q=1.0, gzip;q=0.8")]),
                true,
            ),
            (headers(&[("accept-encoding", "gzip;q=0")]), false),
            (headers(&[("accept-encoding", "identity")]), false),
            (headers(&[]), false),
        ];
        for (h, want) in cases {
            assert_eq!(accepts_gzip(&h), want, "{h:?}");
        }
        assert!(etag_matches(
            &headers(&[("if-none-match", "W/\"a\", W/\"b\"")]),
            "W/\"b\""
        ));
        assert!(etag_matches(
            &headers(&[("if-none-match", "\"b\"")]),
            "W/\"b\""
        ));
        assert!(!etag_matches(
            &headers(&[("if-none-match", "W/\"c\"")]),
            "W/\"b\""
        ));
        let allowed = vec!["https://tracker.example".to_string()];
        assert_eq!(
            cors_origin(&headers(&[("origin", "https://tracker.example")]), &allowed).as_deref(),
            Some("https://tracker.example")
        );
        assert_eq!(
            cors_origin(&headers(&[("origin", "https://evil.example")]), &allowed),
            None
        );
        assert_eq!(
            cors_origin(&headers(&[]), &["*".to_string()]).as_deref(),
            Some("*")
        );
    }
}
