//! Figure 6: the scheduled jobs. Each schedule of the template (its input
//! names the job) invoked synchronously through the stack's Invoke API a
//! few times in a row, as EventBridge would run it; each run's duration
//! and chain calls are the function's own report.

use std::time::Duration;

use local_stack::template::FunctionDef;
use serde_json::Value;

use crate::stack::Stack;

/// One run of one job.
#[derive(Debug, Clone, Copy)]
pub struct JobRun {
    /// As the function measured it.
    pub duration: Duration,
    pub chain_calls: u64,
}

#[derive(Debug, Clone)]
pub struct ScheduledRow {
    pub n: usize,
    pub job: String,
    /// The schedule's period in the template.
    pub period: Duration,
    /// The function's timeout.
    pub timeout: Duration,
    /// In order: the first run on this stack, then the repeats.
    pub runs: Vec<JobRun>,
    pub latency: Duration,
}

impl ScheduledRow {
    /// The chain calls of the first run one after the other at the chain's
    /// latency: what a poller that waits for each answer (the original
    /// tracker's) needs at least for the same calls.
    pub fn serial_floor(&self) -> Duration {
        self.runs
            .first()
            .map_or(Duration::ZERO, |r| self.latency * r.chain_calls as u32)
    }
}

/// Every schedule of every function, `reps` runs each.
pub async fn run(
    stack: &Stack,
    functions: &[FunctionDef],
    reps: usize,
    latency: Duration,
) -> Result<Vec<ScheduledRow>, String> {
    let mut rows = Vec::new();
    for f in functions {
        for schedule in &f.schedules {
            let input = schedule.input.clone().unwrap_or_else(|| "{}".into());
            let job = serde_json::from_str::<Value>(&input)
                .ok()
                .and_then(|v| v["job"].as_str().map(str::to_owned))
                .unwrap_or_else(|| schedule.name.clone());
            let mut runs = Vec::new();
            for _ in 0..reps.max(1) {
                runs.push(invoke_job(stack, &f.name, &input).await?.0);
            }
            rows.push(ScheduledRow {
                n: stack.participants,
                job,
                period: schedule.every,
                timeout: Duration::from_secs(u64::from(f.timeout_secs)),
                runs,
                latency,
            });
        }
    }
    Ok(rows)
}

pub async fn invoke_job(
    stack: &Stack,
    function: &str,
    input: &str,
) -> Result<(JobRun, Value), String> {
    let body = stack.invoke_sync(function, input).await?;
    let run = JobRun {
        duration: Duration::from_millis(body["duration_ms"].as_u64().unwrap_or_default()),
        chain_calls: body["chain_calls"].as_u64().unwrap_or_default(),
    };
    Ok((run, body))
}
