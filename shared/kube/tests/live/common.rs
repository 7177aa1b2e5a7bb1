//! Shared set-up: the fake API server seeded with the sample cluster and a `KubeCluster` on
//! it with test timings (both from reflex-test-support), a recording fleet, and a one-event
//! pipeline run.

use std::sync::Mutex;

use chrono::Utc;
use reflex_core::audit::AuditRecord;
use reflex_core::cluster::{ClusterError, Fleet, Submit};
use reflex_core::duration::Span;
use reflex_core::ledger::MemoryLedger;
use reflex_core::pipeline::{Adapters, Clock, Ids, Pipeline};
use reflex_core::policy::Policy;
use reflex_core::vocab::verdict::{Mode, StepResult};
use reflex_fake_kube::{FakeKube, RecordedRequest};
use reflex_kube::KubeCluster;
pub use reflex_test_support::event;
pub use reflex_test_support::kube::{fast, start_voting_app};

/// The node that is NotReady in the sample cluster, and its instance.
pub const SICK_NODE: &str = "ip-10-0-2-41.ec2.internal";
pub const SICK_INSTANCE: &str = "i-0b7d3a9f1e6c24c58";

/// reflex's kube adapter on `fake`, with the test timings.
pub fn cluster(fake: &FakeKube) -> KubeCluster {
    reflex_test_support::kube::cluster(fake, fast())
}

/// The fleet stand-in: records what it was asked to terminate.
#[derive(Debug, Default)]
pub struct RecordingFleet {
    pub calls: Mutex<Vec<(String, Submit)>>,
}

impl RecordingFleet {
    pub fn calls(&self) -> Vec<(String, Submit)> {
        self.calls.lock().unwrap().clone()
    }

    /// The instances terminated for real. (Before the cordon, every replacement asks the
    /// fleet whether the termination would be accepted, with a dry run.)
    pub fn terminated(&self) -> Vec<String> {
        self.calls()
            .into_iter()
            .filter(|(_, submit)| *submit == Submit::Apply)
            .map(|(id, _)| id)
            .collect()
    }
}

impl Fleet for RecordingFleet {
    async fn terminate(&self, instance_id: &str, submit: Submit) -> Result<String, ClusterError> {
        self.calls
            .lock()
            .unwrap()
            .push((instance_id.to_owned(), submit));
        Ok(format!("terminate {instance_id} recorded"))
    }
}

/// The default policy with short drain and verify timeouts.
pub fn policy(drain_secs: u64, verify_secs: u64) -> Policy {
    let mut policy = Policy::default_policy();
    policy.guardrails.timeouts.drain = Span::from_secs(drain_secs);
    policy.guardrails.timeouts.verify = Span::from_secs(verify_secs);
    policy
}

/// Runs one event through the whole pipeline against the live (fake) cluster and returns
/// its single record.
pub async fn replay(
    kube: &KubeCluster,
    fleet: &RecordingFleet,
    policy: &Policy,
    mode: Mode,
    bytes: &[u8],
) -> AuditRecord {
    let pipeline = Pipeline { policy, mode };
    let ledger = MemoryLedger::new();
    let adapters = Adapters {
        cluster: Some(kube),
        live: Some((kube, fleet)),
        ledger: &ledger,
        notifier: &(),
        alarms: &(),
        traffic: &(),
    };
    let clock = Clock::AlertTime {
        fallback: Utc::now(),
    };
    let mut handled = pipeline
        .process(bytes, &adapters, clock, &mut Ids::new("test"))
        .await;
    assert_eq!(handled.len(), 1, "one record expected: {handled:?}");
    handled.remove(0).record
}

/// [`replay`] of a sample event, with a fleet nobody looks at.
pub async fn run(kube: &KubeCluster, policy: &Policy, mode: Mode, rel: &str) -> AuditRecord {
    replay(kube, &RecordingFleet::default(), policy, mode, &event(rel)).await
}

/// `(op, result)` of each step.
pub fn steps(record: &AuditRecord) -> Vec<(String, StepResult)> {
    record
        .steps
        .iter()
        .map(|s| (s.op.clone(), s.result))
        .collect()
}

/// The detail of the first step named `op`.
pub fn detail<'r>(record: &'r AuditRecord, op: &str) -> &'r str {
    &record
        .steps
        .iter()
        .find(|s| s.op == op)
        .unwrap_or_else(|| panic!("no {op} step in {record:?}"))
        .detail
}

/// Requests other than GET (the ones that could change something).
pub fn writes(fake: &FakeKube) -> Vec<RecordedRequest> {
    fake.requests()
        .into_iter()
        .filter(|r| r.method != "GET")
        .collect()
}
