//! The template's `Parameters`: defaults or overrides, checked as
//! CloudFormation checks them, as resolved [`Value`]s.

use crate::yaml::Node;

/// A resolved template value: CloudFormation values are strings or lists of
/// strings (`CommaDelimitedList` parameters, `!Split`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Str(String),
    List(Vec<String>),
}

impl Value {
    pub(super) fn into_string(self, what: &str) -> Result<String, String> {
        match self {
            Value::Str(s) => Ok(s),
            Value::List(_) => Err(format!("{what} resolves to a list, a string is needed")),
        }
    }

    pub(super) fn into_list(self) -> Vec<String> {
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

pub(super) fn parse_parameters(
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
