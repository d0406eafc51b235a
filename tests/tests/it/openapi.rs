//! `openapi.yaml` against the real answers: every route's responses, from
//! its handler over DynamoDB Local and the simulated chain, validate
//! against the document's schema for their status (OpenAPI 3.1 schemas are
//! JSON Schema 2020-12); every documented path is exercised, and the
//! document's paths are exactly the template's routes.
//!
//! A new route: add its path to `openapi.yaml`, its requests to `CASES`,
//! and its handler to `Handlers::answer`.

use std::collections::BTreeSet;

use lambda_http::{Body, Request, Response};
use serde_json::{Map, Value};
use shared::bootstrap::LiveCore;
use shared::epoch_stats::bootstrap::LiveEpochStatsState;
use shared::epoch_stats::handle_epoch_stats;
use shared::routes::{handle_network, handle_participant};
use shared::service::history::record_epoch_history;
use shared::service::inference_scan::{scan_step, ScanOutcome, ScanSettings};
use shared::service::network::{refresh_models_current, refresh_timeline};
use yaml_rust2::{Yaml, YamlLoader};

use crate::dynamo_local::{repo_root, TestTable};
use crate::support::{ctx, dead_url, get, json_body, start_sim, stats, InvokeRecorder};

/// `{participant}` is replaced by a participant of the current epoch.
const CASES: &[(&str, u16)] = &[
    ("/v1/inference/current", 200),
    ("/v1/inference/current?reload=maybe", 400),
    ("/v1/inference/epochs/59", 200),
    ("/v1/inference/epochs/60", 200),
    ("/v1/inference/epochs/0", 400),
    ("/v1/inference/epochs/61", 404),
    ("/v1/participants/{participant}?epoch_id=60", 200),
    ("/v1/participants/{participant}?epoch_id=59", 200),
    ("/v1/participants/{participant}", 400),
    ("/v1/participants/cosmos1x?epoch_id=60", 400),
    ("/v1/participants/{participant}/inferences?epoch_id=60", 200),
    ("/v1/participants/{participant}/inferences?epoch_id=58", 200),
    ("/v1/participants/{participant}/inferences", 400),
    ("/v1/participants/{participant}/inferences?epoch_id=0", 400),
    ("/v1/participants/{participant}/history", 200),
    ("/v1/participants/{participant}/history?format=csv", 200),
    (
        "/v1/participants/{participant}/history?from_epoch=3&to_epoch=2",
        400,
    ),
    (
        "/v1/participants/{participant}/history.svg?metric=missed_rate",
        200,
    ),
    ("/v1/participants/{participant}/history.svg?metric=x", 400),
    ("/v1/network/history", 200),
    ("/v1/network/history?format=csv", 200),
    ("/v1/network/history?limit=0", 400),
    ("/v1/hello", 200),
    ("/v1/timeline", 200),
    ("/v1/models/current", 200),
    ("/v1/models/epochs/59", 200),
    ("/v1/models/epochs/60", 200),
    ("/v1/models/epochs/abc", 400),
    ("/v1/models/epochs/61", 404),
];

/// With the chain down and nothing stored.
const CHAIN_DOWN_CASES: &[(&str, u16)] = &[
    ("/v1/inference/current", 502),
    ("/v1/participants/{participant}?epoch_id=60", 502),
    // Table only: not covered yet, never a chain error.
    ("/v1/participants/{participant}/inferences?epoch_id=60", 200),
    // Table only: nothing recorded, the participant unknown.
    ("/v1/participants/{participant}/history", 404),
    ("/v1/network/history", 200),
    // Answered from code: up while the chain is down.
    ("/v1/hello", 200),
    ("/v1/timeline", 502),
    ("/v1/models/current", 502),
    ("/v1/models/epochs/59", 502),
];

struct Handlers {
    stats: LiveEpochStatsState,
    core: LiveCore,
}

impl Handlers {
    async fn answer(&self, req: &Request) -> Response<Body> {
        let path = req.uri().path().to_owned();
        if path.starts_with("/v1/inference/") {
            handle_epoch_stats(&self.stats, req).await
        } else if path.starts_with("/v1/participants/") {
            handle_participant(&self.core, req).await
        } else {
            handle_network(&self.core, req).await
        }
    }
}

fn yaml_to_json(y: &Yaml) -> Value {
    match y {
        Yaml::Real(r) => r
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
            .map_or(Value::Null, Value::Number),
        Yaml::Integer(i) => Value::from(*i),
        Yaml::String(s) => Value::String(s.clone()),
        Yaml::Boolean(b) => Value::Bool(*b),
        Yaml::Array(a) => Value::Array(a.iter().map(yaml_to_json).collect()),
        Yaml::Hash(h) => Value::Object(
            h.iter()
                .map(|(k, v)| {
                    let key = match k {
                        Yaml::String(s) => s.clone(),
                        Yaml::Integer(i) => i.to_string(),
                        other => panic!("a key that is not a string: {other:?}"),
                    };
                    (key, yaml_to_json(v))
                })
                .collect::<Map<_, _>>(),
        ),
        Yaml::Null => Value::Null,
        other => panic!("unexpected YAML: {other:?}"),
    }
}

fn document() -> Value {
    let text = std::fs::read_to_string(repo_root().join("openapi.yaml")).expect("openapi.yaml");
    let docs = YamlLoader::load_from_str(&text).expect("openapi.yaml is YAML");
    let doc = yaml_to_json(&docs[0]);
    assert_eq!(doc["openapi"].as_str().map(|v| &v[..4]), Some("3.1."));
    doc
}

