//! `replace_node`: cordon with the reason recorded, evict through the Eviction API
//! (DaemonSet pods untouched), wait until the pods are gone, then hand the instance to the
//! fleet; refused for a node with a bare pod; a PodDisruptionBudget at zero ends the drain
//! at its timeout with the node left cordoned and no termination.

use std::time::{Duration, Instant};

use reflex_core::cluster::Submit;
use reflex_core::vocab::annotations::CORDON_ANNOTATION;
use reflex_core::vocab::verdict::{Mode, StepResult, Verdict};

use crate::common::{
    RecordingFleet, SICK_INSTANCE, SICK_NODE, cluster, detail, event, policy, replay, run,
    start_voting_app, steps, writes,
};

const SICK: &str = "alertmanager/node-not-ready-sick-node.json";

#[tokio::test]
async fn dry_run_sends_every_call_with_dry_run_and_changes_nothing() {
    let fake = start_voting_app().await;
    let kube = cluster(&fake);
    let fleet = RecordingFleet::default();
    let before = fake.snapshot();

    let r = replay(&kube, &fleet, &policy(2, 2), Mode::DryRun, &event(SICK)).await;

    assert_eq!(r.verdict, Verdict::Planned, "{r:?}");
    assert_eq!(
        steps(&r),
        [
            ("cordon".into(), StepResult::DryRun),
            ("evict".into(), StepResult::DryRun),
            ("evict".into(), StepResult::DryRun),
            ("wait_pods_gone".into(), StepResult::Planned),
            ("terminate_instance".into(), StepResult::DryRun),
        ]
    );
    let writes = writes(&fake);
    assert_eq!(writes.len(), 3, "{writes:?}");
    assert!(writes.iter().all(|w| w.is_dry_run()), "{writes:?}");
    assert_eq!(fleet.calls(), [(SICK_INSTANCE.to_owned(), Submit::DryRun)]);
    assert_eq!(fake.snapshot(), before);
}

#[tokio::test]
async fn execute_cordons_evicts_waits_and_hands_the_instance_to_the_fleet() {
    let fake = start_voting_app().await;
    let kube = cluster(&fake);
    let fleet = RecordingFleet::default();

    let r = replay(&kube, &fleet, &policy(5, 5), Mode::Enforce, &event(SICK)).await;

    assert_eq!(r.verdict, Verdict::Executed, "{r:?}");
    let node = fake.object("Node", None, SICK_NODE).unwrap();
    assert_eq!(node["spec"]["unschedulable"], true);
    assert!(
        node["metadata"]["annotations"][CORDON_ANNOTATION]
            .as_str()
            .unwrap()
            .starts_with("reflex rule kube-node-not-ready for KubeNodeNotReady at")
    );
    for pod in ["vote-6f7c9b8d5-x2k4q", "worker-69d4c8b7f-h7s2d"] {
        assert!(
            fake.object("Pod", Some("production"), pod).is_none(),
            "{pod}"
        );
    }
    assert!(detail(&r, "wait_pods_gone").starts_with("2 evicted pod(s) gone"));
    assert_eq!(fleet.calls(), [(SICK_INSTANCE.to_owned(), Submit::Apply)]);
    // The eviction bodies pin each pod's uid.
    let evictions: Vec<_> = writes(&fake)
        .into_iter()
        .filter(|w| w.path.ends_with("/eviction"))
        .collect();
    assert_eq!(evictions.len(), 2);
    for e in &evictions {
        let body = e.body_json().unwrap();
        assert_eq!(body["kind"], "Eviction");
        assert!(
            body["deleteOptions"]["preconditions"]["uid"].is_string(),
            "{body}"
        );
    }
}

#[tokio::test]
async fn daemon_set_pods_are_left_on_the_drained_node() {
    let fake = start_voting_app().await;
    let kube = cluster(&fake);

    let r = run(&kube, &policy(5, 5), Mode::Enforce, SICK).await;

    assert_eq!(r.verdict, Verdict::Executed, "{r:?}");
    for pod in ["aws-node-x9c2k", "kube-proxy-w4h8c"] {
        assert!(
            fake.object("Pod", Some("kube-system"), pod).is_some(),
            "{pod}"
        );
        assert!(
            !fake.requests().iter().any(|q| q.path.contains(pod)),
            "{pod} was touched"
        );
    }
}

