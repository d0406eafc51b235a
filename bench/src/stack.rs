//! The release local stack (`target/release/local-stack`), started by
//! local-stack's own launcher exactly as a developer starts it (`make
//! local`), only with a free API port, the size and latency of the run,
//! and quiet logs; and how the bench talks to it: the simulated chain's
//! `/__stats`, the Lambda Invoke endpoint, DynamoDB Local through the
//! functions' own table adapter, and `/proc` for the function processes.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use local_stack::launcher::{Launcher, LocalStack};
use serde::Deserialize;
use serde_json::Value;
use shared::table::ports::*;
use shared::table::{DynamoTable, LeaseToken};

use crate::http::{get_json, http_client};
use crate::procs;

/// DynamoDB Local's JVM, the simulated universe and every instance.
const READY_TIMEOUT: Duration = Duration::from_secs(180);
/// How long a stopping stack gets before its group is killed.
const STOP_GRACE: Duration = Duration::from_secs(20);
/// Lines of the stack's output kept to explain a failure.
const LOG_LINES: usize = 400;
/// The three functions, by binary (= process) name.
pub const FUNCTIONS: [&str; 4] = ["epoch-stats", "warmer", "participant", "scheduler"];

/// What a stack is started with.
#[derive(Debug, Clone)]
pub struct StackSpec {
    pub root: PathBuf,
    pub bin_dir: PathBuf,
    pub template: PathBuf,
    pub table_name: String,
    pub participants: usize,
    pub latency_ms: u64,
    pub instances: usize,
    /// Template parameter overrides (`Name=Value`), as `--param` takes them.
    pub params: Vec<String>,
}

/// A running stack. Dropping it kills its whole process group.
pub struct Stack {
    local: LocalStack,
    /// What it was started with (a figure may start a variant).
    pub spec: StackSpec,
    pub current_epoch: u64,
    /// Blocks per epoch (the simulator's `/__config`).
    pub epoch_length: u64,
    pub participants: usize,
    pub http: reqwest::Client,
    table: DynamoTable,
    /// The owner of the warm leases the bench holds: a warmer invoked with
    /// it (figure 3) runs under the bench's lease.
    pub lease: LeaseToken,
}

/// The simulator's request counters (`GET /__stats`, `by_key` left out).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ChainStats {
    pub total: u64,
}

impl Stack {
    /// Starts the stack and waits for its ready banner (blocking: call it
    /// from `spawn_blocking`).
    pub fn start(spec: &StackSpec) -> Result<Stack, String> {
        let mut launcher = Launcher::new(spec.bin_dir.join("local-stack"));
        for param in &spec.params {
            launcher = launcher.arg("--param").arg(param);
        }
        let local = launcher
            .bin_dir(&spec.bin_dir)
            .template(&spec.template)
            .current_dir(&spec.root)
            .env("API_PORT", "0")
            .env("SIM_PARTICIPANTS", spec.participants.to_string())
            .env("SIM_LATENCY_MS", spec.latency_ms.to_string())
            .env("LAMBDA_INSTANCES", spec.instances.to_string())
            .env("WARMER_INSTANCES", "1")
            // The figures drive every run themselves (the scheduled jobs'
            // own figure invokes them): no chain calls of their own.
            .env("SCHEDULE_EVERY_SECS", "0")
            // The inference scan's figure covers a list of 20,000.
            .env("SIM_INFERENCES", "20000")
            // Access lines and info logs would cost CPU the figures share.
            .env("RUST_LOG", "warn")
            .env("NO_COLOR", "1")
            // The functions' defaults, not whatever the developer's shell has.
            .env_remove("AWS_LAMBDA_LOG_LEVEL")
            .env_remove("AWS_LAMBDA_LOG_FORMAT")
            .ready_timeout(READY_TIMEOUT)
            .keep_lines(LOG_LINES)
            .start()?;
        let table = DynamoTable::new(
            local_stack::dynamodb::client(local.dynamodb(), false),
            spec.table_name.clone(),
        );
        Ok(Stack {
            local,
            spec: spec.clone(),
            current_epoch: 0,
            epoch_length: 0,
            participants: spec.participants,
            http: http_client()?,
            table,
            lease: LeaseToken::random(),
        })
    }

    /// The API front's URL.
    pub fn api(&self) -> &str {
        self.local.api()
    }

    /// The simulated chain's URL.
    pub fn chain(&self) -> &str {
        self.local.chain()
    }

    pub fn dynamodb(&self) -> &str {
        self.local.dynamodb()
    }

    /// The meter: the functions' DynamoDB endpoint and `/__meter`
    /// ([`crate::meter`]).
    pub fn meter(&self) -> &str {
        self.local.meter()
    }

    /// The Lambda Invoke API's URL.
    pub fn invoke(&self) -> &str {
        self.local.invoke()
    }

    /// The last `lines` lines the stack printed.
    pub fn recent_output(&self, lines: usize) -> String {
        self.local.output(lines)
    }

    /// SIGTERM (the stack stops its parts in order), then SIGKILL to the
    /// group if it takes too long.
    pub async fn stop(self) {
        let local = self.local;
        let _ = tokio::task::spawn_blocking(move || local.stop(STOP_GRACE)).await;
    }

