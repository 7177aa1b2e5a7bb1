//! A kill at every step of each action, then the same event again. The first invocation
//! runs the real handler against the fake API server over HTTP and stops at a crash point
//! of the intent log (`reflex_remediate::crash`, `Stop::Hang`: the test drops it, as a
//! SIGKILL would end it; `tests/e2e/crash.sh` does the same with a real SIGKILL under
//! `cargo lambda watch`). A redelivery while the first may still be at work is deferred
//! (nothing stored, retried); one after it cannot be takes the claim over. Every time: no
//! step sent twice, exactly one record for the alert instance, on-call told once, and a
//! node left cordoned only with a record that says so.

use std::time::Duration;

use chrono::TimeDelta;
use reflex_aws::DynamoLedger;
use reflex_core::AuditRecord;
use reflex_core::duration::Span;
use reflex_core::ledger::{Ledger, MemoryLedger};
use reflex_core::pipeline::{Adapters, Pipeline};
use reflex_core::policy::Policy;
use reflex_core::vocab::verdict::{Mode, StepResult, Verdict};
use reflex_fake_kube::FakeKube;
use reflex_kube::KubeCluster;
use reflex_remediate::crash::{CrashAt, Stop};
use reflex_remediate::{Deps, HandlerError, Summary, handle};
use reflex_snapshot::Snapshot;
use reflex_test_support::aws::{create_table, moto_aws};

use crate::{Pager, event, kube_on, lambda_event, now, voting_app};

/// The default policy with short drains and verifications.
fn policy() -> Policy {
    let mut policy = Policy::default_policy();
    policy.guardrails.timeouts.drain = Span::from_secs(3);
    policy.guardrails.timeouts.verify = Span::from_secs(3);
    policy
}

/// One alert, one cluster: the fake API server acted on, the snapshot as the instance
/// fleet (its terminations are counted), a pager counting what on-call is told.
struct World {
    fake: FakeKube,
    kube: KubeCluster,
    fleet: Snapshot,
    policy: Policy,
    pager: Pager,
}

impl World {
    async fn start() -> Self {
        let fake = FakeKube::start(&event("cluster/voting-app.json"))
            .await
            .unwrap();
        let kube = kube_on(&fake);
        World {
            fake,
            kube,
            fleet: voting_app(),
            policy: policy(),
            pager: Pager::default(),
        }
    }

    /// The handler on `ledger`, at the catalog's time plus `later`.
    async fn deliver<L: Ledger>(
        &self,
        payload: &[u8],
        ledger: &L,
        later: TimeDelta,
        request: &str,
    ) -> Result<Summary, HandlerError> {
        let deps = Deps {
            pipeline: Pipeline {
                policy: &self.policy,
                mode: Mode::Enforce,
            },
            adapters: Adapters {
                cluster: Some(&self.kube),
                live: Some((&self.kube, &self.fleet)),
                ledger,
                notifier: &self.pager,
                alarms: &(),
            },
            admission: &(),
            now: Some(now() + later),
            emf_metrics: false,
            links: None,
        };
        handle(lambda_event(payload, request), &deps).await
    }

    /// The first delivery, stopped at `point`; then a redelivery while it may still be at
    /// work (deferred: an error for Lambda, nothing stored); then one two minutes later (the
    /// first cannot be at work any more; the alert is still fresh), which
    /// takes the claim over and returns its summary.
    async fn killed_then_redelivered<L: Ledger>(
        &self,
        payload: &[u8],
        point: &str,
        ledger: &L,
        stored: impl Fn() -> usize,
    ) -> Summary {
        let crash = CrashAt::new(ledger, point.parse().unwrap(), Stop::Hang);
        let first = tokio::time::timeout(
            Duration::from_secs(30),
            self.deliver(payload, &crash, TimeDelta::zero(), "req-1"),
        )
        .await;
        assert!(first.is_err(), "the first invocation stops at {point}");
        assert_eq!(stored(), 0, "the killed invocation stored no record");

        let early = self
            .deliver(payload, ledger, TimeDelta::seconds(5), "req-2")
            .await;
        assert!(
            matches!(&early, Err(HandlerError::Transient { failures }) if failures[0].contains("may still be at work")),
            "{early:?}"
        );
        assert_eq!(stored(), 0, "a deferred redelivery stores nothing");

        let summary = self
            .deliver(payload, ledger, TimeDelta::minutes(2), "req-3")
            .await
            .unwrap();
        assert_eq!(stored(), 1, "exactly one record for the alert instance");
        assert_eq!(
            self.pager.sent.load(std::sync::atomic::Ordering::SeqCst),
            1,
            "on-call told once"
        );
        summary
    }

