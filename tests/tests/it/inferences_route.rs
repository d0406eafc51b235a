//! The inferences route through the participant function's handler:
//! validation, the empty answer before any scan, and the answer after one
//! (ETag, 304, gzip), never calling the chain.

use std::collections::BTreeMap;

use shared::routes::handle_participant;

use crate::dynamo_local::TestTable;
use crate::inferences::{expected_ids, ids, run_to_completion, sim, CURRENT};
use crate::support::{ctx, get, header, json_body};

/// The route: validated like the modal's, answered from the table only,
/// empty and `cached_at: null` before any scan; ETag, 304 and gzip.
#[tokio::test]
async fn the_route_validates_and_answers_from_the_table_only() {
    let sim = sim().await;
    let model = sim.model();
    let t = TestTable::new().await;
    let core = ctx(&t, &[sim.url()], &[]);
    let member = model.participants_in_epoch(CURRENT)[0].clone();
    let cases = [
        (
            format!("/v1/participants/{member}/inferences"),
            400,
            "epoch_id is required",
        ),
        (
            format!("/v1/participants/{member}/inferences?epoch_id=0"),
            400,
            "Invalid epoch ID",
        ),
        (
            format!("/v1/participants/{member}/inferences?epoch_id=abc"),
            400,
            "Invalid epoch ID",
        ),
        (
            "/v1/participants/gonka1bad/inferences?epoch_id=5".to_string(),
            400,
            "Invalid participant ID",
        ),
        (
            "/v1/participants/a/b/inferences?epoch_id=5".to_string(),
            404,
            "Not Found",
        ),
    ];
    for (path, status, detail) in cases {
        let resp = handle_participant(&core, &get(&path, &[])).await;
        assert_eq!(resp.status(), status, "{path}");
        let body = json_body(&resp);
        assert!(
            body["detail"].as_str().unwrap().starts_with(detail),
            "{path}: {body}"
        );
    }

    let path = format!("/v1/participants/{member}/inferences?epoch_id={CURRENT}");
    let resp = handle_participant(&core, &get(&path, &[])).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(header(&resp, "cache-control"), Some("no-store"));
    let body = json_body(&resp);
    assert_eq!(
        body,
        serde_json::json!({"epoch_id": CURRENT, "participant_id": member, "successful": [],
                           "expired": [], "invalidated": [], "cached_at": null})
    );
    assert_eq!(sim.stats().total, 0, "no chain call on the request path");

    run_to_completion(&core, 100).await;
    let busiest = {
        let mut count: BTreeMap<String, usize> = BTreeMap::new();
        let shown = ["FINISHED", "VALIDATED"];
        for truth in model
            .inferences()
            .into_iter()
            .filter(|t| t.epoch == CURRENT && shown.contains(&t.inference.status.as_str()))
        {
            *count.entry(truth.inference.assigned_to).or_default() += 1;
        }
        count.into_iter().max_by_key(|(_, n)| *n).unwrap().0
    };
    sim.reset_stats();
    let path = format!("/v1/participants/{busiest}/inferences?epoch_id={CURRENT}");
    let resp = handle_participant(&core, &get(&path, &[("accept-encoding", "gzip")])).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(header(&resp, "content-encoding"), Some("gzip"));
    assert_eq!(header(&resp, "cache-control"), Some("public, max-age=30"));
    let body = json_body(&resp);
    let [successful, _, _] = expected_ids(&model.inferences(), &busiest, CURRENT);
    assert!(successful.len() >= 5, "{successful:?}");
    assert_eq!(ids(&body, "successful"), successful);
    assert!(body["cached_at"].as_str().unwrap().ends_with('Z'));
    let etag = header(&resp, "etag").unwrap().to_owned();
    let again = handle_participant(&core, &get(&path, &[("if-none-match", &etag)])).await;
    assert_eq!(again.status(), 304);
    assert_eq!(sim.stats().total, 0, "no chain call on the request path");
}
