//! The inference scan (`scan_step`) and the inferences route, against
//! DynamoDB Local and the simulated chain's inference list.

use std::collections::BTreeMap;
use std::io::Read;
use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::Value;
use shared::routes::handle_participant;
use shared::service::inference_scan::{
    scan_step, ScanError, ScanOutcome, ScanReport, ScanSettings,
};
use shared::table::{InferenceTable, PutOutcome, ScanCheckpoint};
use sim_chain::{EndpointKind, Fault, FaultMode, InferenceTruth, SimChain, SimConfig};

use crate::dynamo_local::TestTable;
use crate::support::{ctx, get, json_body, LiveCore};

pub const CURRENT: u64 = 60;

pub async fn sim() -> SimChain {
    SimChain::start(SimConfig {
        participants: 120,
        inferences: 2_600,
        current_epoch: CURRENT,
        ..Default::default()
    })
    .await
    .expect("simulated chain")
}

pub fn settings(page_budget: u32) -> ScanSettings {
    ScanSettings {
        page_budget,
        deadline: None,
        min_interval: Duration::ZERO,
        max_pages: 1_000,
        max_failed_runs: 3,
    }
}

/// Steps until a scan completes; the reports of every run.
pub async fn run_to_completion(core: &LiveCore, page_budget: u32) -> Vec<ScanReport> {
    let mut reports = Vec::new();
    for _ in 0..100 {
        let report = scan_step(&core.chain, &core.table, &settings(page_budget))
            .await
            .expect("a scan step");
        let done = report.outcome == ScanOutcome::Completed;
        reports.push(report);
        if done {
            return reports;
        }
    }
    panic!("no scan completed in 100 runs: {reports:?}");
}

fn gunzip(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes)
        .read_to_end(&mut out)
        .expect("gzip");
    out
}

/// The published records in the table (the bucket items, not the epoch's
/// other items), as JSON by (epoch item, bucket), without their scan's times.
pub async fn published(t: &TestTable) -> BTreeMap<String, Value> {
    t.scan_all()
        .await
        .into_iter()
        .filter(|i| i["pk"].as_s().is_ok_and(|pk| pk.starts_with("INFER#")))
        .filter(|i| {
            i["sk"]
                .as_s()
                .is_ok_and(|sk| sk.bytes().all(|b| b.is_ascii_digit()))
        })
        .map(|i| {
            let key = format!("{}/{}", i["pk"].as_s().unwrap(), i["sk"].as_s().unwrap());
            let rows = serde_json::from_slice(&gunzip(i["blob"].as_b().unwrap().as_ref())).unwrap();
            (key, rows)
        })
        .collect()
}

/// The contract's answer from the chain's truth: the newest 10 of each
/// bucket by integer timestamp (ties by id), in the inference's true epoch.
pub fn expected_ids(truth: &[InferenceTruth], participant: &str, epoch: u64) -> [Vec<String>; 3] {
    let bucket = |statuses: &[&str]| {
        let mut list: Vec<(u64, String)> = truth
            .iter()
            .filter(|t| {
                t.epoch == epoch
                    && t.inference.assigned_to == participant
                    && statuses.contains(&t.inference.status.as_str())
            })
            .map(|t| {
                let ts = t.inference.start_block_timestamp.parse().unwrap();
                (ts, t.inference.inference_id.clone())
            })
            .collect();
        list.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
        list.into_iter().take(10).map(|(_, id)| id).collect()
    };
    [
        bucket(&["FINISHED", "VALIDATED"]),
        bucket(&["EXPIRED"]),
        bucket(&["INVALIDATED"]),
    ]
}

pub fn ids(body: &Value, bucket: &str) -> Vec<String> {
    body[bucket]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["inference_id"].as_str().unwrap().to_owned())
        .collect()
}

pub async fn answer(core: &LiveCore, participant: &str, epoch: u64) -> Value {
    let resp = handle_participant(
        core,
        &get(
            &format!("/v1/participants/{participant}/inferences?epoch_id={epoch}"),
            &[],
        ),
    )
    .await;
    assert_eq!(resp.status(), 200, "{participant} {epoch}");
    json_body(&resp)
}

