//! `local-stack`: the whole backend on one machine, as deployed.
//!
//! Starts DynamoDB Local with the tables of template.yaml, the simulated
//! chain (unless `CHAIN_API_URLS` names a real one), and the three release
//! binaries as real Lambda-style processes behind a local Runtime API, a
//! local Invoke API (so epoch-stats' asynchronous warmer trigger behaves as
//! on AWS) and an API Gateway HTTP API front with the template's routes.
//! Prints one `Local stack ready: http://127.0.0.1:PORT` line when every
//! function instance is polling for events, and stops everything on
//! Ctrl-C / SIGTERM. See `--help` for the options.

use std::io::IsTerminal;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::serve::ListenerExt;
use axum::Router;
use local_stack::apigw::routes::RouteTable;
use local_stack::apigw::server::{self, Front};
use local_stack::dynamodb;
use local_stack::invoke_api::{self, Functions};
use local_stack::options::{self, Options};
use local_stack::output;
use local_stack::processes::{self, ChildSpec, Endpoints, Shutdown, ShutdownTrigger};
use local_stack::runtime_api::{self, FunctionRuntime};
use local_stack::template::Template;
use sim_chain::SimChain;
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// Start-up budget for DynamoDB Local and for every instance to poll.
const START_TIMEOUT: Duration = Duration::from_secs(60);
/// How long the API front may take to finish in-flight requests on shutdown.
const FRONT_DRAIN: Duration = Duration::from_secs(5);
const INTERRUPTED: &str = "interrupted during start-up";

fn main() -> ExitCode {
    let opts = match options::parse(std::env::args_os()) {
        Ok(o) => o,
        // --help (status 0), or a bad flag or variable (status 2).
        Err(e) => e.exit(),
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            output::warn(&format!("cannot start the async runtime: {e}"));
            return ExitCode::FAILURE;
        }
    };
    let code = runtime.block_on(run(opts));
    runtime.shutdown_timeout(Duration::from_secs(2));
    code
}

/// Everything started so far, so that a failure halfway through start-up
/// stops exactly what runs.
struct Stack {
    trigger: ShutdownTrigger,
    shutdown: Shutdown,
    /// Watchers of child processes; each stops its child on shutdown.
    children: Vec<JoinHandle<()>>,
    /// Runtime API and Invoke API servers: aborted last, since instances
    /// long-poll them until they are stopped.
    servers: Vec<JoinHandle<()>>,
    front: Option<(ShutdownTrigger, JoinHandle<()>)>,
    chain: Option<SimChain>,
    /// A process that must not exit (DynamoDB Local) did.
    fatal: mpsc::UnboundedSender<String>,
}

impl Stack {
    async fn stop(self) {
        // In order: no new requests (in-flight ones finish), then the
        // functions, then what they use.
        if let Some((trigger, front)) = self.front {
            trigger.fire();
            let abort = front.abort_handle();
            if tokio::time::timeout(FRONT_DRAIN, front).await.is_err() {
                abort.abort();
            }
        }
        self.trigger.fire();
        let limit = processes::STOP_GRACE + Duration::from_secs(2);
        let _ = tokio::time::timeout(limit, join_all(self.children)).await;
        for server in self.servers {
            server.abort();
        }
        if let Some(chain) = self.chain {
            chain.shutdown().await;
        }
    }
}

async fn join_all(handles: Vec<JoinHandle<()>>) {
    for h in handles {
        let _ = h.await;
    }
}

async fn run(opts: Options) -> ExitCode {
    let (trigger, shutdown) = processes::shutdown_channel();
    watch_signals(trigger.clone());
    let (fatal, mut fatal_rx) = mpsc::unbounded_channel();
    let mut stack = Stack {
        trigger,
        shutdown: shutdown.clone(),
        children: Vec::new(),
        servers: Vec::new(),
        front: None,
        chain: None,
        fatal,
    };
    let code = match start(&opts, &mut stack, &mut fatal_rx).await {
        Ok(()) => tokio::select! {
            _ = shutdown.wait() => ExitCode::SUCCESS,
            Some(msg) = fatal_rx.recv() => {
                output::warn(&format!("error: {msg}"));
                ExitCode::FAILURE
            }
        },
        Err(_) if shutdown.is_set() => ExitCode::SUCCESS,
        Err(e) => {
            output::warn(&format!("error: {e}"));
            ExitCode::FAILURE
        }
    };
    output::info("stopping");
    stack.stop().await;
    output::info("stopped");
    code
}

