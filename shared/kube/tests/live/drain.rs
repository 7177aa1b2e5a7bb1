//! `replace_node`: cordon with the reason recorded, evict through the Eviction API
//! (DaemonSet pods untouched), wait until the pods are gone, then hand the instance to the
//! fleet; refused for a node with a bare pod; a PodDisruptionBudget at zero ends the drain
//! at its timeout with the node left cordoned and no termination; pods scheduled during the
//! cordon are evicted too, or stop the drain (bare, or on a local persistent volume); the
//! claims of the node's pods are read once each.

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
    assert_eq!(
        fleet.calls(),
        [
            (SICK_INSTANCE.to_owned(), Submit::DryRun),
            (SICK_INSTANCE.to_owned(), Submit::Apply)
        ],
        "asked first, before the cordon, then terminated"
    );
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
        fleet.terminated().is_empty(),
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
    assert_eq!(
        fleet.calls(),
        [
            (SICK_INSTANCE.to_owned(), Submit::DryRun),
            (SICK_INSTANCE.to_owned(), Submit::Apply)
        ],
        "asked first, before the cordon, then terminated"
    );
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
    assert!(fleet.terminated().is_empty());
    assert!(
        fake.object("Pod", Some("production"), "debug-late")
            .is_some()
    );
    let node = fake.object("Node", None, SICK_NODE).unwrap();
    assert_eq!(node["spec"]["unschedulable"], true);
}

