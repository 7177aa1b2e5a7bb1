//! kubectl as the reference client: each action reflex takes is also done by kubectl, on a
//! second fake API server seeded with the same state, and the objects both leave behind are
//! compared (spec, labels, annotations, which pods are left; times excepted).
//!
//! reflex runs as the real binary (`reflex replay --kubeconfig FILE --execute EVENT`, its
//! node replacements ending in moto's Auto Scaling, as with AWS settings in the shell);
//! kubectl is the one `tests/kubectl.sh` found (`REFLEX_KUBECTL`, which `tests/run.sh`
//! sets; without it every test here fails, saying so). Where the two differ on purpose
//! (reflex's own cordon annotation, how a drain blocked by a PodDisruptionBudget ends), the
//! assertion says why.
//!
//! | test | kubectl | reflex event |
//! |---|---|---|
//! | rollback | `rollout undo`, `rollout status` | crash loop after a fresh rollout of production/vote |
//! | restart | `rollout restart`, `rollout status` | pod restarts of production/worker, revision old |
//! | cordon | `cordon` (and `--dry-run=server`) | the NotReady node (its replacement cordons first) |
//! | drain | `drain --ignore-daemonsets` (and `--dry-run=server`) | the NotReady node, with a DaemonSet, a mirror, a budgeted and an ordinary pod |
//! | blocked drain | `drain --timeout` | the node whose pod's budget allows no disruption |

#![allow(clippy::unwrap_used)] // Tests: a failed unwrap is a failed test with its message.

mod common;

use std::collections::BTreeSet;

use common::{event, fleet_env, pairs, replay_json_env, short_policy};
use reflex_fake_kube::FakeKube;
use reflex_test_support::asg;
use reflex_test_support::kube::{Background, voting_app};
use reflex_test_support::kubectl::Kubectl;
use serde_json::{Value, json};

const ROLLBACK: &str = "alertmanager/pod-crashloop-vote-recent-rollout.json";
const RESTART: &str = "sns-cloudwatch/pod-restarts-worker.json";
const SICK_NODE: &str = "alertmanager/node-not-ready-sick-node.json";
const PDB_NODE: &str = "alertmanager/node-not-ready-db-node-pdb-blocks-drain.json";
const SICK: &str = "ip-10-0-2-41.ec2.internal";
const DB_NODE: &str = "ip-10-0-3-12.ec2.internal";
const RESTARTED_AT: &str = "kubectl.kubernetes.io/restartedAt";
const CORDONED_BY: &str = "reflex/cordoned-by";