/// SIGINT, SIGTERM or SIGHUP stop the stack; a second one exits at once
/// (the children then die through PDEATHSIG).
fn watch_signals(trigger: ShutdownTrigger) {
    use tokio::signal::unix::{signal, SignalKind};
    let signals = (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
        signal(SignalKind::hangup()),
    );
    let (Ok(mut int), Ok(mut term), Ok(mut hup)) = signals else {
        output::warn("cannot install signal handlers; stop with SIGKILL");
        return;
    };
    tokio::spawn(async move {
        let name = tokio::select! {
            _ = int.recv() => "SIGINT",
            _ = term.recv() => "SIGTERM",
            _ = hup.recv() => "SIGHUP",
        };
        output::info(&format!("{name} received"));
        trigger.fire();
        // A signal sent to the whole process group can reach us twice at
        // once (GNU timeout does that); only a later one means "hurry".
        let first = tokio::time::Instant::now();
        loop {
            tokio::select! {
                _ = int.recv() => {}
                _ = term.recv() => {}
            }
            if first.elapsed() > Duration::from_secs(1) {
                output::warn("second signal: exiting now");
                std::process::exit(130);
            }
        }
    });
}

/// `template.yaml` in the current folder or a parent, else next to the
/// executable's folders (`target/release/..`).
fn find_template(opts: &Options) -> Result<PathBuf, String> {
    if let Some(t) = &opts.template {
        return Ok(t.clone());
    }
    let starts = [
        std::env::current_dir().ok(),
        std::env::current_exe()
            .ok()
            .and_then(|e| e.parent().map(Path::to_path_buf)),
    ];
    starts
        .iter()
        .flatten()
        .flat_map(|s| s.ancestors())
        .map(|d| d.join("template.yaml"))
        .find(|c| c.is_file())
        .ok_or_else(|| {
            "template.yaml not found in the current folder or its parents (pass --template)".into()
        })
}

async fn bind(port: u16, what: &str, hint: &str) -> Result<TcpListener, String> {
    TcpListener::bind(("127.0.0.1", port))
        .await
        .map_err(|e| format!("{what} port {port}: {e}{hint}"))
}

async fn serve(listener: TcpListener, app: Router, what: &'static str) {
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    if let Err(e) = axum::serve(listener, app).await {
        output::warn(&format!("{what} server failed: {e}"));
    }
}

