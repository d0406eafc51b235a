//! Figure 7: the routes answered from what the scheduled jobs store (the
//! timeline, the models, a participant's inferences), and the inference
//! scan run to completion. Each route is asked once with nothing stored
//! (the baseline: the chain, or for inferences the "not yet collected"
//! answer), then, after the jobs ran, repeatedly with the chain's counter
//! checked to stay at 0.

use std::time::Duration;

use crate::fig6_scheduled::{invoke_job, JobRun};
use crate::http;
use crate::stack::Stack;
use crate::stats::Summary;

#[derive(Debug, Clone)]
pub struct ViewRow {
    pub route: String,
    /// The first request, nothing stored.
    pub first: Duration,
    pub first_chain_calls: u64,
    pub cached: Summary,
    /// Chain calls during the cached requests (0 is the point).
    pub cached_chain_calls: u64,
    pub bytes: usize,
}

/// The inference scan from its first page to its published records.
#[derive(Debug, Clone)]
pub struct ScanCoverage {
    pub inferences: u64,
    pub pages: u64,
    pub runs: Vec<(JobRun, u64)>,
    pub published: u64,
}

#[derive(Debug, Clone)]
pub struct Views {
    pub n: usize,
    pub rows: Vec<ViewRow>,
    pub scan: ScanCoverage,
}

const MAX_SCAN_RUNS: usize = 200;

pub async fn run(stack: &Stack, reps: usize, warmups: usize) -> Result<Views, String> {
    let c = stack.current_epoch;
    let participant = http::get_ok(&stack.http, &stack.url("/v1/inference/current"))
        .await?
        .json()?["participants"][0]["index"]
        .as_str()
        .map(str::to_owned)
        .ok_or("the current epoch lists no participant")?;
    let routes = [
        "/v1/timeline".to_string(),
        "/v1/models/current".to_string(),
        format!("/v1/models/epochs/{}", c - 1),
        format!("/v1/participants/{participant}/inferences?epoch_id={c}"),
    ];
    let mut firsts = Vec::new();
    for route in &routes {
        stack.reset_chain_stats().await?;
        let f = http::get_ok(&stack.http, &stack.url(route)).await?;
        firsts.push((f.elapsed, stack.chain_stats().await?.total));
    }

    // What the schedules would have done by now.
    for job in ["timeline", "models"] {
        invoke_job(stack, "scheduler", &format!(r#"{{"job": "{job}"}}"#)).await?;
    }
    let scan = scan_to_completion(stack).await?;

    let mut rows = Vec::new();
    for (route, (first, first_chain_calls)) in routes.iter().zip(firsts) {
        let url = stack.url(route);
        for _ in 0..warmups {
            http::get_ok(&stack.http, &url).await?;
        }
        stack.reset_chain_stats().await?;
        let mut samples = Vec::with_capacity(reps);
        let mut bytes = 0;
        for _ in 0..reps {
            let f = http::get_ok(&stack.http, &url).await?;
            bytes = f.body.len();
            samples.push(f.elapsed);
        }
        rows.push(ViewRow {
            route: route.replace(&participant, "{p}"),
            first,
            first_chain_calls,
            cached: Summary::of(&samples).ok_or("no samples")?,
            cached_chain_calls: stack.chain_stats().await?.total,
            bytes,
        });
    }
    Ok(Views {
        n: stack.participants,
        rows,
        scan,
    })
}

async fn scan_to_completion(stack: &Stack) -> Result<ScanCoverage, String> {
    let mut runs = Vec::new();
    for _ in 0..MAX_SCAN_RUNS {
        let (run, body) = invoke_job(stack, "scheduler", r#"{"job": "inference_scan"}"#).await?;
        let report = &body["report"];
        runs.push((run, report["pages_read"].as_u64().unwrap_or_default()));
        if report["outcome"] == "completed" {
            return Ok(ScanCoverage {
                inferences: report["scan_inferences"].as_u64().unwrap_or_default(),
                pages: report["scan_pages"].as_u64().unwrap_or_default(),
                published: report["published"].as_u64().unwrap_or_default(),
                runs,
            });
        }
    }
    Err(format!(
        "the inference scan did not complete in {MAX_SCAN_RUNS} runs"
    ))
}
