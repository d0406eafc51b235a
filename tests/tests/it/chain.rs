//! The chain client against the simulated chain: every call, failover,
//! retries, 404s, pagination and broken answers.

use std::time::Duration;

use shared::chain::{Chain, ChainError, EpochRef, HttpChain, HttpChainOptions};
use shared::domain::warm_keys;
use shared::ids::ParticipantId;
use sim_chain::{EndpointKind, Fault, FaultMode, SimChain, SimConfig};

use crate::support::{dead_url, start_sim};

fn client(urls: Vec<String>) -> HttpChain {
    HttpChain::new(HttpChainOptions {
        urls,
        timeout: Duration::from_millis(1500),
        backoff: Duration::from_millis(5),
        ..Default::default()
    })
    .unwrap()
}

fn id(s: &str) -> ParticipantId {
    ParticipantId::parse(s).unwrap()
}

#[tokio::test]
async fn every_call_reads_the_simulated_chain() {
    let sim = start_sim(60, 12).await;
    let model = sim.model();
    let chain = client(vec![sim.url()]);

    let latest = chain.latest_epoch().await.unwrap();
    assert_eq!(latest.latest_epoch.index, 12);
    assert_eq!(latest.block_height, model.latest_block_height());
    assert_eq!(
        chain.latest_height().await.unwrap(),
        model.latest_block_height()
    );

    let current = chain
        .epoch_participants(EpochRef::Current)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(current.epoch_group_id, 12);
    assert_eq!(
        current.effective_block_height,
        model.effective_block_height(12)
    );
    let ids: Vec<String> = current
        .participants
        .iter()
        .map(|p| p.index.clone())
        .collect();
    assert_eq!(ids, model.participants_in_epoch(12));
    let past = chain
        .epoch_participants(EpochRef::Number(9))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        past.participants.len(),
        model.participants_in_epoch(9).len()
    );
    assert_eq!(
        chain
            .epoch_participants(EpochRef::Number(13))
            .await
            .unwrap(),
        None,
        "the next epoch does not exist yet"
    );

    let h = model.effective_block_height(12) + 5;
    let list = chain.participant_list(h).await.unwrap();
    assert_eq!(list.len(), 60);
    assert_eq!(
        chain
            .block_stamp(h)
            .await
            .unwrap()
            .map(|b| (b.height, b.timestamp)),
        Some((h, model.block_time(h)))
    );

    let all = model.all_participants();
    let mut summaries = 0;
    for addr in &all {
        let p = id(addr);
        let got = chain.performance_summary(10, &p).await.unwrap();
        let want = model.performance_summary(10, addr);
        assert_eq!(got.is_some(), want.is_some(), "{addr}");
        if let (Some(got), Some(want)) = (got, want) {
            assert_eq!((got.epoch_index, got.claimed), (10, want.claimed));
            assert_eq!(got.rewarded_coins, want.stats.rewarded_coins.to_string());
            summaries += 1;
        }
        let hw = chain.hardware_nodes(&p).await.unwrap();
        let want_hw = model.hardware_nodes(addr).unwrap_or_default();
        assert_eq!(
            hw.iter().map(|n| n.local_id.clone()).collect::<Vec<_>>(),
            want_hw
                .iter()
                .map(|n| n.local_id.clone())
                .collect::<Vec<_>>()
        );
    }
    assert!(
        summaries > 0 && summaries < all.len(),
        "some participants have no summary for epoch 10"
    );
}

#[tokio::test]
async fn authz_follows_every_page() {
    let sim = SimChain::start(SimConfig {
        participants: 40,
        ..Default::default()
    })
    .await
    .unwrap();
    let model = sim.model();
    let chain = client(vec![sim.url()]);
    let mut paginated = 0;
    let mut without = 0;
    for addr in model.all_participants() {
        let grants = chain.authz_grants(&id(&addr)).await.unwrap();
        let want = model.grants(&addr);
        assert_eq!(grants.len(), want.len(), "{addr}");
        let keys: Vec<(String, String)> = warm_keys(&grants)
            .into_iter()
            .map(|k| (k.grantee_address, k.granted_at))
            .collect();
        let want_keys: Vec<(String, String)> = model
            .warm_keys(&addr)
            .into_iter()
            .map(|k| (k.grantee_address, k.granted_at))
            .collect();
        assert_eq!(keys, want_keys, "warm keys of {addr}");
        let pages = sim.stats().key(&format!("authz:{addr}"));
        assert_eq!(
            pages,
            (want.len() as u64).div_ceil(100).max(1),
            "pages for {} grants",
            want.len()
        );
        paginated += usize::from(want.len() > 100);
        without += usize::from(want.is_empty());
    }
    assert!(
        paginated > 0 && without > 0,
        "the data has participants with >100 grants ({paginated}) and none ({without})"
    );
}

