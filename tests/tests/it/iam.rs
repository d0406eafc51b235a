//! The functions' IAM in template.yaml: each grant as narrow as the code
//! needs, so a widening is a failing test, not a review comment.

use std::collections::BTreeSet;

use yaml_rust2::{Yaml, YamlLoader};

use crate::dynamo_local::repo_root;

/// One Allow statement: its actions and the partition keys it is held to.
struct Grant {
    actions: BTreeSet<String>,
    leading_keys: Option<BTreeSet<String>>,
}

fn strings(y: &Yaml) -> BTreeSet<String> {
    match y {
        Yaml::String(s) => BTreeSet::from([s.clone()]),
        Yaml::Array(a) => a
            .iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect(),
        _ => BTreeSet::new(),
    }
}

fn template() -> Yaml {
    let text = std::fs::read_to_string(repo_root().join("template.yaml")).expect("template.yaml");
    YamlLoader::load_from_str(&text)
        .expect("template.yaml is YAML")
        .remove(0)
}

fn grants(template: &Yaml, function: &str) -> Vec<Grant> {
    let props = &template["Resources"][function]["Properties"];
    assert!(!props.is_badvalue(), "{function} is in the template");
    props["Policies"]
        .as_vec()
        .expect("Policies")
        .iter()
        .flat_map(|p| p["Statement"].as_vec().cloned().unwrap_or_default())
        .map(|st| {
            assert_eq!(st["Effect"].as_str(), Some("Allow"), "{function}");
            let keys = &st["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"];
            Grant {
                actions: strings(&st["Action"]),
                leading_keys: (!keys.is_badvalue()).then(|| strings(keys)),
            }
        })
        .collect()
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

#[test]
fn each_function_writes_only_the_items_it_owns_and_deletes_only_chunks() {
    let template = template();
    // (function, the DynamoDB actions it may use, the partition keys its
    // single-item writes may touch)
    let expected = [
        (
            "EpochStatsFunction",
            &[
                "GetItem",
                "BatchGetItem",
                "PutItem",
                "UpdateItem",
                "BatchWriteItem",
            ][..],
            &["CURRENT", "EPOCH#*", "BUDGET", "JAIL#*"][..],
        ),
        (
            "WarmerFunction",
            &["GetItem", "BatchGetItem", "PutItem"][..],
            &["P#*", "EPOCH#*", "JAIL#*", "KEYBASE#*", "HISTORY"][..],
        ),
        (
            "ParticipantFunction",
            &[
                "GetItem",
                "BatchGetItem",
                "PutItem",
                "UpdateItem",
                "BatchWriteItem",
                "Query",
            ][..],
            &["P#*", "CURRENT", "EPOCH#*"][..],
        ),
        (
            "SchedulerFunction",
            &["GetItem", "BatchGetItem", "PutItem", "BatchWriteItem"][..],
            &[
                "CURRENT",
                "EPOCH#*",
                "NETWORK",
                "MODELS#*",
                "INFSCAN",
                "INFER#*",
                "JAIL#*",
                "HEALTH",
                "KEYBASE#*",
                "HISTORY",
            ][..],
        ),
        (
            "NetworkFunction",
            &["GetItem", "PutItem", "UpdateItem", "Query"][..],
            &["NETWORK", "MODELS#*", "BUDGET"][..],
        ),
    ];
    for (function, actions, writable) in expected {
        let grants = grants(&template, function);
        let dynamodb: BTreeSet<String> = grants
            .iter()
            .flat_map(|g| g.actions.iter())
            .filter_map(|a| a.strip_prefix("dynamodb:").map(str::to_owned))
            .collect();
        assert_eq!(dynamodb, set(actions), "{function}'s DynamoDB actions");
        for grant in &grants {
            let has = |a: &str| grant.actions.contains(&format!("dynamodb:{a}"));
            if has("BatchWriteItem") {
                // BatchWriteItem can delete: only snapshot chunks, and (the
                // scheduler's inference scan) its own state pieces.
                let deletable = if function == "SchedulerFunction" {
                    set(&["SNAP#*", "INFSCAN#*"])
                } else {
                    set(&["SNAP#*"])
                };
                assert_eq!(grant.leading_keys, Some(deletable), "{function}");
                assert_eq!(grant.actions.len(), 1, "{function}: BatchWriteItem alone");
            }
            if has("Query") {
                // A history page: only the partition its function serves.
                let queried = if function == "NetworkFunction" {
                    set(&["HISTORY"])
                } else {
                    set(&["P#*"])
                };
                assert_eq!(grant.leading_keys, Some(queried), "{function}'s Query");
            }
            if has("PutItem") || has("UpdateItem") {
                assert!(
                    grant.leading_keys.is_some(),
                    "{function}'s writes are held to keys"
                );
            }
        }
        let written: BTreeSet<String> = grants
            .iter()
            .filter(|g| {
                g.actions.contains("dynamodb:PutItem") || g.actions.contains("dynamodb:UpdateItem")
            })
            .flat_map(|g| g.leading_keys.iter().flatten().cloned())
            .collect();
        assert_eq!(written, set(writable), "{function}'s writes");
    }
}

/// The network function reads only its own items too: its reads are held
/// to the same partition keys as its writes.
#[test]
fn the_network_function_reads_only_its_items() {
    let template = template();
    for grant in grants(&template, "NetworkFunction") {
        if grant.actions.contains("dynamodb:GetItem") {
            assert_eq!(grant.leading_keys, Some(set(&["NETWORK", "MODELS#*"])));
        }
    }
}

#[test]
fn the_warmer_is_capped_and_only_epoch_stats_and_the_scheduler_invoke_it() {
    let template = template();
    let warmer = &template["Resources"]["WarmerFunction"]["Properties"];
    let cap = warmer["ReservedConcurrentExecutions"]
        .as_i64()
        .expect("the warmer's concurrency is reserved");
    assert!((1..=5).contains(&cap), "{cap} warm runs at once");
    for function in ["WarmerFunction", "ParticipantFunction", "NetworkFunction"] {
        assert!(grants(&template, function)
            .iter()
            .all(|g| !g.actions.iter().any(|a| a.starts_with("lambda:"))));
    }
    for function in ["EpochStatsFunction", "SchedulerFunction"] {
        assert!(grants(&template, function)
            .iter()
            .any(|g| g.actions == set(&["lambda:InvokeFunction"])));
    }
}