/// Two fakes seeded with the same state: one for kubectl, one for reflex, whose node
/// replacements terminate their instance in an Auto Scaling group on moto.
struct Pair {
    kubectl_side: Background,
    reflex_side: Background,
    kubectl: Kubectl,
    aws_env: Vec<(&'static str, String)>,
}

/// The instances behind the sample's NotReady node and its db node.
const SAMPLE_INSTANCES: [&str; 2] = ["i-0b7d3a9f1e6c24c58", "i-0c3a8e5d7f2b91a04"];

/// `seed` with its nodes' instances moved into a new Auto Scaling group of cluster
/// `voting-prod` on moto, and the environment that lets reflex terminate them there.
fn on_moto(seed: &Value) -> (Vec<u8>, Vec<(&'static str, String)>) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let tag = ("kubernetes.io/cluster/voting-prod".to_owned(), "owned");
    let (_, ids) = runtime.block_on(asg::group(Some(tag)));
    let mut text = seed.to_string();
    for (sample, moto) in SAMPLE_INSTANCES.iter().zip(&ids) {
        text = text.replace(sample, moto);
    }
    (text.into_bytes(), fleet_env())
}

impl Pair {
    fn start(name: &str, seed: &Value) -> Self {
        let (bytes, aws_env) = on_moto(seed);
        let kubectl_side = Background::start(&bytes, &format!("{name}-kubectl"));
        let reflex_side = Background::start(&bytes, &format!("{name}-reflex"));
        let kubectl = Kubectl::new(&kubectl_side.kubeconfig);
        Self {
            kubectl_side,
            reflex_side,
            kubectl,
            aws_env,
        }
    }

    /// Both fakes' pod replacement switched off, so that the pods a drain evicts stay gone
    /// on both (each ReplicaSet would bring its own replacement, under a generated name).
    fn without_pod_replacement(self) -> Self {
        for side in [&self.kubectl_side, &self.reflex_side] {
            side.fake.controllers().set_replace_pods(false);
        }
        self
    }

    /// `reflex replay --format json --kubeconfig .. --policy (short timeouts) [--execute] EVENT`
    /// on the reflex side: the exit code and the one record.
    fn reflex(&self, rel: &str, execute: bool) -> (i32, Value) {
        let kubeconfig = self.reflex_side.kubeconfig.display().to_string();
        let policy = short_policy();
        let event = event(rel);
        let mut args = vec!["--kubeconfig", &kubeconfig, "--policy", &policy];
        if execute {
            args.push("--execute");
        }
        args.push(&event);
        let (code, mut records) = replay_json_env(&args, &pairs(&self.aws_env));
        assert_eq!(records.len(), 1, "{records:?}");
        (code, records.remove(0))
    }

    fn fakes(&self) -> [&FakeKube; 2] {
        [&self.kubectl_side.fake, &self.reflex_side.fake]
    }
}

/// The sample cluster as JSON, with `edit` applied to its items.
fn sample(edit: impl FnOnce(&mut Vec<Value>)) -> Value {
    let mut list: Value = serde_json::from_slice(&voting_app()).unwrap();
    edit(list["items"].as_array_mut().unwrap());
    list
}

fn item<'a>(items: &'a mut [Value], kind: &str, name: &str) -> &'a mut Value {
    items
        .iter_mut()
        .find(|i| i["kind"] == kind && i["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no {kind} {name} in the sample"))
}

fn annotate(object: &mut Value, key: &str, value: &str) {
    object["metadata"]["annotations"][key] = json!(value);
}

/// What a client's action decides about an object: its labels, annotations and spec, times
/// excepted: the restart timestamp (kubectl writes its clock, reflex the alert's) is
/// replaced by whether it is an RFC 3339 time, and a template's `creationTimestamp: null`
/// is dropped (kubectl sends the pod template as Go's typed object, whose unset time
/// serializes as `null`; reflex sends the template as it read it, without one).
fn decided(fake: &FakeKube, kind: &str, namespace: Option<&str>, name: &str) -> Value {
    let object = fake
        .object(kind, namespace, name)
        .unwrap_or_else(|| panic!("{kind} {name} is gone"));
    let mut spec = object["spec"].clone();
    let pointer = format!(
        "/template/metadata/annotations/{}",
        RESTARTED_AT.replace('/', "~1")
    );
    if let Some(metadata) = spec
        .pointer_mut("/template/metadata")
        .and_then(Value::as_object_mut)
        .filter(|m| m.get("creationTimestamp") == Some(&Value::Null))
    {
        metadata.remove("creationTimestamp");
    }
    if let Some(at) = spec.pointer_mut(&pointer) {
        let parses = at
            .as_str()
            .is_some_and(|t| chrono::DateTime::parse_from_rfc3339(t).is_ok());
        *at = json!(if parses {
            "<RFC 3339 time>"
        } else {
            "<not a time>"
        });
    }
    json!({
        "labels": object["metadata"]["labels"],
        "annotations": object["metadata"]["annotations"],
        "generation": object["metadata"]["generation"],
        "spec": spec,
    })
}

/// The names of the pods on `node`.
fn pods_on(fake: &FakeKube, node: &str) -> BTreeSet<String> {
    fake.objects("Pod", None)
        .iter()
        .filter(|p| p["spec"]["nodeName"] == node)
        .map(|p| {
            format!(
                "{}/{}",
                p["metadata"]["namespace"].as_str().unwrap(),
                p["metadata"]["name"].as_str().unwrap()
            )
        })
        .collect()
}

/// The pods an eviction was sent for (and answered 201), as `namespace/name`.
fn evicted(fake: &FakeKube) -> BTreeSet<String> {
    fake.requests()
        .iter()
        .filter(|r| r.method == "POST" && r.path.ends_with("/eviction") && r.status == Some(201))
        .map(|r| {
            let parts: Vec<&str> = r.path.split('/').collect();
            format!("{}/{}", parts[4], parts[6])
        })
        .collect()
}