/// A scan spread over one-page runs publishes exactly what one long run
/// does, and both are the contract's answer for every participant.
#[tokio::test]
async fn a_scan_over_many_runs_publishes_what_one_run_does() {
    let sim = sim().await;
    let model = sim.model();
    let (short, long) = (TestTable::new().await, TestTable::new().await);
    let short_core = ctx(&short, &[sim.url()], &[]);
    let long_core = ctx(&long, &[sim.url()], &[]);

    let reports = run_to_completion(&short_core, 1).await;
    let pages = model.inference_count().div_ceil(500) as u64;
    assert_eq!(reports.len() as u64, pages, "one page a run: {reports:?}");
    assert!(reports.iter().all(|r| r.pages_read == 1));
    let last = reports.last().unwrap();
    assert_eq!((last.scan_pages, last.scan_inferences), (pages, 2_600));
    assert!(last.kept <= 120 * 2 * 3 * 10, "bounded: {}", last.kept);
    let reports = run_to_completion(&long_core, 100).await;
    assert_eq!(reports.len(), 1);

    let (a, b) = (published(&short).await, published(&long).await);
    assert_eq!(
        a.len(),
        2 * shared::table::RECORD_BUCKETS as usize,
        "every bucket of epochs 60 and 59"
    );
    assert_eq!(a, b);

    // Every member of the current epoch and every assignee, checked
    // against the chain's truth through the route.
    let truth = model.inferences();
    let mut participants: Vec<String> = model.participants_in_epoch(CURRENT);
    participants.extend(truth.iter().map(|t| t.inference.assigned_to.clone()));
    participants.sort();
    participants.dedup();
    let mut empty_members = 0;
    for p in &participants {
        for epoch in [CURRENT, CURRENT - 1] {
            let [successful, expired, invalidated] = expected_ids(&truth, p, epoch);
            let body = answer(&short_core, p, epoch).await;
            assert_eq!(ids(&body, "successful"), successful, "{p} {epoch}");
            assert_eq!(ids(&body, "expired"), expired, "{p} {epoch}");
            assert_eq!(ids(&body, "invalidated"), invalidated, "{p} {epoch}");
            let all_empty = successful.is_empty() && expired.is_empty() && invalidated.is_empty();
            let member = model.is_in_epoch(CURRENT, p);
            if all_empty && !member {
                assert!(body["cached_at"].is_null(), "not covered: {p} {epoch}");
            } else {
                let cached_at = body["cached_at"].as_str().expect("covered");
                assert!(cached_at.ends_with('Z'), "{cached_at}");
                chrono::DateTime::parse_from_rfc3339(cached_at).unwrap();
            }
            if all_empty && member && epoch == CURRENT {
                empty_members += 1;
            }
        }
    }
    assert!(
        empty_members > 0,
        "a member without inferences has an explicit empty record"
    );
    // Older epochs are not covered.
    let body = answer(&short_core, &participants[0], CURRENT - 2).await;
    assert!(body["cached_at"].is_null());
}

/// A page failing midway: what was read before it is saved, nothing is
/// published, and the next run resumes at that page (no page read twice).
#[tokio::test]
async fn a_failed_page_resumes_and_publishes_nothing_partial() {
    let sim = sim().await;
    let (t, reference) = (TestTable::new().await, TestTable::new().await);
    let core = ctx(&t, &[sim.url()], &[]);
    run_to_completion(&ctx(&reference, &[sim.url()], &[]), 100).await;

    sim.reset_stats();
    let fault = Fault::new(1.0, FaultMode::Status503).after(2);
    sim.set_fault(EndpointKind::Inferences, Some(fault));
    let err = scan_step(&core.chain, &core.table, &settings(100))
        .await
        .expect_err("the third page fails");
    assert!(
        matches!(
            err,
            ScanError::Page {
                page: 3,
                pages_read: 2,
                ..
            }
        ),
        "{err}"
    );
    assert!(published(&t).await.is_empty(), "nothing published");
    let checkpoint = core.table.load_scan().await.unwrap();
    let scan = checkpoint.scan.expect("the scan in progress");
    assert_eq!(scan.position.pages, 2);
    assert!(scan.position.next_key.is_some());

    // A run while the chain still fails changes nothing.
    assert!(scan_step(&core.chain, &core.table, &settings(100))
        .await
        .is_err());
    assert_eq!(
        core.table
            .load_scan()
            .await
            .unwrap()
            .scan
            .unwrap()
            .position
            .pages,
        2
    );

    sim.set_fault(EndpointKind::Inferences, None);
    let failed = sim.stats().kind("inferences");
    let report = scan_step(&core.chain, &core.table, &settings(100))
        .await
        .unwrap();
    assert_eq!(report.outcome, ScanOutcome::Completed);
    let pages = sim.model().inference_count().div_ceil(500) as u64;
    assert_eq!(report.pages_read as u64, pages - 2, "resumed at page 3");
    assert_eq!(sim.stats().kind("inferences") - failed, pages - 2);
    assert_eq!(published(&t).await, published(&reference).await);
    assert!(
        core.table.load_scan().await.unwrap().scan.is_none(),
        "the scan ended"
    );
}

