//! Draining a dead node: its kubelet never confirms a deletion, so evicted pods stay
//! Terminating. The wait counts a pod gone once it is Terminating on a NotReady node for
//! longer than `terminating_grace` past its deletion time, and the instance is terminated;
//! a Ready node's Terminating pods are still waited for.

use std::time::{Duration, Instant};

use reflex_core::cluster::{Actuator, ClusterError, Submit};
use reflex_core::duration::Span;
use reflex_core::vocab::op::{Op, PodRef};
use reflex_core::vocab::verdict::{Mode, StepResult, Verdict};
use reflex_fake_kube::FakeKube;
use serde_json::{Value, json};

use crate::common::{
    RecordingFleet, SICK_INSTANCE, SICK_NODE, cluster, detail, event, policy, replay,
    start_voting_app, steps,
};

const SICK: &str = "alertmanager/node-not-ready-sick-node.json";
/// The sick node's pods that a drain evicts.
const SICK_PODS: [&str; 2] = ["vote-6f7c9b8d5-x2k4q", "worker-69d4c8b7f-h7s2d"];

/// Changes one stored object behind the API.
fn change(
    fake: &FakeKube,
    kind: &str,
    namespace: Option<&str>,
    name: &str,
    edit: impl FnOnce(&mut Value),
) {
    let mut object = fake.object(kind, namespace, name).unwrap();
    edit(&mut object);
    fake.put_object(object).unwrap();
}

fn terminating(fake: &FakeKube, pod: &str) -> bool {
    fake.object("Pod", Some("production"), pod)
        .is_some_and(|p| p["metadata"]["deletionTimestamp"].is_string())
}

#[tokio::test]
async fn a_dead_nodes_pods_stay_terminating_and_the_drain_ends_after_the_grace() {
    let fake = start_voting_app().await;
    fake.kill_kubelet(SICK_NODE);
    for pod in SICK_PODS {
        change(&fake, "Pod", Some("production"), pod, |p| {
            p["spec"]["terminationGracePeriodSeconds"] = json!(1);
        });
    }
    let kube = cluster(&fake);
    let fleet = RecordingFleet::default();
    let mut policy = policy(10, 5);
    policy.guardrails.nodes.terminating_grace = Span::from_secs(1);

    let started = Instant::now();
    let r = replay(&kube, &fleet, &policy, Mode::Enforce, &event(SICK)).await;

    assert_eq!(r.verdict, Verdict::Executed, "{r:?}");
    assert_eq!(
        steps(&r)[3..],
        [
            ("wait_pods_gone".into(), StepResult::Ok),
            ("terminate_instance".into(), StepResult::Ok),
        ]
    );
    let waited = detail(&r, "wait_pods_gone");
    assert!(
        waited.contains(&format!(
            "2 of them counted gone while still Terminating on NotReady node {SICK_NODE} (more than 1s past their deletion time"
        )) && waited.ends_with("production/vote-6f7c9b8d5-x2k4q, production/worker-69d4c8b7f-h7s2d"),
        "{waited}"
    );
    // The pods' own 1 s grace, then the policy's 1 s.
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    for pod in SICK_PODS {
        assert!(
            terminating(&fake, pod),
            "{pod} still Terminating on the dead node"
        );
    }
    assert_eq!(
        fleet.calls(),
        [
            (SICK_INSTANCE.to_owned(), Submit::DryRun),
            (SICK_INSTANCE.to_owned(), Submit::Apply)
        ],
        "asked first, before the cordon, then terminated"
    );
}

