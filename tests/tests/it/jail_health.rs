//! Jail statuses: the validator pages against the simulated chain (nodes
//! whose page keys repeat are in `pages.rs`), the jail rules against the
//! simulator's model, the chunked items in DynamoDB Local at 10,000
//! participants, and serving (stale or missing statuses never fail a
//! request). Node health is in `health.rs`.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use axum::routing::get as route_get;
use axum::Router;
use shared::chain::ValidatorChain;
use shared::domain::jail::{clean_jailed_until, clean_moniker, non_empty};
use shared::domain::links::web_link;
use shared::domain::validator_keys::valcons_of;
use shared::domain::{JailStatus, NodeHealth, ValidatorInfo};
use shared::epoch_stats::handle_epoch_stats;
use shared::keybase::{picture_url, HttpKeybase, KeybaseIdentity, KeybaseUsername};
use shared::routes::handle_participant;
use shared::service::epochs::{current_epoch, epoch_by_id};
use shared::service::jail::refresh_current_jail;
use shared::service::keybase_names::KeybaseMemo;
use shared::table::{PutOutcome, StatusParts, StatusTable, MAX_STATUS_CHUNK_BYTES};
use sim_chain::{keybase_username, Model};

use crate::dynamo_local::TestTable;
use crate::support::{ctx, get, json_body, serve, start_sim, stats, unbounded, InvokeRecorder};

pub(crate) const CURRENT: u64 = 30;

/// The stored status of `addr` as the contract's rules give it from the
/// model's validator at `height` (`None`: no validator, or tokens 0).
pub(crate) fn expected_status(
    model: &Model,
    epoch: u64,
    addr: &str,
    height: u64,
) -> Option<JailStatus> {
    let v = model.validator_of(addr, height)?;
    if v.tokens.trim_start_matches('0').is_empty() {
        return None;
    }
    let identity = non_empty(Some(&v.description.identity));
    let username = identity
        .as_deref()
        .filter(|i| KeybaseIdentity::parse(i).is_some())
        .and_then(keybase_username)
        .and_then(|u| KeybaseUsername::parse(&u));
    let entry = model.epoch_participant(epoch, addr).unwrap();
    let jailed_until = if v.jailed {
        let valcons = valcons_of(&v.consensus_pubkey.key).unwrap();
        clean_jailed_until(model.jailed_until(&valcons, height).as_deref())
    } else {
        None
    };
    Some(JailStatus {
        participant: addr.to_owned(),
        is_jailed: v.jailed,
        validator: ValidatorInfo {
            jailed_until,
            moniker: clean_moniker(Some(&v.description.moniker)),
            identity,
            keybase_picture_url: username.as_ref().map(picture_url),
            keybase_username: username.map(KeybaseUsername::into_string),
            website: web_link(Some(&v.description.website)),
            consensus_key_mismatch: Some(v.consensus_pubkey.key != entry.validator_key),
            validator_consensus_key: Some(v.consensus_pubkey.key.clone()),
        },
    })
}

#[tokio::test]
async fn validators_follow_every_page_with_url_encoded_keys() {
    let sim = start_sim(450, CURRENT).await;
    let model = sim.model();
    let t = TestTable::new().await;
    let ctx = ctx(&t, &[sim.url()], &[]);
    let height = model.latest_block_height();
    let got = ctx.chain.validators(height).await.unwrap();
    let want = model.validators(height);
    assert!(want.len() > 400, "more than two pages: {}", want.len());
    let got_ops: Vec<&str> = got.iter().map(|v| v.operator_address.as_str()).collect();
    let want_ops: Vec<&str> = want.iter().map(|v| v.operator_address.as_str()).collect();
    assert_eq!(got_ops, want_ops);
    // Every page asked once, the key decoded strictly by the simulator
    // (a `+` sent unencoded would arrive as a space and be refused).
    assert_eq!(
        sim.stats().kind("validators") as usize,
        want.len().div_ceil(200)
    );
}

