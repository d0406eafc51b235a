//! The history routes, answered from the table alone (one Query a page):
//! `GET /v1/participants/{id}/history` and `GET /v1/network/history` (JSON,
//! or CSV on `Accept: text/csv` or `?format=csv`), and
//! `GET /v1/participants/{id}/history.svg` (a chart to embed).

pub mod csv;
pub mod svg;

use lambda_http::{Body, Request, Response};

use crate::http::{parse_participant_id, query_param, serve, ApiRoute, Media, Reply};
use crate::ids::ParticipantId;
use crate::service::history::{network_history_page, participant_history_page, PageQuery};
use crate::service::ApiError;
use crate::table::HistoryTable;
use svg::{history_svg, Metric};

pub const PARTICIPANT_HISTORY_ROUTE: &str = "/v1/participants/{participant_id}/history";
pub const PARTICIPANT_HISTORY_SVG_ROUTE: &str = "/v1/participants/{participant_id}/history.svg";
pub const NETWORK_HISTORY_ROUTE: &str = "/v1/network/history";

/// Whether `route` is one of these (the function then hands it here).
pub fn is_history_route(route: &ApiRoute) -> bool {
    [
        PARTICIPANT_HISTORY_ROUTE,
        PARTICIPANT_HISTORY_SVG_ROUTE,
        NETWORK_HISTORY_ROUTE,
    ]
    .contains(&route.path.as_str())
}

/// A page may change until a new epoch is recorded (or a reward claimed).
const PAGE_MAX_AGE: &str = "public, max-age=60";
/// Every epoch of a closed range present and settled.
const SETTLED: &str = "public, max-age=31536000, immutable";
/// A chart in a README or a chat: refetched every few minutes at most.
const CHART_MAX_AGE: &str = "public, max-age=300";
/// Epochs a chart draws by default, and at most.
const CHART_EPOCHS: usize = 30;
const MAX_CHART_EPOCHS: usize = 500;

fn number_param(query: Option<&str>, name: &str) -> Result<Option<u64>, ApiError> {
    let Some(raw) = query_param(query, name) else {
        return Ok(None);
    };
    if raw.is_empty() || raw.len() > 12 || !raw.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ApiError::BadRequest(format!(
            "Invalid {name}: must be a positive integer"
        )));
    }
    raw.parse()
        .map(Some)
        .map_err(|_| ApiError::BadRequest(format!("Invalid {name}: too large")))
}

fn page_query(query: Option<&str>) -> Result<PageQuery, ApiError> {
    Ok(PageQuery {
        from: number_param(query, "from_epoch")?,
        to: number_param(query, "to_epoch")?,
        limit: number_param(query, "limit")?.map(|l| l as usize),
    })
}

/// CSV when `?format=csv`, or when the request accepts `text/csv` and
/// names no format; `?format=json` is JSON; any other format is a 400.
fn wants_csv(req: &Request, query: Option<&str>) -> Result<bool, ApiError> {
    match query_param(query, "format").as_deref() {
        Some("csv") => Ok(true),
        Some("json") => Ok(false),
        Some(_) => Err(ApiError::BadRequest("format must be json or csv".into())),
        None => Ok(req
            .headers()
            .get_all(lambda_http::http::header::ACCEPT)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .any(|v| v.to_ascii_lowercase().contains("text/csv"))),
    }
}

fn range_name(q: &PageQuery) -> String {
    match (q.from, q.to) {
        (Some(a), Some(b)) => format!("-{a}-{b}"),
        (Some(a), None) => format!("-from-{a}"),
        (None, Some(b)) => format!("-to-{b}"),
        (None, None) => String::new(),
    }
}

async fn participant_page<T: HistoryTable>(
    table: &T,
    req: &Request,
    participant: &ParticipantId,
    query: Option<&str>,
) -> Result<Reply, ApiError> {
    let q = page_query(query)?;
    let csv = wants_csv(req, query)?;
    let page = participant_history_page(table, participant, q).await?;
    let cache = if page.immutable {
        SETTLED
    } else {
        PAGE_MAX_AGE
    }
    .to_owned();
    if csv {
        let filename = format!("{participant}-history{}.csv", range_name(&q));
        let body = csv::participant_csv(&page.epochs)?;
        return Ok(Reply::bytes(body, Media::Csv { filename }, cache));
    }
    Reply::json(&page, cache)
}

async fn participant_chart<T: HistoryTable>(
    table: &T,
    participant: &ParticipantId,
    query: Option<&str>,
) -> Result<Reply, ApiError> {
    let metric = Metric::parse(query_param(query, "metric").as_deref())?;
    let epochs = number_param(query, "epochs")?.map_or(CHART_EPOCHS, |e| e as usize);
    if !(1..=MAX_CHART_EPOCHS).contains(&epochs) {
        return Err(ApiError::BadRequest(format!(
            "epochs must be between 1 and {MAX_CHART_EPOCHS}"
        )));
    }
    let q = PageQuery {
        limit: Some(epochs),
        ..PageQuery::default()
    };
    let page = participant_history_page(table, participant, q).await?;
    let body = history_svg(participant.as_str(), metric, &page.epochs)?;
    Ok(Reply::bytes(body, Media::Svg, CHART_MAX_AGE.to_owned()))
}

/// Answers the three history routes (the participant function holds the
/// participant's two, the network function the network's).
pub async fn handle_history<T: HistoryTable>(
    table: &T,
    cors: &[String],
    req: &Request,
) -> Response<Body> {
    serve(req, cors, |route, query| async move {
        match route.path.as_str() {
            NETWORK_HISTORY_ROUTE => {
                let q = page_query(query)?;
                let csv = wants_csv(req, query)?;
                let page = network_history_page(table, q).await?;
                if csv {
                    let filename = format!("network-history{}.csv", range_name(&q));
                    let body = csv::network_csv(&page.epochs)?;
                    return Ok(Reply::bytes(
                        body,
                        Media::Csv { filename },
                        PAGE_MAX_AGE.to_owned(),
                    ));
                }
                Reply::json(&page, PAGE_MAX_AGE.to_owned())
            }
            PARTICIPANT_HISTORY_ROUTE => {
                let participant = parse_participant_id(route.param("participant_id")?)?;
                participant_page(table, req, &participant, query).await
            }
            PARTICIPANT_HISTORY_SVG_ROUTE => {
                let participant = parse_participant_id(route.param("participant_id")?)?;
                participant_chart(table, &participant, query).await
            }
            _ => Err(ApiError::NotFound("Not Found".into())),
        }
    })
    .await
}