async fn start(
    opts: &Options,
    stack: &mut Stack,
    fatal_rx: &mut mpsc::UnboundedReceiver<String>,
) -> Result<(), String> {
    let template_path = find_template(opts)?;
    let root = template_path
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."));
    let text = std::fs::read_to_string(&template_path)
        .map_err(|e| format!("{}: {e}", template_path.display()))?;
    let template = Template::parse(&text, &opts.parameters)
        .map_err(|e| format!("{}: {e}", template_path.display()))?;

    let bin_dir = match &opts.bin_dir {
        Some(d) => d.clone(),
        None => std::env::current_exe()
            .ok()
            .and_then(|e| e.parent().map(Path::to_path_buf))
            .ok_or("cannot tell local-stack's own folder (pass --bin-dir)")?,
    };
    let missing: Vec<String> = template
        .functions
        .iter()
        .map(|f| bin_dir.join(&f.binary))
        .filter(|p| !p.is_file())
        .map(|p| p.display().to_string())
        .collect();
    if !missing.is_empty() {
        let packages: Vec<String> = template
            .functions
            .iter()
            .map(|f| format!("-p {}", f.binary))
            .collect();
        return Err(format!(
            "missing function binaries: {} (build them: cargo build --release {}; or pass --bin-dir)",
            missing.join(", "),
            packages.join(" ")
        ));
    }
    let counts: Vec<usize> = template
        .functions
        .iter()
        .map(|f| {
            if f.routes.is_empty() {
                opts.warmer_instances
            } else {
                opts.instances
            }
        })
        .collect();
    let labels: Vec<Vec<String>> = template
        .functions
        .iter()
        .zip(&counts)
        .map(|(f, &n)| {
            (1..=n)
                .map(|i| {
                    if n == 1 {
                        f.name.clone()
                    } else {
                        format!("{}#{i}", f.name)
                    }
                })
                .collect()
        })
        .collect();
    for label in labels.iter().flatten() {
        output::reserve_width(label);
    }

    // Ports first: a taken API port fails before anything starts.
    let api_listener = bind(
        opts.api_port,
        "API",
        " (set API_PORT or --api-port; 0 picks a free one)",
    )
    .await?;
    let api_port = api_listener.local_addr().map_err(|e| e.to_string())?.port();
    let invoke_listener = bind(opts.invoke_port, "Invoke API", "").await?;
    let invoke_addr = invoke_listener.local_addr().map_err(|e| e.to_string())?;

    // DynamoDB Local (the JVM starts while the rest is set up).
    let jar = match &opts.dynamodb_jar {
        Some(j) => j.clone(),
        None => dynamodb::find_jar(&root)?,
    };
    let ddb_port = match opts.dynamodb_port {
        Some(p) => p,
        None => dynamodb::free_port().map_err(|e| format!("no free port: {e}"))?,
    };
    let ddb_endpoint = format!("http://127.0.0.1:{ddb_port}");
    let fatal = stack.fatal.clone();
    let java = processes::run_once(
        &dynamodb::java_spec(&jar, ddb_port)?,
        stack.shutdown.clone(),
        move |status| {
            let _ = fatal.send(format!(
                "DynamoDB Local exited ({}); see its output above",
                processes::describe(status)
            ));
        },
    )
    .map_err(|e| format!("starting java: {e} (Java 17 is required for DynamoDB Local)"))?;
    stack.children.push(java);

    // The chain.
    let chain_urls = match &opts.chain_api_urls {
        Some(urls) => urls.clone(),
        None => {
            let listener = bind(opts.sim_port, "simulated chain", "").await?;
            let chain = SimChain::start_on(listener, opts.sim())
                .await
                .map_err(|e| format!("simulated chain: {e}"))?;
            let url = chain.url();
            stack.chain = Some(chain);
            url
        }
    };

    tokio::select! {
        ready = dynamodb::wait_ready(&ddb_endpoint, START_TIMEOUT) => ready?,
        Some(msg) = fatal_rx.recv() => return Err(msg),
        _ = stack.shutdown.wait() => return Err(INTERRUPTED.into()),
    }
    let client = dynamodb::client(&ddb_endpoint, false);
    for table in &template.tables {
        dynamodb::create_table(&client, table).await?;
        output::info(&format!("created table {}", dynamodb::describe(table)));
    }

    // A Runtime API per function, and the Invoke API over all of them.
    let mut runtimes = Vec::new();
    for def in &template.functions {
        let runtime = FunctionRuntime::new(def.clone());
        let listener = bind(0, "Runtime API", "").await?;
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        stack.servers.push(tokio::spawn(serve(
            listener,
            runtime_api::router(runtime.clone()),
            "Runtime API",
        )));
        runtimes.push((runtime, addr));
    }
    let functions = Arc::new(Functions::new(runtimes.iter().map(|(r, _)| r.clone())));
    stack.servers.push(tokio::spawn(serve(
        invoke_listener,
        invoke_api::router(functions.clone()),
        "Invoke API",
    )));

    // The instances.
    let stderr_is_terminal = std::io::stderr().is_terminal();
    let exits = Arc::new(AtomicUsize::new(0));
    for (((runtime, addr), &count), labels) in runtimes.iter().zip(&counts).zip(&labels) {
        let endpoints = Endpoints {
            chain_api_urls: chain_urls.clone(),
            dynamodb: ddb_endpoint.clone(),
            lambda: format!("http://{invoke_addr}"),
            runtime_api: addr.to_string(),
        };
        for (i, label) in labels.iter().enumerate() {
            let spec = ChildSpec {
                label: label.clone(),
                program: bin_dir.join(&runtime.def.binary),
                args: Vec::new(),
                env: processes::function_environment(&runtime.def, i + 1, &endpoints, |k| {
                    std::env::var(k).ok().or_else(|| {
                        // Colours only for a terminal: piped logs stay plain.
                        (k == "NO_COLOR" && !stderr_is_terminal).then(|| "1".to_string())
                    })
                }),
                clear_env: true,
                cwd: Some(bin_dir.clone()),
                show_stdout: true,
            };
            let (runtime, exits) = (runtime.clone(), exits.clone());
            stack.children.push(tokio::spawn(processes::supervise(
                spec,
                stack.shutdown.clone(),
                move |status| {
                    exits.fetch_add(1, Ordering::SeqCst);
                    // With one instance every in-flight invocation was on it.
                    if count == 1 {
                        runtime.fail_in_flight(&processes::describe(status));
                    }
                },
            )));
        }
    }

    // The API front.
    let front = Arc::new(Front {
        routes: RouteTable::new(template.routes()),
        functions,
        cors: template.cors.clone(),
        port: api_port,
    });
    let (front_trigger, front_shutdown) = processes::shutdown_channel();
    let app = server::router(front).into_make_service_with_connect_info::<SocketAddr>();
    let front_task = tokio::spawn(async move {
        let listener = api_listener.tap_io(|tcp| {
            let _ = tcp.set_nodelay(true);
        });
        let served = axum::serve(listener, app)
            .with_graceful_shutdown(async move { front_shutdown.wait().await })
            .await;
        if let Err(e) = served {
            output::warn(&format!("API server failed: {e}"));
        }
    });
    stack.front = Some((front_trigger, front_task));

    // Ready when every instance polls for its first event.
    let deadline = tokio::time::Instant::now() + START_TIMEOUT;
    loop {
        if exits.load(Ordering::SeqCst) > 0 {
            return Err("a function exited during start-up; see its output above".into());
        }
        let waiting: Vec<String> = runtimes
            .iter()
            .zip(&counts)
            .filter(|((r, _), &n)| r.idle_instances() < n)
            .map(|((r, _), _)| r.name().to_string())
            .collect();
        if waiting.is_empty() {
            break;
        }
        if tokio::time::Instant::now() > deadline {
            return Err(format!(
                "not every instance of {} polled the Runtime API within {} s",
                waiting.join(", "),
                START_TIMEOUT.as_secs()
            ));
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(50)) => {}
            Some(msg) = fatal_rx.recv() => return Err(msg),
            _ = stack.shutdown.wait() => return Err(INTERRUPTED.into()),
        }
    }

    let instances: Vec<String> = template
        .functions
        .iter()
        .zip(&counts)
        .map(|(f, n)| format!("{} x{n}", f.name))
        .collect();
    let tables: Vec<&str> = template.tables.iter().map(|t| t.name.as_str()).collect();
    output::plain(&banner(&Banner {
        api: format!("http://127.0.0.1:{api_port}"),
        chain_urls: &chain_urls,
        chain: stack.chain.as_ref(),
        dynamodb: &ddb_endpoint,
        tables: &tables,
        invoke: format!("http://{invoke_addr}"),
        instances: &instances.join(", "),
        bin_dir: &bin_dir,
    }));
    Ok(())
}

