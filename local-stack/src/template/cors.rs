//! The HTTP API's `CorsConfiguration` (from `Globals.HttpApi` or an
//! `AWS::Serverless::HttpApi` resource).

use super::resolve::Resolver;
use crate::yaml::Node;

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

pub(super) fn parse_cors(node: &Node, r: &Resolver<'_>) -> Result<CorsConfig, String> {
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
