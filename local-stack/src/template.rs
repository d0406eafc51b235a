//! The SAM template (`template.yaml`) as the local stack needs it: the
//! DynamoDB tables, the functions with their memory, timeout, environment and
//! HttpApi routes, and the HTTP API's CORS configuration.
//!
//! The template is the one source of truth: the local table gets exactly
//! the key schema and TTL attribute the deployed one gets, and each function
//! sees the environment Lambda would give it. CloudFormation intrinsics are
//! resolved the way a deployment would resolve them, with local names for
//! resources (`!Ref CacheTable` is the local table's name, `!Ref
//! WarmerFunction` the local function name `warmer`) and parameter defaults
//! unless overridden (like `sam deploy --parameter-overrides`).

use std::collections::BTreeMap;

use crate::yaml::{self, Node};

/// Region and account of every ARN the local stack makes up.
pub const REGION: &str = "us-east-1";
pub const ACCOUNT_ID: &str = "123456789012";

/// SAM's defaults when neither the function nor `Globals` set them.
const DEFAULT_MEMORY_MB: u32 = 128;
const DEFAULT_TIMEOUT_SECS: u32 = 3;
/// Lambda's defaults for asynchronous invocations (`EventInvokeConfig`).
const DEFAULT_MAX_RETRY_ATTEMPTS: u32 = 2;
const DEFAULT_MAX_EVENT_AGE_SECS: u32 = 21_600;

/// Table properties that change nothing about how the table behaves locally.
const IGNORED_TABLE_PROPERTIES: [&str; 11] = [
    "PointInTimeRecoverySpecification",
    "SSESpecification",
    "Tags",
    "DeletionProtectionEnabled",
    "TableClass",
    "ContributorInsightsSpecification",
    "StreamSpecification",
    "ResourcePolicy",
    "WarmThroughput",
    "OnDemandThroughput",
    "KinesisStreamSpecification",
];

/// A resolved template value: CloudFormation values are strings or lists of
/// strings (`CommaDelimitedList` parameters, `!Split`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Str(String),
    List(Vec<String>),
}

impl Value {
    fn into_string(self, what: &str) -> Result<String, String> {
        match self {
            Value::Str(s) => Ok(s),
            Value::List(_) => Err(format!("{what} resolves to a list, a string is needed")),
        }
    }

