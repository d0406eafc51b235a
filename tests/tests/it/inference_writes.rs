//! What the inference scan writes (issue 19, "write only what changed"),
//! counted by the adapter's meters against DynamoDB Local: a save writes
//! what the run added, a completion republishes only the bucket items
//! whose records changed, and the route still serves the last completion.

use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_dynamodb::types::AttributeValue;
use shared::domain::inferences::InferenceLists;
use shared::domain::ListedInference;
use shared::service::inference_scan::{scan_step, ScanOutcome};
use shared::table::{InferenceTable, PublishStamp, PutOutcome, ScanCheckpoint, RECORD_BUCKETS};
use shared::time::now_ms;

use crate::dynamo_local::TestTable;
use crate::inferences::{answer, published, run_to_completion, settings, sim, CURRENT};

/// Write capacity units the table's adapter has used so far.
fn wcu(t: &TestTable) -> f64 {
    t.table.counters().write_capacity_units()
}

/// Each published bucket item's `scan_started_ms` (which scan wrote it).
async fn bucket_writers(t: &TestTable) -> BTreeMap<String, String> {
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
            (key, i["scan_started_ms"].as_n().unwrap().clone())
        })
        .collect()
}

/// How many bucket items another scan wrote between two [`bucket_writers`].
fn rewritten(before: &BTreeMap<String, String>, after: &BTreeMap<String, String>) -> usize {
    assert_eq!(before.len(), after.len(), "the same bucket items");
    after
        .iter()
        .filter(|(k, v)| before.get(*k) != Some(*v))
        .count()
}

/// The keys of the scan state's pieces.
async fn piece_keys(t: &TestTable) -> BTreeSet<String> {
    t.scan_state_pieces()
        .await
        .into_iter()
        .map(|i| format!("{}/{}", i["pk"].as_s().unwrap(), i["sk"].as_s().unwrap()))
        .collect()
}

/// A FINISHED inference of the current epoch, newer than any listed.
fn newest(id: &str, assignee: &str, height: u64) -> ListedInference {
    ListedInference {
        inference_id: Some(id.into()),
        status: Some("FINISHED".into()),
        assigned_to: Some(assignee.into()),
        epoch_id: Some(CURRENT.to_string()),
        start_block_height: Some(height.to_string()),
        start_block_timestamp: Some("99999999999999".into()),
        ..Default::default()
    }
}

/// `read` with `added` folded into its running result and one more page.
fn with_added(read: &ScanCheckpoint, added: &[ListedInference]) -> ScanCheckpoint {
    let mut next = read.clone();
    let scan = next.scan.as_mut().expect("a scan in progress");
    scan.position.pages += 1;
    let frame = scan.position.frame;
    for inf in added {
        scan.tally.add(inf.clone(), &frame);
    }
    next
}

/// A second scan over the same inference list: the records did not change,
/// so no bucket item is written again; the route still answers with the
/// second completion's time, in one table request.
#[tokio::test]
async fn a_second_scan_of_an_unchanged_list_publishes_no_bucket() {
    let sim = sim().await;
    let model = sim.model();
    let t = TestTable::new().await;
    let core = ctx_of(&t, &sim);
    let w0 = wcu(&t);
    run_to_completion(&core, 100).await;
    let first_scan = wcu(&t) - w0;
    let writers = bucket_writers(&t).await;
    assert_eq!(writers.len(), 2 * RECORD_BUCKETS as usize);
    let records = published(&t).await;
    let first = core.table.load_scan().await.unwrap();

    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let w1 = wcu(&t);
    let reports = run_to_completion(&core, 100).await;
    let second_scan = wcu(&t) - w1;
    eprintln!("scan writes (WCU): first {first_scan}, second over the same list {second_scan}");
    assert_eq!(reports.len(), 1);
    assert_eq!(reports[0].outcome, ScanOutcome::Completed);
    assert_eq!(
        rewritten(&writers, &bucket_writers(&t).await),
        0,
        "no bucket item rewritten"
    );
    assert_eq!(published(&t).await, records);
    assert!(
        second_scan < first_scan / 4.0,
        "second {second_scan} vs first {first_scan}"
    );

    // cached_at is the second completion for a member and for an assignee
    // whose buckets were not rewritten, answered in one table request.
    let second = core.table.load_scan().await.unwrap();
    let completed = second.last_completed_ms.unwrap();
    assert!(completed > first.last_completed_ms.unwrap());
    let member = model.participants_in_epoch(CURRENT)[0].clone();
    let assignee = model.inferences()[0].inference.assigned_to.clone();
    for (p, epoch) in [(member, CURRENT), (assignee, model.inferences()[0].epoch)] {
        let before = t.table.counters().requests();
        let body = answer(&core, &p, epoch).await;
        assert_eq!(t.table.counters().requests() - before, 1, "one round trip");
        let cached_at = body["cached_at"].as_str().expect("covered");
        let at = chrono::DateTime::parse_from_rfc3339(cached_at).unwrap();
        assert_eq!(at.timestamp_millis(), completed, "{p} {epoch}");
    }
}

