//! Figure 5: cold start and footprint.
//!
//! Cold start: each function's release binary is spawned by the bench with
//! a Runtime API of its own (local-stack's, one instance) holding one event
//! queued before the process exists, so the process finds its first event
//! on its first poll, as on Lambda. Two times are taken from the spawn:
//! until the first poll of `/invocation/next` (Lambda's Init phase: the
//! runtime, the configuration, the SDK clients) and until the answer to
//! the event. The environment is the template's for that function, pointed
//! at a running stack's DynamoDB Local, chain and Invoke endpoint.
//!
//! Footprint: bootstrap sizes (the arm64 cargo-lambda build when present,
//! else the x86_64 release binaries, said so), and each function's peak
//! RSS (`VmHWM`) at the end of the largest size's run.

use std::path::Path;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use axum::extract::Request;
use axum::middleware::Next;
use local_stack::processes::{self, ChildSpec, Endpoints};
use local_stack::runtime_api::{self, FunctionRuntime, Outcome};
use local_stack::template::FunctionDef;
use serde_json::Value;

use crate::http::get_ok;
use crate::procs::peak_rss_kib;
use crate::progress::progress;
use crate::stack::{Stack, FUNCTIONS};
use crate::stats::Summary;

/// How long one cold process may take to answer.
const ANSWER_LIMIT: Duration = Duration::from_secs(30);

#[derive(Debug, Clone)]
pub struct ColdRow {
    pub function: String,
    pub event: String,
    pub init: Summary,
    pub first_answer: Summary,
}

/// The event each function gets: the repository's sample events, pointed
/// at data the running stack has (the current epoch for epoch-stats, a
/// participant of the warmed epoch for participant, that epoch, with every
/// item present, for the warmer).
pub struct Events {
    pub root: std::path::PathBuf,
    pub warmed_epoch: u64,
    pub participant: String,
}

impl Events {
    fn load(&self, file: &str) -> Result<Value, String> {
        let path = self.root.join("events").join(file);
        let text =
            std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// `(file, payload)` for a function.
    pub fn for_function(&self, name: &str) -> Result<(String, Value), String> {
        match name {
            "epoch-stats" => Ok(("events/current.json".into(), self.load("current.json")?)),
            "participant" => {
                let mut e = self.load("participant.json")?;
                let (id, epoch) = (&self.participant, self.warmed_epoch);
                let path = format!("/v1/participants/{id}");
                e["rawPath"] = path.clone().into();
                e["requestContext"]["http"]["path"] = path.into();
                e["rawQueryString"] = format!("epoch_id={epoch}").into();
                e["queryStringParameters"]["epoch_id"] = epoch.to_string().into();
                e["pathParameters"]["participant_id"] = id.clone().into();
                Ok(("events/participant.json (id, epoch_id replaced)".into(), e))
            }
            "warmer" => {
                let mut e = self.load("warmer.json")?;
                e["epoch_id"] = self.warmed_epoch.into();
                Ok(("events/warmer.json (epoch_id replaced)".into(), e))
            }
            "network" => Ok(("events/timeline.json".into(), self.load("timeline.json")?)),
            "scheduler" => Ok((
                "events/scheduler-current-epoch.json".into(),
                self.load("scheduler-current-epoch.json")?,
            )),
            other => Err(format!("no event for function {other}")),
        }
    }
}

/// Only what the functions need from the bench's environment.
fn inherited(key: &str) -> Option<String> {
    match key {
        "RUST_LOG" => Some("warn".into()),
        "NO_COLOR" => Some("1".into()),
        "PATH" | "HOME" | "LANG" => std::env::var(key).ok(),
        _ => None,
    }
}

/// Checks the answer: an API function's response must say 200.
fn check(function: &str, outcome: Outcome) -> Result<(), String> {
    let body = match outcome {
        Outcome::Success(body) => body,
        other => return Err(format!("{function}: {other:?}")),
    };
    let v: Value = serde_json::from_slice(&body).map_err(|e| format!("{function}: {e}"))?;
    let ok = match function {
        // A warmer whose epoch rests (an earlier figure warmed it whole)
        // answers "skipped": an answer all the same.
        "warmer" => v["status"] == "done" || v["status"] == "skipped",
        "scheduler" => v["status"] == "done",
        _ => v["statusCode"] == 200,
    };
    if ok {
        Ok(())
    } else {
        Err(format!("{function}: unexpected answer {v:.300}"))
    }
}

/// One cold start: `(init, first answer)`.
async fn cold_once(
    def: &FunctionDef,
    bin_dir: &Path,
    endpoints: &Endpoints,
    payload: &Value,
) -> Result<(Duration, Duration), String> {
    let runtime = FunctionRuntime::new(def.clone());
    let first_poll: Arc<OnceLock<Instant>> = Arc::default();
    let seen = first_poll.clone();
    let app = runtime_api::router(runtime.clone()).layer(axum::middleware::from_fn(
        move |req: Request, next: Next| {
            let seen = seen.clone();
            async move {
                if req.uri().path().ends_with("/invocation/next") {
                    let _ = seen.set(Instant::now());
                }
                next.run(req).await
            }
        },
    ));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| e.to_string())?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    let _server = AbortOnDrop(server);

    let body = axum::body::Bytes::from(payload.to_string());
    let invocation = {
        let runtime = runtime.clone();
        tokio::spawn(async move {
            runtime
                .invoke("cold-start-1".into(), body, ANSWER_LIMIT)
                .await
        })
    };
    // Queued before the process exists.
    tokio::task::yield_now().await;