/// The status of PodDisruptionBudget `production/{name}`.
fn budget(fake: &FakeKube, name: &str) -> Value {
    fake.object("PodDisruptionBudget", Some("production"), name)
        .unwrap()["status"]
        .clone()
}

/// Every request that is not a read, and whether all of them asked for `dryRun=All`.
fn writes_all_dry_run(fake: &FakeKube) -> (usize, bool) {
    let writes: Vec<_> = fake
        .requests()
        .into_iter()
        .filter(|r| r.method != "GET")
        .collect();
    (writes.len(), writes.iter().all(|w| w.is_dry_run()))
}

#[test]
fn rollout_undo_and_a_reflex_rollback_leave_the_same_deployment_and_history() {
    // Each revision says what it deployed, as the deployment controller copies a
    // Deployment's annotations onto the ReplicaSet of each of its revisions.
    let seed = sample(|items| {
        let vote = item(items, "Deployment", "vote");
        annotate(
            vote,
            "kubernetes.io/change-cause",
            "vote 1.4.0: new ballot page",
        );
        annotate(vote, "team", "ballots");
        for (rs, cause) in [
            ("vote-5d9c7b4f8", "vote 1.3.0"),
            ("vote-7c8d6f9b5", "vote 1.3.1: fix tally rounding"),
            ("vote-6f7c9b8d5", "vote 1.4.0: new ballot page"),
        ] {
            let rs = item(items, "ReplicaSet", rs);
            annotate(rs, "kubernetes.io/change-cause", cause);
            annotate(rs, "team", "ballots");
        }
    });
    let pair = Pair::start("rollback", &seed);

    let undone = pair
        .kubectl
        .ok(&["rollout", "undo", "deployment/vote", "-n", "production"]);
    assert!(undone.contains("rolled back"), "{undone}");
    let status = pair.kubectl.ok(&[
        "rollout",
        "status",
        "deployment/vote",
        "-n",
        "production",
        "--timeout=30s",
    ]);
    assert!(status.contains("successfully rolled out"), "{status}");
    let (code, record) = pair.reflex(ROLLBACK, true);
    assert_eq!(
        (code, &record["verdict"]),
        (0, &json!("executed")),
        "{record}"
    );

    let [by_kubectl, by_reflex] = pair
        .fakes()
        .map(|f| decided(f, "Deployment", Some("production"), "vote"));
    assert_eq!(by_reflex, by_kubectl, "the rolled-back Deployment");
    assert_eq!(
        by_kubectl["annotations"]["kubernetes.io/change-cause"], "vote 1.3.1: fix tally rounding",
        "kubectl restores the revision's annotations with its template"
    );
    for rs in ["vote-5d9c7b4f8", "vote-7c8d6f9b5", "vote-6f7c9b8d5"] {
        let [by_kubectl, by_reflex] = pair
            .fakes()
            .map(|f| decided(f, "ReplicaSet", Some("production"), rs));
        assert_eq!(by_reflex, by_kubectl, "ReplicaSet {rs}");
    }
    let history = |side: &Background| {
        Kubectl::new(&side.kubeconfig).ok(&[
            "rollout",
            "history",
            "deployment/vote",
            "-n",
            "production",
        ])
    };
    assert_eq!(history(&pair.reflex_side), history(&pair.kubectl_side));
}

#[test]
fn rollout_restart_and_a_reflex_restart_set_the_same_template_annotation() {
    let pair = Pair::start("restart", &sample(|_| {}));

    let restarted = pair.kubectl.ok(&[
        "rollout",
        "restart",
        "deployment/worker",
        "-n",
        "production",
    ]);
    assert!(restarted.contains("restarted"), "{restarted}");
    pair.kubectl.ok(&[
        "rollout",
        "status",
        "deployment/worker",
        "-n",
        "production",
        "--timeout=30s",
    ]);
    let (code, record) = pair.reflex(RESTART, true);
    assert_eq!(
        (code, &record["verdict"]),
        (0, &json!("executed")),
        "{record}"
    );
    assert_eq!(record["action"]["kind"], "rollout_restart", "{record}");

    let [by_kubectl, by_reflex] = pair
        .fakes()
        .map(|f| decided(f, "Deployment", Some("production"), "worker"));
    assert_eq!(
        by_kubectl["spec"]["template"]["metadata"]["annotations"][RESTARTED_AT], "<RFC 3339 time>",
        "{by_kubectl}"
    );
    assert_eq!(by_reflex, by_kubectl, "the restarted Deployment");
}