    fn into_list(self) -> Vec<String> {
        match self {
            Value::Str(s) => vec![s],
            Value::List(l) => l,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parameter {
    pub name: String,
    /// `String`, `Number`, `CommaDelimitedList`, ...
    pub kind: String,
    /// The override if one was given, else the default.
    pub value: Value,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttributeDef {
    pub name: String,
    /// `S`, `N` or `B`.
    pub kind: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyElement {
    pub name: String,
    /// `HASH` or `RANGE`.
    pub key_type: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TtlSpec {
    pub attribute: String,
    pub enabled: bool,
}

/// An `AWS::DynamoDB::Table` resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableDef {
    pub logical_id: String,
    /// `TableName` if the template sets one, else the logical id.
    pub name: String,
    pub attributes: Vec<AttributeDef>,
    pub key_schema: Vec<KeyElement>,
    /// `PAY_PER_REQUEST` or `PROVISIONED` (CloudFormation's default).
    pub billing_mode: String,
    /// Read and write capacity units (`PROVISIONED` only).
    pub provisioned: Option<(i64, i64)>,
    pub ttl: Option<TtlSpec>,
}

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

pub fn function_arn(name: &str) -> String {
    format!("arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{name}")
}

/// The HTTP API's `CorsConfiguration`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CorsConfig {
    pub allow_origins: Vec<String>,
    pub allow_methods: Vec<String>,
    pub allow_headers: Vec<String>,
    pub expose_headers: Vec<String>,
    pub max_age: Option<u64>,
    pub allow_credentials: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    pub parameters: Vec<Parameter>,
    pub tables: Vec<TableDef>,
    pub functions: Vec<FunctionDef>,
    pub cors: Option<CorsConfig>,
}

impl Template {
    /// Parses and resolves a template; `overrides` replace parameter
    /// defaults (`Name=Value`, like `--parameter-overrides`).
    pub fn parse(text: &str, overrides: &[(String, String)]) -> Result<Template, String> {
        let root = yaml::parse(text)?;
        if root.as_map().is_none() {
            return Err("the template is not a mapping".into());
        }
        let parameters = parse_parameters(root.get("Parameters"), overrides)?;
        let param_values: BTreeMap<String, Value> = parameters
            .iter()
            .map(|p| (p.name.clone(), p.value.clone()))
            .collect();
        let resources = root
            .get("Resources")
            .and_then(Node::as_map)
            .ok_or("the template has no Resources")?;

        // Resource names first: names may use parameters, never other resources.
        let bare = Resolver {
            params: &param_values,
            resources: &BTreeMap::new(),
        };
        let mut infos = BTreeMap::new();
        for (id, res) in resources {
            let info = resource_info(id, res, &bare).map_err(|e| format!("{id}: {e}"))?;
            infos.insert(id.clone(), info);
        }
        let resolver = Resolver {
            params: &param_values,
            resources: &infos,
        };

        let globals = root.get("Globals");
        let mut tables = Vec::new();
        let mut functions = Vec::new();
        let mut cors = globals
            .and_then(|g| g.get("HttpApi"))
            .and_then(|h| h.get("CorsConfiguration"))
            .map(|c| parse_cors(c, &resolver))
            .transpose()
            .map_err(|e| format!("Globals.HttpApi.CorsConfiguration: {e}"))?;
        for (id, res) in resources {
            let props = res.get("Properties");
            match res.get("Type").and_then(Node::as_str) {
                Some("AWS::DynamoDB::Table") => tables.push(
                    parse_table(id, &infos[id].name, props, &resolver)
                        .map_err(|e| format!("{id}: {e}"))?,
                ),
                Some("AWS::Serverless::Function") => functions.push(
                    parse_function(id, &infos[id], res, globals, &resolver)
                        .map_err(|e| format!("{id}: {e}"))?,
                ),
                Some("AWS::Serverless::HttpApi") => {
                    if let Some(c) = props.and_then(|p| p.get("CorsConfiguration")) {
                        cors = Some(
                            parse_cors(c, &resolver)
                                .map_err(|e| format!("{id}.CorsConfiguration: {e}"))?,
                        );
                    }
                }
                _ => {}
            }
        }
        let mut seen = BTreeMap::new();
        for route in functions.iter().flat_map(|f| &f.routes) {
            if let Some(other) = seen.insert(route.route_key(), &route.function) {
                return Err(format!(
                    "route {} is defined by both {other} and {}",
                    route.route_key(),
                    route.function
                ));
            }
        }
        Ok(Template {
            parameters,
            tables,
            functions,
            cors,
        })
    }

    pub fn function(&self, name: &str) -> Option<&FunctionDef> {
        self.functions.iter().find(|f| f.name == name)
    }

    pub fn routes(&self) -> impl Iterator<Item = &Route> {
        self.functions.iter().flat_map(|f| &f.routes)
    }
}

/// What `!Ref` and `!GetAtt ...Arn` give for a resource.
#[derive(Debug, Clone)]
struct ResourceInfo {
    name: String,
    binary: Option<String>,
    arn: Option<String>,
}

fn resource_info(id: &str, res: &Node, bare: &Resolver<'_>) -> Result<ResourceInfo, String> {
    let props = res.get("Properties");
    let prop_string = |key: &str| -> Result<Option<String>, String> {
        props
            .and_then(|p| p.get(key))
            .map(|n| bare.string(n, key))
            .transpose()
    };
    Ok(match res.get("Type").and_then(Node::as_str) {
        Some("AWS::DynamoDB::Table") => {
            let name = prop_string("TableName")?.unwrap_or_else(|| id.to_string());
            ResourceInfo {
                arn: Some(format!(
                    "arn:aws:dynamodb:{REGION}:{ACCOUNT_ID}:table/{name}"
                )),
                name,
                binary: None,
            }
        }
        Some("AWS::Serverless::Function") => {
            let code_uri = prop_string("CodeUri")?.ok_or("CodeUri (a local folder) is required")?;
            let binary = code_uri
                .trim_end_matches('/')
                .rsplit('/')
                .next()
                .filter(|b| !b.is_empty() && *b != "." && *b != "..")
                .ok_or_else(|| format!("CodeUri {code_uri:?} does not name a folder"))?
                .to_string();
            let name = prop_string("FunctionName")?.unwrap_or_else(|| binary.clone());
            ResourceInfo {
                arn: Some(function_arn(&name)),
                name,
                binary: Some(binary),
            }
        }
        Some("AWS::SQS::Queue") => ResourceInfo {
            arn: Some(format!("arn:aws:sqs:{REGION}:{ACCOUNT_ID}:{id}")),
            name: format!("https://sqs.{REGION}.amazonaws.com/{ACCOUNT_ID}/{id}"),
            binary: None,
        },
        _ => ResourceInfo {
            name: id.to_string(),
            binary: None,
            arn: None,
        },
    })
}

fn parse_parameters(
    node: Option<&Node>,
    overrides: &[(String, String)],
) -> Result<Vec<Parameter>, String> {
    let entries = match node {
        None => &[][..],
        Some(n) => n.as_map().ok_or("Parameters is not a mapping")?,
    };
    for (name, _) in overrides {
        if !entries.iter().any(|(n, _)| n == name) {
            return Err(format!(
                "parameter override {name:?}: the template has no such parameter"
            ));
        }
    }
    let mut out = Vec::new();
    for (name, def) in entries {
        let kind = def
            .get("Type")
            .and_then(Node::as_str)
            .unwrap_or("String")
            .to_string();
        let raw = match overrides.iter().rev().find(|(n, _)| n == name) {
            Some((_, v)) => v.clone(),
            None => match def.get("Default") {
                Some(Node::Seq(items)) => items
                    .iter()
                    .map(|i| i.scalar_text().unwrap_or_default())
                    .collect::<Vec<_>>()
                    .join(","),
                Some(d) => d
                    .scalar_text()
                    .ok_or_else(|| format!("parameter {name}: Default must be a scalar"))?,
                None => {
                    return Err(format!(
                        "parameter {name} has no Default: pass --param {name}=VALUE"
                    ))
                }
            },
        };
        check_parameter(name, &kind, &raw, def)?;
        let value = if kind == "CommaDelimitedList" || kind.starts_with("List<") {
            Value::List(raw.split(',').map(|s| s.trim().to_string()).collect())
        } else {
            Value::Str(raw)
        };
        out.push(Parameter {
            name: name.clone(),
            kind,
            value,
        });
    }
    Ok(out)
}

/// The constraints CloudFormation checks before a deployment, so an
/// override that would be refused there is refused here too.
fn check_parameter(name: &str, kind: &str, raw: &str, def: &Node) -> Result<(), String> {
    let bound = |key: &str| def.get(key).and_then(Node::scalar_text);
    if kind == "Number" {
        let v: f64 = raw
            .trim()
            .parse()
            .map_err(|_| format!("parameter {name}: {raw:?} is not a number"))?;
        if let Some(min) = bound("MinValue").and_then(|m| m.parse::<f64>().ok()) {
            if v < min {
                return Err(format!("parameter {name}: {raw} is below MinValue {min}"));
            }
        }
        if let Some(max) = bound("MaxValue").and_then(|m| m.parse::<f64>().ok()) {
            if v > max {
                return Err(format!("parameter {name}: {raw} is above MaxValue {max}"));
            }
        }
    }
    if let Some(allowed) = def.get("AllowedValues").and_then(Node::as_seq) {
        let allowed: Vec<String> = allowed.iter().filter_map(Node::scalar_text).collect();
        if !allowed.iter().any(|a| a == raw) {
            return Err(format!(
                "parameter {name}: {raw:?} is not one of {}",
                allowed.join(", ")
            ));
        }
    }
    Ok(())
}

/// Resolves intrinsic functions against parameter values and resources.
struct Resolver<'a> {
    params: &'a BTreeMap<String, Value>,
    resources: &'a BTreeMap<String, ResourceInfo>,
}

impl Resolver<'_> {
    fn string(&self, node: &Node, what: &str) -> Result<String, String> {
        self.resolve(node)?.into_string(what)
    }

    fn resolve(&self, node: &Node) -> Result<Value, String> {
        match node {
            Node::Tagged(name, arg) => self.intrinsic(name, arg),
            // The long form: `{"Ref": X}`, `{"Fn::Join": [...]}`.
            Node::Map(entries) if entries.len() == 1 => {
                let (key, arg) = &entries[0];
                match key.strip_prefix("Fn::") {
                    Some(name) => self.intrinsic(name, arg),
                    None if key == "Ref" => self.intrinsic("Ref", arg),
                    None => Err(format!("a mapping ({key}: ...) where a value is needed")),
                }
            }
            Node::Map(_) => Err("a mapping where a value is needed".into()),
            Node::Seq(items) => {
                let mut out = Vec::new();
                for item in items {
                    out.extend(self.resolve(item)?.into_list());
                }
                Ok(Value::List(out))
            }
            Node::Null => Ok(Value::Str(String::new())),
            scalar => Ok(Value::Str(scalar.scalar_text().unwrap_or_default())),
        }
    }

    fn intrinsic(&self, name: &str, arg: &Node) -> Result<Value, String> {
        let args = |n: usize| -> Result<&[Node], String> {
            arg.as_seq()
                .filter(|a| a.len() == n)
                .ok_or_else(|| format!("!{name} takes a list of {n} items"))
        };
        match name {
            "Ref" => self.reference(&self.string(arg, "!Ref")?),
            "GetAtt" => {
                let (res, attr) = match arg {
                    Node::Seq(_) => {
                        let a = args(2)?;
                        (
                            self.string(&a[0], "!GetAtt")?,
                            self.string(&a[1], "!GetAtt")?,
                        )
                    }
                    _ => {
                        let s = self.string(arg, "!GetAtt")?;
                        let (r, a) = s
                            .split_once('.')
                            .ok_or_else(|| format!("!GetAtt {s}: expected Resource.Attribute"))?;
                        (r.to_string(), a.to_string())
                    }
                };
                self.get_att(&res, &attr).map(Value::Str)
            }
            "Join" => {
                let a = args(2)?;
                let sep = self.string(&a[0], "the !Join separator")?;
                Ok(Value::Str(self.resolve(&a[1])?.into_list().join(&sep)))
            }
            "Split" => {
                let a = args(2)?;
                let sep = self.string(&a[0], "the !Split separator")?;
                if sep.is_empty() {
                    return Err("!Split with an empty separator".into());
                }
                let s = self.string(&a[1], "!Split")?;
                Ok(Value::List(
                    s.split(sep.as_str()).map(str::to_string).collect(),
                ))
            }
            "Select" => {
                let a = args(2)?;
                let index: usize = self
                    .string(&a[0], "the !Select index")?
                    .parse()
                    .map_err(|_| "!Select: the index is not a number".to_string())?;
                let list = self.resolve(&a[1])?.into_list();
                list.get(index)
                    .cloned()
                    .map(Value::Str)
                    .ok_or_else(|| format!("!Select: index {index} is past the list's end"))
            }
            "Sub" => {
                let (text, vars) = match arg {
                    Node::Seq(_) => {
                        let a = args(2)?;
                        (self.string(&a[0], "!Sub")?, a[1].as_map().unwrap_or(&[]))
                    }
                    _ => (self.string(arg, "!Sub")?, &[][..]),
                };
                self.sub(&text, vars).map(Value::Str)
            }
            other => Err(format!(
                "intrinsic function {other} is not supported locally"
            )),
        }
    }

    fn reference(&self, name: &str) -> Result<Value, String> {
        if let Some(v) = self.params.get(name) {
            return Ok(v.clone());
        }
        if let Some(r) = self.resources.get(name) {
            return Ok(Value::Str(r.name.clone()));
        }
        let pseudo = match name {
            "AWS::Region" => REGION,
            "AWS::AccountId" => ACCOUNT_ID,
            "AWS::Partition" => "aws",
            "AWS::URLSuffix" => "amazonaws.com",
            "AWS::StackName" => "local",
            _ => return Err(format!("!Ref {name}: no such parameter or resource")),
        };
        Ok(Value::Str(pseudo.to_string()))
    }

    fn get_att(&self, res: &str, attr: &str) -> Result<String, String> {
        let info = self
            .resources
            .get(res)
            .ok_or_else(|| format!("!GetAtt {res}.{attr}: no such resource"))?;
        match (attr, &info.arn) {
            ("Arn", Some(arn)) => Ok(arn.clone()),
            _ => Err(format!("!GetAtt {res}.{attr} is not supported locally")),
        }
    }

    /// `!Sub`: `${Name}` from the variable map, parameters, resources or
    /// pseudo parameters; `${Res.Attr}` as `!GetAtt`; `${!Literal}` stays
    /// `${Literal}`.
    fn sub(&self, text: &str, vars: &[(String, Node)]) -> Result<String, String> {
        let mut out = String::new();
        let mut rest = text;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let end = after
                .find('}')
                .ok_or_else(|| format!("!Sub {text:?}: unclosed ${{"))?;
            let name = &after[..end];
            if let Some(literal) = name.strip_prefix('!') {
                out.push_str("${");
                out.push_str(literal);
                out.push('}');
            } else if let Some((_, node)) = vars.iter().find(|(k, _)| k == name) {
                out.push_str(&self.string(node, name)?);
            } else if let Some((res, attr)) = name.split_once('.') {
                out.push_str(&self.get_att(res, attr)?);
            } else {
                out.push_str(&self.reference(name)?.into_string(name)?);
            }
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }
}

fn parse_table(
    id: &str,
    name: &str,
    props: Option<&Node>,
    r: &Resolver<'_>,
) -> Result<TableDef, String> {
    let props = props.ok_or("Properties are required")?;
    for (key, _) in props.as_map().unwrap_or(&[]) {
        let known = matches!(
            key.as_str(),
            "TableName"
                | "AttributeDefinitions"
                | "KeySchema"
                | "BillingMode"
                | "ProvisionedThroughput"
                | "TimeToLiveSpecification"
        );
        if !known && !IGNORED_TABLE_PROPERTIES.contains(&key.as_str()) {
            return Err(format!(
                "property {key} is not supported locally (the local table would differ from the deployed one)"
            ));
        }
    }
    let list = |key: &str| -> Result<&[Node], String> {
        props
            .get(key)
            .and_then(Node::as_seq)
            .ok_or_else(|| format!("{key} must be a list"))
    };
    let field = |item: &Node, key: &str, what: &str| -> Result<String, String> {
        item.get(key)
            .ok_or_else(|| format!("{what}: {key} is missing"))
            .and_then(|n| r.string(n, key))
    };
    let attributes = list("AttributeDefinitions")?
        .iter()
        .map(|a| {
            Ok(AttributeDef {
                name: field(a, "AttributeName", "AttributeDefinitions")?,
                kind: field(a, "AttributeType", "AttributeDefinitions")?,
            })
        })
        .collect::<Result<Vec<_>, String>>()?;
    let key_schema = list("KeySchema")?
        .iter()
        .map(|k| {
            Ok(KeyElement {
                name: field(k, "AttributeName", "KeySchema")?,
                key_type: field(k, "KeyType", "KeySchema")?,
            })
        })
        .collect::<Result<Vec<_>, String>>()?;
    let billing_mode = props
        .get("BillingMode")
        .map(|b| r.string(b, "BillingMode"))
        .transpose()?
        .unwrap_or_else(|| "PROVISIONED".to_string());
    let provisioned = match props.get("ProvisionedThroughput") {
        None if billing_mode == "PROVISIONED" => {
            return Err("PROVISIONED billing needs ProvisionedThroughput".into())
        }
        None => None,
        Some(p) => {
            let units = |key: &str| -> Result<i64, String> {
                field(p, key, "ProvisionedThroughput")?
                    .parse()
                    .map_err(|_| format!("ProvisionedThroughput.{key} is not a number"))
            };
            Some((units("ReadCapacityUnits")?, units("WriteCapacityUnits")?))
        }
    };
    let ttl = props
        .get("TimeToLiveSpecification")
        .map(|t| -> Result<TtlSpec, String> {
            Ok(TtlSpec {
                attribute: field(t, "AttributeName", "TimeToLiveSpecification")?,
                enabled: t
                    .get("Enabled")
                    .map(|e| r.string(e, "Enabled"))
                    .transpose()?
                    .is_some_and(|e| e.eq_ignore_ascii_case("true")),
            })
        })
        .transpose()?;
    Ok(TableDef {
        logical_id: id.to_string(),
        name: name.to_string(),
        attributes,
        key_schema,
        billing_mode,
        provisioned,
        ttl,
    })
}

fn parse_function(
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
    let events = props.and_then(|p| p.get("Events")).and_then(Node::as_map);
    for (event, def) in events.unwrap_or(&[]) {
        if def.get("Type").and_then(Node::as_str) != Some("HttpApi") {
            continue;
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
        max_retry_attempts: eic_number("MaximumRetryAttempts", DEFAULT_MAX_RETRY_ATTEMPTS)?,
        max_event_age_secs: eic_number("MaximumEventAgeInSeconds", DEFAULT_MAX_EVENT_AGE_SECS)?,
    })
}

fn parse_cors(node: &Node, r: &Resolver<'_>) -> Result<CorsConfig, String> {
    // `CorsConfiguration: true` is SAM's shorthand for "anything goes".
    match node {
        Node::Bool(true) => {
            return Ok(CorsConfig {
                allow_origins: vec!["*".into()],
                allow_methods: vec!["*".into()],
                allow_headers: vec!["*".into()],
                ..CorsConfig::default()
            })
        }
        Node::Bool(false) => return Ok(CorsConfig::default()),
        _ => {}
    }
    let list = |key: &str| -> Result<Vec<String>, String> {
        node.get(key).map_or(Ok(Vec::new()), |n| {
            Ok(r.resolve(n)?
                .into_list()
                .into_iter()
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect())
        })
    };
    let max_age = node
        .get("MaxAge")
        .map(|n| {
            r.string(n, "MaxAge")?
                .parse::<u64>()
                .map_err(|_| "MaxAge is not a whole number".to_string())
        })
        .transpose()?;
    let allow_credentials = node
        .get("AllowCredentials")
        .map(|n| r.string(n, "AllowCredentials"))
        .transpose()?
        .is_some_and(|v| v.eq_ignore_ascii_case("true"));
    Ok(CorsConfig {
        allow_origins: list("AllowOrigins")?,
        allow_methods: list("AllowMethods")?
            .into_iter()
            .map(|m| m.to_ascii_uppercase())
            .collect(),
        allow_headers: list("AllowHeaders")?,
        expose_headers: list("ExposeHeaders")?,
        max_age,
        allow_credentials,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The repository's template: these tests fail when it changes in a way
    /// the local stack does not understand.
    const REPO_TEMPLATE: &str = include_str!("../../template.yaml");

    fn repo() -> Template {
        Template::parse(REPO_TEMPLATE, &[]).expect("template.yaml parses")
    }

    #[test]
    fn repo_table_definition() {
        let t = repo();
        assert_eq!(t.tables.len(), 1);
        let table = &t.tables[0];
        assert_eq!(table.logical_id, "CacheTable");
        assert_eq!(table.name, "CacheTable");
        assert_eq!(table.billing_mode, "PAY_PER_REQUEST");
        assert_eq!(table.provisioned, None);
        assert_eq!(
            table.attributes,
            vec![
                AttributeDef {
                    name: "pk".into(),
                    kind: "S".into()
                },
                AttributeDef {
                    name: "sk".into(),
                    kind: "S".into()
                },
            ]
        );
        assert_eq!(
            table.key_schema,
            vec![
                KeyElement {
                    name: "pk".into(),
                    key_type: "HASH".into()
                },
                KeyElement {
                    name: "sk".into(),
                    key_type: "RANGE".into()
                },
            ]
        );
        assert_eq!(
            table.ttl,
            Some(TtlSpec {
                attribute: "expires_at".into(),
                enabled: true
            })
        );
    }

    #[test]
    fn repo_routes_per_function() {
        let t = repo();
        let names: Vec<&str> = t.functions.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["epoch-stats", "warmer", "participant"]);
        let keys = |name: &str| -> Vec<String> {
            t.function(name)
                .unwrap()
                .routes
                .iter()
                .map(Route::route_key)
                .collect()
        };
        assert_eq!(
            keys("epoch-stats"),
            [
                "GET /v1/inference/current",
                "GET /v1/inference/epochs/{epoch_id}"
            ]
        );
        assert_eq!(
            keys("participant"),
            ["GET /v1/participants/{participant_id}"]
        );
        assert!(keys("warmer").is_empty());
        assert!(t.routes().all(|r| r.method == "GET"));
    }

    #[test]
    fn repo_function_settings_and_environment() {
        let t = repo();
        let stats = t.function("epoch-stats").unwrap();
        assert_eq!(stats.binary, "epoch-stats");
        assert_eq!(stats.logical_id, "EpochStatsFunction");
        assert_eq!((stats.memory_mb, stats.timeout_secs), (256, 29));
        let env = &stats.environment;
        // Globals, with parameters at their defaults and resources by local name.
        assert_eq!(env["TABLE_NAME"], "CacheTable");
        assert_eq!(env["CHAIN_API_URLS"], "http://node2.gonka.ai:8000");
        assert_eq!(env["CURRENT_EPOCH_FRESHNESS_SECS"], "30");
        assert_eq!(env["ITEM_FRESHNESS_SECS"], "300");
        assert_eq!(env["WARM_GUARD_SECS"], "60");
        assert_eq!(env["CORS_ALLOWED_ORIGINS"], "*");
        // Its own.
        assert_eq!(env["WARMER_FUNCTION_NAME"], "warmer");

        let warmer = t.function("warmer").unwrap();
        assert_eq!((warmer.memory_mb, warmer.timeout_secs), (512, 900));
        assert_eq!(warmer.environment["WARMER_CONCURRENCY"], "16");
        assert_eq!(warmer.environment["TABLE_NAME"], "CacheTable");
        assert!(!warmer.environment.contains_key("WARMER_FUNCTION_NAME"));
        assert_eq!(warmer.max_retry_attempts, 1);
        assert_eq!(warmer.max_event_age_secs, 900);

        let participant = t.function("participant").unwrap();
        assert_eq!((participant.memory_mb, participant.timeout_secs), (256, 29));
        assert_eq!(participant.max_retry_attempts, 2, "Lambda's default");
    }

    #[test]
    fn repo_cors() {
        let cors = repo().cors.expect("the HttpApi has a CorsConfiguration");
        assert_eq!(cors.allow_origins, ["*"]);
        assert_eq!(cors.allow_methods, ["GET", "OPTIONS"]);
        assert_eq!(cors.allow_headers, ["Content-Type", "If-None-Match"]);
        assert_eq!(cors.expose_headers, ["ETag"]);
        assert_eq!(cors.max_age, Some(86400));
        assert!(!cors.allow_credentials);
    }

    #[test]
    fn parameter_overrides() {
        let o = |k: &str, v: &str| (k.to_string(), v.to_string());
        let t = Template::parse(
            REPO_TEMPLATE,
            &[
                o("WarmGuardSecs", "5"),
                o("CorsAllowedOrigins", "https://a.example, https://b.example"),
            ],
        )
        .unwrap();
        let env = &t.function("participant").unwrap().environment;
        assert_eq!(env["WARM_GUARD_SECS"], "5");
        assert_eq!(
            env["CORS_ALLOWED_ORIGINS"],
            "https://a.example,https://b.example"
        );
        assert_eq!(
            t.cors.unwrap().allow_origins,
            ["https://a.example", "https://b.example"]
        );
        let err = Template::parse(REPO_TEMPLATE, &[o("WarmGuardSecs", "0")]).unwrap_err();
        assert!(err.contains("below MinValue"), "{err}");
        let err = Template::parse(REPO_TEMPLATE, &[o("Nope", "1")]).unwrap_err();
        assert!(err.contains("no such parameter"), "{err}");
    }

    const SMALL: &str = r#"
Parameters:
  Stage:
    Type: String
    Default: dev
Globals:
  Function:
    Timeout: 10
    Environment:
      Variables:
        SHARED: !Sub "${Stage}-${AWS::Region}"
        OVERRIDDEN: global
Resources:
  Items:
    Type: AWS::DynamoDB::Table
    Properties:
      TableName: !Sub "items-${Stage}"
      AttributeDefinitions: [{AttributeName: id, AttributeType: N}]
      KeySchema: [{AttributeName: id, KeyType: HASH}]
      ProvisionedThroughput: {ReadCapacityUnits: 5, WriteCapacityUnits: 2}
  Api:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: crates/api/
      FunctionName: !Join ["-", [api, !Ref Stage]]
      MemorySize: 1024
      Environment:
        Variables:
          OVERRIDDEN: own
          TABLE: !Ref Items
          TABLE_ARN: !GetAtt Items.Arn
          LITERAL: !Sub "${!NotAVar}"
          LONG_FORM: {"Fn::Select": [1, {"Fn::Split": [",", "a,b,c"]}]}
      Events:
        Any:
          Type: HttpApi
        Proxy:
          Type: HttpApi
          Properties: {Path: "/files/{proxy+}", Method: any}
"#;

    #[test]
    fn intrinsics_and_defaults() {
        let t = Template::parse(SMALL, &[]).unwrap();
        assert_eq!(t.tables[0].name, "items-dev");
        assert_eq!(t.tables[0].billing_mode, "PROVISIONED");
        assert_eq!(t.tables[0].provisioned, Some((5, 2)));
        assert_eq!(t.tables[0].ttl, None);
        let f = &t.functions[0];
        assert_eq!((f.name.as_str(), f.binary.as_str()), ("api-dev", "api"));
        assert_eq!((f.memory_mb, f.timeout_secs), (1024, 10));
        let env = &f.environment;
        assert_eq!(env["SHARED"], "dev-us-east-1");
        assert_eq!(env["OVERRIDDEN"], "own");
        assert_eq!(env["TABLE"], "items-dev");
        assert_eq!(
            env["TABLE_ARN"],
            "arn:aws:dynamodb:us-east-1:123456789012:table/items-dev"
        );
        assert_eq!(env["LITERAL"], "${NotAVar}");
        assert_eq!(env["LONG_FORM"], "b");
        let keys: Vec<String> = f.routes.iter().map(Route::route_key).collect();
        assert_eq!(keys, ["$default", "ANY /files/{proxy+}"]);
        assert_eq!(t.cors, None);
    }

    #[test]
    fn refuses_what_it_cannot_reproduce() {
        let gsi = SMALL.replace(
            "      ProvisionedThroughput:",
            "      GlobalSecondaryIndexes: []\n      ProvisionedThroughput:",
        );
        let err = Template::parse(&gsi, &[]).unwrap_err();
        assert!(err.contains("GlobalSecondaryIndexes"), "{err}");
        let bad_ref = SMALL.replace("!Ref Items", "!Ref Missing");
        let err = Template::parse(&bad_ref, &[]).unwrap_err();
        assert!(err.contains("Missing"), "{err}");
        let unsupported = SMALL.replace("!GetAtt Items.Arn", "!GetAtt Items.StreamArn");
        let err = Template::parse(&unsupported, &[]).unwrap_err();
        assert!(err.contains("StreamArn"), "{err}");
    }
}
