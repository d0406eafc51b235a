//! CloudFormation intrinsics (`!Ref`, `!GetAtt`, `!Join`, `!Split`,
//! `!Select`, `!Sub`) resolved against parameter values and the local
//! names of resources.

use std::collections::BTreeMap;

use super::aws::{function_arn, ACCOUNT_ID, REGION};
use super::parameters::Value;
use crate::yaml::Node;

/// What `!Ref` and `!GetAtt ...Arn` give for a resource.
#[derive(Debug, Clone)]
pub(super) struct ResourceInfo {
    pub(super) name: String,
    pub(super) binary: Option<String>,
    pub(super) arn: Option<String>,
}

pub(super) fn resource_info(
    id: &str,
    res: &Node,
    bare: &Resolver<'_>,
) -> Result<ResourceInfo, String> {
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

/// Resolves intrinsic functions against parameter values and resources.
pub(super) struct Resolver<'a> {
    pub(super) params: &'a BTreeMap<String, Value>,
    pub(super) resources: &'a BTreeMap<String, ResourceInfo>,
}

impl Resolver<'_> {
    pub(super) fn string(&self, node: &Node, what: &str) -> Result<String, String> {
        self.resolve(node)?.into_string(what)
    }

    pub(super) fn resolve(&self, node: &Node) -> Result<Value, String> {
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