/// The claim `production/{claim}`, bound to the local PersistentVolume `volume` on the
/// sick node, as the API serves them.
fn seed_local_claim(fake: &reflex_fake_kube::FakeKube, claim: &str, volume: &str) {
    fake.put_object(serde_json::json!({
        "apiVersion": "v1", "kind": "PersistentVolumeClaim",
        "metadata": {"name": claim, "namespace": "production"},
        "spec": {"accessModes": ["ReadWriteOnce"], "volumeName": volume,
                 "resources": {"requests": {"storage": "10Gi"}}},
        "status": {"phase": "Bound"},
    }))
    .unwrap();
    fake.put_object(serde_json::json!({
        "apiVersion": "v1", "kind": "PersistentVolume",
        "metadata": {"name": volume},
        "spec": {"accessModes": ["ReadWriteOnce"], "capacity": {"storage": "10Gi"},
                 "local": {"path": "/mnt/nvme0"},
                 "claimRef": {"kind": "PersistentVolumeClaim", "namespace": "production", "name": claim},
                 "nodeAffinity": {"required": {"nodeSelectorTerms": [{"matchExpressions": [
                     {"key": "kubernetes.io/hostname", "operator": "In", "values": [SICK_NODE]}]}]}}},
        "status": {"phase": "Bound"},
    }))
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pod_on_a_local_volume_scheduled_before_the_cordon_stops_the_drain_before_any_eviction() {
    // The second look after the cordon used to evict such a pod like any other, and the
    // termination then took its volume's disk with the node.
    let fake = start_voting_app().await;
    seed_local_claim(&fake, "cache-late", "local-pv-late");
    let fleet = RecordingFleet::default();
    let mut pod = newcomer("worker-69d4c8b7f-late2", Some("worker-69d4c8b7f"));
    pod["spec"]["volumes"] = serde_json::json!([
        {"name": "cache", "persistentVolumeClaim": {"claimName": "cache-late"}}
    ]);
    let r = drain_with_a_pod_scheduled_during_the_cordon(&fake, &fleet, pod).await;

    assert_eq!(r.verdict, Verdict::Failed, "{r:?}");
    assert_eq!(steps(&r)[0], ("cordon".into(), StepResult::Ok));
    assert_eq!(steps(&r)[1], ("evict".into(), StepResult::Failed), "{r:?}");
    let refusal = "after the cordon: pods on node ip-10-0-2-41.ec2.internal keep data on it: production/worker-69d4c8b7f-late2 (local persistent volume local-pv-late)";
    assert!(r.steps[1].detail.contains(refusal), "{r:?}");
    assert!(r.reason.contains(refusal), "{}", r.reason);
    assert!(
        r.reason
            .contains("guardrails.nodes.evict_local_data does not allow"),
        "{}",
        r.reason
    );
    assert!(
        r.steps[2..].iter().all(|s| s.result == StepResult::Skipped),
        "{r:?}"
    );
    let requests = fake.requests();
    assert!(
        !requests.iter().any(|q| q.path.ends_with("/eviction")),
        "nothing evicted"
    );
    // The claim and its volume were read after the cordon, by the executor.
    let cordon = requests
        .iter()
        .position(|q| q.method == "PATCH" && q.path.ends_with(SICK_NODE))
        .unwrap();
    let lines: Vec<String> = requests[cordon..].iter().map(|q| q.line()).collect();
    assert!(
        lines.contains(
            &"GET /api/v1/namespaces/production/persistentvolumeclaims/cache-late".into()
        ) && lines.contains(&"GET /api/v1/persistentvolumes/local-pv-late".into()),
        "{lines:?}"
    );
    assert!(fleet.terminated().is_empty());
    for pod in [
        "vote-6f7c9b8d5-x2k4q",
        "worker-69d4c8b7f-h7s2d",
        "worker-69d4c8b7f-late2",
    ] {
        assert!(
            fake.object("Pod", Some("production"), pod).is_some(),
            "{pod}"
        );
    }
    let node = fake.object("Node", None, SICK_NODE).unwrap();
    assert_eq!(node["spec"]["unschedulable"], true);
}

/// The requests for claims and volumes, as `METHOD path` lines.
fn storage_reads(fake: &reflex_fake_kube::FakeKube) -> Vec<String> {
    fake.requests()
        .iter()
        .filter(|q| q.path.contains("/persistentvolume"))
        .map(|q| q.line())
        .collect()
}

/// A dry-run replacement of the node running `production/db-0`, whose claim `data-db-0`
/// is bound to an EBS volume; its record.
async fn plan_db_node_drain(kube: &reflex_kube::KubeCluster) -> reflex_core::audit::AuditRecord {
    let r = run(
        kube,
        &policy(60, 2),
        Mode::DryRun,
        "alertmanager/node-not-ready-db-node-pdb-blocks-drain.json",
    )
    .await;
    assert_eq!(steps(&r)[0].0, "cordon", "{r:?}");
    r
}

#[tokio::test]
async fn a_drain_plan_reads_each_claim_and_its_volume_once_and_nothing_for_pods_without() {
    let fake = start_voting_app().await;
    let kube = cluster(&fake);

    // production/db-0 mounts data-db-0, bound to an EBS volume: read, and drained as before.
    let r = plan_db_node_drain(&kube).await;
    assert!(
        r.steps
            .iter()
            .any(|s| s.call.ends_with("/pods/db-0/eviction")),
        "{r:?}"
    );
    assert_eq!(
        storage_reads(&fake),
        [
            "GET /api/v1/namespaces/production/persistentvolumeclaims/data-db-0",
            "GET /api/v1/persistentvolumes/pvc-8d2f6c1a-4b7e-4f39-a5d0-3e9c71b42f86",
        ]
    );

    // No pod on the sick node mounts a claim: no such read at all.
    fake.clear_requests();
    let r = run(&kube, &policy(2, 2), Mode::DryRun, SICK).await;
    assert_eq!(r.verdict, Verdict::Planned, "{r:?}");
    assert_eq!(storage_reads(&fake), Vec::<String>::new());
}

#[tokio::test]
async fn a_claim_the_api_does_not_have_is_noted_and_the_drain_planned() {
    let fake = start_voting_app().await;
    fake.remove_object("PersistentVolumeClaim", Some("production"), "data-db-0")
        .unwrap();
    let kube = cluster(&fake);

    let r = plan_db_node_drain(&kube).await;

    assert_eq!(steps(&r)[0].0, "cordon", "{r:?}");
    assert!(
        r.notes.iter().any(|n| n
            == "not checked for local persistent volumes (their pods are evicted as if none were on the node): PersistentVolumeClaim production/data-db-0 (mounted by production/db-0) not found"),
        "{:?}",
        r.notes
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_the_second_look_could_not_check_is_noted_in_the_record() {
    let fake = start_voting_app().await;
    let fleet = RecordingFleet::default();
    let mut pod = newcomer("worker-69d4c8b7f-late3", Some("worker-69d4c8b7f"));
    pod["spec"]["volumes"] = serde_json::json!([
        {"name": "cache", "persistentVolumeClaim": {"claimName": "cache-gone"}}
    ]);
    let r = drain_with_a_pod_scheduled_during_the_cordon(&fake, &fleet, pod).await;

    assert_eq!(r.verdict, Verdict::Executed, "{r:?}");
    assert!(
        r.notes.iter().any(|n| n.ends_with(
            "PersistentVolumeClaim production/cache-gone (mounted by production/worker-69d4c8b7f-late3) not found"
        )),
        "{:?}",
        r.notes
    );
    assert!(
        fake.object("Pod", Some("production"), "worker-69d4c8b7f-late3")
            .is_none()
    );
}
