//! Figure 8: the bill. What the table and Lambda are asked for, read from
//! local-stack's meter ([`crate::meter`]) around one thing at a time:
//!
//! - one round of every scheduled job (each schedule of template.yaml
//!   invoked once with its input) on a chain where nothing happens (the
//!   simulator's head frozen), after a first round that stored everything;
//! - one round after a typical minute: a new block and a few nodes'
//!   health flipped (the simulator's `advance_blocks` and `flip_health`);
//! - cached page views: the current epoch, the previous one, and modals
//!   over varied participants of the epoch figure 3 warmed;
//! - the table's size (a Scan, [`crate::table_size`]).
//!
//! The warm of an epoch is figure 3's first run, metered there. Prices and
//! dollars are the report's ([`crate::report`]); nothing here prices.

use std::time::Duration;

use local_stack::template::FunctionDef;
use serde_json::{json, Value};

use crate::fig6_scheduled::invoke_job;
use crate::http::get_ok;
use crate::meter::Metered;
use crate::progress::progress;
use crate::sample::sample;
use crate::stack::Stack;
use crate::table_size::{self, TableSize};

/// Nodes whose health the typical minute flips (generation indices of
/// nodes that answer: healthy ones, `i % 4 == 0`).
const HEALTH_FLIPS: [usize; 5] = [0, 4, 8, 12, 16];
/// New blocks in the typical minute's round.
const NEW_BLOCKS: u64 = 1;
/// How long a background warm may take to finish before a reading (the
/// warmer's timeout in template.yaml is of this order).
const QUIET_WITHIN: Duration = Duration::from_secs(900);

/// One job's run, metered.
#[derive(Debug, Clone)]
pub struct JobCost {
    pub job: String,
    /// How often its schedule runs it.
    pub period: Duration,
    pub metered: Metered,
    /// The inference scan's pages read in this run (its report).
    pub pages_read: Option<u64>,
}

/// Repeated page views of one kind, metered together.
#[derive(Debug, Clone)]
pub struct ViewCost {
    pub what: String,
    /// The route as the report shows it.
    pub route: String,
    pub views: u64,
    pub metered: Metered,
    /// Bytes of all the bodies, as transferred (gzip).
    pub body_bytes: u64,
    /// Modals: the first view of each participant, metered before the
    /// counted views (a stored item past its freshness, such as unclaimed
    /// rewards after five minutes, is refreshed by the read-through then).
    pub first_views: Option<(u64, Metered)>,
}

impl ViewCost {
    pub fn table_requests_per_view(&self) -> f64 {
        self.metered.table_requests() as f64 / self.views.max(1) as f64
    }
}

#[derive(Debug, Clone)]
pub struct BillRow {
    pub n: usize,
    /// The chain's blocks per epoch (its `/__config`).
    pub epoch_length: u64,
    pub idle: Vec<JobCost>,
    pub change: Vec<JobCost>,
    pub views: Vec<ViewCost>,
    pub storage: Option<TableSize>,
    /// The epoch figure 3 warmed (its participant items are one epoch's growth).
    pub warm_epoch: u64,
}

/// Every schedule of every function once, each metered on its own.
async fn round(stack: &Stack, functions: &[FunctionDef]) -> Result<Vec<JobCost>, String> {
    let mut out = Vec::new();
    for f in functions {
        for schedule in &f.schedules {
            let input = schedule.input.clone().unwrap_or_else(|| "{}".into());
            let job = serde_json::from_str::<Value>(&input)
                .ok()
                .and_then(|v| v["job"].as_str().map(str::to_owned))
                .unwrap_or_else(|| schedule.name.clone());
            stack.wait_quiet(QUIET_WITHIN).await?;
            stack.reset_meter().await?;
            let (_, body) = invoke_job(stack, &f.name, &input).await?;
            let metered = stack.read_meter().await?;
            out.push(JobCost {
                job,
                period: schedule.every,
                metered,
                pages_read: body["report"]["pages_read"].as_u64(),
            });
        }
    }
    Ok(out)
}

/// One kind of page view: the paths its views cycle over.
struct ViewKind<'a> {
    what: &'a str,
    route: &'a str,
    paths: &'a [String],
    /// Whether each path's first view is metered on its own first.
    first_views: bool,
}

