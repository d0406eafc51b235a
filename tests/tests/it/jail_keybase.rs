//! The jail job's Keybase budget against a Keybase that hangs or fails:
//! the jail statuses are stored whatever Keybase does, the run ends at
//! its deadline, and a username once known stays served.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::http::StatusCode;
use axum::routing::get as route_get;
use axum::Router;
use shared::keybase::{HttpKeybase, KeybaseIdentity};
use shared::service::jail::refresh_current_jail;
use shared::service::keybase_names::{KeybaseMemo, KeybaseRun};
use shared::table::{StatusParts, StatusTable, KEYBASE_KEPT_PAST_EXPIRY_MS};

use crate::dynamo_local::TestTable;
use crate::support::{ctx, serve, start_sim, unbounded};

const CURRENT: u64 = 30;

/// A Keybase whose every lookup hangs (an hour) or answers `status`;
/// counts the lookups it was asked.
async fn broken_keybase(status: Option<StatusCode>) -> (HttpKeybase, Arc<AtomicUsize>) {
    let asked = Arc::new(AtomicUsize::new(0));
    let counter = asked.clone();
    let app = Router::new().route(
        "/_/api/1.0/user/lookup.json",
        route_get(move || {
            counter.fetch_add(1, Ordering::Relaxed);
            async move {
                match status {
                    Some(s) => s,
                    None => {
                        tokio::time::sleep(Duration::from_secs(3600)).await;
                        StatusCode::OK
                    }
                }
            }
        }),
    );
    let (url, task) = serve(app).await;
    // The server lives as long as the test's runtime.
    std::mem::forget(task);
    (HttpKeybase::new(&url).unwrap(), asked)
}

fn budget<'a>(
    lookup: &'a HttpKeybase,
    memo: &'a KeybaseMemo,
    ms: u64,
) -> KeybaseRun<'a, HttpKeybase> {
    KeybaseRun {
        lookup,
        memo,
        deadline: Some(tokio::time::Instant::now() + Duration::from_millis(ms)),
    }
}

/// Each stored participant's Keybase username.
async fn stored_usernames(t: &TestTable) -> BTreeMap<String, Option<String>> {
    let stored = t
        .table
        .load_statuses(StatusParts::both(CURRENT))
        .await
        .unwrap();
    stored
        .jail
        .into_iter()
        .map(|(p, s)| (p, s.validator.keybase_username))
        .collect()
}

/// Every cached Keybase answer marked as due again (as a day later),
/// written past the adapter (which keeps the newer answer).
async fn expire_keybase_cache(t: &TestTable) {
    use aws_sdk_dynamodb::types::AttributeValue;
    let cached: Vec<_> = t
        .scan_all()
        .await
        .into_iter()
        .filter(|item| item.contains_key("ask_after"))
        .collect();
    assert!(!cached.is_empty(), "the first run cached its answers");
    for mut item in cached {
        item.insert("ask_after".into(), AttributeValue::N("1".into()));
        let ttl = (1 + KEYBASE_KEPT_PAST_EXPIRY_MS) / 1000;
        item.insert("expires_at".into(), AttributeValue::N(ttl.to_string()));
        t.put_raw(item).await;
    }
}

/// The identities of the stored statuses.
async fn stored_identities(t: &TestTable) -> Vec<KeybaseIdentity> {
    let stored = t
        .table
        .load_statuses(StatusParts::both(CURRENT))
        .await
        .unwrap();
    let mut ids: Vec<KeybaseIdentity> = stored
        .jail
        .values()
        .filter_map(|s| KeybaseIdentity::parse(s.validator.identity.as_deref()?))
        .collect();
    ids.sort_by(|a, b| a.as_str().cmp(b.as_str()));
    ids.dedup();
    ids
}

#[tokio::test]
async fn a_hanging_keybase_cannot_keep_the_jail_statuses_out() {
    let sim = start_sim(120, CURRENT).await;
    let t = TestTable::new().await;
    let core = ctx(&t, &[sim.url()], &[]);
    let (hanging, asked) = broken_keybase(None).await;
    let memo = KeybaseMemo::default();
    let report = refresh_current_jail(&core.chain, &t.table, &budget(&hanging, &memo, 2_000))
        .await
        .unwrap();

    assert!(report.matched > 0 && report.written, "{report:?}");
    assert!(
        report.keybase_left > 0,
        "the deadline cut the lookups: {report:?}"
    );
    assert_eq!(report.keybase_lookups, 0, "none answered: {report:?}");
    assert!(asked.load(Ordering::Relaxed) > 0, "Keybase was asked");
    let usernames = stored_usernames(&t).await;
    assert_eq!(usernames.len(), report.matched, "every status stored");
    assert!(usernames.values().all(Option::is_none));
    // A cut lookup is not cached: the next run asks it again.
    let ids = stored_identities(&t).await;
    assert!(!ids.is_empty());
    assert!(t.table.load_keybase(&ids).await.unwrap().is_empty());
}

#[tokio::test]
async fn a_known_username_survives_a_keybase_that_hangs_or_fails() {
    let sim = start_sim(120, CURRENT).await;
    let t = TestTable::new().await;
    let core = ctx(&t, &[sim.url()], &[]);
    let working = HttpKeybase::new(&sim.url()).unwrap();
    let memo = KeybaseMemo::default();
    refresh_current_jail(&core.chain, &t.table, &unbounded(&working, &memo))
        .await
        .unwrap();
    let known = stored_usernames(&t).await;
    assert!(known.values().any(Option::is_some), "some usernames found");
    let ids = stored_identities(&t).await;

    // A day later (the cache expired), in a new instance, Keybase hangs.
    expire_keybase_cache(&t).await;
    let (hanging, _) = broken_keybase(None).await;
    let fresh_memo = KeybaseMemo::default();
    let report = refresh_current_jail(&core.chain, &t.table, &budget(&hanging, &fresh_memo, 2_000))
        .await
        .unwrap();
    assert!(report.keybase_left > 0, "{report:?}");
    assert_eq!(stored_usernames(&t).await, known, "usernames kept when cut");

    // Then it fails outright (5xx): each answer is a failure, cached for
    // an hour with the username known before.
    let (failing, _) = broken_keybase(Some(StatusCode::BAD_GATEWAY)).await;
    let other_memo = KeybaseMemo::default();
    let report = refresh_current_jail(
        &core.chain,
        &t.table,
        &budget(&failing, &other_memo, 30_000),
    )
    .await
    .unwrap();
    assert_eq!(report.keybase_failures, ids.len(), "{report:?}");
    assert_eq!(report.keybase_left, 0, "{report:?}");
    assert_eq!(
        stored_usernames(&t).await,
        known,
        "usernames kept on failure"
    );
    let cached = t.table.load_keybase(&ids).await.unwrap();
    let found_before = known.values().filter(|u| u.is_some()).count();
    assert!(found_before > 0);
    assert!(
        cached.values().filter(|c| c.username.is_some()).count() > 0
            && cached.values().all(|c| c.expires_at_ms > 1),
        "failures cached with the known username"
    );
}