    /// Reads the simulator's settings (`GET /__config`): the current epoch
    /// and the epoch length.
    pub async fn load_chain_config(&mut self) -> Result<(), String> {
        let url = format!("{}/__config", self.chain());
        let cfg: Value = get_json(&self.http, &url).await?;
        self.current_epoch = cfg["current_epoch"]
            .as_u64()
            .ok_or_else(|| format!("GET {url}: no current_epoch in {cfg}"))?;
        self.epoch_length = cfg["epoch_length"]
            .as_u64()
            .ok_or_else(|| format!("GET {url}: no epoch_length in {cfg}"))?;
        Ok(())
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.api())
    }

    pub async fn chain_stats(&self) -> Result<ChainStats, String> {
        get_json(&self.http, &format!("{}/__stats", self.chain())).await
    }

    pub async fn reset_chain_stats(&self) -> Result<(), String> {
        let url = format!("{}/__stats/reset", self.chain());
        crate::http::post_empty(&self.http, &url).await
    }

    /// Invokes `function` synchronously (RequestResponse) through the
    /// stack's Invoke endpoint with `payload`; its answer, which must say
    /// `"status": "done"` (the warmer's and the scheduler's answers do).
    pub async fn invoke_sync(&self, function: &str, payload: &str) -> Result<Value, String> {
        let url = format!(
            "{}/2015-03-31/functions/{function}/invocations",
            self.invoke()
        );
        let resp = self
            .http
            .post(&url)
            .timeout(Duration::from_secs(1_000))
            .body(payload.to_owned())
            .send()
            .await
            .map_err(|e| format!("POST {url}: {e}"))?;
        let failed = resp.headers().contains_key("x-amz-function-error");
        let body = resp.bytes().await.map_err(|e| format!("POST {url}: {e}"))?;
        let body: Value =
            serde_json::from_slice(&body).map_err(|e| format!("POST {url}: not JSON: {e}"))?;
        // "skipped": the function declined the work (a warmer whose epoch
        // rests); the caller reads the answer.
        if failed || !(body["status"] == "done" || body["status"] == "skipped") {
            return Err(format!("{function} {payload:.200} failed: {body:.500}"));
        }
        Ok(body)
    }

    /// Invokes the warmer under the bench's lease (the one
    /// [`Stack::hold_warm_leases`] holds); its report and the wall time.
    pub async fn invoke_warmer(&self, payload: &Value) -> Result<(WarmReport, Duration), String> {
        let mut payload = payload.clone();
        payload["lease_token"] = Value::from(self.lease.as_str());
        let started = Instant::now();
        let body = self.invoke_sync("warmer", &payload.to_string()).await?;
        let wall = started.elapsed();
        if body["status"] == "skipped" {
            // The lease refused the run: a complete epoch rests for good.
            let report = WarmReport {
                skipped: true,
                ..WarmReport::default()
            };
            return Ok((report, wall));
        }
        let report = serde_json::from_value(body["report"].clone())
            .map_err(|e| format!("the warmer's report: {e}: {body:.500}"))?;
        Ok((report, wall))
    }

    /// The participant ids `/v1/inference/epochs/{epoch}` lists.
    pub async fn epoch_participant_ids(&self, epoch: u64) -> Result<Vec<String>, String> {
        let url = self.url(&format!("/v1/inference/epochs/{epoch}"));
        Ok(
            crate::http::get_ok(&self.http, &url).await?.json()?["participants"]
                .as_array()
                .ok_or_else(|| format!("epoch {epoch} has no participants array"))?
                .iter()
                .filter_map(|p| p["index"].as_str().map(str::to_string))
                .collect(),
        )
    }

    /// The functions' table adapter, pointed at this stack's DynamoDB Local.
    pub fn table(&self) -> &DynamoTable {
        &self.table
    }

    /// Claims the warm lease of each epoch for an hour, as if a request had
    /// just triggered the warmer: epoch-stats requests for those epochs
    /// then do their lease write and skip the trigger, so no background
    /// warm runs while a figure is measured (the warm is measured on its
    /// own, in figure 3).
    pub async fn hold_warm_leases(&self, epochs: &[u64]) -> Result<(), String> {
        let now = chrono::Utc::now().timestamp_millis();
        for &epoch in epochs.iter().filter(|e| **e >= 1) {
            self.table
                .claim_warm_lease(epoch, &self.lease, now, 3_600_000, false)
                .await
                .map_err(|e| format!("claiming the warm lease of epoch {epoch}: {e}"))?;
        }
        Ok(())
    }

    /// The stack's function processes (local-stack's children named after
    /// a function), sorted.
    pub fn function_processes(&self) -> Vec<(String, i32)> {
        procs::children_named(self.local.pid(), &FUNCTIONS)
    }
}

/// The warmer's report (`shared::service::warm::WarmReport`), the fields
/// the figures use.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct WarmReport {
    pub participants: u64,
    pub items_checked: u64,
    pub present: u64,
    pub fetched: u64,
    pub written: u64,
    pub lost_races: u64,
    pub failures: BTreeMap<String, u64>,
    pub left_for_next_run: u64,
    pub upstream_calls: u64,
    pub dynamodb_requests: u64,
    pub dynamodb_read_units: f64,
    pub dynamodb_write_units: f64,
    pub duration_ms: u64,
    /// The warmer answered "skipped": the epoch rests (its last run found
    /// everything stored), so nothing ran.
    #[serde(skip)]
    pub skipped: bool,
}

impl WarmReport {
    /// Failures and items left for a later run, if any.
    pub fn problems(&self) -> Option<String> {
        let failed: u64 = self.failures.values().sum();
        (failed > 0 || self.left_for_next_run > 0).then(|| {
            format!(
                "{failed} failures {:?}, {} left for the next run",
                self.failures, self.left_for_next_run
            )
        })
    }
}
