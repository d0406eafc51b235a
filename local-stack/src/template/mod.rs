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
//!
//! Reading it, by concern: `parameters` (defaults, overrides, checks),
//! `resolve` (intrinsics and resource names), `table` (the table
//! definition), `function` (functions' settings, environment and HttpApi
//! routes), `schedule` (their `Schedule` events), `cors` (the HTTP API's CORS), `aws` (the made-up account).

mod aws;
mod cors;
mod function;
mod parameters;
mod resolve;
mod schedule;
mod table;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

pub use aws::{function_arn, ACCOUNT_ID, REGION};
pub use cors::CorsConfig;
pub use function::{FunctionDef, Route};
pub use parameters::{Parameter, Value};
pub use schedule::{parse_rate, Schedule};
pub use table::{AttributeDef, KeyElement, TableDef, TtlSpec};

use crate::yaml::{self, Node};
use cors::parse_cors;
use function::parse_function;
use parameters::parse_parameters;
use resolve::{resource_info, Resolver};
use table::parse_table;

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