    /// Requests the fake API server carried out (not dry runs) with `method` whose path
    /// ends in `suffix`.
    fn sent(&self, method: &str, suffix: &str) -> usize {
        self.fake
            .requests()
            .iter()
            .filter(|r| r.method == method && !r.is_dry_run() && r.path.ends_with(suffix))
            .filter(|r| r.status.is_some_and(|s| (200..300).contains(&s)))
            .count()
    }

    fn cordoned(&self, node: &str) -> bool {
        self.fake
            .object("Node", None, node)
            .and_then(|n| n["spec"]["unschedulable"].as_bool())
            .unwrap_or(false)
    }
}

/// A kill at `point` of the action for catalog event `file`, and its redeliveries, on the
/// memory ledger: the world after, and the one record.
async fn in_memory(file: &str, point: &str) -> (World, AuditRecord) {
    let world = World::start().await;
    let ledger = MemoryLedger::new();
    world
        .killed_then_redelivered(&event(file), point, &ledger, || ledger.records().len())
        .await;
    let record = ledger.records().remove(0);
    (world, record)
}

const POD: &str = "sns-alertmanager/pod-crashloop-worker.json";
const NODE: &str = "sns-alertmanager/node-not-ready-sick-node.json";
const ROLLBACK: &str = "sns-alertmanager/pod-crashloop-vote-recent-rollout.json";
const SICK: &str = "ip-10-0-2-41.ec2.internal";

#[tokio::test]
async fn killed_right_after_the_claim_the_redelivery_acts_once_under_the_first_record_id() {
    let world = World::start().await;
    let ledger = MemoryLedger::new();
    let summary = world
        .killed_then_redelivered(&event(POD), "claimed", &ledger, || ledger.records().len())
        .await;
    let record = &ledger.records()[0];
    assert_eq!(record.verdict, Verdict::Executed, "{}", record.reason);
    assert_eq!(world.sent("DELETE", "/pods/worker-69d4c8b7f-h7s2d"), 1);
    assert!(
        record.id.starts_with("req-1-"),
        "the first record id: {}",
        record.id
    );
    assert_eq!(summary.records[0].id, record.id);
    assert!(
        record
            .notes
            .iter()
            .any(|n| n.contains("acting anew as attempt 1"))
    );
}

#[tokio::test]
async fn killed_after_the_pod_delete_the_redelivery_does_not_delete_again() {
    let (world, record) = in_memory(POD, "sent:delete_pod").await;
    assert_eq!(record.verdict, Verdict::Failed);
    assert!(
        record
            .reason
            .contains("interrupted during delete_pod (outcome unknown)"),
        "{}",
        record.reason
    );
    assert_eq!(record.steps[0].result, StepResult::Failed);
    assert_eq!(record.steps[1].result, StepResult::Skipped);
    assert_eq!(world.sent("DELETE", "/pods/worker-69d4c8b7f-h7s2d"), 1);
}

#[tokio::test]
async fn killed_before_the_audit_write_the_redelivery_records_the_finished_restart() {
    let (world, record) = in_memory(POD, "settle").await;
    assert_eq!(record.verdict, Verdict::Executed, "{}", record.reason);
    assert!(record.steps.iter().all(|s| s.result == StepResult::Ok));
    assert!(
        record
            .notes
            .iter()
            .any(|n| n.contains("recorded by attempt 1"))
    );
    assert_eq!(world.sent("DELETE", "/pods/worker-69d4c8b7f-h7s2d"), 1);
}