/// Every string and decompressed blob in the table, mid-scan and after.
async fn table_text(t: &TestTable) -> String {
    let mut text = String::new();
    for item in t.scan_all().await {
        for value in item.values() {
            match value {
                AttributeValue::S(s) => text.push_str(s),
                // Compressed bodies (a digest's hashes are raw bytes).
                AttributeValue::B(b) if b.as_ref().starts_with(&[0x1f, 0x8b]) => {
                    text.push_str(&String::from_utf8_lossy(&gunzip(b.as_ref())))
                }
                other => text.push_str(&format!("{other:?}")),
            }
            text.push('\n');
        }
    }
    text
}

#[tokio::test]
async fn no_payload_reaches_the_table() {
    let sim = sim().await;
    let model = sim.model();
    let t = TestTable::new().await;
    let core = ctx(&t, &[sim.url()], &[]);
    let first = scan_step(&core.chain, &core.table, &settings(2))
        .await
        .unwrap();
    assert_eq!(first.outcome, ScanOutcome::Progressed);
    let mid_scan = table_text(&t).await;
    assert!(
        mid_scan.contains("inference_id"),
        "the checkpoint holds inferences"
    );
    run_to_completion(&core, 100).await;
    let done = table_text(&t).await;
    for text in [mid_scan, done] {
        assert!(!text.contains("payload"));
        for truth in model.inferences().iter().take(200) {
            let prompt = &truth.inference.prompt_payload[..200];
            let response = &truth.inference.response_payload[..200];
            assert!(!text.contains(prompt) && !text.contains(response));
        }
    }
    // The route serves them as null.
    let truth = model
        .inferences()
        .into_iter()
        .find(|t| t.epoch == CURRENT && t.inference.status == "FINISHED")
        .unwrap();
    let body = answer(&core, &truth.inference.assigned_to, CURRENT).await;
    let shown = body["successful"].as_array().unwrap();
    assert!(!shown.is_empty());
    for d in shown {
        assert!(
            d["prompt_payload"].is_null() && d["response_payload"].is_null(),
            "{d}"
        );
        assert!(d.as_object().unwrap().contains_key("prompt_payload"));
        assert!(
            d["prompt_hash"].is_string() && d["model"].is_string(),
            "{d}"
        );
    }
}

/// Two runs that read the same checkpoint: one saves, the other loses and
/// leaves nothing behind.
#[tokio::test]
async fn overlapping_saves_keep_one_checkpoint() {
    let sim = sim().await;
    let t = TestTable::new().await;
    let core = ctx(&t, &[sim.url()], &[]);
    scan_step(&core.chain, &core.table, &settings(1))
        .await
        .unwrap();
    let read_a = core.table.load_scan().await.unwrap();
    let read_b = core.table.load_scan().await.unwrap();
    let advanced = |read: &ScanCheckpoint, pages: u64| {
        let mut next = read.clone();
        next.scan.as_mut().unwrap().position.pages = pages;
        next
    };
    let a = core
        .table
        .save_scan(&read_a, &advanced(&read_a, 40))
        .await
        .unwrap();
    let b = core
        .table
        .save_scan(&read_b, &advanced(&read_b, 50))
        .await
        .unwrap();
    assert_eq!((a, b), (PutOutcome::Written, PutOutcome::LostRace));
    let now = core.table.load_scan().await.unwrap();
    assert_eq!(now.version, read_a.version + 1);
    assert_eq!(now.scan.unwrap().position.pages, 40);
    let pieces: Vec<String> = t
        .scan_all()
        .await
        .into_iter()
        .filter_map(|i| {
            i["pk"]
                .as_s()
                .ok()
                .filter(|pk| pk.starts_with("INFSCAN#"))
                .cloned()
        })
        .collect();
    assert_eq!(pieces.len(), 1, "only the saved state's pieces: {pieces:?}");
    // Concurrent steps never corrupt it: the scan still completes and
    // publishes the one-run answer.
    let one_page = settings(1);
    let steps = (0..3).map(|_| scan_step(&core.chain, &core.table, &one_page));
    for r in futures::future::join_all(steps).await {
        r.unwrap();
    }
    run_to_completion(&core, 100).await;
    let reference = TestTable::new().await;
    run_to_completion(&ctx(&reference, &[sim.url()], &[]), 100).await;
    assert_eq!(published(&t).await, published(&reference).await);
}

