//! The meter: what the functions would be billed for, counted on the way.
//!
//! - The table: a proxy between the functions and DynamoDB Local (their
//!   `AWS_ENDPOINT_URL_DYNAMODB` points at it). It forwards each request
//!   unchanged and counts, per operation, the requests and the capacity
//!   units the responses report ([`table`]); [`proxy`] does the forwarding.
//! - Lambda: each function's answered invocations and their billed
//!   duration, from its Runtime API ([`crate::runtime_api::Usage`]), beside
//!   its `MemorySize`.
//!
//! `GET /__meter` answers both as JSON ([`Reading`]); `POST /__meter/reset`
//! zeroes them. Everything else on the meter's port is forwarded to
//! DynamoDB Local. The stack's own set-up (creating the table) and anyone
//! talking to DynamoDB Local directly are not counted.

pub mod proxy;
pub mod table;

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::State;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

use crate::runtime_api::{FunctionRuntime, Usage};
use table::{OpCounts, TableMeter};

/// One function's invocations as `/__meter` reports them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FunctionUsage {
    /// `MemorySize` in the template.
    pub memory_mb: u32,
    /// Invocations queued or running when read: a reading is only about
    /// what was asked for once every function is quiet again.
    #[serde(default)]
    pub busy: usize,
    #[serde(flatten)]
    pub usage: Usage,
}

/// `GET /__meter`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Reading {
    /// Per DynamoDB operation (`GetItem`, `BatchGetItem`, ...).
    pub table: BTreeMap<String, OpCounts>,
    /// Per function name.
    pub functions: BTreeMap<String, FunctionUsage>,
}

/// What the meter's routes share.
pub struct Meter {
    pub table: Arc<TableMeter>,
    pub runtimes: Vec<Arc<FunctionRuntime>>,
    /// DynamoDB Local's endpoint.
    pub upstream: String,
    pub client: reqwest::Client,
}

impl Meter {
    pub fn new(upstream: String, runtimes: Vec<Arc<FunctionRuntime>>) -> Result<Meter, String> {
        let client = reqwest::Client::builder()
            .no_proxy()
            .build()
            .map_err(|e| format!("the meter's HTTP client: {e}"))?;
        Ok(Meter {
            table: Arc::new(TableMeter::default()),
            runtimes,
            upstream,
            client,
        })
    }

    pub fn reading(&self) -> Reading {
        Reading {
            table: self.table.snapshot(),
            functions: self
                .runtimes
                .iter()
                .map(|r| {
                    let usage = FunctionUsage {
                        memory_mb: r.def.memory_mb,
                        busy: r.busy(),
                        usage: r.usage(),
                    };
                    (r.name().to_string(), usage)
                })
                .collect(),
        }
    }

    pub fn reset(&self) {
        self.table.reset();
        for r in &self.runtimes {
            r.reset_usage();
        }
    }
}

/// `/__meter`, `/__meter/reset`, and the proxy for everything else.
pub fn router(meter: Arc<Meter>) -> Router {
    Router::new()
        .route("/__meter", get(read))
        .route("/__meter/reset", post(reset))
        .fallback(proxy::forward)
        .layer(axum::extract::DefaultBodyLimit::max(proxy::MAX_BODY_BYTES))
        .with_state(meter)
}

async fn read(State(meter): State<Arc<Meter>>) -> Json<Reading> {
    Json(meter.reading())
}

async fn reset(State(meter): State<Arc<Meter>>) -> Json<Reading> {
    meter.reset();
    Json(meter.reading())
}