#[tokio::test]
async fn the_current_epochs_jail_statuses_follow_the_rules() {
    let sim = start_sim(260, CURRENT).await;
    let model = sim.model();
    let t = TestTable::new().await;
    let ctx = ctx(&t, &[sim.url()], &[]);
    let http = HttpKeybase::new(&sim.url()).unwrap();
    let memo = KeybaseMemo::default();
    let keybase = unbounded(&http, &memo);
    let report = refresh_current_jail(&ctx.chain, &t.table, &keybase)
        .await
        .unwrap();
    assert_eq!(report.epoch_id, CURRENT);
    assert!(report.written && !report.is_final);
    let height = model.latest_block_height();
    assert_eq!(report.height, height);
    let stored = t
        .table
        .load_statuses(StatusParts::both(CURRENT))
        .await
        .unwrap();
    let members = model.participants_in_epoch(CURRENT);
    let mut seen = std::collections::BTreeSet::new();
    for addr in &members {
        let want = expected_status(&model, CURRENT, addr, height);
        assert_eq!(stored.jail.get(addr), want.as_ref(), "{addr}");
        if let Some(w) = want {
            seen.insert((
                w.is_jailed,
                w.validator.jailed_until.is_some(),
                w.validator.keybase_username.is_some(),
                w.validator.website.is_some(),
                w.validator.moniker.is_some(),
                w.validator.consensus_key_mismatch,
            ));
        }
    }
    // The simulator's cases all occurred (the test would be vacuous otherwise).
    assert!(seen.iter().any(|s| s.0 && s.1), "jailed with a date");
    assert!(seen.iter().any(|s| s.0 && !s.1), "jailed, zero date");
    assert!(seen.iter().any(|s| !s.0), "not jailed");
    assert!(seen.iter().any(|s| s.2) && seen.iter().any(|s| !s.2));
    assert!(seen.iter().any(|s| !s.3) && seen.iter().any(|s| s.3));
    assert!(seen.iter().any(|s| !s.4) && seen.iter().any(|s| s.4));
    assert!(seen.iter().any(|s| s.5 == Some(true)));
    assert!(stored.jail.len() < members.len(), "some have no validator");
    assert!(report.keybase_lookups > 0 && report.keybase_failures == 0);

    // Keybase answers are cached: the next refresh asks Keybase nothing.
    let again = refresh_current_jail(&ctx.chain, &t.table, &keybase)
        .await
        .unwrap();
    assert_eq!(again.keybase_lookups, 0);
    assert_eq!(again.keybase_cached, report.keybase_lookups);
}

fn big_status(i: usize) -> JailStatus {
    let addr = shared::ParticipantId::from_bytes(&(i as u32).to_be_bytes().repeat(5))
        .unwrap()
        .to_string();
    JailStatus {
        participant: addr,
        is_jailed: i.is_multiple_of(2),
        validator: ValidatorInfo {
            jailed_until: Some("2026-01-02T03:04:05.123456789Z".into()),
            // The chain's maximum description lengths.
            moniker: Some(format!("{i:0>70}")),
            identity: Some(format!("{i:0>64}")),
            keybase_username: Some(format!("user{i:0>12}")),
            keybase_picture_url: KeybaseUsername::parse(&format!("user{i:0>12}"))
                .as_ref()
                .map(picture_url),
            website: Some(format!("https://{i:0>130}.example")),
            validator_consensus_key: Some(format!("{i:0>44}")),
            consensus_key_mismatch: Some(true),
        },
    }
}

#[tokio::test]
async fn ten_thousand_participants_fit_the_item_limit() {
    let t = TestTable::new().await;
    let jail: Vec<JailStatus> = (0..10_000).map(big_status).collect();
    let health: Vec<NodeHealth> = jail
        .iter()
        .map(|j| NodeHealth {
            participant: j.participant.clone(),
            healthy: true,
            checked_at: "2026-01-02T03:04:05.123456Z".into(),
        })
        .collect();
    assert_eq!(
        t.table.store_jail(5, &jail, 1_000, false).await.unwrap(),
        PutOutcome::Written
    );
    assert_eq!(
        t.table.store_health(&health, 1_000).await.unwrap(),
        PutOutcome::Written
    );
    let items = t.scan_all().await;
    let largest = items
        .iter()
        .filter_map(|i| {
            i.get("rows")
                .and_then(|r| r.as_b().ok())
                .map(|b| b.as_ref().len())
        })
        .max()
        .unwrap();
    assert!(largest < MAX_STATUS_CHUNK_BYTES, "{largest} bytes");
    assert_eq!(
        items.len(),
        66,
        "32 jail chunks and 32 health chunks, a revision item each"
    );
    let stored = t.table.load_statuses(StatusParts::both(5)).await.unwrap();
    assert_eq!(stored.jail.len(), 10_000);
    assert_eq!(stored.health.len(), 10_000);
    assert_eq!(stored.jail[&jail[1234].participant], jail[1234]);

    // A final write replaces the non-final one and is never replaced.
    assert_eq!(
        t.table
            .store_jail(5, &jail[..10], 2_000, true)
            .await
            .unwrap(),
        PutOutcome::Written
    );
    assert!(t.table.jail_is_final(5).await.unwrap());
    assert_eq!(
        t.table.store_jail(5, &jail, 3_000, false).await.unwrap(),
        PutOutcome::LostRace
    );
    assert_eq!(
        t.table
            .load_statuses(StatusParts::both(5))
            .await
            .unwrap()
            .jail
            .len(),
        10
    );
    // An older probe round never replaces a newer one.
    assert_eq!(
        t.table.store_health(&health[..5], 500).await.unwrap(),
        PutOutcome::LostRace
    );
}

