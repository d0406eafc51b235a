//! The template as the local stack reads it: the repository's own, and
//! small ones for what it does not use.

use super::*;

/// The repository's template: these tests fail when it changes in a way
/// the local stack does not understand.
const REPO_TEMPLATE: &str = include_str!("../../../template.yaml");

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
    assert_eq!(
        names,
        [
            "epoch-stats",
            "warmer",
            "participant",
            "scheduler",
            "network"
        ]
    );
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
        [
            "GET /v1/participants/{participant_id}",
            "GET /v1/participants/{participant_id}/inferences",
            "GET /v1/participants/{participant_id}/history",
            "GET /v1/participants/{participant_id}/history.svg"
        ]
    );
    assert_eq!(
        keys("network"),
        [
            "GET /v1/timeline",
            "GET /v1/hello",
            "GET /v1/models/current",
            "GET /v1/models/epochs/{epoch_id}",
            "GET /v1/network/history"
        ]
    );
    assert_eq!(
        keys("network"),
        [
            "GET /v1/timeline",
            "GET /v1/hello",
            "GET /v1/models/current",
            "GET /v1/models/epochs/{epoch_id}",
            "GET /v1/network/history"
        ]
    );
    assert!(keys("warmer").is_empty());
    assert!(keys("scheduler").is_empty());
    let schedules = &t.function("scheduler").unwrap().schedules;
    assert!(!schedules.is_empty());
    for s in schedules {
        let input: serde_json::Value =
            serde_json::from_str(s.input.as_deref().expect("each schedule names its job")).unwrap();
        assert!(input["job"].is_string(), "{}", s.name);
    }
    assert!(t.function("warmer").unwrap().schedules.is_empty());
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
    assert_eq!(env["WARM_LEASE_SECS"], "60");
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
    assert_eq!(cors.expose_headers, ["ETag", "Retry-After"]);
    assert_eq!(cors.max_age, Some(86400));
    assert!(!cors.allow_credentials);
}

#[test]
fn parameter_overrides() {
    let o = |k: &str, v: &str| (k.to_string(), v.to_string());
    let t = Template::parse(
        REPO_TEMPLATE,
        &[
            o("WarmLeaseSecs", "5"),
            o("CorsAllowedOrigins", "https://a.example, https://b.example"),
        ],
    )
    .unwrap();
    let env = &t.function("participant").unwrap().environment;
    assert_eq!(env["WARM_LEASE_SECS"], "5");
    assert_eq!(
        env["CORS_ALLOWED_ORIGINS"],
        "https://a.example,https://b.example"
    );
    assert_eq!(
        t.cors.unwrap().allow_origins,
        ["https://a.example", "https://b.example"]
    );
    let err = Template::parse(REPO_TEMPLATE, &[o("WarmLeaseSecs", "0")]).unwrap_err();
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
