//! A 100-pod drain, end to end and timed: evictions run in parallel, so the drain takes
//! round trips, not a hundred of them in a row. The wall time is printed (run with
//! `--nocapture` to see it).

use std::time::{Duration, Instant};

use reflex_core::cluster::Submit;
use reflex_core::vocab::verdict::{Mode, StepResult, Verdict};
use reflex_fake_kube::FakeKube;
use reflex_kube::Settings;
use serde_json::{Value, json};

use crate::common::{RecordingFleet, event, policy, replay, writes};

const BUSY: &str = "ip-10-0-7-10.ec2.internal";
const SPARE: &str = "ip-10-0-7-20.ec2.internal";
const PODS: usize = 100;

fn node(name: &str, instance: &str) -> Value {
    json!({
        "apiVersion": "v1", "kind": "Node",
        "metadata": {"name": name, "uid": format!("uid-{name}"),
                     "labels": {"eks.amazonaws.com/nodegroup": "load"}},
        "spec": {"providerID": format!("aws:///us-east-1a/{instance}")},
        "status": {"conditions": [{"type": "Ready", "status": "True"}]},
    })
}

fn pod(name: &str, owner: (&str, &str), labels: Value) -> Value {
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {
            "name": name, "namespace": "load", "uid": format!("uid-{name}"), "labels": labels,
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": owner.0, "name": owner.1,
                                 "uid": format!("uid-{}", owner.1), "controller": true}],
        },
        "spec": {"nodeName": BUSY, "containers": [{"name": "web", "image": "web:1"}]},
        "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]},
    })
}

/// Two Ready nodes; on one, 100 pods of `load/web` (a PDB allowing 100 disruptions) and a
/// DaemonSet pod.
fn cluster_with_a_busy_node() -> Vec<u8> {
    cluster_with_a_busy_node_allowing(PODS)
}

/// [`cluster_with_a_busy_node`] with a PodDisruptionBudget allowing `allowed` disruptions.
fn cluster_with_a_busy_node_allowing(allowed: usize) -> Vec<u8> {
    let labels = json!({"app": "web", "pod-template-hash": "5f6d7c8b9"});
    let mut items = vec![
        node(BUSY, "i-0aaaaaaaaaaaaaaa1"),
        node(SPARE, "i-0aaaaaaaaaaaaaaa2"),
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "load"}}),
        json!({
            "apiVersion": "apps/v1", "kind": "ReplicaSet",
            "metadata": {"name": "web-5f6d7c8b9", "namespace": "load", "uid": "uid-web-5f6d7c8b9",
                         "annotations": {"deployment.kubernetes.io/revision": "1"}},
            "spec": {"replicas": PODS, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels},
                                  "spec": {"containers": [{"name": "web", "image": "web:1"}]}}},
        }),
        json!({
            "apiVersion": "apps/v1", "kind": "DaemonSet",
            "metadata": {"name": "agent", "namespace": "load", "uid": "uid-agent"},
            "spec": {"template": {"metadata": {"labels": {"app": "agent"}}}},
        }),
        json!({
            "apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
            "metadata": {"name": "web", "namespace": "load", "generation": 1},
            "spec": {"selector": {"matchLabels": {"app": "web"}}, "maxUnavailable": PODS},
            "status": {"observedGeneration": 1, "disruptionsAllowed": allowed,
                       "currentHealthy": PODS, "desiredHealthy": 0, "expectedPods": PODS},
        }),
        pod("agent-x1", ("DaemonSet", "agent"), json!({"app": "agent"})),
    ];
    items.extend((0..PODS).map(|i| {
        pod(
            &format!("web-5f6d7c8b9-{i:03}"),
            ("ReplicaSet", "web-5f6d7c8b9"),
            labels.clone(),
        )
    }));
    serde_json::to_vec(&json!({"apiVersion": "v1", "kind": "List", "items": items})).unwrap()
}

fn on_node(fake: &FakeKube, node: &str) -> Vec<String> {
    fake.objects("Pod", Some("load"))
        .into_iter()
        .filter(|p| p["spec"]["nodeName"] == node)
        .map(|p| p["metadata"]["name"].as_str().unwrap().to_owned())
        .collect()
}