/// Follows a local `$ref` to (its JSON pointer, the object).
fn resolve(doc: &Value, mut pointer: String) -> (String, &Value) {
    loop {
        let v = doc
            .pointer(&pointer)
            .unwrap_or_else(|| panic!("{pointer} is in the document"));
        match v.get("$ref").and_then(Value::as_str) {
            Some(r) => pointer = r.strip_prefix('#').expect("a local $ref").to_owned(),
            None => return (pointer, v),
        }
    }
}

fn escape(segment: &str) -> String {
    segment.replace('~', "~0").replace('/', "~1")
}

/// The documented path template `path` matches.
fn template_for<'a>(doc: &'a Value, path: &str) -> &'a str {
    let segments: Vec<&str> = path.split('/').collect();
    doc["paths"]
        .as_object()
        .unwrap()
        .keys()
        .find(|t| {
            let ts: Vec<&str> = t.split('/').collect();
            ts.len() == segments.len()
                && ts
                    .iter()
                    .zip(&segments)
                    .all(|(t, s)| t == s || (t.starts_with('{') && t.ends_with('}')))
        })
        .unwrap_or_else(|| panic!("{path} is documented in openapi.yaml"))
}

/// Checks one answer against the document; returns the path template.
fn check(doc: &Value, url: &str, resp: &Response<Body>) -> String {
    let path = url.split('?').next().unwrap();
    let template = template_for(doc, path).to_owned();
    let status = resp.status().as_u16();
    let op = format!("/paths/{}/get/responses/{status}", escape(&template));
    let (at, response) = resolve(doc, op);
    // A CSV or SVG body: its media type documented for the status.
    let media = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap().trim().to_owned())
        .unwrap_or_default();
    if media == "text/csv" || media == "image/svg+xml" {
        assert!(
            response
                .pointer(&format!("/content/{}", escape(&media)))
                .is_some(),
            "{url}: {status} is documented as {media}"
        );
        return template;
    }
    let Some(schema) = response.pointer("/content/application~1json/schema") else {
        panic!("{url}: {status} is documented with a JSON body");
    };
    let (schema_at, _) = match schema.get("$ref") {
        Some(_) => resolve(doc, format!("{at}/content/application~1json/schema")),
        None => (format!("{at}/content/application~1json/schema"), schema),
    };
    let mut root = doc.clone();
    root["$ref"] = Value::String(format!("#{schema_at}"));
    let validator = jsonschema::draft202012::new(&root)
        .unwrap_or_else(|e| panic!("the schema of {template} {status} compiles: {e}"));
    let body = json_body(resp);
    let errors: Vec<String> = validator
        .iter_errors(&body)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "{url} ({status}) does not match openapi.yaml: {errors:#?}"
    );
    template
}

#[tokio::test]
async fn every_route_answers_as_documented() {
    let doc = document();
    let sim = start_sim(40, 60).await;
    let t = TestTable::new().await;
    let invoke = InvokeRecorder::start().await;
    let live = Handlers {
        stats: stats(&t, &[sim.url()], &[], &invoke),
        core: ctx(&t, &[sim.url()], &[]),
    };
    // What the scheduled function keeps stored.
    refresh_timeline(&live.core).await.unwrap();
    refresh_models_current(&live.core).await.unwrap();
    let scan = ScanSettings {
        page_budget: 1_000,
        ..ScanSettings::default()
    };
    let report = scan_step(&live.core.chain, &live.core.table, &scan)
        .await
        .unwrap();
    assert_eq!(report.outcome, ScanOutcome::Completed);
    // One in the finished epoch too, whose history is recorded.
    let model = sim.model();
    let participant = model
        .participants_in_epoch(60)
        .into_iter()
        .find(|p| model.is_in_epoch(59, p))
        .expect("a participant of epochs 59 and 60");
    record_epoch_history(&live.core, 59).await.unwrap();

    let empty = TestTable::new().await;
    let down = Handlers {
        stats: stats(&empty, &[dead_url()], &[], &invoke),
        core: ctx(&empty, &[dead_url()], &[]),
    };
    let mut answered: BTreeSet<String> = BTreeSet::new();
    for (handlers, cases) in [(&live, CASES), (&down, CHAIN_DOWN_CASES)] {
        for (url, want) in cases {
            let url = url.replace("{participant}", &participant);
            let resp = handlers
                .answer(&get(&url, &[("accept-encoding", "gzip")]))
                .await;
            assert_eq!(resp.status().as_u16(), *want, "{url}: {}", json_body(&resp));
            let template = check(&doc, &url, &resp);
            if *want == 200 {
                answered.insert(template);
            }
        }
    }

    let documented: BTreeSet<String> = doc["paths"].as_object().unwrap().keys().cloned().collect();
    assert_eq!(
        answered, documented,
        "every documented path answered 200 here"
    );
    let text = std::fs::read_to_string(repo_root().join("template.yaml")).unwrap();
    let template = local_stack::template::Template::parse(&text, &[]).unwrap();
    let routed: BTreeSet<String> = template.routes().map(|r| r.path.clone()).collect();
    assert_eq!(
        routed, documented,
        "openapi.yaml documents exactly the template's routes"
    );
}