#[tokio::test]
async fn killed_after_the_cordon_call_the_node_is_left_cordoned_and_the_record_says_so() {
    let (world, record) = in_memory(NODE, "sent:cordon").await;
    assert_eq!(record.verdict, Verdict::Failed);
    assert!(
        record
            .reason
            .contains("the node may be left cordoned: check it"),
        "{}",
        record.reason
    );
    assert!(world.cordoned(SICK));
    assert_eq!(world.sent("POST", "/eviction"), 0, "nothing evicted");
    assert!(world.fleet.terminated().is_empty(), "nothing terminated");
}

#[tokio::test]
async fn killed_mid_drain_no_instance_is_terminated_and_the_evictions_are_on_record() {
    let (world, record) = in_memory(NODE, "sent:evict").await;
    assert_eq!(record.verdict, Verdict::Failed);
    assert!(record.reason.contains("done: cordon"), "{}", record.reason);
    assert!(
        record.reason.contains("interrupted during evict"),
        "{}",
        record.reason
    );
    assert!(record.reason.contains("the node stays cordoned"));
    assert!(world.cordoned(SICK));
    let interrupted = record
        .steps
        .iter()
        .filter(|s| s.op == "evict" && s.result == StepResult::Failed)
        .count();
    assert_eq!(
        interrupted,
        world.sent("POST", "/eviction"),
        "each eviction sent is on record"
    );
    assert!(world.fleet.terminated().is_empty(), "nothing terminated");
}

#[tokio::test]
async fn killed_after_the_termination_call_the_instance_is_not_terminated_twice() {
    let (world, record) = in_memory(NODE, "sent:terminate_instance").await;
    assert_eq!(record.verdict, Verdict::Failed);
    assert!(
        record
            .reason
            .contains("interrupted during terminate_instance"),
        "{}",
        record.reason
    );
    assert_eq!(world.fleet.terminated().len(), 1, "one termination");
}

#[tokio::test]
async fn killed_after_the_rollback_patch_it_is_not_rolled_back_twice() {
    let (world, record) = in_memory(ROLLBACK, "sent:rollback").await;
    assert_eq!(record.verdict, Verdict::Failed);
    assert!(
        record.reason.contains("interrupted during rollback"),
        "{}",
        record.reason
    );
    assert_eq!(
        world.sent("PATCH", "/deployments/vote"),
        1,
        "one rollback patch"
    );
    let verify = record
        .steps
        .iter()
        .find(|s| s.op == "verify_rollout")
        .unwrap();
    assert_eq!(verify.result, StepResult::Skipped);
}

/// The same protocol on the DynamoDB table (moto): the progress on the claim item, the
/// take-over fenced by the attempt, the record and the settled claim in one transaction.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_the_table_a_kill_mid_drain_leaves_one_record_and_one_set_of_evictions() {
    let aws = moto_aws().await;
    let ledger: DynamoLedger = create_table(&aws).await;
    let world = World::start().await;
    let stored = || table_records(&ledger).len();
    world
        .killed_then_redelivered(&event(NODE), "sent:evict", &ledger, stored)
        .await;
    let records = table_records(&ledger);
    assert_eq!(records[0].verdict, Verdict::Failed);
    assert!(records[0].reason.contains("the node stays cordoned"));
    // A fourth delivery is a duplicate of the settled claim.
    let again = world
        .deliver(&event(NODE), &ledger, TimeDelta::minutes(3), "req-4")
        .await
        .unwrap();
    assert_eq!(again.records[0].verdict, Verdict::Suppressed);
    assert!(world.fleet.terminated().is_empty());
}

/// The records on the table since the catalog's time, read on a blocking thread (the
/// closure the helper takes is synchronous).
fn table_records(ledger: &DynamoLedger) -> Vec<reflex_core::AuditRecord> {
    tokio::task::block_in_place(|| {
        tokio::runtime::Handle::current().block_on(ledger.records_since(now() - TimeDelta::days(1)))
    })
    .unwrap()
}