/// Replays `KubeNodeNotReady` for the busy node in enforce mode with `settings` (its poll
/// made short, so that waits end promptly): the record, and how long the replay took.
async fn drain_busy_node(
    fake: &FakeKube,
    fleet: &RecordingFleet,
    settings: Settings,
    policy: &reflex_core::policy::Policy,
) -> (reflex_core::audit::AuditRecord, Duration) {
    let kube = reflex_test_support::kube::cluster(
        fake,
        Settings {
            poll_interval: Duration::from_millis(25),
            ..settings
        },
    );
    let alert = String::from_utf8(event("alertmanager/node-not-ready-sick-node.json"))
        .unwrap()
        .replace("ip-10-0-2-41.ec2.internal", BUSY);
    let started = Instant::now();
    let r = replay(&kube, fleet, policy, Mode::Enforce, alert.as_bytes()).await;
    (r, started.elapsed())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn draining_a_node_with_100_pods_evicts_them_in_parallel() {
    let fake = reflex_test_support::kube::start(&cluster_with_a_busy_node()).await;
    let fleet = RecordingFleet::default();
    let (r, took) = drain_busy_node(&fake, &fleet, Settings::default(), &policy(30, 5)).await;

    assert_eq!(r.verdict, Verdict::Executed, "{}", r.reason);
    let evict_steps = r.steps.iter().filter(|s| s.op == "evict").count();
    assert_eq!(evict_steps, PODS);
    assert!(r.steps.iter().all(|s| s.result == StepResult::Ok));
    let evictions = writes(&fake)
        .into_iter()
        .filter(|w| w.path.ends_with("/eviction") && w.status == Some(201))
        .count();
    assert_eq!(evictions, PODS);
    assert_eq!(
        on_node(&fake, BUSY),
        ["agent-x1"],
        "only the DaemonSet pod stays"
    );
    // The fake's ReplicaSet replaces each evicted pod a moment after its eviction.
    let deadline = Instant::now() + Duration::from_secs(3);
    while on_node(&fake, SPARE).len() < PODS && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        on_node(&fake, SPARE).len(),
        PODS,
        "the ReplicaSet replaced them all"
    );
    assert_eq!(
        fleet.calls(),
        [
            ("i-0aaaaaaaaaaaaaaa1".to_owned(), Submit::DryRun),
            ("i-0aaaaaaaaaaaaaaa1".to_owned(), Submit::Apply)
        ]
    );
    #[allow(clippy::print_stdout)] // The figure this test exists to measure.
    {
        println!(
            "drain of {PODS} pods (plan reads, cordon, {PODS} evictions, wait until gone, terminate): {} ms",
            took.as_millis()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_drain_with_more_blocked_pods_than_eviction_slots_ends_at_its_one_deadline() {
    // 100 pods behind a budget at zero, 16 evictions in flight: each eviction used to get
    // the whole drain timeout from the moment it got a slot, so the drain took 7 timeouts
    // (ceil(100 / 16)) instead of one.
    let fake = reflex_test_support::kube::start(&cluster_with_a_busy_node_allowing(0)).await;
    let fleet = RecordingFleet::default();
    let settings = Settings {
        backoff_min: Duration::from_millis(50),
        backoff_max: Duration::from_millis(200),
        ..Settings::default()
    };
    let (r, took) = drain_busy_node(&fake, &fleet, settings, &policy(1, 1)).await;

    assert_eq!(r.verdict, Verdict::Failed, "{}", r.reason);
    let failed = r
        .steps
        .iter()
        .filter(|s| s.op == "evict" && s.result == StepResult::Failed)
        .count();
    assert_eq!(failed, PODS, "every eviction ends at the drain's deadline");
    assert!(
        took < Duration::from_secs(3),
        "one 1 s drain deadline, not one per slot: took {took:?}"
    );
    assert!(fleet.terminated().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_wait_for_evicted_pods_gets_what_the_evictions_left_of_the_drain_timeout() {
    // Evictions that take 1.2 s (a slow API server) and pods that never finish terminating
    // on a Ready node (a stuck kubelet): with a 2 s drain timeout the whole drain ends at
    // about 2 s, not at 1.2 s + a fresh 2 s for the wait.
    let fake = reflex_test_support::kube::start(&cluster_with_a_busy_node()).await;
    fake.kill_kubelet(BUSY);
    fake.faults().delay(
        reflex_fake_kube::Route::regex("/eviction$")
            .unwrap()
            .method("POST"),
        Duration::from_millis(1200),
    );
    let fleet = RecordingFleet::default();
    let settings = Settings {
        eviction_concurrency: PODS + 1,
        ..Settings::default()
    };
    let (r, took) = drain_busy_node(&fake, &fleet, settings, &policy(2, 1)).await;

    assert_eq!(r.verdict, Verdict::Failed, "{}", r.reason);
    assert!(
        r.steps
            .iter()
            .filter(|s| s.op == "evict")
            .all(|s| s.result == StepResult::Ok),
        "{:?}",
        r.steps
    );
    let wait = r.steps.iter().find(|s| s.op == "wait_pods_gone").unwrap();
    assert_eq!(wait.result, StepResult::Failed, "{wait:?}");
    assert!(
        took < Duration::from_millis(2900),
        "one 2 s deadline for the evictions and the wait: took {took:?}"
    );
    assert!(fleet.terminated().is_empty());
}
