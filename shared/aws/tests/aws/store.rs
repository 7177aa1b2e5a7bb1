//! The DynamoDB ledger against moto, on a table created like the template's `AuditTable`.

use chrono::{Duration, Utc};

use reflex_core::audit::ActionSummary;
use reflex_core::duration::Span;
use reflex_core::ledger::{BudgetTake, BudgetWindow, Claim, Ledger, SlotTake};
use reflex_core::vocab::action::ActionKind;
use reflex_core::vocab::target::{TargetKind, TargetRef};
use reflex_core::{AuditRecord, Mode, Verdict};

use reflex_test_support::unique;

pub use reflex_test_support::aws::create_table;

fn record(
    id: &str,
    at: chrono::DateTime<Utc>,
    action: Option<(ActionKind, TargetRef)>,
) -> AuditRecord {
    let mut r = AuditRecord::rejected(
        id.into(),
        at,
        Mode::Enforce,
        None,
        "fp".into(),
        "test".into(),
        Default::default(),
    );
    r.alert.name = Some("KubePodCrashLooping".into());
    if let Some((kind, target)) = action {
        r.verdict = Verdict::Executed;
        r.action = Some(ActionSummary { kind, target });
    } else {
        r.verdict = Verdict::NoMatch;
    }
    r
}

fn vote() -> TargetRef {
    TargetRef::namespaced(TargetKind::Deployment, "production", "vote")
}

#[tokio::test]
async fn records_are_read_back_by_time_and_by_target() {
    let aws = crate::moto_aws().await;
    let ledger = create_table(&aws).await;
    let now = Utc::now();
    let node = TargetRef::node("ip-10-0-1-5.ec2.internal");
    let yesterday = record(
        "r-1",
        now - Duration::hours(25),
        Some((ActionKind::Rollback, vote())),
    );
    let recent = record(
        "r-2",
        now - Duration::minutes(5),
        Some((ActionKind::RolloutRestart, vote())),
    );
    let other = record(
        "r-3",
        now - Duration::minutes(4),
        Some((ActionKind::ReplaceNode, node.clone())),
    );
    let no_action = record("r-4", now - Duration::minutes(3), None);
    for r in [&yesterday, &recent, &other, &no_action] {
        ledger.append(r).await.expect("append");
    }
    // A retried append of a stored record is not a second record.
    ledger.append(&recent).await.expect("append again");

    let ids = |rs: Vec<AuditRecord>| rs.into_iter().map(|r| r.id).collect::<Vec<_>>();
    let all = ids(ledger
        .records_since(now - Duration::hours(26))
        .await
        .expect("by time"));
    assert_eq!(all, ["r-1", "r-2", "r-3", "r-4"]);
    let last_hour = ids(ledger
        .records_since(now - Duration::hours(1))
        .await
        .expect("by time"));
    assert_eq!(last_hour, ["r-2", "r-3", "r-4"]);
    let on_vote = ids(ledger
        .records_for(&vote(), now - Duration::days(2))
        .await
        .expect("by target"));
    assert_eq!(on_vote, ["r-1", "r-2"]);
    let stored = ledger
        .records_for(&node, now - Duration::days(2))
        .await
        .expect("by target");
    assert_eq!(stored, [other], "the record comes back unchanged");

    let history = ledger
        .history(now - Duration::hours(1))
        .await
        .expect("history");
    let last = history
        .last_action_on(&vote(), now - Duration::hours(1))
        .expect("recent action on vote");
    assert_eq!(last.record_id, "r-2");
    assert_eq!(history.budgeted_since(now - Duration::hours(1)), 2);
    assert_eq!(
        history.replacements_since(now - Duration::hours(1)).len(),
        1
    );
}

#[tokio::test]
async fn second_claim_of_an_instance_is_a_duplicate_until_withdrawn() {
    let aws = crate::moto_aws().await;
    let ledger = create_table(&aws).await;
    let instance = unique("alertmanager:07405cceddc05c9e:2026-11-20T09:30:00.117Z");
    let now = Utc::now();

    assert_eq!(
        ledger.claim(&instance, "a", now, now).await,
        Ok(Claim::First)
    );
    assert_eq!(
        ledger.claim(&instance, "b", now, now).await,
        Ok(Claim::Duplicate { by: "a".into() })
    );
    // Only the holder can withdraw it.
    ledger.unclaim(&instance, "b").await.expect("unclaim");
    assert_eq!(
        ledger.claim(&instance, "c", now, now).await,
        Ok(Claim::Duplicate { by: "a".into() })
    );
    ledger.unclaim(&instance, "a").await.expect("unclaim");
    assert_eq!(
        ledger.claim(&instance, "d", now, now).await,
        Ok(Claim::First)
    );
}

#[tokio::test]
async fn lease_is_exclusive_until_released_or_expired() {
    let aws = crate::moto_aws().await;
    let ledger = create_table(&aws).await;
    let target = vote();
    let now = Utc::now();
    let until = now + Duration::seconds(60);

    assert_eq!(ledger.lease(&target, "a", now, until).await, Ok(true));
    assert_eq!(ledger.lease(&target, "b", now, until).await, Ok(false));
    assert_eq!(
        ledger.lease(&target, "a", now, until).await,
        Ok(true),
        "holder renews"
    );
    ledger
        .release(&target, "b")
        .await
        .expect("release by non-holder");
    assert_eq!(ledger.lease(&target, "b", now, until).await, Ok(false));
    // Other targets are independent.
    let worker = TargetRef::namespaced(TargetKind::Deployment, "production", "worker");
    assert_eq!(ledger.lease(&worker, "b", now, until).await, Ok(true));

    // Expired: a crashed holder blocks the target no longer than its lease.
    let later = until + Duration::seconds(1);
    assert_eq!(
        ledger
            .lease(&target, "c", later, later + Duration::seconds(60))
            .await,
        Ok(true)
    );
    ledger.release(&target, "c").await.expect("release");
    assert_eq!(
        ledger
            .lease(&target, "d", later, later + Duration::seconds(60))
            .await,
        Ok(true)
    );
}

