//! The limits across targets at the handler: an action another invocation is taking right
//! now (its counter or slot taken, its record not written yet) is seen by the exact limits.

use reflex_core::audit::AuditRecord;
use reflex_core::ledger::{BudgetWindow, Ledger, MemoryLedger, SlotTake};
use reflex_core::policy::Policy;
use reflex_core::vocab::verdict::{Mode, Verdict};
use reflex_remediate::{Deps, handle};
use reflex_snapshot::Snapshot;

use crate::{deps, event, lambda_event, now, voting_app};

/// Enforce-mode dependencies acting on `cluster` (its simulation performs the actions).
fn enforce<'a>(
    policy: &'a Policy,
    cluster: &'a Snapshot,
    ledger: &'a MemoryLedger,
) -> Deps<'a, Snapshot, Snapshot, Snapshot, MemoryLedger> {
    deps(
        policy,
        Mode::Enforce,
        cluster,
        Some((cluster, cluster)),
        ledger,
    )
}

/// Handles `payload`, which a limit refuses: a handled alert (a success for Lambda, not
/// retried) whose record sent nothing. Returns the record.
async fn refused(
    deps: &Deps<'_, Snapshot, Snapshot, Snapshot, MemoryLedger>,
    payload: &[u8],
) -> AuditRecord {
    let summary = handle(lambda_event(payload, "req-1"), deps).await.unwrap();
    assert_eq!(summary.records[0].verdict, Verdict::Suppressed);
    let record = deps.adapters.ledger.records().remove(0);
    assert!(record.steps.is_empty(), "nothing was sent: {record:?}");
    record
}

#[tokio::test]
async fn the_last_action_of_the_budget_taken_by_an_invocation_still_acting_is_not_taken_twice() {
    let (policy, cluster, ledger) = (Policy::default_policy(), voting_app(), MemoryLedger::new());
    // Nine actions earlier this hour and one being taken right now elsewhere: the counter
    // is full while recent history (whose records come after the actions) shows none.
    let window = BudgetWindow::containing(now(), policy.guardrails.budget.window, 10);
    for i in 0..10 {
        ledger
            .take_budget(&window, &format!("elsewhere-{i}"))
            .await
            .unwrap();
    }
    let deps = enforce(&policy, &cluster, &ledger);
    let record = refused(&deps, &event("alertmanager/pod-crashloop-worker.json")).await;
    assert_eq!(
        record.reason,
        "budget: 10 of 10 actions used in the hour from 2026-11-20T09:00:00.000Z"
    );
    assert!(
        cluster
            .pod_now("production", "worker-69d4c8b7f-h7s2d")
            .is_some()
    );

    // That other action changed nothing after all and gave its share back: the next alert,
    // about another target, acts.
    ledger
        .give_back_budget(&window, "elsewhere-9")
        .await
        .unwrap();
    let payload = event("alertmanager/pod-not-ready-result.json");
    let summary = handle(lambda_event(&payload, "req-2"), &deps)
        .await
        .unwrap();
    assert_eq!(summary.records[0].verdict, Verdict::Executed, "{summary:?}");
}

#[tokio::test]
async fn a_node_replacement_in_flight_elsewhere_keeps_a_second_node_from_being_drained() {
    let (policy, cluster, ledger) = (Policy::default_policy(), voting_app(), MemoryLedger::new());
    // Another invocation is replacing ip-10-0-3-199 right now: it holds the one slot, and
    // neither the cluster (its cordon may not have landed) nor history shows it yet.
    let until = now() + chrono::Duration::minutes(30);
    let taken = ledger
        .take_node_slot("ip-10-0-3-199.ec2.internal", "other-0001", 1, now(), until)
        .await
        .unwrap();
    assert_eq!(taken, SlotTake::Taken { slot: 0 });
    let deps = enforce(&policy, &cluster, &ledger);
    let record = refused(&deps, &event("alertmanager/node-not-ready-sick-node.json")).await;
    assert_eq!(
        record.reason,
        "a node replacement is already in flight (node ip-10-0-3-199.ec2.internal, lease held by record other-0001 until 2026-11-20T10:01:00.000Z)"
    );
    let node = cluster.node_now("ip-10-0-2-41.ec2.internal").unwrap();
    assert!(!node.spec.unschedulable, "not cordoned");
    assert!(cluster.terminated().is_empty());
}