#[test]
fn cordon_and_the_cordon_of_a_reflex_node_replacement_leave_the_same_node() {
    let pair = Pair::start("cordon", &sample(|_| {}));

    let cordoned = pair.kubectl.ok(&["cordon", SICK]);
    assert!(cordoned.contains("cordoned"), "{cordoned}");
    // The replacement cordons, drains and terminates the instance in its group on moto.
    let (code, record) = pair.reflex(SICK_NODE, true);
    assert_eq!(code, 0, "{record}");
    assert_eq!(record["steps"][0]["op"], "cordon", "{record}");
    assert_eq!(record["steps"][0]["result"], "ok", "{record}");

    let [by_kubectl, mut by_reflex] = pair.fakes().map(|f| decided(f, "Node", None, SICK));
    assert_eq!(by_kubectl["spec"]["unschedulable"], true, "{by_kubectl}");
    let reason = by_reflex["annotations"]
        .as_object_mut()
        .and_then(|a| a.remove(CORDONED_BY));
    assert!(
        reason.is_some(),
        "reflex records why it cordoned the node, which marks a replacement in flight for the \
         next alert; kubectl sets no annotation: {by_reflex}"
    );
    assert_eq!(
        by_reflex, by_kubectl,
        "the cordoned node, reflex's own annotation aside"
    );
}

#[test]
fn a_server_dry_run_cordon_changes_nothing_for_either_client() {
    let pair = Pair::start("cordon-dry-run", &sample(|_| {}));
    let before = pair.kubectl_side.fake.snapshot();

    let out = pair.kubectl.ok(&["cordon", SICK, "--dry-run=server"]);
    assert!(out.contains("(server dry run)"), "{out}");
    let (code, record) = pair.reflex(SICK_NODE, false);
    assert_eq!(
        (code, &record["verdict"]),
        (0, &json!("planned")),
        "{record}"
    );

    for fake in pair.fakes() {
        assert_eq!(fake.snapshot(), before);
        let (writes, dry_run) = writes_all_dry_run(fake);
        assert!(writes >= 1 && dry_run, "{:?}", fake.requests());
    }
}

/// The sample with a static pod's mirror on the NotReady node, besides its DaemonSet pods,
/// its pod under PodDisruptionBudget production/vote (one disruption allowed) and its
/// ordinary pod.
fn node_with_every_kind_of_pod() -> Value {
    sample(|items| {
        let mut mirror = item(items, "Pod", "kube-proxy-w4h8c").clone();
        mirror["metadata"] = json!({
            "name": format!("node-problem-detector-{SICK}"),
            "namespace": "kube-system",
            // Fixed, so that the two fakes, seeded a moment apart, hold the same pod.
            "creationTimestamp": "2026-11-20T08:00:00Z",
            "annotations": {
                "kubernetes.io/config.mirror": "6d1f0c8e2b7a4e59a3c1f0d9b8e7a6c5",
                "kubernetes.io/config.source": "file",
            },
            "ownerReferences": [{"apiVersion": "v1", "kind": "Node", "name": SICK,
                "uid": "7f0c3f5e-8a51-4c56-9d0e-2b9f4a1e6c11", "controller": true}],
        });
        items.push(mirror);
    })
}