#[tokio::test]
async fn the_budget_counter_admits_max_actions_per_window_and_takes_ids_back() {
    let aws = crate::moto_aws().await;
    let ledger = create_table(&aws).await;
    let now = Utc::now();
    let window = BudgetWindow::containing(now, Span::from_mins(60), 3);

    for (i, holder) in ["a", "b", "c"].into_iter().enumerate() {
        assert_eq!(
            ledger.take_budget(&window, holder).await,
            Ok(BudgetTake::Taken { used: i as u32 + 1 })
        );
    }
    assert_eq!(
        ledger.take_budget(&window, "d").await,
        Ok(BudgetTake::Exhausted { used: 3 })
    );
    // Taking again for a holder that has an action counts once (an SDK retry).
    assert_eq!(
        ledger.take_budget(&window, "b").await,
        Ok(BudgetTake::Taken { used: 3 })
    );
    // Giving back is idempotent too, and only frees what that holder took.
    ledger
        .give_back_budget(&window, "b")
        .await
        .expect("give back");
    ledger.give_back_budget(&window, "b").await.expect("again");
    ledger
        .give_back_budget(&window, "x")
        .await
        .expect("none held");
    assert_eq!(
        ledger.take_budget(&window, "d").await,
        Ok(BudgetTake::Taken { used: 3 })
    );
    assert_eq!(
        ledger.take_budget(&window, "e").await,
        Ok(BudgetTake::Exhausted { used: 3 })
    );
    // The next window has its own counter.
    let next = BudgetWindow::containing(window.end(), Span::from_mins(60), 3);
    assert_eq!(
        ledger.take_budget(&next, "e").await,
        Ok(BudgetTake::Taken { used: 1 })
    );
    // Every holder given back: the set is gone, the counter is empty.
    for holder in ["a", "c", "d"] {
        ledger
            .give_back_budget(&window, holder)
            .await
            .expect("give back");
    }
    assert_eq!(
        ledger.take_budget(&window, "f").await,
        Ok(BudgetTake::Taken { used: 1 })
    );
}

#[tokio::test]
async fn node_slots_are_held_until_released_or_expired_and_a_busy_answer_names_holders() {
    let aws = crate::moto_aws().await;
    let ledger = create_table(&aws).await;
    let now = Utc::now();
    let until = now + Duration::minutes(30);

    assert_eq!(
        ledger.take_node_slot("n1", "r-1", 2, now, until).await,
        Ok(SlotTake::Taken { slot: 0 })
    );
    assert_eq!(
        ledger.take_node_slot("n2", "r-2", 2, now, until).await,
        Ok(SlotTake::Taken { slot: 1 })
    );
    let Ok(SlotTake::Busy { held }) = ledger.take_node_slot("n3", "r-3", 2, now, until).await
    else {
        panic!("both slots are held");
    };
    let holders: Vec<(u32, &str, &str)> = held
        .iter()
        .map(|h| (h.slot, h.node.as_str(), h.holder.as_str()))
        .collect();
    assert_eq!(holders, [(0, "n1", "r-1"), (1, "n2", "r-2")]);
    assert_eq!(held[0].until.timestamp(), until.timestamp());

    ledger
        .release_node_slot(0, "r-3")
        .await
        .expect("not its slot");
    assert!(matches!(
        ledger.take_node_slot("n3", "r-3", 2, now, until).await,
        Ok(SlotTake::Busy { .. })
    ));
    ledger.release_node_slot(0, "r-1").await.expect("release");
    assert_eq!(
        ledger.take_node_slot("n3", "r-3", 2, now, until).await,
        Ok(SlotTake::Taken { slot: 0 })
    );
    // A crashed holder's slot frees itself when its lease ends.
    let later = until + Duration::seconds(1);
    assert_eq!(
        ledger
            .take_node_slot("n4", "r-4", 2, later, later + Duration::minutes(30))
            .await,
        Ok(SlotTake::Taken { slot: 0 })
    );
}

#[tokio::test]
async fn a_record_is_found_by_id_through_the_ledger_and_the_table_names_itself_for_the_approve_command()
 {
    let aws = crate::moto_aws().await;
    let ledger = create_table(&aws).await;
    let id = unique("awaiting");
    let mut awaiting = record(&id, Utc::now(), Some((ActionKind::Rollback, vote())));
    awaiting.verdict = Verdict::AwaitingApproval;
    ledger.append(&awaiting).await.unwrap();
    let found = Ledger::record(&ledger, &id).await.unwrap();
    assert_eq!(found, Some(awaiting));
    assert_eq!(Ledger::record(&ledger, "no-such-id").await.unwrap(), None);
    assert_eq!(
        ledger.store_flag(),
        Some(format!("--table {}", aws.config().audit_table))
    );
}
