//! What the `local-stack` binary starts, in order: the template, the
//! ports, DynamoDB Local and its tables, the chain, a Runtime API per
//! function and the Invoke API over them, the meter in front of DynamoDB
//! Local (the functions' table endpoint), the function instances, the API
//! front; then, once every instance polls for events, the schedules and
//! the ready banner.
//! [`Stack`] holds what runs so that a failure halfway stops exactly that.

mod locate;
mod stack;

use locate::{bin_dir, instance_labels, load_template};
pub use stack::Stack;

use std::io::IsTerminal;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::serve::ListenerExt;
use axum::Router;
use sim_chain::SimChain;
use tokio::net::TcpListener;

use crate::apigw::routes::RouteTable;
use crate::apigw::server::{self, Front};
use crate::banner::Banner;
use crate::dynamodb;
use crate::eventbridge;
use crate::invoke_api::{self, Functions};
use crate::meter::{self, Meter};
use crate::options::Options;
use crate::output;
use crate::processes::{self, ChildSpec, Endpoints};
use crate::runtime_api::{self, FunctionRuntime};
use crate::template::Template;

/// Start-up budget for DynamoDB Local and for every instance to poll.
const START_TIMEOUT: Duration = Duration::from_secs(60);

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

/// Starts the JVM (it starts while the rest is set up); its endpoint.
fn start_dynamodb(opts: &Options, root: &Path, stack: &mut Stack) -> Result<String, String> {
    let jar = match &opts.dynamodb_jar {
        Some(j) => j.clone(),
        None => dynamodb::find_jar(root)?,
    };
    let port = match opts.dynamodb_port {
        Some(p) => p,
        None => dynamodb::free_port().map_err(|e| format!("no free port: {e}"))?,
    };
    let fatal = stack.fatal.clone();
    let java = processes::run_once(
        &dynamodb::java_spec(&jar, port)?,
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
    Ok(format!("http://127.0.0.1:{port}"))
}

/// The chain's URLs: the ones given, or a simulator started here.
async fn start_chain(opts: &Options, stack: &mut Stack) -> Result<String, String> {
    if let Some(urls) = &opts.chain_api_urls {
        return Ok(urls.clone());
    }
    let listener = bind(opts.sim_port, "simulated chain", "").await?;
    let chain = SimChain::start_on(listener, opts.sim())
        .await
        .map_err(|e| format!("simulated chain: {e}"))?;
    let url = chain.url();
    stack.chain = Some(chain);
    Ok(url)
}

/// A Runtime API per function, each on a free port.
async fn start_runtimes(
    template: &Template,
    stack: &mut Stack,
) -> Result<Vec<(Arc<FunctionRuntime>, SocketAddr)>, String> {
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
    Ok(runtimes)
}

/// Starts and supervises every instance; counts their exits in `exits`.
fn start_instances(
    runtimes: &[(Arc<FunctionRuntime>, SocketAddr)],
    labels: &[Vec<String>],
    endpoints: &Endpoints,
    bin_dir: &Path,
    exits: &Arc<AtomicUsize>,
    stack: &mut Stack,
) {
    let stderr_is_terminal = std::io::stderr().is_terminal();
    for ((runtime, addr), labels) in runtimes.iter().zip(labels) {
        let count = labels.len();
        let endpoints = Endpoints {
            runtime_api: addr.to_string(),
            ..endpoints.clone()
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
                cwd: Some(bin_dir.to_path_buf()),
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
}

/// The API Gateway front on its listener, until its own shutdown.
fn start_front(front: Front, listener: TcpListener, stack: &mut Stack) {
    let (front_trigger, front_shutdown) = processes::shutdown_channel();
    let app = server::router(Arc::new(front)).into_make_service_with_connect_info::<SocketAddr>();
    let front_task = tokio::spawn(async move {
        let listener = listener.tap_io(|tcp| {
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
}

/// Ready when every instance polls for its first event.
async fn wait_for_instances(
    runtimes: &[(Arc<FunctionRuntime>, SocketAddr)],
    labels: &[Vec<String>],
    exits: &AtomicUsize,
    stack: &mut Stack,
) -> Result<(), String> {
    let deadline = tokio::time::Instant::now() + START_TIMEOUT;
    loop {
        if exits.load(Ordering::SeqCst) > 0 {
            return Err("a function exited during start-up; see its output above".into());
        }
        let waiting: Vec<String> = runtimes
            .iter()
            .zip(labels)
            .filter(|((r, _), l)| r.live_instances() < l.len())
            .map(|((r, _), _)| r.name().to_string())
            .collect();
        if waiting.is_empty() {
            return Ok(());
        }
        if tokio::time::Instant::now() > deadline {
            return Err(format!(
                "not every instance of {} polled the Runtime API within {} s",
                waiting.join(", "),
                START_TIMEOUT.as_secs()
            ));
        }
        stack
            .unless_stopped(tokio::time::sleep(Duration::from_millis(50)))
            .await?;
    }
}

/// Starts everything `opts` asks for into `stack` and prints the ready
/// banner. On `Err`, `stack` holds what did start (stop it).
pub async fn start(opts: &Options, stack: &mut Stack) -> Result<(), String> {
    let (template, root) = load_template(opts)?;
    let bin_dir = bin_dir(opts, &template)?;
    let labels = instance_labels(opts, &template);
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

    let ddb_endpoint = start_dynamodb(opts, &root, stack)?;
    let chain_urls = start_chain(opts, stack).await?;
    stack
        .unless_stopped(dynamodb::wait_ready(&ddb_endpoint, START_TIMEOUT))
        .await??;
    let client = dynamodb::client(&ddb_endpoint, false);
    for table in &template.tables {
        dynamodb::create_table(&client, table).await?;
        output::info(&format!("created table {}", dynamodb::describe(table)));
    }

    // A Runtime API per function, and the Invoke API over all of them.
    let runtimes = start_runtimes(&template, stack).await?;
    let functions = Arc::new(Functions::new(runtimes.iter().map(|(r, _)| r.clone())));
    stack.servers.push(tokio::spawn(serve(
        invoke_listener,
        invoke_api::router(functions.clone()),
        "Invoke API",
    )));

    // The functions reach the table through the meter.
    let meter_listener = bind(0, "meter", "").await?;
    let meter_url = format!(
        "http://{}",
        meter_listener.local_addr().map_err(|e| e.to_string())?
    );
    let meter = Meter::new(
        ddb_endpoint.clone(),
        runtimes.iter().map(|(r, _)| r.clone()).collect(),
    )?;
    stack.servers.push(tokio::spawn(serve(
        meter_listener,
        meter::router(Arc::new(meter)),
        "meter",
    )));

    let keybase_api_url = match (&opts.keybase_api_url, &stack.chain) {
        (Some(url), _) => url.clone(),
        // The simulator serves a Keybase stand-in.
        (None, Some(_)) => chain_urls.clone(),
        (None, None) => "https://keybase.io".to_owned(),
    };
    let endpoints = Endpoints {
        chain_api_urls: chain_urls.clone(),
        dynamodb: meter_url.clone(),
        lambda: format!("http://{invoke_addr}"),
        runtime_api: String::new(),
        keybase_api_url,
    };
    let exits = Arc::new(AtomicUsize::new(0));
    start_instances(&runtimes, &labels, &endpoints, &bin_dir, &exits, stack);

    let front = Front {
        routes: RouteTable::new(template.routes()),
        functions,
        cors: template.cors.clone(),
        port: api_port,
    };
    start_front(front, api_listener, stack);
    wait_for_instances(&runtimes, &labels, &exits, stack).await?;
    // Once every instance polls: the first scheduled runs start now.
    let cadence = eventbridge::Cadence::from_secs(opts.schedule_every_secs);
    let all: Vec<Arc<FunctionRuntime>> = runtimes.iter().map(|(r, _)| r.clone()).collect();
    let tickers = eventbridge::start(&all, cadence, &stack.shutdown);
    stack.servers.extend(tickers);

    let instances: Vec<String> = template
        .functions
        .iter()
        .zip(&labels)
        .map(|(f, l)| format!("{} x{}", f.name, l.len()))
        .collect();
    let tables: Vec<&str> = template.tables.iter().map(|t| t.name.as_str()).collect();
    let banner = Banner {
        api: format!("http://127.0.0.1:{api_port}"),
        chain_urls: &chain_urls,
        chain: stack.chain.as_ref(),
        dynamodb: &ddb_endpoint,
        meter: &meter_url,
        tables: &tables,
        invoke: format!("http://{invoke_addr}"),
        instances: &instances.join(", "),
        bin_dir: &bin_dir,
    };
    output::plain(&banner.render());
    Ok(())
}
