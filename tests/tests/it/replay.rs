//! A chain that replays the recorded epoch-56 responses of
//! `../shared/fixtures/gonka-tracker/` (read at start, never copied). The
//! few endpoints without a recording (latest epoch, block times) are
//! derived from the recorded heights.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Router;
use serde_json::json;

use crate::fixtures::{fixtures_dir, read_fixture};

pub const EPOCH: u64 = 56;
pub const HEIGHT: u64 = 887_711;
pub const FIXTURE_PARTICIPANT: &str = "gonka14cu38xpsd8pz5zdkkzwf0jwtpc0vv309ake364";
pub const HARDWARE_PARTICIPANT: &str = "gonka1sqwpuxkspyp483l64knd5rp6qp56ymj4v6ca86";
/// Seconds per block the derived block times use.
pub const BLOCK_SECONDS: f64 = 6.02;
const NEXT_POC_START: u64 = 888_251;
const SET_NEW_VALIDATORS: u64 = 888_438;

struct Files {
    by_path: HashMap<String, Vec<u8>>,
    requests: AtomicU64,
}

pub struct Replay {
    pub url: String,
    files: Arc<Files>,
    _task: tokio::task::JoinHandle<()>,
}

impl Replay {
    pub async fn start() -> Self {
        let mut by_path = HashMap::new();
        let epoch = read_fixture("current_epoch_participants.json");
        by_path.insert("/v1/epochs/current/participants".to_owned(), epoch.clone());
        by_path.insert(format!("/v1/epochs/{EPOCH}/participants"), epoch);
        by_path.insert(
            "/chain-api/productscience/inference/inference/participant".to_owned(),
            read_fixture("all_participants_height_887711.json"),
        );
        for entry in std::fs::read_dir(fixtures_dir()).unwrap() {
            let name = entry.unwrap().file_name().into_string().unwrap();
            let body = read_fixture(&name);
            let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
            if let Some(s) = v.get("epochPerformanceSummary") {
                let path = format!(
                    "/chain-api/productscience/inference/inference/epoch_performance_summary/{}/{}",
                    s["epoch_index"].as_str().unwrap(),
                    s["participant_id"].as_str().unwrap()
                );
                by_path.insert(path, body);
            } else if let Some(n) = v.get("nodes") {
                by_path.insert(
                    format!(
                        "/chain-api/productscience/inference/inference/hardware_nodes/{}",
                        n["participant"].as_str().unwrap()
                    ),
                    body,
                );
            } else if let Some(g) = v.get("grants") {
                by_path.insert(
                    format!(
                        "/chain-api/cosmos/authz/v1beta1/grants/granter/{}",
                        g[0]["granter"].as_str().unwrap()
                    ),
                    body,
                );
            }
        }
        let latest = json!({
            "block_height": HEIGHT,
            "latest_epoch": {"index": EPOCH, "poc_start_block_height": 873_251},
            "epoch_stages": {"epoch_index": EPOCH, "next_poc_start": NEXT_POC_START},
            "next_epoch_stages": {"epoch_index": EPOCH + 1, "next_poc_start": NEXT_POC_START + 15_000, "set_new_validators": SET_NEW_VALIDATORS},
            "epoch_params": {"epoch_length": 15_000}
        });
        by_path.insert(
            "/v1/epochs/latest".to_owned(),
            serde_json::to_vec(&latest).unwrap(),
        );
        let status = json!({"jsonrpc": "2.0", "id": -1, "result": {"sync_info": {"latest_block_height": HEIGHT.to_string()}}});
        by_path.insert(
            "/chain-rpc/status".to_owned(),
            serde_json::to_vec(&status).unwrap(),
        );

        let files = Arc::new(Files {
            by_path,
            requests: AtomicU64::new(0),
        });
        let app = Router::new().fallback(serve).with_state(files.clone());
        let (url, task) = crate::support::serve(app).await;
        Self {
            url,
            files,
            _task: task,
        }
    }

    pub fn requests(&self) -> u64 {
        self.files.requests.load(Ordering::Relaxed)
    }

    pub fn next_poc_start() -> u64 {
        NEXT_POC_START
    }

    pub fn set_new_validators() -> u64 {
        SET_NEW_VALIDATORS
    }

    /// The derived time of block `h` (RFC 3339, UTC).
    pub fn block_time(h: u64) -> String {
        let base = chrono::DateTime::parse_from_rfc3339("2025-10-19T03:12:00Z").unwrap();
        let offset_ms = ((h as f64 - HEIGHT as f64) * BLOCK_SECONDS * 1000.0).round() as i64;
        (base + chrono::Duration::milliseconds(offset_ms))
            .with_timezone(&chrono::Utc)
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
    }
}

async fn serve(State(files): State<Arc<Files>>, req: Request) -> Response {
    files.requests.fetch_add(1, Ordering::Relaxed);
    let path = req.uri().path();
    if path == "/chain-rpc/block" {
        let h: u64 = req
            .uri()
            .query()
            .and_then(|q| q.strip_prefix("height="))
            .and_then(|h| h.parse().ok())
            .unwrap_or(0);
        let body = json!({"jsonrpc": "2.0", "id": -1, "result": {"block": {"header": {"height": h.to_string(), "time": Replay::block_time(h)}}}});
        return (StatusCode::OK, axum::Json(body)).into_response();
    }
    match files.by_path.get(path) {
        Some(body) => (
            StatusCode::OK,
            [("content-type", "application/json")],
            body.clone(),
        )
            .into_response(),
        // Recorded granters only; any other granter has no grants.
        None if path.starts_with("/chain-api/cosmos/authz/v1beta1/grants/granter/") => (
            StatusCode::OK,
            axum::Json(json!({"grants": [], "pagination": {"next_key": null, "total": "0"}})),
        )
            .into_response(),
        None => (
            StatusCode::NOT_FOUND,
            axum::Json(json!({"code": 5, "message": "not found", "details": []})),
        )
            .into_response(),
    }
}