#[test]
fn drain_and_a_reflex_drain_evict_the_same_pods_and_leave_the_rest() {
    let pair = Pair::start("drain", &node_with_every_kind_of_pod()).without_pod_replacement();
    let on_node = pods_on(&pair.kubectl_side.fake, SICK);
    let budget_before = budget(&pair.kubectl_side.fake, "vote");

    let run = pair
        .kubectl
        .run(&["drain", SICK, "--ignore-daemonsets", "--timeout=30s"]);
    assert_eq!(run.code, 0, "{run:?}");
    let (code, record) = pair.reflex(SICK_NODE, true);
    assert_eq!(
        code, 0,
        "drained, then the instance terminated on moto: {record}"
    );
    let wait = record["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["op"] == "wait_pods_gone")
        .unwrap();
    assert_eq!(wait["result"], "ok", "{record}");

    let [by_kubectl, by_reflex] = pair.fakes().map(evicted);
    assert_eq!(
        by_kubectl,
        BTreeSet::from([
            "production/vote-6f7c9b8d5-x2k4q".to_owned(),
            "production/worker-69d4c8b7f-h7s2d".to_owned()
        ])
    );
    assert_eq!(by_reflex, by_kubectl, "the pods evicted");
    let [left_by_kubectl, left_by_reflex] = pair.fakes().map(|f| pods_on(f, SICK));
    assert_eq!(left_by_reflex, left_by_kubectl, "the pods left on the node");
    assert_eq!(
        &left_by_kubectl | &by_kubectl,
        on_node,
        "DaemonSet and mirror pods stay, every other pod is evicted"
    );
    // The budgeted pod runs the crash-looping revision 3 and is not Ready, so its eviction
    // spends no disruption (kube-apiserver's rule for unhealthy pods): on neither side.
    for fake in pair.fakes() {
        assert_eq!(
            budget(fake, "vote"),
            budget_before,
            "PodDisruptionBudget production/vote"
        );
    }
    let [node_k, node_r] = pair
        .fakes()
        .map(|f| decided(f, "Node", None, SICK)["spec"].clone());
    assert_eq!(node_r, node_k, "the drained node");
}

#[test]
fn a_server_dry_run_drain_sends_the_same_evictions_and_changes_nothing() {
    let pair =
        Pair::start("drain-dry-run", &node_with_every_kind_of_pod()).without_pod_replacement();
    let before = pair.kubectl_side.fake.snapshot();

    let run = pair
        .kubectl
        .run(&["drain", SICK, "--ignore-daemonsets", "--dry-run=server"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains("(server dry run)"), "{run:?}");
    let (code, record) = pair.reflex(SICK_NODE, false);
    assert_eq!(
        (code, &record["verdict"]),
        (0, &json!("planned")),
        "{record}"
    );

    let [by_kubectl, by_reflex] = pair.fakes().map(evicted);
    assert_eq!(by_kubectl.len(), 2, "{by_kubectl:?}");
    assert_eq!(by_reflex, by_kubectl, "the evictions sent as dry runs");
    for fake in pair.fakes() {
        assert_eq!(fake.snapshot(), before);
        assert!(writes_all_dry_run(fake).1, "{:?}", fake.requests());
    }
}

#[test]
fn a_drain_a_budget_blocks_fails_for_both_clients_and_leaves_the_node_cordoned() {
    let pair = Pair::start("drain-blocked", &sample(|_| {})).without_pod_replacement();
    let budget_before = budget(&pair.kubectl_side.fake, "db");

    let run = pair
        .kubectl
        .run(&["drain", DB_NODE, "--ignore-daemonsets", "--timeout=3s"]);
    assert_ne!(run.code, 0, "{run:?}");
    assert!(run.stderr.contains("disruption budget"), "{run:?}");
    let (code, record) = pair.reflex(PDB_NODE, true);
    assert_eq!(
        (code, &record["verdict"]),
        (1, &json!("failed")),
        "{record}"
    );

    let [left_by_kubectl, left_by_reflex] = pair.fakes().map(|f| pods_on(f, DB_NODE));
    assert!(
        left_by_kubectl.contains("production/db-0"),
        "{left_by_kubectl:?}"
    );
    assert_eq!(left_by_reflex, left_by_kubectl, "the pods left on the node");
    let [by_kubectl, by_reflex] = pair.fakes().map(evicted);
    assert_eq!(
        by_reflex, by_kubectl,
        "the pods evicted before the budget stopped the drain"
    );
    for fake in pair.fakes() {
        assert_eq!(budget(fake, "db"), budget_before, "the budget is untouched");
        assert_eq!(
            decided(fake, "Node", None, DB_NODE)["spec"]["unschedulable"],
            true,
            "a failed drain leaves the node cordoned"
        );
    }
}
