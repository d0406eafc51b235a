//! `GET /v1/hello`, the original tracker's liveness route: it answers
//! `{"message": "hello"}` with no table request and no chain call, so it
//! stays up when either is down.

use serde_json::json;
use shared::routes::handle_network;

use crate::dynamo_local::TestTable;
use crate::support::{ctx, get, json_body, start_sim};

#[tokio::test]
async fn hello_answers_without_the_table_or_the_chain() {
    let sim = start_sim(4, 60).await;
    let t = TestTable::new().await;
    let core = ctx(&t, &[sim.url()], &[]);
    sim.reset_stats();
    let before = t.table.counters().requests();
    let resp = handle_network(&core, &get("/v1/hello", &[])).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(json_body(&resp), json!({"message": "hello"}));
    // What API Gateway matched decides: a path no route declares is 404.
    let resp = handle_network(&core, &get("/v1/hello/extra", &[])).await;
    assert_eq!(resp.status(), 404);
    assert_eq!(json_body(&resp), json!({"detail": "Not Found"}));
    assert_eq!(t.table.counters().requests(), before, "no table request");
    assert_eq!(sim.stats().total, 0, "no chain call");
}