struct Banner<'a> {
    api: String,
    chain_urls: &'a str,
    chain: Option<&'a SimChain>,
    dynamodb: &'a str,
    tables: &'a [&'a str],
    invoke: String,
    instances: &'a str,
    bin_dir: &'a Path,
}

/// The ready line (what scripts wait for), example requests, and where
/// everything else is.
fn banner(b: &Banner<'_>) -> String {
    let api = &b.api;
    let mut out = format!("\nLocal stack ready: {api}\n");
    out += &format!("  curl -s {api}/v1/inference/current | head -c 300\n");
    match b.chain {
        Some(chain) => {
            let model = chain.model();
            let epoch = model.current_epoch();
            if epoch > 1 {
                out += &format!(
                    "  curl -s {api}/v1/inference/epochs/{} | head -c 300\n",
                    epoch - 1
                );
            }
            if let Some(id) = model.participants_in_epoch(epoch).first() {
                out += &format!(
                    "  curl -s '{api}/v1/participants/{id}?epoch_id={epoch}' | head -c 300\n"
                );
            }
            out += &format!(
                "Chain (simulated: {} participants, current epoch {epoch}): {}  (requests: curl -s {}/__stats)\n",
                model.participant_count(),
                b.chain_urls,
                b.chain_urls
            );
        }
        None => out += &format!("Chain: {}\n", b.chain_urls),
    }
    out += &format!(
        "DynamoDB Local: {}  (tables: {}; e.g. aws dynamodb scan --endpoint-url {} --table-name {} --select COUNT)\n",
        b.dynamodb,
        b.tables.join(", "),
        b.dynamodb,
        b.tables.first().copied().unwrap_or("?")
    );
    out += &format!(
        "Lambda Invoke API: {}  (AWS_ENDPOINT_URL_LAMBDA of the functions)\n",
        b.invoke
    );
    out += &format!(
        "Functions: {} (binaries in {})\nCtrl-C stops everything.\n\n",
        b.instances,
        b.bin_dir.display()
    );
    out
}