#[tokio::test]
async fn unreadable_or_missing_statuses_never_fail_a_request() {
    let sim = start_sim(40, CURRENT).await;
    let t = TestTable::new().await;
    let invoke = InvokeRecorder::start().await;
    let state = stats(&t, &[sim.url()], &[], &invoke);
    current_epoch(&state.core).await.unwrap();
    epoch_by_id(&state.core, CURRENT - 2, None).await.unwrap();
    // A corrupt jail chunk and a corrupt health chunk.
    for (pk, sk) in [
        (format!("JAIL#{CURRENT:010}"), "000"),
        ("HEALTH".to_owned(), "001"),
    ] {
        t.client
            .put_item()
            .table_name(&t.name)
            .item("pk", aws_sdk_dynamodb::types::AttributeValue::S(pk))
            .item("sk", aws_sdk_dynamodb::types::AttributeValue::S(sk.into()))
            .item(
                "rows",
                aws_sdk_dynamodb::types::AttributeValue::B(vec![1, 2, 3].into()),
            )
            .item(
                "fetched_at",
                aws_sdk_dynamodb::types::AttributeValue::N("1".into()),
            )
            .send()
            .await
            .unwrap();
    }
    for path in [
        "/v1/inference/current".to_owned(),
        format!("/v1/inference/epochs/{}", CURRENT - 2),
    ] {
        let resp = handle_epoch_stats(&state, &get(&path, &[])).await;
        assert_eq!(resp.status(), 200, "{path}");
        let body = json_body(&resp);
        assert!(body["participants"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["is_jailed"].is_null() && p["node_healthy"].is_null()));
    }
    let addr = sim.model().participants_in_epoch(CURRENT)[0].clone();
    let modal = handle_participant(
        &state.core,
        &get(&format!("/v1/participants/{addr}?epoch_id={CURRENT}"), &[]),
    )
    .await;
    assert_eq!(modal.status(), 200);
}

#[tokio::test]
async fn the_warm_run_of_a_finished_epoch_fetches_its_jail_statuses_once() {
    let sim = start_sim(50, CURRENT).await;
    let t = TestTable::new().await;
    let ctx = ctx(&t, &[sim.url()], &[]);
    let epoch = CURRENT - 3;
    epoch_by_id(&ctx, epoch, None).await.unwrap();
    let report = shared::warm::warm_epoch(&ctx, &crate::support::warm_job(epoch, true), None).await;
    let jail = report
        .jail
        .expect("a finished epoch's warm fetches its jail statuses");
    assert!(jail.is_final && jail.written && jail.matched > 0);
    assert!(t.table.jail_is_final(epoch).await.unwrap());
    assert!(!t
        .table
        .load_statuses(StatusParts::both(epoch))
        .await
        .unwrap()
        .jail
        .is_empty());
    sim.reset_stats();
    let again = shared::warm::warm_epoch(&ctx, &crate::support::warm_job(epoch, true), None).await;
    assert!(again.jail.unwrap().skipped);
    assert_eq!(sim.stats().kind("validators"), 0, "never refetched");
    // The current epoch's warm leaves jail to the scheduled function.
    let current =
        shared::warm::warm_epoch(&ctx, &crate::support::warm_job(CURRENT, false), None).await;
    assert!(current.jail.is_none());
}

#[tokio::test]
async fn keybase_is_left_alone_after_a_429_and_found_users_are_read() {
    use shared::keybase::{KeybaseAnswer, KeybaseLookup};
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    let app = Router::new().route(
        "/_/api/1.0/user/lookup.json",
        route_get(move || {
            counter.fetch_add(1, Ordering::Relaxed);
            async { axum::http::StatusCode::TOO_MANY_REQUESTS }
        }),
    );
    let (url, _task) = serve(app).await;
    let limited = HttpKeybase::new(&url).unwrap();
    let id = KeybaseIdentity::parse("A00000000000000C").unwrap();
    for _ in 0..3 {
        assert!(matches!(
            limited.lookup(&id).await,
            KeybaseAnswer::Failed(_)
        ));
    }
    assert_eq!(
        hits.load(Ordering::Relaxed),
        1,
        "no request while backing off"
    );

    let sim = start_sim(10, CURRENT).await;
    let stand_in = HttpKeybase::new(&sim.url()).unwrap();
    assert_eq!(
        stand_in.lookup(&id).await,
        KeybaseAnswer::Found {
            username: "user00000c".into()
        }
    );
    let unknown = KeybaseIdentity::parse("F00000000000000C").unwrap();
    assert_eq!(stand_in.lookup(&unknown).await, KeybaseAnswer::NotFound);
}
