//! Nodes Karpenter (or EKS Auto Mode) provisioned, through the real binary against the
//! Karpenter snapshots (`events/cluster/voting-app-karpenter*.json`): a NotReady node
//! replaced through its NodeClaim (cordon, evictions, NodeClaim delete, verify, in that
//! order), a drain blocked by a PodDisruptionBudget (NodeClaim kept, node left cordoned,
//! `failed`), a node no known mechanism owns refused before anything is drained, and the
//! NotReady cap of one NodePool.

// Test helpers outside #[test] functions: a panic there is a failed test too.
#![allow(clippy::unwrap_used)]
mod common;

use common::{decision, event, replay_json, temp_file};
use serde_json::Value;

const KARPENTER_NODE: &str = "ip-10-0-5-34.ec2.internal";
const PDB_NODE: &str = "ip-10-0-5-77.ec2.internal";
const UNOWNED_NODE: &str = "ip-10-0-4-10.ec2.internal";

fn karpenter_cluster() -> String {
    event("cluster/voting-app-karpenter.json")
}

/// Replays `events/alertmanager/<file>` against `cluster` with `extra` arguments first;
/// the exit code and the single record.
fn replay(cluster: &str, file: &str, extra: &[&str]) -> (i32, Value) {
    let alert = event(&format!("alertmanager/{file}"));
    let mut args: Vec<&str> = extra.to_vec();
    args.extend(["--cluster", cluster, &alert]);
    let (code, records) = replay_json(&args);
    assert_eq!(records.len(), 1, "{records:?}");
    (code, records.into_iter().next().unwrap())
}

