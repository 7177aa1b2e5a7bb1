//! Against the fake API server, with the live kube adapter: a failure after the cluster was
//! changed is final (a restart whose replacement never becomes Ready, a drain a
//! PodDisruptionBudget holds past its timeout), one before any change is retried and the
//! retry acts (the API refuses the delete with a 503 at first).

use reflex_core::duration::Span;
use reflex_core::ledger::MemoryLedger;
use reflex_core::policy::Policy;
use reflex_core::vocab::verdict::{Mode, StepResult, Verdict};
use reflex_fake_kube::{FakeKube, Route};
use reflex_kube::KubeCluster;
use reflex_remediate::{Deps, HandlerError, handle};
use reflex_snapshot::Snapshot;

use crate::{deps, event, kube_on, lambda_event, voting_app};

/// Deletes the fake API server carried out (sent for real and answered 2xx).
fn deletes(fake: &FakeKube) -> usize {
    fake.requests()
        .iter()
        .filter(|r| r.method == "DELETE" && !r.is_dry_run())
        .filter(|r| r.status.is_some_and(|s| (200..300).contains(&s)))
        .count()
}

/// Enforce-mode dependencies acting through `kube` (the fleet is never asked: no node is
/// replaced here).
fn enforce<'a>(
    policy: &'a Policy,
    kube: &'a KubeCluster,
    fleet: &'a Snapshot,
    ledger: &'a MemoryLedger,
) -> Deps<'a, KubeCluster, KubeCluster, Snapshot, MemoryLedger> {
    deps(policy, Mode::Enforce, kube, Some((kube, fleet)), ledger)
}

/// The default policy with one-second drains and verifications.
fn policy() -> Policy {
    let mut policy = Policy::default_policy();
    policy.guardrails.timeouts.drain = Span::from_secs(1);
    policy.guardrails.timeouts.verify = Span::from_secs(1);
    policy
}

#[tokio::test]
async fn a_restart_whose_replacement_never_becomes_ready_fails_once_and_is_not_retried() {
    let fake = FakeKube::start(&event("cluster/voting-app.json"))
        .await
        .unwrap();
    // The ReplicaSet never brings a replacement up: verification times out.
    fake.controllers().set_replace_pods(false);
    let (kube, policy, ledger, fleet) =
        (kube_on(&fake), policy(), MemoryLedger::new(), voting_app());
    let deps = enforce(&policy, &kube, &fleet, &ledger);
    let payload = event("sns-alertmanager/pod-crashloop-worker.json");

    // The pod was deleted, then its replacement never became Ready: `failed`, and a
    // success for Lambda (no retry, no second record, no second page).
    let summary = handle(lambda_event(&payload, "req-1"), &deps)
        .await
        .unwrap();
    assert_eq!(summary.records[0].verdict, Verdict::Failed);
    let stored = ledger.records();
    assert_eq!(stored.len(), 1);
    let record = &stored[0];
    let steps: Vec<(&str, StepResult)> = record
        .steps
        .iter()
        .map(|s| (s.op.as_str(), s.result))
        .collect();
    assert_eq!(
        steps,
        [
            ("delete_pod", StepResult::Ok),
            ("verify_replacement", StepResult::Failed)
        ]
    );
    assert!(
        record
            .reason
            .contains("failed after changing the cluster (delete_pod done): timed out"),
        "{}",
        record.reason
    );
    assert!(
        record.reason.ends_with("; final, not retried"),
        "{}",
        record.reason
    );
    assert_eq!(deletes(&fake), 1);

    // A redelivery of the same event (SNS retries, a Lambda retry) finds the claim kept.
    let again = handle(lambda_event(&payload, "req-1"), &deps)
        .await
        .unwrap();
    assert_eq!(again.records[0].verdict, Verdict::Suppressed);
    let stored = ledger.records();
    assert!(
        stored[1].reason.starts_with(&format!(
            "duplicate delivery: this alert instance was already handled (record {})",
            record.id
        )),
        "{}",
        stored[1].reason
    );
    assert!(stored[1].steps.is_empty());
    assert_eq!(deletes(&fake), 1, "nothing more was changed");
    fake.shutdown().await;
}

#[tokio::test]
async fn a_delete_refused_with_a_503_is_retried_and_the_retry_acts() {
    let fake = FakeKube::start(&event("cluster/voting-app.json"))
        .await
        .unwrap();
    let delete = Route::regex("/pods/worker-69d4c8b7f-h7s2d$")
        .unwrap()
        .method("DELETE");
    fake.faults().fail_always(delete, 503);
    let (kube, policy, ledger, fleet) =
        (kube_on(&fake), policy(), MemoryLedger::new(), voting_app());
    let deps = enforce(&policy, &kube, &fleet, &ledger);
    let payload = event("sns-alertmanager/pod-crashloop-worker.json");

    // Nothing was changed: a retryable error, the claim withdrawn.
    let err = handle(lambda_event(&payload, "req-1"), &deps)
        .await
        .unwrap_err();
    assert!(matches!(err, HandlerError::Transient { .. }), "{err:?}");
    let failed = &ledger.records()[0];
    assert_eq!(failed.verdict, Verdict::Failed);
    assert!(!failed.changed_cluster());
    assert!(
        fake.object("Pod", Some("production"), "worker-69d4c8b7f-h7s2d")
            .is_some()
    );

    // Lambda's retry, the API healthy again: it acts, and no cooldown is charged for an
    // attempt that changed nothing.
    fake.faults().clear();
    let summary = handle(lambda_event(&payload, "req-1"), &deps)
        .await
        .unwrap();
    assert_eq!(
        summary.records[0].verdict,
        Verdict::Executed,
        "{:?}",
        ledger.records()
    );
    assert_eq!(deletes(&fake), 1);
    fake.shutdown().await;
}

#[tokio::test]
async fn a_drain_held_past_its_timeout_by_a_budget_leaves_the_node_cordoned_and_is_not_retried() {
    let fake = FakeKube::start(&event("cluster/voting-app.json"))
        .await
        .unwrap();
    let (kube, policy, ledger, fleet) =
        (kube_on(&fake), policy(), MemoryLedger::new(), voting_app());
    let deps = enforce(&policy, &kube, &fleet, &ledger);
    // db-0's PodDisruptionBudget allows no disruption: its eviction times out after the
    // cordon and the other evictions went through.
    let payload = event("alertmanager/node-not-ready-db-node-pdb-blocks-drain.json");

    let summary = handle(lambda_event(&payload, "req-1"), &deps)
        .await
        .unwrap();
    assert_eq!(summary.records[0].verdict, Verdict::Failed);
    let record = &ledger.records()[0];
    assert!(
        record
            .reason
            .contains("failed after changing the cluster (cordon, evict, evict done): timed out"),
        "{}",
        record.reason
    );
    let node = fake
        .object("Node", None, "ip-10-0-3-12.ec2.internal")
        .unwrap();
    assert_eq!(
        node["spec"]["unschedulable"], true,
        "left cordoned: the safe state"
    );
    assert!(
        fleet.terminated().is_empty(),
        "no termination after a failed drain"
    );

    // The redelivery neither drains again nor pages again.
    let writes = fake.requests().iter().filter(|r| r.method != "GET").count();
    let again = handle(lambda_event(&payload, "req-1"), &deps)
        .await
        .unwrap();
    assert_eq!(again.records[0].verdict, Verdict::Suppressed);
    assert_eq!(ledger.records().len(), 2);
    let writes_after = fake.requests().iter().filter(|r| r.method != "GET").count();
    assert_eq!(writes_after, writes, "nothing more was sent");
    fake.shutdown().await;
}