#[tokio::test]
async fn pods_terminating_for_minutes_before_the_alert_do_not_hold_the_drain() {
    let fake = start_voting_app().await;
    fake.kill_kubelet(SICK_NODE);
    for pod in SICK_PODS {
        change(&fake, "Pod", Some("production"), pod, |p| {
            p["metadata"]["deletionTimestamp"] = json!("2020-01-01T00:00:00Z");
            p["metadata"]["deletionGracePeriodSeconds"] = json!(30);
        });
    }
    let kube = cluster(&fake);
    let fleet = RecordingFleet::default();

    // The default policy's grace (1m).
    let r = replay(&kube, &fleet, &policy(10, 5), Mode::Enforce, &event(SICK)).await;

    assert_eq!(r.verdict, Verdict::Executed, "{r:?}");
    assert!(
        detail(&r, "wait_pods_gone").contains("2 of them counted gone while still Terminating"),
        "{r:?}"
    );
    assert_eq!(
        fleet.calls(),
        [
            (SICK_INSTANCE.to_owned(), Submit::DryRun),
            (SICK_INSTANCE.to_owned(), Submit::Apply)
        ],
        "asked first, before the cordon, then terminated"
    );
}

#[tokio::test]
async fn a_grace_longer_than_the_drain_timeout_fails_the_drain_and_terminates_nothing() {
    let fake = start_voting_app().await;
    fake.kill_kubelet(SICK_NODE);
    let kube = cluster(&fake);
    let fleet = RecordingFleet::default();

    // Pods keep their 30 s grace; the drain gives up after 1 s.
    let r = replay(&kube, &fleet, &policy(1, 5), Mode::Enforce, &event(SICK)).await;

    assert_eq!(r.verdict, Verdict::Failed, "{r:?}");
    assert!(
        detail(&r, "wait_pods_gone")
            .starts_with("timed out: 2 of 2 evicted pod(s) still present after 1.0 s"),
        "{r:?}"
    );
    let node = fake.object("Node", None, SICK_NODE).unwrap();
    assert_eq!(node["spec"]["unschedulable"], true, "left cordoned");
    assert!(fleet.terminated().is_empty());
}

/// A pod of a Ready node, Terminating for ten minutes (a finalizer holds it).
const HELD: (&str, &str) = ("redis-7f9b5c8d6-w4lzn", "ip-10-0-1-23.ec2.internal");

fn hold(fake: &FakeKube) -> Op {
    change(fake, "Pod", Some("production"), HELD.0, |p| {
        p["metadata"]["deletionTimestamp"] = json!("2020-01-01T00:00:00Z");
        p["metadata"]["finalizers"] = json!(["example.com/hold"]);
    });
    Op::WaitPodsGone {
        pods: vec![PodRef {
            namespace: "production".into(),
            name: HELD.0.into(),
        }],
        timeout: Span::from_secs(1),
        terminating_grace: Span::from_secs(0),
    }
}

#[tokio::test]
async fn a_ready_nodes_terminating_pods_are_still_waited_for() {
    let fake = start_voting_app().await;
    let kube = cluster(&fake);
    let wait = hold(&fake);

    let err = kube.apply(&wait, Submit::Apply).await.unwrap_err();

    // The last poll may start with the deadline all but spent, and then also says that its
    // read was cut off ("; last read failed: no answer within 0.0 s"): what was still
    // present is said first either way.
    let ClusterError::Timeout(message) = &err else {
        panic!("expected a timeout, got {err:?}");
    };
    assert!(
        message.starts_with(&format!(
            "1 of 1 evicted pod(s) still present after 1.0 s: production/{}",
            HELD.0
        )),
        "{message}"
    );
}

#[tokio::test]
async fn the_same_pod_on_a_node_gone_not_ready_counts_as_gone() {
    let fake = start_voting_app().await;
    let kube = cluster(&fake);
    let wait = hold(&fake);
    change(&fake, "Node", None, HELD.1, |n| {
        for c in n["status"]["conditions"].as_array_mut().unwrap() {
            if c["type"] == "Ready" {
                c["status"] = json!("Unknown");
            }
        }
    });

    let done = kube.apply(&wait, Submit::Apply).await.unwrap();

    assert!(
        done.contains(&format!(
            "1 of them counted gone while still Terminating on NotReady node {}",
            HELD.1
        )),
        "{done}"
    );
    let node_reads = fake
        .requests()
        .iter()
        .filter(|q| q.line() == format!("GET /api/v1/nodes/{}", HELD.1))
        .count();
    assert_eq!(node_reads, 1);
}