#[tokio::test]
async fn fails_over_from_a_refusing_url_and_from_5xx() {
    let sim = SimChain::start(SimConfig {
        participants: 10,
        ..Default::default()
    })
    .await
    .unwrap();
    let chain = client(vec![dead_url(), sim.url()]);
    assert_eq!(chain.latest_epoch().await.unwrap().latest_epoch.index, 60);
    assert_eq!(chain.upstream_calls(), 2, "one refused attempt, one answer");
    // The answering URL is preferred from then on.
    chain.latest_height().await.unwrap();
    assert_eq!(chain.upstream_calls(), 3);

    let broken = SimChain::start(SimConfig {
        participants: 10,
        ..Default::default()
    })
    .await
    .unwrap();
    broken.set_fault(
        EndpointKind::Latest,
        Some(Fault::new(1.0, FaultMode::Status503)),
    );
    let chain = client(vec![broken.url(), sim.url()]);
    sim.reset_stats();
    assert_eq!(chain.latest_epoch().await.unwrap().latest_epoch.index, 60);
    assert_eq!(
        (broken.stats().kind("latest"), sim.stats().kind("latest")),
        (1, 1)
    );
}

#[tokio::test]
async fn a_404_is_an_answer_not_a_failover() {
    let first = SimChain::start(SimConfig {
        participants: 10,
        ..Default::default()
    })
    .await
    .unwrap();
    let second = SimChain::start(SimConfig {
        participants: 10,
        ..Default::default()
    })
    .await
    .unwrap();
    let chain = client(vec![first.url(), second.url()]);
    let stranger = ParticipantId::from_bytes(&[9u8; 20]).unwrap();
    assert_eq!(
        chain.performance_summary(59, &stranger).await.unwrap(),
        None
    );
    assert_eq!(
        chain
            .epoch_participants(EpochRef::Number(61))
            .await
            .unwrap(),
        None
    );
    assert_eq!(chain.hardware_nodes(&stranger).await.unwrap(), vec![]);
    assert_eq!(second.stats().total, 0, "404s never reach the second URL");
}

#[tokio::test]
async fn broken_answers_are_errors_after_bounded_retries() {
    let sim = SimChain::start(SimConfig {
        participants: 10,
        ..Default::default()
    })
    .await
    .unwrap();
    let cases = [
        (FaultMode::Status503, "unavailable"),
        (FaultMode::Truncated, "unreadable"),
        (FaultMode::WrongShape, "unreadable"),
        (FaultMode::Hang(Duration::from_secs(3)), "timed out"),
    ];
    for (mode, want) in cases {
        sim.set_fault(EndpointKind::Status, Some(Fault::new(1.0, mode)));
        sim.reset_stats();
        let chain = HttpChain::new(HttpChainOptions {
            urls: vec![sim.url(), sim.url()],
            timeout: Duration::from_millis(300),
            retry_rounds: 2,
            backoff: Duration::from_millis(5),
            ..Default::default()
        })
        .unwrap();
        let err = chain.latest_height().await.unwrap_err();
        assert!(err.to_string().contains(want), "{mode:?}: {err}");
        assert_eq!(matches!(err, ChainError::Timeout(_)), want == "timed out");
        assert_eq!(
            sim.stats().kind("status"),
            4,
            "2 URLs x 2 rounds, then give up ({mode:?})"
        );
    }
}

#[tokio::test]
async fn oversized_bodies_are_refused() {
    let sim = SimChain::start(SimConfig {
        participants: 50,
        ..Default::default()
    })
    .await
    .unwrap();
    let chain = HttpChain::new(HttpChainOptions {
        urls: vec![sim.url()],
        max_body_bytes: 10_000,
        ..Default::default()
    })
    .unwrap();
    let err = chain
        .participant_list(sim.model().latest_block_height())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("larger than 10000 bytes"), "{err}");
}

/// A node that pruned a height says so with a 400; the next node (an
/// archive) is asked, and when every node has pruned it the error says
/// which height is gone (the history's backfill records it as a gap).
#[tokio::test]
async fn a_pruned_height_is_asked_of_the_next_node_and_named_when_gone_everywhere() {
    let (pruned, archive) = (start_sim(10, 30).await, start_sim(10, 30).await);
    let model = pruned.model();
    let old = model.effective_block_height(3) + 5;
    pruned.set_pruned_below(model.effective_block_height(20));
    let both = client(vec![pruned.url(), archive.url()]);
    let list = both.participant_list(old).await.unwrap();
    assert_eq!(list.len(), 10, "the archive node answered");
    assert!(archive.stats().total >= 1);

    archive.set_pruned_below(model.effective_block_height(20));
    let err = both.participant_list(old).await.unwrap_err();
    assert!(
        matches!(err, ChainError::HeightPruned { height, .. } if height == old),
        "{err}"
    );
    // The latest height is still served.
    let head = model.latest_block_height();
    assert!(both.participant_list(head).await.is_ok());
}
