//! A finished epoch's reward total: written once every reward is known,
//! never from a subset.

use super::*;

#[tokio::test]
async fn a_finished_epoch_gets_its_total_once_every_reward_is_known() {
    let sim = start_sim(50, CURRENT).await;
    let model = sim.model();
    let t = TestTable::new().await;
    let ctx = ctx(&t, &[sim.url()], &[]);
    let epoch = CURRENT - 3;
    let served = epoch_by_id(&ctx, epoch, None).await.unwrap();
    assert_eq!(served.total_assigned_rewards_gnk, None);

    sim.set_fault(
        EndpointKind::Summary,
        Some(Fault::new(0.5, FaultMode::Status500)),
    );
    let partial = warm_epoch(&ctx, &warm_job(epoch, true), None).await;
    assert!(partial.failures.get("reward").copied().unwrap_or(0) > 0);
    assert_eq!(
        partial.total_assigned_rewards_gnk, None,
        "not while a reward is unknown"
    );
    assert_eq!(t.table.load_total(epoch).await.unwrap(), None);

    sim.set_fault(EndpointKind::Summary, None);
    let done = warm_epoch(&ctx, &warm_job(epoch, true), None).await;
    let want = (model.epoch_total_rewarded_coins(epoch).unwrap() / 1_000_000_000) as u64;
    assert_eq!(done.total_assigned_rewards_gnk, Some(want));
    assert_eq!(
        epoch_by_id(&ctx, epoch, None)
            .await
            .unwrap()
            .total_assigned_rewards_gnk,
        Some(want)
    );
}

/// An epoch that has ended but is not settled: the chain answers 404 for
/// its summaries (here the simulated chain still has it as its current
/// epoch, whose summaries do not exist yet). Those 404s are stored as
/// "no summary yet" and never make a total of 0; once the summaries exist,
/// a later warm writes the right total.
#[tokio::test]
async fn a_missing_summary_keeps_the_total_null_until_the_summaries_exist() {
    let sim = start_sim(30, CURRENT).await;
    let t = TestTable::new().await;
    // Every warm refetches rewards that are not final (as one does once
    // the freshness window has passed).
    let ctx = ctx(&t, &[sim.url()], &[("ITEM_FRESHNESS_SECS", "0")]);
    let epoch = CURRENT;
    let members = members(&sim.model(), epoch);
    assert!(members.len() > 10);

    let unsettled = warm_epoch(&ctx, &warm_job(epoch, true), None).await;
    assert!(unsettled.failures.is_empty(), "{:?}", unsettled.failures);
    let rewards: Vec<ItemKey> = members
        .iter()
        .map(|p| ItemKey::new(p.clone(), epoch, ItemKind::Reward))
        .collect();
    let stored = ctx.table.load_items(&rewards).await.unwrap();
    assert_eq!(stored.len(), members.len());
    assert!(
        stored
            .values()
            .all(|i| matches!(i.data, ItemData::Reward(None))),
        "every summary is still missing"
    );
    assert_eq!(
        unsettled.total_assigned_rewards_gnk, None,
        "no total (and never 0) while summaries are missing"
    );
    assert_eq!(t.table.load_total(epoch).await.unwrap(), None);

    // The epoch settles: its summaries appear.
    sim.set_current_epoch(CURRENT + 1);
    let want = (sim.model().epoch_total_rewarded_coins(epoch).unwrap() / 1_000_000_000) as u64;
    assert!(want > 0);
    let settled = warm_epoch(&ctx, &warm_job(epoch, true), None).await;
    assert!(settled.failures.is_empty(), "{:?}", settled.failures);
    assert_eq!(settled.total_assigned_rewards_gnk, Some(want));
    assert_eq!(
        t.table
            .load_total(epoch)
            .await
            .unwrap()
            .map(|t| (t.total_assigned_rewards_gnk, t.participants)),
        Some((want, members.len() as u64))
    );
}

/// A warm over some participants (a payload with `participants`) fills
/// only theirs; the total is checked against every participant of the
/// epoch, so it stays null until a warm covers them all.
#[tokio::test]
async fn a_warm_over_a_subset_of_participants_never_settles_the_total() {
    let sim = start_sim(30, CURRENT).await;
    let model = sim.model();
    let t = TestTable::new().await;
    let ctx = ctx(&t, &[sim.url()], &[]);
    let epoch = CURRENT - 3;
    let members = members(&model, epoch);
    let subset = WarmRequest {
        participants: Some(members[..5].to_vec()),
        ..warm_job(epoch, true)
    };

    let partial = warm_epoch(&ctx, &subset, None).await;
    assert_eq!(partial.participants, 5);
    assert!(partial.failures.is_empty(), "{:?}", partial.failures);
    assert_eq!(partial.total_assigned_rewards_gnk, None);
    assert_eq!(t.table.load_total(epoch).await.unwrap(), None);

    let want = (model.epoch_total_rewarded_coins(epoch).unwrap() / 1_000_000_000) as u64;
    let full = warm_epoch(&ctx, &warm_job(epoch, true), None).await;
    assert_eq!(full.total_assigned_rewards_gnk, Some(want));
    assert_eq!(
        t.table
            .load_total(epoch)
            .await
            .unwrap()
            .map(|t| t.participants),
        Some(members.len() as u64),
        "the total covers every participant of the epoch"
    );
}
