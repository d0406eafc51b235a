//! A YAML tree that keeps tags.
//!
//! CloudFormation templates use application tags (`!Ref`, `!GetAtt`, `!Sub`,
//! `!Join`). yaml-rust2's `YamlLoader` drops the tag of a plain scalar, so
//! `!Ref CacheTable` would read as the string `CacheTable` and nothing could
//! tell a reference from a literal. This loader builds the tree from the
//! parser's event stream instead and keeps every tag next to its node.

use std::collections::HashMap;

use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser, Tag};
use yaml_rust2::scanner::{Marker, TScalarStyle};

/// One YAML node. Mapping keys are strings (CloudFormation has no others).
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    Null,
    Bool(bool),
    Int(i64),
    /// Kept as written: a template's `0.5` stays `0.5` when it becomes an
    /// environment variable.
    Float(String),
    Str(String),
    Seq(Vec<Node>),
    /// Entries in document order.
    Map(Vec<(String, Node)>),
    /// A node with an application tag: `!Ref X` is `Tagged("Ref", Str("X"))`.
    Tagged(String, Box<Node>),
}

impl Node {
    /// The value under `key` of a mapping.
    pub fn get(&self, key: &str) -> Option<&Node> {
        match self {
            Node::Map(entries) => entries.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Node::Str(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_seq(&self) -> Option<&[Node]> {
        match self {
            Node::Seq(items) => Some(items),
            _ => None,
        }
    }

    pub fn as_map(&self) -> Option<&[(String, Node)]> {
        match self {
            Node::Map(entries) => Some(entries),
            _ => None,
        }
    }

    /// A scalar's text (`29`, `true`, `0.5`, `abc`); `None` for collections,
    /// null and tagged nodes.
    pub fn scalar_text(&self) -> Option<String> {
        match self {
            Node::Bool(b) => Some(b.to_string()),
            Node::Int(i) => Some(i.to_string()),
            Node::Float(f) => Some(f.clone()),
            Node::Str(s) => Some(s.clone()),
            _ => None,
        }
    }
}

/// Parses one YAML document. Errors carry the line and column.
pub fn parse(text: &str) -> Result<Node, String> {
    let mut builder = Builder::default();
    let mut parser = Parser::new_from_str(text);
    parser
        .load(&mut builder, false)
        .map_err(|e| format!("YAML syntax error: {e}"))?;
    if let Some(err) = builder.error {
        return Err(err);
    }
    builder
        .docs
        .into_iter()
        .next()
        .ok_or_else(|| "empty YAML document".to_string())
}

enum Frame {
    Seq {
        items: Vec<Node>,
        anchor: usize,
        tag: Option<Tag>,
    },
    Map {
        entries: Vec<(String, Node)>,
        key: Option<String>,
        anchor: usize,
        tag: Option<Tag>,
        line: usize,
    },
}

#[derive(Default)]
struct Builder {
    stack: Vec<Frame>,
    docs: Vec<Node>,
    anchors: HashMap<usize, Node>,
    error: Option<String>,
}

impl Builder {
    fn fail(&mut self, mark: Marker, msg: impl std::fmt::Display) {
        if self.error.is_none() {
            self.error = Some(format!(
                "YAML line {} column {}: {msg}",
                mark.line(),
                mark.col() + 1
            ));
        }
    }

    /// Attaches a finished node to its parent (or makes it the document).
    fn push(&mut self, node: Node, anchor: usize, mark: Marker) {
        if anchor > 0 {
            self.anchors.insert(anchor, node.clone());
        }
        let problem = match self.stack.last_mut() {
            None => {
                self.docs.push(node);
                None
            }
            Some(Frame::Seq { items, .. }) => {
                items.push(node);
                None
            }
            Some(Frame::Map {
                entries, key, line, ..
            }) => match key.take() {
                Some(k) => {
                    if entries.iter().any(|(existing, _)| *existing == k) {
                        Some(format!("duplicate key {k:?} in the mapping at line {line}"))
                    } else {
                        entries.push((k, node));
                        None
                    }
                }
                None => match node {
                    Node::Null => {
                        *key = Some(String::new());
                        None
                    }
                    other => match other.scalar_text() {
                        Some(text) => {
                            *key = Some(text);
                            None
                        }
                        None => Some("mapping keys must be plain scalars".to_string()),
                    },
                },
            },
        };
        if let Some(msg) = problem {
            self.fail(mark, msg);
        }
    }
}

/// `!Ref` has handle `!` and suffix `Ref`; anything else keeps its full form.
fn tag_name(tag: &Tag) -> String {
    if tag.handle == "!" {
        tag.suffix.clone()
    } else {
        format!("{}{}", tag.handle, tag.suffix)
    }
}

fn with_tag(node: Node, tag: Option<Tag>) -> Node {
    match tag {
        Some(tag) if tag.handle != "tag:yaml.org,2002:" => {
            Node::Tagged(tag_name(&tag), Box::new(node))
        }
        _ => node,
    }
}

/// YAML 1.2 core schema resolution of a plain scalar.
fn resolve_plain(v: &str) -> Node {
    match v {
        "" | "~" | "null" | "Null" | "NULL" => return Node::Null,
        "true" | "True" | "TRUE" => return Node::Bool(true),
        "false" | "False" | "FALSE" => return Node::Bool(false),
        _ => {}
    }
    let int = if let Some(hex) = v.strip_prefix("0x") {
        i64::from_str_radix(hex, 16).ok()
    } else if let Some(oct) = v.strip_prefix("0o") {
        i64::from_str_radix(oct, 8).ok()
    } else if v
        .trim_start_matches(['-', '+'])
        .bytes()
        .all(|b| b.is_ascii_digit())
    {
        v.parse().ok()
    } else {
        None
    };
    if let Some(i) = int {
        return Node::Int(i);
    }
    let looks_numeric = v
        .trim_start_matches(['-', '+'])
        .starts_with(|c: char| c.is_ascii_digit() || c == '.');
    if looks_numeric && v.parse::<f64>().is_ok() {
        return Node::Float(v.to_string());
    }
    Node::Str(v.to_string())
}

/// A scalar with an explicit core-schema tag (`!!str 30`, `!!int "5"`).
fn resolve_core(v: String, suffix: &str) -> Result<Node, String> {
    let bad = || format!("{v:?} is not a valid !!{suffix}");
    Ok(match suffix {
        "str" => Node::Str(v),
        "null" => Node::Null,
        "bool" | "int" | "float" => match (suffix, resolve_plain(&v)) {
            ("bool", n @ Node::Bool(_)) | ("int", n @ Node::Int(_)) => n,
            ("float", Node::Int(i)) => Node::Float(i.to_string()),
            ("float", n @ Node::Float(_)) => n,
            _ => return Err(bad()),
        },
        _ => Node::Str(v),
    })
}

impl MarkedEventReceiver for Builder {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        if self.error.is_some() {
            return;
        }
        match ev {
            Event::Nothing
            | Event::StreamStart
            | Event::StreamEnd
            | Event::DocumentStart
            | Event::DocumentEnd => {}
            Event::Alias(id) => match self.anchors.get(&id).cloned() {
                Some(node) => self.push(node, 0, mark),
                None => self.fail(mark, "alias to an unknown anchor"),
            },
            Event::Scalar(v, style, anchor, tag) => {
                let node = match &tag {
                    Some(t) if t.handle == "tag:yaml.org,2002:" => match resolve_core(v, &t.suffix)
                    {
                        Ok(n) => n,
                        Err(e) => return self.fail(mark, e),
                    },
                    // An application tag's scalar is its text: `!Ref 5` names "5".
                    Some(_) => Node::Str(v),
                    None if style == TScalarStyle::Plain => resolve_plain(&v),
                    None => Node::Str(v),
                };
                let node = with_tag(node, tag);
                self.push(node, anchor, mark);
            }
            Event::SequenceStart(anchor, tag) => self.stack.push(Frame::Seq {
                items: Vec::new(),
                anchor,
                tag,
            }),
            Event::MappingStart(anchor, tag) => self.stack.push(Frame::Map {
                entries: Vec::new(),
                key: None,
                anchor,
                tag,
                line: mark.line(),
            }),
            Event::SequenceEnd | Event::MappingEnd => match self.stack.pop() {
                Some(Frame::Seq { items, anchor, tag }) => {
                    self.push(with_tag(Node::Seq(items), tag), anchor, mark)
                }
                Some(Frame::Map {
                    entries,
                    anchor,
                    tag,
                    ..
                }) => self.push(with_tag(Node::Map(entries), tag), anchor, mark),
                None => self.fail(mark, "unbalanced collection end"),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_cloudformation_tags() {
        let doc = parse(
            "A: !Ref CacheTable\n\
             B: !GetAtt CacheTable.Arn\n\
             C: !Join [\",\", !Ref Origins]\n\
             D: !Sub \"https://${Api}.example\"\n\
             E: plain\n",
        )
        .unwrap();
        assert_eq!(
            doc.get("A"),
            Some(&Node::Tagged(
                "Ref".into(),
                Box::new(Node::Str("CacheTable".into()))
            ))
        );
        assert_eq!(
            doc.get("B"),
            Some(&Node::Tagged(
                "GetAtt".into(),
                Box::new(Node::Str("CacheTable.Arn".into()))
            ))
        );
        let Some(Node::Tagged(name, inner)) = doc.get("C") else {
            panic!("C is not tagged: {doc:?}");
        };
        assert_eq!(name, "Join");
        assert_eq!(
            inner.as_seq().map(|s| s.len()),
            Some(2),
            "Join takes a separator and a list"
        );
        assert!(matches!(doc.get("D"), Some(Node::Tagged(n, _)) if n == "Sub"));
        assert_eq!(doc.get("E"), Some(&Node::Str("plain".into())));
    }

    #[test]
    fn core_schema_scalars() {
        let doc =
            parse("i: 29\nf: 0.5\nb: true\nn: ~\nq: \"29\"\ns: !!str 30\nx: 0x10\nv: 1.0.0\n")
                .unwrap();
        assert_eq!(doc.get("i"), Some(&Node::Int(29)));
        assert_eq!(doc.get("f"), Some(&Node::Float("0.5".into())));
        assert_eq!(doc.get("b"), Some(&Node::Bool(true)));
        assert_eq!(doc.get("n"), Some(&Node::Null));
        assert_eq!(doc.get("q"), Some(&Node::Str("29".into())));
        assert_eq!(doc.get("s"), Some(&Node::Str("30".into())));
        assert_eq!(doc.get("x"), Some(&Node::Int(16)));
        assert_eq!(doc.get("v"), Some(&Node::Str("1.0.0".into())));
    }

    #[test]
    fn anchors_and_errors() {
        let doc = parse("a: &x {k: 1}\nb: *x\n").unwrap();
        assert_eq!(doc.get("a"), doc.get("b"));
        let err = parse("a: 1\na: 2\n").unwrap_err();
        assert!(err.contains("duplicate key \"a\""), "{err}");
        let err = parse("a: [1, 2\n").unwrap_err();
        assert!(err.contains("YAML"), "{err}");
    }
}