    let endpoints = Endpoints {
        runtime_api: addr.to_string(),
        ..endpoints.clone()
    };
    let spec = ChildSpec {
        label: format!("{} (cold)", def.name),
        program: bin_dir.join(&def.binary),
        args: Vec::new(),
        env: processes::function_environment(def, 1, &endpoints, inherited),
        clear_env: true,
        cwd: Some(bin_dir.to_path_buf()),
        show_stdout: false,
    };
    let started = Instant::now();
    let mut child = processes::spawn(&spec).map_err(|e| format!("{}: {e}", def.name))?;
    let outcome = tokio::time::timeout(ANSWER_LIMIT + Duration::from_secs(5), invocation).await;
    let first_answer = started.elapsed();
    processes::stop(&mut child, Duration::from_secs(2)).await;
    let outcome = outcome
        .map_err(|_| format!("{}: no answer within {ANSWER_LIMIT:?}", def.name))?
        .map_err(|e| e.to_string())?;
    check(&def.name, outcome)?;
    let init = first_poll
        .get()
        .map(|t| t.duration_since(started))
        .ok_or_else(|| format!("{}: answered without polling?", def.name))?;
    Ok((init, first_answer))
}

struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

pub async fn run(
    stack: &Stack,
    functions: &[FunctionDef],
    bin_dir: &Path,
    events: &Events,
    reps: usize,
) -> Result<Vec<ColdRow>, String> {
    let endpoints = Endpoints {
        chain_api_urls: stack.chain().to_string(),
        dynamodb: stack.dynamodb().to_string(),
        lambda: stack.invoke().to_string(),
        runtime_api: String::new(),
        // The bench's stack runs the simulated chain, which serves the Keybase stand-in.
        keybase_api_url: stack.chain().to_string(),
    };
    let mut rows = Vec::new();
    for def in functions {
        let (event, payload) = events.for_function(&def.name)?;
        let (mut inits, mut answers) = (Vec::new(), Vec::new());
        for _ in 0..reps {
            if def.name == "epoch-stats" {
                // The table holds a fresh current epoch, as it does for
                // any instance started while the dashboard is in use.
                get_ok(&stack.http, &stack.url("/v1/inference/current")).await?;
            }
            let (init, answer) = cold_once(def, bin_dir, &endpoints, &payload).await?;
            inits.push(init);
            answers.push(answer);
        }
        let row = ColdRow {
            function: def.name.clone(),
            event,
            init: Summary::of(&inits).ok_or("no cold starts")?,
            first_answer: Summary::of(&answers).ok_or("no cold starts")?,
        };
        progress(&format!(
            "cold start of {}: init p50 {:.1} ms, first answer p50 {:.1} ms",
            row.function,
            row.init.p50.as_secs_f64() * 1e3,
            row.first_answer.p50.as_secs_f64() * 1e3
        ));
        rows.push(row);
    }
    Ok(rows)
}

#[derive(Debug, Clone)]
pub struct SizeRow {
    pub function: String,
    pub bytes: u64,
    pub arch: &'static str,
    pub path: String,
    /// The file's modification time: a bootstrap older than the sources
    /// is not what they build today.
    pub built: String,
}

/// The machine an ELF file is for (`e_machine`).
fn elf_arch(path: &Path) -> &'static str {
    let Ok(bytes) = std::fs::read(path) else {
        return "?";
    };
    match bytes.get(18..20) {
        Some([0xb7, 0x00]) => "arm64",
        Some([0x3e, 0x00]) => "x86_64",
        _ => "?",
    }
}

/// Bootstrap sizes: `{lambda_dir}/{fn}/bootstrap` when present, else the
/// release binary.
pub fn sizes(
    root: &Path,
    lambda_dir: &Path,
    bin_dir: &Path,
    functions: &[FunctionDef],
) -> Vec<SizeRow> {
    functions
        .iter()
        .filter_map(|def| {
            let lambda = root.join(lambda_dir).join(&def.binary).join("bootstrap");
            let path = if lambda.is_file() {
                lambda
            } else {
                bin_dir.join(&def.binary)
            };
            let meta = std::fs::metadata(&path).ok()?;
            let built = meta
                .modified()
                .map(|t| {
                    chrono::DateTime::<chrono::Utc>::from(t)
                        .format("%Y-%m-%d %H:%M UTC")
                        .to_string()
                })
                .unwrap_or_else(|_| "?".into());
            Some(SizeRow {
                function: def.name.clone(),
                bytes: meta.len(),
                built,
                arch: elf_arch(&path),
                path: path
                    .strip_prefix(root)
                    .unwrap_or(&path)
                    .display()
                    .to_string(),
            })
        })
        .collect()
}

#[derive(Debug, Clone)]
pub struct RssRow {
    pub function: String,
    pub instances: usize,
    /// The highest peak among the function's instances.
    pub peak_kib: u64,
}

/// Each function's peak RSS in a running stack.
pub fn peak_rss(stack: &Stack) -> Vec<RssRow> {
    let procs = stack.function_processes();
    FUNCTIONS
        .iter()
        .map(|name| {
            let peaks: Vec<u64> = procs
                .iter()
                .filter(|(n, _)| n == name)
                .filter_map(|(_, pid)| peak_rss_kib(*pid))
                .collect();
            RssRow {
                function: name.to_string(),
                instances: peaks.len(),
                peak_kib: peaks.iter().copied().max().unwrap_or(0),
            }
        })
        .collect()
}