/// `count` views cycling over the kind's paths after `warmups` unmetered
/// ones (and, if asked, one metered first view of each path).
async fn views(
    stack: &Stack,
    kind: ViewKind<'_>,
    count: usize,
    warmups: usize,
) -> Result<ViewCost, String> {
    for path in kind.paths.iter().cycle().take(warmups) {
        get_ok(&stack.http, &stack.url(path)).await?;
    }
    let first_views = if kind.first_views {
        Some((
            kind.paths.len() as u64,
            metered(stack, kind.paths.iter()).await?.0,
        ))
    } else {
        None
    };
    let (metered, body_bytes) = metered(stack, kind.paths.iter().cycle().take(count)).await?;
    Ok(ViewCost {
        what: kind.what.into(),
        route: kind.route.into(),
        views: count as u64,
        metered,
        body_bytes,
        first_views,
    })
}

/// GETs of `paths`, one at a time, metered with what they set off in the
/// background (a re-warm is theirs); with the bodies' bytes.
async fn metered<'a>(
    stack: &Stack,
    paths: impl Iterator<Item = &'a String>,
) -> Result<(Metered, u64), String> {
    stack.wait_quiet(QUIET_WITHIN).await?;
    stack.reset_meter().await?;
    let mut body_bytes = 0;
    for path in paths {
        let got = get_ok(&stack.http, &stack.url(path)).await?;
        body_bytes += got.body.len() as u64;
    }
    stack.wait_quiet(QUIET_WITHIN).await?;
    Ok((stack.read_meter().await?, body_bytes))
}

async fn chain_config(stack: &Stack, patch: Value) -> Result<Value, String> {
    let url = format!("{}/__config", stack.chain());
    let resp = stack
        .http
        .post(&url)
        .header("content-type", "application/json")
        .body(patch.to_string())
        .send()
        .await
        .and_then(|r| r.error_for_status())
        .map_err(|e| format!("POST {url} {patch}: {e}"))?;
    let body = resp.bytes().await.map_err(|e| format!("POST {url}: {e}"))?;
    serde_json::from_slice(&body).map_err(|e| format!("POST {url}: {e}"))
}

pub async fn run(
    stack: &Stack,
    functions: &[FunctionDef],
    warm_epoch: u64,
    views_per_kind: usize,
    warmups: usize,
) -> Result<BillRow, String> {
    let n = stack.participants;
    let c = stack.current_epoch;
    let config = chain_config(stack, json!({ "freeze_head": true })).await?;
    let epoch_length = config["epoch_length"].as_u64().unwrap_or(0);
    // Everything stored once, so the next round finds nothing new.
    round(stack, functions).await?;
    let idle = round(stack, functions).await?;
    progress(&format!(
        "N={n}: the bill: a round with nothing changed measured"
    ));
    chain_config(
        stack,
        json!({ "advance_blocks": NEW_BLOCKS, "flip_health": HEALTH_FLIPS }),
    )
    .await?;
    let change = round(stack, functions).await?;

    let participants: Vec<String> = get_ok(
        &stack.http,
        &stack.url(&format!("/v1/inference/epochs/{warm_epoch}")),
    )
    .await?
    .json()?["participants"]
        .as_array()
        .map(|ps| {
            ps.iter()
                .filter_map(|p| p["index"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    // As many participants as views, each viewed once first.
    let modals: Vec<String> = sample(&participants, views_per_kind, 8)
        .into_iter()
        .map(|p| format!("/v1/participants/{p}?epoch_id={warm_epoch}"))
        .collect();
    if modals.is_empty() {
        return Err(format!("epoch {warm_epoch} lists no participant"));
    }
    let mut seen = Vec::new();
    for (what, route, paths, first_views) in [
        (
            "the current epoch",
            "/v1/inference/current".to_string(),
            vec!["/v1/inference/current".to_string()],
            false,
        ),
        (
            "a past epoch",
            format!("/v1/inference/epochs/{}", c - 1),
            vec![format!("/v1/inference/epochs/{}", c - 1)],
            false,
        ),
        (
            "a modal",
            format!("/v1/participants/{{p}}?epoch_id={warm_epoch}"),
            modals,
            true,
        ),
    ] {
        let kind = ViewKind {
            what,
            route: &route,
            paths: &paths,
            first_views,
        };
        seen.push(views(stack, kind, views_per_kind, warmups).await?);
    }
    progress(&format!("N={n}: the bill: page views measured"));
    let storage = match table_size::scan(stack, warm_epoch).await {
        Ok(size) => Some(size),
        Err(e) => {
            progress(&format!("N={n}: the table's size: {e}"));
            None
        }
    };
    // As found: the head advancing, the nodes as generated.
    chain_config(
        stack,
        json!({ "freeze_head": false, "flip_health": HEALTH_FLIPS }),
    )
    .await?;
    Ok(BillRow {
        n,
        epoch_length,
        idle,
        change,
        views: seen,
        storage,
        warm_epoch,
    })
}