/// A save that added nothing writes the checkpoint only; one that added an
/// inference writes a piece about that size, not the whole state; what is
/// loaded back is the state saved.
#[tokio::test]
async fn a_save_writes_only_what_the_run_added() {
    let sim = sim().await;
    let t = TestTable::new().await;
    let core = ctx_of(&t, &sim);
    let report = scan_step(&core.chain, &core.table, &settings(3))
        .await
        .unwrap();
    assert_eq!(report.outcome, ScanOutcome::Progressed);
    assert!(report.kept > 500, "{report:?}");

    let read = core.table.load_scan().await.unwrap();
    let pieces = piece_keys(&t).await;
    let w0 = wcu(&t);
    let outcome = core
        .table
        .save_scan(&read, &with_added(&read, &[]))
        .await
        .unwrap();
    let nothing_added = wcu(&t) - w0;
    assert_eq!(outcome, PutOutcome::Written);
    assert_eq!(piece_keys(&t).await, pieces, "no piece written or removed");

    let read = core.table.load_scan().await.unwrap();
    let member = read.scan.as_ref().unwrap().members[0].clone();
    let height = read.scan.as_ref().unwrap().position.frame.effective_height + 1;
    let next = with_added(&read, &[newest("added-1", &member, height)]);
    let w1 = wcu(&t);
    let outcome = core.table.save_scan(&read, &next).await.unwrap();
    let one_added = wcu(&t) - w1;
    eprintln!(
        "save writes (WCU) with {} inferences kept: nothing added {nothing_added}, one added {one_added}",
        report.kept
    );
    assert_eq!(outcome, PutOutcome::Written);
    assert!(nothing_added <= 1.0, "{nothing_added}");
    assert!(one_added <= 2.0, "{one_added}");
    let loaded = core.table.load_scan().await.unwrap();
    assert_eq!(loaded.scan, next.scan, "the saved state loads back");
}

/// Two runs add different inferences to the same checkpoint: the first
/// saves, the second loses and leaves none of its pieces; the next save
/// builds on the winner's.
#[tokio::test]
async fn overlapping_saves_of_additions_keep_the_winners_only() {
    let sim = sim().await;
    let t = TestTable::new().await;
    let core = ctx_of(&t, &sim);
    scan_step(&core.chain, &core.table, &settings(2))
        .await
        .unwrap();
    let read = core.table.load_scan().await.unwrap();
    let scan = read.scan.as_ref().unwrap();
    let (member, height) = (
        scan.members[1].clone(),
        scan.position.frame.effective_height + 1,
    );
    let a = with_added(&read, &[newest("from-a", &member, height)]);
    let b = with_added(&read, &[newest("from-b", &member, height)]);
    assert_eq!(
        core.table.save_scan(&read, &a).await.unwrap(),
        PutOutcome::Written
    );
    let after_a = piece_keys(&t).await;
    assert_eq!(
        core.table.save_scan(&read, &b).await.unwrap(),
        PutOutcome::LostRace
    );
    assert_eq!(piece_keys(&t).await, after_a, "the loser left nothing");
    let now = core.table.load_scan().await.unwrap();
    assert_eq!(now.scan, a.scan);

    let c = with_added(&now, &[newest("from-c", &member, height)]);
    assert_eq!(
        core.table.save_scan(&now, &c).await.unwrap(),
        PutOutcome::Written
    );
    let loaded = core.table.load_scan().await.unwrap().scan.unwrap();
    let lists = &loaded.tally.lists[&member][&CURRENT].successful;
    let ids: Vec<&str> = lists.iter().map(|d| d.inference_id.as_str()).collect();
    assert!(
        ids.contains(&"from-a") && ids.contains(&"from-c"),
        "{ids:?}"
    );
    assert!(!ids.contains(&"from-b"), "{ids:?}");

    // The scan still completes and publishes the one-run answer.
    run_to_completion(&core, 100).await;
    let reference = TestTable::new().await;
    run_to_completion(&ctx_of(&reference, &sim), 100).await;
    let (got, want) = (published(&t).await, published(&reference).await);
    assert_eq!(got.len(), want.len());
    let differing = got.iter().filter(|(k, v)| want.get(*k) != Some(*v)).count();
    assert_eq!(differing, 1, "only the bucket holding the added inferences");
}