#[tokio::test]
async fn a_node_running_a_bare_pod_is_not_drained() {
    let fake = start_voting_app().await;
    let kube = cluster(&fake);
    let fleet = RecordingFleet::default();

    let r = replay(
        &kube,
        &fleet,
        &policy(2, 2),
        Mode::Enforce,
        &event("alertmanager/node-unreachable-node-b-bare-pod.json"),
    )
    .await;

    assert_eq!(r.verdict, Verdict::Suppressed, "{r:?}");
    assert!(r.reason.contains("bare pod staging/debug-shell"), "{r:?}");
    assert!(writes(&fake).is_empty());
    assert!(fleet.calls().is_empty());
}

#[tokio::test]
async fn a_budget_at_zero_fails_the_drain_at_its_timeout_leaving_the_node_cordoned() {
    let fake = start_voting_app().await;
    let kube = cluster(&fake);
    let fleet = RecordingFleet::default();

    let started = Instant::now();
    let r = replay(
        &kube,
        &fleet,
        &policy(1, 2),
        Mode::Enforce,
        &event("alertmanager/node-not-ready-db-node-pdb-blocks-drain.json"),
    )
    .await;
    let took = started.elapsed();

    assert_eq!(r.verdict, Verdict::Failed, "{r:?}");
    assert_eq!(
        steps(&r),
        [
            ("cordon".into(), StepResult::Ok),
            ("evict".into(), StepResult::Failed),
            ("evict".into(), StepResult::Ok),
            ("evict".into(), StepResult::Ok),
            ("wait_pods_gone".into(), StepResult::Skipped),
            ("terminate_instance".into(), StepResult::Skipped),
        ]
    );
    let blocked = &r.steps[1];
    assert!(blocked.call.ends_with("/pods/db-0/eviction"));
    assert!(
        blocked
            .detail
            .starts_with("timed out: eviction of production/db-0 not admitted within 1.0 s")
            && blocked
                .detail
                .contains("The disruption budget db needs 1 healthy pods and has 1 currently"),
        "{}",
        blocked.detail
    );
    let node = fake
        .object("Node", None, "ip-10-0-3-12.ec2.internal")
        .unwrap();
    assert_eq!(node["spec"]["unschedulable"], true);
    assert!(fake.object("Pod", Some("production"), "db-0").is_some());
    assert!(
        fleet.calls().is_empty(),
        "no termination after a failed drain"
    );
    let attempts = fake
        .requests()
        .iter()
        .filter(|q| q.path.ends_with("/db-0/eviction"))
        .count();
    assert!(attempts > 2, "retried with backoff: {attempts} attempts");
    assert!(took < Duration::from_millis(2000), "took {took:?}");
}

#[tokio::test]
async fn a_dry_run_drain_reports_a_budget_refusal_at_once() {
    let fake = start_voting_app().await;
    let kube = cluster(&fake);

    let started = Instant::now();
    let r = run(
        &kube,
        &policy(60, 2),
        Mode::DryRun,
        "alertmanager/node-not-ready-db-node-pdb-blocks-drain.json",
    )
    .await;

    assert_eq!(r.verdict, Verdict::Failed, "{r:?}");
    assert!(
        r.steps[1]
            .detail
            .starts_with("refused: eviction of production/db-0 refused now: 429 TooManyRequests"),
        "{r:?}"
    );
    assert!(
        r.steps[1]
            .detail
            .ends_with("a real drain would retry for up to 1 min")
    );
    assert!(started.elapsed() < Duration::from_secs(2));
    assert!(writes(&fake).iter().all(|w| w.is_dry_run()));
}