/// A run stops at its deadline, mid-scan, and saves what it read; the
/// next run goes on from there.
#[tokio::test]
async fn a_run_stops_at_its_deadline_and_the_next_goes_on() {
    let sim = sim().await;
    let t = TestTable::new().await;
    let core = ctx(&t, &[sim.url()], &[]);
    sim.set_latency(Duration::from_millis(300));
    let bounded = ScanSettings {
        deadline: Some(tokio::time::Instant::now() + Duration::from_millis(1_800)),
        ..settings(100)
    };
    let report = scan_step(&core.chain, &core.table, &bounded).await.unwrap();
    let pages = sim.model().inference_count().div_ceil(500) as u32;
    assert_eq!(report.outcome, ScanOutcome::Progressed, "{report:?}");
    assert!(report.pages_read < pages, "{report:?}");
    let saved = core.table.load_scan().await.unwrap().scan.unwrap();
    assert_eq!(saved.position.pages, u64::from(report.pages_read));
    sim.set_latency(Duration::ZERO);
    let rest = run_to_completion(&core, 100).await;
    assert_eq!(rest.len(), 1);
    assert_eq!(rest[0].pages_read, pages - report.pages_read);
    assert!(!published(&t).await.is_empty());
}

/// A list longer than the page cap is broken: the scan is dropped without
/// publishing, and the next run starts a new one from the first page.
#[tokio::test]
async fn a_list_past_the_page_cap_is_dropped_and_started_over() {
    let sim = sim().await;
    let t = TestTable::new().await;
    let core = ctx(&t, &[sim.url()], &[]);
    let capped = ScanSettings {
        max_pages: 2,
        ..settings(100)
    };
    let err = scan_step(&core.chain, &core.table, &capped)
        .await
        .expect_err("more pages than the cap");
    assert!(
        matches!(err, ScanError::Abandoned { pages: 2, .. }),
        "{err}"
    );
    assert!(published(&t).await.is_empty());
    let checkpoint = core.table.load_scan().await.unwrap();
    assert!(checkpoint.scan.is_none(), "dropped");
    let pieces = t.scan_state_pieces().await.len();
    assert_eq!(pieces, 0, "the dropped state's pieces are removed");
    sim.reset_stats();
    let report = scan_step(&core.chain, &core.table, &settings(1))
        .await
        .unwrap();
    assert_eq!(
        (report.outcome, report.scan_pages),
        (ScanOutcome::Progressed, 1)
    );
    assert_eq!(
        sim.stats().key("inferences:latest"),
        0,
        "pinned to a height"
    );
}

/// After a scan completes, the next starts only once the minimum interval
/// since the last start has passed; meanwhile a step calls nothing.
#[tokio::test]
async fn a_new_scan_waits_for_the_interval() {
    let sim = sim().await;
    let t = TestTable::new().await;
    let core = ctx(&t, &[sim.url()], &[]);
    let first = run_to_completion(&core, 100).await.remove(0);
    sim.reset_stats();
    let patient = ScanSettings {
        min_interval: Duration::from_secs(3_600),
        ..settings(1)
    };
    let report = scan_step(&core.chain, &core.table, &patient).await.unwrap();
    assert_eq!(report.outcome, ScanOutcome::Waiting);
    assert_eq!(sim.stats().total, 0);
    let report = scan_step(&core.chain, &core.table, &settings(1))
        .await
        .unwrap();
    assert_eq!(
        (report.outcome, report.scan_pages),
        (ScanOutcome::Progressed, 1)
    );
    assert!(report.scan_started_ms > first.scan_started_ms);
}
