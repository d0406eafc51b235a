//! An `AWS::Serverless::Function`: settings, environment and `HttpApi`
//! routes, with `Globals.Function` applied.

use std::collections::BTreeMap;

use super::aws::function_arn;
use super::resolve::{Resolver, ResourceInfo};
use super::schedule::{parse_schedule, Schedule};
use crate::yaml::Node;

/// SAM's defaults when neither the function nor `Globals` set them.
const DEFAULT_MEMORY_MB: u32 = 128;
const DEFAULT_TIMEOUT_SECS: u32 = 3;
/// Lambda's defaults for asynchronous invocations (`EventInvokeConfig`).
const DEFAULT_MAX_RETRY_ATTEMPTS: u32 = 2;
const DEFAULT_MAX_EVENT_AGE_SECS: u32 = 21_600;

/// One `Type: HttpApi` event of a function.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// The local function name.
    pub function: String,
    /// Upper case, or `ANY`.
    pub method: String,
    /// `/v1/inference/epochs/{epoch_id}`, or `$default`.
    pub path: String,
}

impl Route {
    /// API Gateway's route key: `GET /v1/inference/current`, or `$default`.
    pub fn route_key(&self) -> String {
        if self.path == "$default" {
            "$default".to_string()
        } else {
            format!("{} {}", self.method, self.path)
        }
    }
}

/// An `AWS::Serverless::Function` with `Globals.Function` applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionDef {
    pub logical_id: String,
    /// The Lambda function name: `FunctionName`, else the `CodeUri` folder.
    pub name: String,
    /// The cargo binary: the `CodeUri` folder's name, as cargo-lambda builds it.
    pub binary: String,
    pub memory_mb: u32,
    pub timeout_secs: u32,
    /// `Globals.Function.Environment` merged with the function's own, resolved.
    pub environment: BTreeMap<String, String>,
    pub routes: Vec<Route>,
    /// `Type: Schedule` events (enabled ones).
    pub schedules: Vec<Schedule>,
    /// `EventInvokeConfig.MaximumRetryAttempts` (asynchronous invocations).
    pub max_retry_attempts: u32,
    /// `EventInvokeConfig.MaximumEventAgeInSeconds`.
    pub max_event_age_secs: u32,
}

impl FunctionDef {
    pub fn arn(&self) -> String {
        function_arn(&self.name)
    }
}

pub(super) fn parse_function(
    id: &str,
    info: &ResourceInfo,
    res: &Node,
    globals: Option<&Node>,
    r: &Resolver<'_>,
) -> Result<FunctionDef, String> {
    let props = res.get("Properties");
    let global = globals.and_then(|g| g.get("Function"));
    // The function's own setting, else the global one.
    let setting = |key: &str| {
        props
            .and_then(|p| p.get(key))
            .or_else(|| global.and_then(|g| g.get(key)))
    };
    let number = |key: &str, default: u32| -> Result<u32, String> {
        setting(key).map_or(Ok(default), |n| {
            r.string(n, key)?
                .parse()
                .map_err(|_| format!("{key} is not a whole number"))
        })
    };
    let mut environment = BTreeMap::new();
    for scope in [global, props] {
        let vars = scope
            .and_then(|s| s.get("Environment"))
            .and_then(|e| e.get("Variables"));
        if let Some(vars) = vars {
            for (key, node) in vars
                .as_map()
                .ok_or("Environment.Variables is not a mapping")?
            {
                let value = r
                    .string(node, key)
                    .map_err(|e| format!("environment variable {key}: {e}"))?;
                environment.insert(key.clone(), value);
            }
        }
    }
    let mut routes = Vec::new();
    let mut schedules = Vec::new();
    let events = props.and_then(|p| p.get("Events")).and_then(Node::as_map);
    for (event, def) in events.unwrap_or(&[]) {
        match def.get("Type").and_then(Node::as_str) {
            Some("HttpApi") => {}
            Some("Schedule") => {
                schedules.extend(parse_schedule(event, def.get("Properties"), r)?);
                continue;
            }
            _ => continue,
        }
        let ep = def.get("Properties");
        let path = ep
            .and_then(|p| p.get("Path"))
            .map(|n| r.string(n, "Path"))
            .transpose()?;
        let method = ep
            .and_then(|p| p.get("Method"))
            .map(|n| r.string(n, "Method"))
            .transpose()?;
        // An HttpApi event without Path and Method is the `$default` route.
        let (method, path) = match (method, path) {
            (None, None) => ("ANY".to_string(), "$default".to_string()),
            (m, Some(p)) if p.starts_with('/') || p == "$default" => {
                let m = m.map_or("ANY".to_string(), |m| m.to_ascii_uppercase());
                (if m == "*" { "ANY".to_string() } else { m }, p)
            }
            (_, p) => {
                return Err(format!(
                    "event {event}: Path {p:?} must start with / (or be $default)"
                ))
            }
        };
        routes.push(Route {
            function: info.name.clone(),
            method,
            path,
        });
    }
    let eic = props.and_then(|p| p.get("EventInvokeConfig"));
    let eic_number = |key: &str, default: u32| -> Result<u32, String> {
        eic.and_then(|e| e.get(key)).map_or(Ok(default), |n| {
            r.string(n, key)?
                .parse()
                .map_err(|_| format!("EventInvokeConfig.{key} is not a whole number"))
        })
    };
    Ok(FunctionDef {
        logical_id: id.to_string(),
        name: info.name.clone(),
        binary: info.binary.clone().unwrap_or_else(|| info.name.clone()),
        memory_mb: number("MemorySize", DEFAULT_MEMORY_MB)?,
        timeout_secs: number("Timeout", DEFAULT_TIMEOUT_SECS)?,
        environment,
        routes,
        schedules,
        max_retry_attempts: eic_number("MaximumRetryAttempts", DEFAULT_MAX_RETRY_ATTEMPTS)?,
        max_event_age_secs: eic_number("MaximumEventAgeInSeconds", DEFAULT_MAX_EVENT_AGE_SECS)?,
    })
}