/// `(op, result)` of every step.
fn steps(record: &Value) -> Vec<(String, String)> {
    record["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["op"].as_str().unwrap().to_owned(),
                s["result"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn step<'a>(record: &'a Value, op: &str) -> &'a Value {
    record["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["op"] == op)
        .unwrap_or_else(|| panic!("no {op} step in {record}"))
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
        .collect()
}

fn reason(record: &Value) -> &str {
    record["reason"].as_str().unwrap()
}

#[test]
fn a_karpenter_node_is_replaced_through_its_nodeclaim_in_order() {
    let cluster = karpenter_cluster();
    let (code, dry) = replay(&cluster, "node-not-ready-karpenter.json", &[]);
    assert_eq!(code, 0, "{dry}");
    assert_eq!(
        decision(&dry),
        (
            "planned".into(),
            "replace_node".into(),
            format!("Node {KARPENTER_NODE}")
        )
    );
    assert!(
        reason(&dry).contains("Karpenter NodeClaim default-8x2kq of NodePool default"),
        "{dry}"
    );
    // The dry run names the NodeClaim call, as every other op names its own.
    let delete = step(&dry, "delete_nodeclaim");
    assert!(
        delete["call"].as_str().unwrap().starts_with(
            "DELETE /apis/karpenter.sh/v1/nodeclaims/default-8x2kq (precondition uid=5e1f0001-"
        ),
        "{delete}"
    );
    assert!(
        !dry["steps"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["op"] == "terminate_instance"),
        "a Karpenter node belongs to no Auto Scaling group: {dry}"
    );

    let (code, run) = replay(&cluster, "node-not-ready-karpenter.json", &["--execute"]);
    assert_eq!(code, 0, "{run}");
    assert_eq!(run["verdict"], "executed", "{run}");
    assert_eq!(
        steps(&run),
        pairs(&[
            ("cordon", "ok"),
            ("evict", "ok"),
            ("wait_pods_gone", "ok"),
            ("delete_nodeclaim", "ok"),
            ("verify_nodeclaim_gone", "ok"),
            ("wait_pool_node", "ok"),
        ])
    );
    assert_eq!(
        step(&run, "evict")["call"],
        "POST /api/v1/namespaces/staging/pods/loadtest-6c9d8f7b5-h2k9x/eviction"
    );
    let joined = step(&run, "wait_pool_node")["detail"].as_str().unwrap();
    assert!(joined.contains("is Ready in NodePool default"), "{joined}");
}

#[test]
fn a_pdb_blocking_a_karpenter_drain_keeps_the_nodeclaim_and_the_cordon() {
    let (code, run) = replay(
        &karpenter_cluster(),
        "node-not-ready-karpenter-pdb-blocks-drain.json",
        &["--execute"],
    );
    assert_eq!(code, 1, "an execution failed: {run}");
    assert_eq!(run["verdict"], "failed", "{run}");
    assert_eq!(
        steps(&run),
        pairs(&[
            ("cordon", "ok"),
            ("evict", "failed"),
            ("wait_pods_gone", "skipped"),
            ("delete_nodeclaim", "skipped"),
            ("verify_nodeclaim_gone", "skipped"),
            ("wait_pool_node", "skipped"),
        ])
    );
    let evict = step(&run, "evict")["detail"].as_str().unwrap();
    assert!(
        evict.contains("PodDisruptionBudget production/exporter"),
        "{evict}"
    );
    assert!(
        reason(&run).contains("failed after changing the cluster (cordon done)"),
        "the record says the node was left cordoned: {run}"
    );
    assert!(
        step(&run, "delete_nodeclaim")["call"]
            .as_str()
            .unwrap()
            .contains(&format!("node {PDB_NODE}"))
    );
}

#[test]
fn a_node_no_known_mechanism_owns_is_not_drained() {
    let (code, r) = replay(
        &karpenter_cluster(),
        "node-unreachable-unowned-instance.json",
        &["--execute"],
    );
    assert_eq!(code, 0, "{r}");
    assert_eq!(
        decision(&r),
        (
            "suppressed".into(),
            "replace_node".into(),
            format!("Node {UNOWNED_NODE}")
        )
    );
    assert!(
        reason(&r).starts_with(&format!("node {UNOWNED_NODE} has no known owner")),
        "{r}"
    );
    assert!(
        r["steps"].as_array().is_none_or(Vec::is_empty),
        "nothing is cordoned or drained: {r}"
    );
}

#[test]
fn a_karpenter_node_found_without_an_owner_reference_is_replaced_by_status() {
    // A node that carries the NodePool label but no owner reference (an older Karpenter,
    // or a reference removed): its NodeClaim is the one whose status.nodeName is the node.
    let mut list: Value =
        serde_json::from_str(&std::fs::read_to_string(karpenter_cluster()).unwrap()).unwrap();
    let node = list["items"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|i| i["kind"] == "Node" && i["metadata"]["name"] == KARPENTER_NODE)
        .unwrap();
    node["metadata"]
        .as_object_mut()
        .unwrap()
        .remove("ownerReferences");
    let cluster = temp_file("karpenter-no-owner-ref.json", &list.to_string());
    let (code, r) = replay(&cluster, "node-not-ready-karpenter.json", &[]);
    assert_eq!(code, 0, "{r}");
    assert_eq!(r["verdict"], "planned", "{r}");
    assert!(
        step(&r, "delete_nodeclaim")["call"]
            .as_str()
            .unwrap()
            .starts_with("DELETE /apis/karpenter.sh/v1/nodeclaims/default-8x2kq"),
        "{r}"
    );
}

#[test]
fn a_karpenter_node_without_a_nodeclaim_in_the_snapshot_is_refused_and_says_why() {
    // A snapshot taken without `nodeclaims`: nothing to delete, and the reason points at
    // the kubectl command.
    let mut list: Value =
        serde_json::from_str(&std::fs::read_to_string(karpenter_cluster()).unwrap()).unwrap();
    list["items"]
        .as_array_mut()
        .unwrap()
        .retain(|i| i["kind"] != "NodeClaim");
    let cluster = temp_file("karpenter-no-nodeclaims.json", &list.to_string());
    let (code, r) = replay(&cluster, "node-not-ready-karpenter.json", &[]);
    assert_eq!(code, 0, "{r}");
    assert_eq!(r["verdict"], "suppressed", "{r}");
    assert!(
        reason(&r).contains("owner reference to NodeClaim default-8x2kq not found")
            && reason(&r).contains("the snapshot holds no nodeclaims"),
        "{r}"
    );
}

#[test]
fn the_not_ready_cap_of_a_nodepool_refuses_with_the_pool_and_its_figures() {
    let (code, r) = replay(
        &event("cluster/voting-app-karpenter-pool-down.json"),
        "node-not-ready-karpenter.json",
        &["--execute"],
    );
    assert_eq!(code, 0, "{r}");
    assert_eq!(
        decision(&r),
        (
            "suppressed".into(),
            "replace_node".into(),
            format!("Node {KARPENTER_NODE}")
        )
    );
    assert_eq!(
        reason(&r),
        "NodePool default: 2 of 5 nodes are NotReady (more than 20%, and more than 1 node): a fault of the pool, not of one node"
    );
    assert!(r["steps"].as_array().is_none_or(Vec::is_empty), "{r}");
}

#[test]
fn a_live_replay_replaces_a_karpenter_node_without_aws_settings() {
    // No Auto Scaling group is involved, so `--execute` against a live cluster needs no
    // REFLEX_CLUSTER_NAME: the NodeClaim delete is a Kubernetes call.
    let seed = std::fs::read(karpenter_cluster()).unwrap();
    let server = reflex_test_support::kube::Background::start(&seed, "karpenter-live");
    let kubeconfig = server.kubeconfig.display().to_string();
    let policy = std::fs::read_to_string(common::repo().join("shared/core/policy/default.yaml"))
        .unwrap()
        .replace("drain: 5m", "drain: 3s")
        .replace("verify: 5m", "verify: 5s");
    let policy = temp_file("karpenter-short-timeouts.yaml", &policy);
    let alert = event("alertmanager/node-not-ready-karpenter.json");

    let (code, records) = replay_json(&[
        "--kubeconfig",
        &kubeconfig,
        "--policy",
        &policy,
        "--execute",
        &alert,
    ]);

    assert_eq!(code, 0, "{records:?}");
    let r = &records[0];
    assert_eq!(r["verdict"], "executed", "{r}");
    assert_eq!(
        steps(r),
        pairs(&[
            ("cordon", "ok"),
            ("evict", "ok"),
            ("wait_pods_gone", "ok"),
            ("delete_nodeclaim", "ok"),
            ("verify_nodeclaim_gone", "ok"),
            ("wait_pool_node", "ok"),
        ])
    );
    let writes: Vec<String> = server
        .fake
        .requests()
        .into_iter()
        .filter(|q| q.method != "GET")
        .map(|q| format!("{} {}", q.method, q.path))
        .collect();
    assert_eq!(
        writes,
        [
            format!("PATCH /api/v1/nodes/{KARPENTER_NODE}"),
            "POST /api/v1/namespaces/staging/pods/loadtest-6c9d8f7b5-h2k9x/eviction".to_owned(),
            "DELETE /apis/karpenter.sh/v1/nodeclaims/default-8x2kq".to_owned(),
        ]
    );
    assert!(
        server
            .fake
            .object("NodeClaim", None, "default-8x2kq")
            .is_none()
    );
}