/// A pod of `owner` (a ReplicaSet of production, or none: a bare pod) on the sick node.
fn newcomer(name: &str, owner: Option<&str>) -> serde_json::Value {
    let owners = match owner {
        Some(rs) => serde_json::json!([{"apiVersion": "apps/v1", "kind": "ReplicaSet",
            "name": rs, "uid": "3189020d-5148-4569-a483-71b41c7252bb", "controller": true}]),
        None => serde_json::json!([]),
    };
    serde_json::json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": "production", "uid": format!("uid-{name}"),
                     "labels": {"app": "worker"}, "ownerReferences": owners},
        "spec": {"nodeName": SICK_NODE, "containers": [{"name": "worker", "image": "worker:2"}]},
        "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]},
    })
}

/// Replays the sick-node alert in enforce mode while `pod` is scheduled onto the node
/// after the plan was made: the cordon is held for 400 ms, and the pod appears as soon as
/// the cordon request has arrived (the fake logs a request on arrival, before its delay).
async fn drain_with_a_pod_scheduled_during_the_cordon(
    fake: &reflex_fake_kube::FakeKube,
    fleet: &RecordingFleet,
    pod: serde_json::Value,
) -> reflex_core::audit::AuditRecord {
    fake.faults().delay(
        reflex_fake_kube::Route::prefix(format!("/api/v1/nodes/{SICK_NODE}")).method("PATCH"),
        Duration::from_millis(400),
    );
    let kube = cluster(fake);
    let alert = event(SICK);
    let scheduled = async {
        let cordon_arrived = || {
            fake.requests()
                .iter()
                .any(|r| r.method == "PATCH" && r.path.ends_with(SICK_NODE))
        };
        while !cordon_arrived() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        fake.put_object(pod).unwrap();
    };
    let policy = policy(5, 5);
    let (r, ()) = tokio::join!(
        replay(&kube, fleet, &policy, Mode::Enforce, &alert),
        scheduled
    );
    r
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pod_scheduled_onto_the_node_before_the_cordon_is_evicted_too() {
    // The pods were listed before the cordon; a pod scheduled in between used to be left
    // on the node, unevicted, when the instance was terminated.
    let fake = start_voting_app().await;
    let fleet = RecordingFleet::default();
    let r = drain_with_a_pod_scheduled_during_the_cordon(
        &fake,
        &fleet,
        newcomer("worker-69d4c8b7f-late1", Some("worker-69d4c8b7f")),
    )
    .await;

    assert_eq!(r.verdict, Verdict::Executed, "{r:?}");
    let evicted: Vec<&str> = r
        .steps
        .iter()
        .filter(|s| s.op == "evict")
        .map(|s| s.call.as_str())
        .collect();
    assert_eq!(evicted.len(), 3, "{evicted:?}");
    assert!(
        evicted[2].contains("/pods/worker-69d4c8b7f-late1/eviction"),
        "{evicted:?}"
    );
    assert!(
        fake.object("Pod", Some("production"), "worker-69d4c8b7f-late1")
            .is_none()
    );
    assert!(
        detail(&r, "wait_pods_gone").starts_with("3 evicted pod(s) gone"),
        "{r:?}"
    );
    assert_eq!(fleet.calls(), [(SICK_INSTANCE.to_owned(), Submit::Apply)]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bare_pod_scheduled_before_the_cordon_stops_the_drain_with_the_node_cordoned() {
    let fake = start_voting_app().await;
    let fleet = RecordingFleet::default();
    let r =
        drain_with_a_pod_scheduled_during_the_cordon(&fake, &fleet, newcomer("debug-late", None))
            .await;

    assert_eq!(r.verdict, Verdict::Failed, "{r:?}");
    assert_eq!(r.steps[0].op, "cordon");
    assert_eq!(r.steps[0].result, StepResult::Ok);
    assert_eq!(r.steps[1].result, StepResult::Failed, "{r:?}");
    assert!(
        r.steps[1]
            .detail
            .contains("after the cordon: bare pod production/debug-late runs on node"),
        "{r:?}"
    );
    assert!(fleet.calls().is_empty());
    assert!(
        fake.object("Pod", Some("production"), "debug-late")
            .is_some()
    );
    let node = fake.object("Node", None, SICK_NODE).unwrap();
    assert_eq!(node["spec"]["unschedulable"], true);
}
