//! What a request may ask: bad input, future epochs, CORS.

use super::*;

#[tokio::test]
async fn bad_input_gets_400_and_future_epochs_404() {
    let sim = start_sim(10, 30).await;
    let t = TestTable::new().await;
    let invoke = InvokeRecorder::start().await;
    let ctx = stats(&t, &[sim.url()], &[], &invoke);
    let cases = [
        (
            "/v1/inference/epochs/0",
            400,
            "Invalid epoch ID: must be at least 1",
        ),
        (
            "/v1/inference/epochs/-5",
            400,
            "Invalid epoch ID: must be a positive integer",
        ),
        (
            "/v1/inference/epochs/abc",
            400,
            "Invalid epoch ID: must be a positive integer",
        ),
        (
            "/v1/inference/epochs/184467440737095516150",
            400,
            "Invalid epoch ID: must be a positive integer",
        ),
        (
            "/v1/inference/epochs/28?height=0",
            400,
            "Invalid height: must be at least 1",
        ),
        (
            "/v1/inference/epochs/28?height=garbage",
            400,
            "Invalid height: must be a positive integer",
        ),
        (
            "/v1/inference/current?reload=yes",
            400,
            "Invalid reload: must be true or false",
        ),
        (
            "/v1/inference/epochs/31",
            404,
            "Epoch 31 not found (the current epoch is 30)",
        ),
        (
            "/v1/inference/epochs/5000",
            404,
            "Epoch 5000 not found (the current epoch is 30)",
        ),
        ("/v1/unknown", 404, "Not Found"),
    ];
    for (path, status, detail) in cases {
        let resp = handle_epoch_stats(&ctx, &get(path, &[])).await;
        assert_eq!(resp.status(), status, "{path}");
        assert_eq!(
            json_body(&resp),
            serde_json::json!({ "detail": detail }),
            "{path}"
        );
        assert_eq!(header(&resp, "cache-control"), Some("no-store"));
    }
    assert_eq!(sim.stats().kind("unknown"), 0);
}

#[tokio::test]
async fn cors_preflight_and_origins() {
    let sim = start_sim(10, 30).await;
    let t = TestTable::new().await;
    let invoke = InvokeRecorder::start().await;
    let ctx = stats(
        &t,
        &[sim.url()],
        &[("CORS_ALLOWED_ORIGINS", "https://tracker.example")],
        &invoke,
    );
    let options = crate::support::request(
        "OPTIONS",
        "/v1/inference/current",
        &[("origin", "https://tracker.example")],
    );
    let resp = handle_epoch_stats(&ctx, &options).await;
    assert_eq!(resp.status(), 204);
    assert_eq!(
        header(&resp, "access-control-allow-origin"),
        Some("https://tracker.example")
    );
    assert_eq!(sim.stats().total, 0, "a preflight does no work");
    let resp = handle_epoch_stats(
        &ctx,
        &get(
            "/v1/inference/current",
            &[("origin", "https://evil.example")],
        ),
    )
    .await;
    assert_eq!(resp.status(), 200);
    assert!(header(&resp, "access-control-allow-origin").is_none());
}