/// Publishing records where one participant's changed rewrites that
/// participant's bucket item only.
#[tokio::test]
async fn publishing_rewrites_only_the_changed_bucket() {
    let t = TestTable::new().await;
    let mut records: BTreeMap<String, InferenceLists> = (0..500)
        .map(|i| (format!("participant-{i:04}"), InferenceLists::default()))
        .collect();
    let first = PublishStamp {
        scan_started_ms: now_ms() - 60_000,
        cached_at_ms: now_ms() - 50_000,
    };
    t.table
        .publish_inferences(CURRENT, &records, first)
        .await
        .unwrap();
    let writers = bucket_writers(&t).await;
    assert_eq!(writers.len(), RECORD_BUCKETS as usize);

    let mut changed = with_one_inference();
    changed.successful[0].inference_id = "changed".into();
    records.insert("participant-0007".into(), changed);
    let second = PublishStamp {
        scan_started_ms: now_ms() - 30_000,
        cached_at_ms: now_ms(),
    };
    let w0 = wcu(&t);
    t.table
        .publish_inferences(CURRENT, &records, second)
        .await
        .unwrap();
    let writes = wcu(&t) - w0;
    eprintln!("publish writes (WCU) with one participant changed: {writes}");
    assert_eq!(rewritten(&writers, &bucket_writers(&t).await), 1);
    // The bucket (1), the digest of 256 hashes (3) and the stamp (1).
    assert!(writes <= 5.0, "{writes}");
}

pub fn with_one_inference() -> InferenceLists {
    let mut lists = InferenceLists::default();
    lists
        .successful
        .push(shared::domain::inferences::InferenceDetail {
            inference_id: "x".into(),
            status: "FINISHED".into(),
            start_block_height: "1".into(),
            start_block_timestamp: "1".into(),
            validated_by: Vec::new(),
            prompt_hash: None,
            response_hash: None,
            prompt_token_count: None,
            completion_token_count: None,
            model: None,
        });
    lists
}

fn ctx_of(t: &TestTable, sim: &sim_chain::SimChain) -> crate::support::LiveCore {
    crate::support::ctx(t, &[sim.url()], &[])
}

/// Every bucket item is written again once the digest is older than half
/// the items' TTL, so none expires while its epoch is still scanned.
#[tokio::test]
async fn an_old_digest_rewrites_every_bucket() {
    let t = TestTable::new().await;
    let records: BTreeMap<String, InferenceLists> = (0..50)
        .map(|i| (format!("participant-{i:04}"), with_one_inference()))
        .collect();
    let stamp = |ago_ms: i64| PublishStamp {
        scan_started_ms: now_ms() - ago_ms - 1_000,
        cached_at_ms: now_ms() - ago_ms,
    };
    let first = t
        .table
        .publish_inferences(CURRENT, &records, stamp(60_000))
        .await
        .unwrap();
    assert_eq!(first, RECORD_BUCKETS as usize);
    let again = t
        .table
        .publish_inferences(CURRENT, &records, stamp(30_000))
        .await
        .unwrap();
    assert_eq!(again, 0, "unchanged and recent: nothing");

    let old = now_ms() - shared::table::inferences::rules::REFRESH_ALL_AFTER_MS;
    t.client
        .update_item()
        .table_name(&t.name)
        .key("pk", AttributeValue::S(format!("INFER#{CURRENT:010}")))
        .key("sk", AttributeValue::S("DIGEST".into()))
        .update_expression("SET refreshed_ms = :old")
        .expression_attribute_values(":old", AttributeValue::N(old.to_string()))
        .send()
        .await
        .unwrap();
    let refreshed = t
        .table
        .publish_inferences(CURRENT, &records, stamp(0))
        .await
        .unwrap();
    assert_eq!(refreshed, RECORD_BUCKETS as usize);
    let expiry = |i: &std::collections::HashMap<String, AttributeValue>| {
        i["expires_at"].as_n().unwrap().parse::<i64>().unwrap()
    };
    let soonest = t
        .scan_all()
        .await
        .iter()
        .filter(|i| i["pk"].as_s().is_ok_and(|pk| pk.starts_with("INFER#")))
        .map(expiry)
        .min()
        .unwrap();
    assert!(soonest >= now_ms() / 1000 + 6 * 86_400, "{soonest}");
}

/// A scan read one page a run: each save writes about what its page
/// added, far less than rewriting the whole state each time (as before,
/// twice: the new pieces and the deletion of the old).
#[tokio::test]
async fn one_page_runs_write_what_their_page_added() {
    let sim = sim().await;
    let t = TestTable::new().await;
    let core = ctx_of(&t, &sim);
    let (mut saves, mut rewriting_whole) = (Vec::new(), 0.0);
    loop {
        let w0 = wcu(&t);
        let report = scan_step(&core.chain, &core.table, &settings(1))
            .await
            .unwrap();
        if report.outcome == ScanOutcome::Completed {
            break;
        }
        saves.push(wcu(&t) - w0);
        rewriting_whole += 2.0 * (state_bytes(&t).await as f64 / 1024.0).ceil();
    }
    let written: f64 = saves.iter().sum();
    eprintln!("one-page saves (WCU): {saves:?}; the whole state twice a save: {rewriting_whole}");
    assert!(saves.len() >= 4, "{saves:?}");
    assert!(
        written * 2.0 < rewriting_whole,
        "{written} vs {rewriting_whole}"
    );
}

/// Bytes of the scan state's pieces in the table.
async fn state_bytes(t: &TestTable) -> usize {
    t.scan_state_pieces()
        .await
        .iter()
        .map(|i| i["blob"].as_b().unwrap().as_ref().len())
        .sum()
}
