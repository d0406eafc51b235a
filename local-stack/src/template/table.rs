//! An `AWS::DynamoDB::Table` resource, exactly as the local table is created.

use super::resolve::Resolver;
use crate::yaml::Node;

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

pub(super) fn parse_table(
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
