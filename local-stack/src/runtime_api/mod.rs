//! The Lambda Runtime API, one server per function.
//!
//! Each function's processes (its "instances") get
//! `AWS_LAMBDA_RUNTIME_API=127.0.0.1:PORT` and run the unmodified
//! `lambda_runtime` loop against it: long-poll
//! `GET /2018-06-01/runtime/invocation/next`, then post the result to
//! `/invocation/{id}/response` or `/invocation/{id}/error`. All instances of
//! a function poll the same queue, so N processes serve N invocations at a
//! time, like N warm Lambda instances; an instance takes the next event only
//! after it answered the previous one.
//!
//! Callers (the Invoke API, the API Gateway front) go through
//! [`FunctionRuntime::invoke`], which queues the event and waits for its
//! outcome, bounded by the time allowed in the queue and then by the
//! function's `Timeout`, as Lambda bounds it.

mod http;
mod queue;

pub use http::router;
pub use queue::{FunctionRuntime, Outcome, Usage, MAX_RESPONSE_BYTES};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids;
    use crate::template::FunctionDef;
    use axum::body::Bytes;
    use std::collections::BTreeMap;
    use std::sync::Arc;
    use std::time::Duration;

    fn def(timeout_secs: u32) -> FunctionDef {
        FunctionDef {
            logical_id: "F".into(),
            name: "f".into(),
            binary: "f".into(),
            memory_mb: 128,
            timeout_secs,
            environment: BTreeMap::new(),
            routes: Vec::new(),
            schedules: Vec::new(),
            max_retry_attempts: 2,
            max_event_age_secs: 60,
        }
    }

    async fn serve(rt: Arc<FunctionRuntime>) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, router(rt)).await });
        format!("http://{addr}/2018-06-01/runtime")
    }

    #[tokio::test]
    async fn next_response_and_error_round_trip() {
        let rt = FunctionRuntime::new(def(5));
        let base = serve(rt.clone()).await;
        let client = reqwest::Client::new();

        let invoker = {
            let rt = rt.clone();
            tokio::spawn(async move {
                rt.invoke(
                    "req-1".into(),
                    Bytes::from_static(b"{\"a\":1}"),
                    Duration::from_secs(5),
                )
                .await
            })
        };
        let next = client
            .get(format!("{base}/invocation/next"))
            .send()
            .await
            .unwrap();
        assert_eq!(next.status(), 200);
        let h = next.headers();
        assert_eq!(h["lambda-runtime-aws-request-id"], "req-1");
        let deadline: u64 = h["lambda-runtime-deadline-ms"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        let now = ids::now_ms();
        assert!(
            deadline > now + 4_000 && deadline <= now + 5_000,
            "{deadline} vs {now}"
        );
        assert_eq!(
            h["lambda-runtime-invoked-function-arn"],
            "arn:aws:lambda:us-east-1:123456789012:function:f"
        );
        assert!(h.contains_key("lambda-runtime-trace-id"));
        assert_eq!(next.bytes().await.unwrap(), "{\"a\":1}");

        let posted = client
            .post(format!("{base}/invocation/req-1/response"))
            .body("\"done\"")
            .send()
            .await
            .unwrap();
        assert_eq!(posted.status(), 202);
        assert_eq!(
            invoker.await.unwrap(),
            Outcome::Success(Bytes::from_static(b"\"done\""))
        );

        assert_eq!(rt.usage().invocations, 1);
        assert!(rt.usage().billed_ms >= 1, "{:?}", rt.usage());

        // A second answer for the same id is refused.
        let again = client
            .post(format!("{base}/invocation/req-1/response"))
            .body("1")
            .send()
            .await
            .unwrap();
        assert_eq!(again.status(), 400);

        let invoker = {
            let rt = rt.clone();
            tokio::spawn(async move {
                rt.invoke(
                    "req-2".into(),
                    Bytes::from_static(b"{}"),
                    Duration::from_secs(5),
                )
                .await
            })
        };
        let next = client
            .get(format!("{base}/invocation/next"))
            .send()
            .await
            .unwrap();
        assert_eq!(next.headers()["lambda-runtime-aws-request-id"], "req-2");
        let posted = client
            .post(format!("{base}/invocation/req-2/error"))
            .header("lambda-runtime-function-error-type", "unhandled")
            .body(r#"{"errorType":"&str","errorMessage":"boom"}"#)
            .send()
            .await
            .unwrap();
        assert_eq!(posted.status(), 202);
        match invoker.await.unwrap() {
            Outcome::Error { error_type, body } => {
                assert_eq!(error_type, "&str");
                assert!(String::from_utf8_lossy(&body).contains("boom"));
            }
            other => panic!("{other:?}"),
        }
        // Errors are billed too; the refused second answer was not counted.
        assert_eq!(rt.usage().invocations, 2);
        rt.reset_usage();
        assert_eq!(rt.usage(), Usage::default());
    }

    #[tokio::test]
    async fn abandoned_and_unclaimed_invocations() {
        let rt = FunctionRuntime::new(def(1));
        // Nobody polls: the invocation never starts.
        let outcome = rt
            .invoke("lost".into(), Bytes::new(), Duration::from_millis(50))
            .await;
        assert_eq!(outcome, Outcome::NotStarted);
        // ... and an instance polling later does not get it.
        assert!(rt.pop_live().is_none());

        // Started but never answered: the function's timeout applies.
        let base = serve(rt.clone()).await;
        let waiter = {
            let rt = rt.clone();
            tokio::spawn(async move {
                rt.invoke("slow".into(), Bytes::new(), Duration::from_secs(5))
                    .await
            })
        };
        let next = reqwest::get(format!("{base}/invocation/next"))
            .await
            .unwrap();
        assert_eq!(next.status(), 200);
        // Running, not polling: still up (start-up must not wait for it
        // to poll again).
        assert_eq!((rt.idle_instances(), rt.live_instances()), (0, 1));
        let outcome = waiter.await.unwrap();
        assert_eq!(
            outcome,
            Outcome::TimedOut {
                request_id: "slow".into(),
                secs: 1
            }
        );
        assert_eq!(rt.idle_instances(), 0);
    }
}
