//! Node replacement on the paths where it used to get stuck or be refused for the wrong
//! reason: a retry of a replacement reflex began itself, a replacement that stopped long
//! ago, the NotReady cap of a small cluster, and pods that keep data on the node (in an
//! `emptyDir`, or on a local persistent volume, which drains used to evict as if it were
//! network storage). Each test replays `KubeNodeNotReady` for `ip-10-0-2-41` through the
//! real binary against the sample snapshot, edited to tell one story.

// Test helpers outside #[test] functions: a panic there is a failed test too.
#![allow(clippy::unwrap_used)]
mod common;

use common::{decision, event, replay_json, snapshot, temp_file};
use serde_json::Value;

const SICK: &str = "ip-10-0-2-41.ec2.internal";

fn sick_node_alert() -> String {
    event("alertmanager/node-not-ready-sick-node.json")
}

/// The sample snapshot, as JSON, for editing.
fn cluster() -> Value {
    serde_json::from_str(&std::fs::read_to_string(snapshot()).unwrap()).unwrap()
}

fn item<'a>(list: &'a mut Value, kind: &str, name: &str) -> &'a mut Value {
    list["items"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|i| i["kind"] == kind && i["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no {kind} {name}"))
}

/// Marks `node` cordoned by reflex at `at`, as reflex's own cordon patch leaves it.
fn cordon_by_reflex(list: &mut Value, node: &str, at: &str) {
    let n = item(list, "Node", node);
    n["spec"]["unschedulable"] = true.into();
    n["metadata"]["annotations"]["reflex/cordoned-by"] =
        format!("reflex rule kube-node-not-ready for KubeNodeNotReady at {at}").into();
}

/// Replays the sick-node alert against `list` (dry run) with `extra` arguments first.
fn replay(name: &str, list: &Value, extra: &[&str]) -> Value {
    let cluster = temp_file(name, &list.to_string());
    let alert = sick_node_alert();
    let mut args: Vec<&str> = extra.to_vec();
    args.extend(["--cluster", &cluster, &alert]);
    let (code, records) = replay_json(&args);
    assert_eq!(code, 0, "{records:?}");
    assert_eq!(records.len(), 1, "{records:?}");
    records.into_iter().next().unwrap()
}

fn notes(record: &Value) -> Vec<String> {
    record["notes"]
        .as_array()
        .map(|n| n.iter().map(|s| s.as_str().unwrap().to_owned()).collect())
        .unwrap_or_default()
}

fn node_target() -> (String, String, String) {
    (
        "planned".into(),
        "replace_node".into(),
        format!("Node {SICK}"),
    )
}

#[test]
fn a_retry_resumes_a_cordon_reflex_made_itself_instead_of_refusing() {
    // The first attempt cordoned the node and its drain timed out; reflex used to answer
    // every later alert for the node with "already cordoned", and the node stayed cordoned.
    let mut list = cluster();
    cordon_by_reflex(&mut list, SICK, "2026-11-20T09:12:00.000Z");
    let r = replay("resume.json", &list, &[]);
    assert_eq!(decision(&r), node_target(), "{r}");
    assert!(
        notes(&r).iter().any(|n| n.starts_with(&format!(
            "resuming: reflex cordoned node {SICK} at 2026-11-20T09:12:00.000Z"
        ))),
        "{:?}",
        notes(&r)
    );
}

#[test]
fn a_node_reflex_cordoned_long_ago_is_reported_and_no_longer_blocks_replacements() {
    // A replacement that stopped an hour before the alert must not hold the one in-flight
    // slot for ever; on-call hears about that node instead.
    let mut list = cluster();
    cordon_by_reflex(
        &mut list,
        "ip-10-0-1-23.ec2.internal",
        "2026-11-20T08:20:00.000Z",
    );
    let r = replay("stale-cordon.json", &list, &[]);
    assert_eq!(decision(&r), node_target(), "{r}");
    assert!(
        notes(&r).iter().any(|n| n.starts_with(
            "node ip-10-0-1-23.ec2.internal has been cordoned by reflex since 2026-11-20T08:20:00.000Z, longer than the 30m in-flight window"
        )),
        "{:?}",
        notes(&r)
    );
}

#[test]
fn a_node_reflex_cordoned_recently_still_holds_the_in_flight_slot() {
    let mut list = cluster();
    cordon_by_reflex(
        &mut list,
        "ip-10-0-1-23.ec2.internal",
        "2026-11-20T09:20:00.000Z",
    );
    let r = replay("fresh-cordon.json", &list, &[]);
    assert_eq!(r["verdict"], "suppressed", "{r}");
    assert!(
        r["reason"]
            .as_str()
            .unwrap()
            .contains("a node replacement is already in flight (ip-10-0-1-23.ec2.internal)"),
        "{r}"
    );
}

#[test]
fn one_sick_node_of_a_four_node_cluster_can_be_replaced() {
    // 1 of 4 is 25%, over the 20% cap: reflex used to call that a systemic fault, so no
    // node of a cluster under five nodes could ever be replaced.
    let mut list = cluster();
    list["items"].as_array_mut().unwrap().retain(|i| {
        !(i["kind"] == "Node"
            && ["ip-10-0-1-87.ec2.internal", "ip-10-0-3-199.ec2.internal"]
                .contains(&i["metadata"]["name"].as_str().unwrap()))
    });
    let r = replay("four-nodes.json", &list, &[]);
    assert_eq!(decision(&r), node_target(), "{r}");
}

#[test]
fn two_sick_nodes_of_a_four_node_cluster_are_a_systemic_fault() {
    let mut list = cluster();
    list["items"].as_array_mut().unwrap().retain(|i| {
        !(i["kind"] == "Node"
            && ["ip-10-0-1-87.ec2.internal", "ip-10-0-3-199.ec2.internal"]
                .contains(&i["metadata"]["name"].as_str().unwrap()))
    });
    let healthy = item(&mut list, "Node", "ip-10-0-1-23.ec2.internal");
    for condition in healthy["status"]["conditions"].as_array_mut().unwrap() {
        if condition["type"] == "Ready" {
            condition["status"] = "Unknown".into();
        }
    }
    let r = replay("four-nodes-two-down.json", &list, &[]);
    assert_eq!(r["verdict"], "suppressed", "{r}");
    assert!(
        r["reason"]
            .as_str()
            .unwrap()
            .contains("2 of 4 nodes are NotReady (more than 20%, and more than 1 node)"),
        "{r}"
    );
}

fn with_scratch_volume(list: &mut Value) {
    item(list, "Pod", "worker-69d4c8b7f-h7s2d")["spec"]["volumes"] =
        serde_json::json!([{"name": "scratch", "emptyDir": {}}]);
}

#[test]
fn a_node_whose_pods_keep_data_on_it_is_not_drained_by_default() {
    let mut list = cluster();
    with_scratch_volume(&mut list);
    let r = replay("scratch.json", &list, &[]);
    assert_eq!(r["verdict"], "suppressed", "{r}");
    let reason = r["reason"].as_str().unwrap();
    assert!(
        reason.contains("keep data on it: production/worker-69d4c8b7f-h7s2d (emptyDir)"),
        "{reason}"
    );
    assert!(
        reason.contains("guardrails.nodes.evict_local_data"),
        "{reason}"
    );
}

/// The default policy with `nodes.evict_local_data: true`, written to `name`.
fn policy_allowing_local_data(name: &str) -> String {
    let default = String::from_utf8(common::reflex(&["policy", "default"]).stdout).unwrap();
    assert!(default.contains("evict_local_data: false"), "{default}");
    temp_file(
        name,
        &default.replace("evict_local_data: false", "evict_local_data: true"),
    )
}

#[test]
fn a_policy_may_allow_evicting_pods_that_keep_data_on_the_node() {
    let mut list = cluster();
    with_scratch_volume(&mut list);
    let policy = policy_allowing_local_data("evict-local-data.yaml");
    let r = replay("scratch-allowed.json", &list, &["--policy", &policy]);
    assert_eq!(decision(&r), node_target(), "{r}");
    assert!(
        notes(&r)
            .iter()
            .any(|n| n.contains("evict_local_data allows: production/worker-69d4c8b7f-h7s2d")),
        "{:?}",
        notes(&r)
    );
}

const WORKER: &str = "worker-69d4c8b7f-h7s2d";

/// Mounts claim `production/cache` in the worker pod on the sick node.
fn worker_mounts_cache_claim(list: &mut Value) {
    item(list, "Pod", WORKER)["spec"]["volumes"] = serde_json::json!([
        {"name": "cache", "persistentVolumeClaim": {"claimName": "cache"}}
    ]);
}

/// Adds the claim `production/cache`, bound to PersistentVolume `volume` whose source is
/// `source` (`{"local": ...}`, `{"csi": ...}`), as kubectl prints them.
fn with_cache_volume(list: &mut Value, volume: &str, source: Value) {
    worker_mounts_cache_claim(list);
    let mut spec = serde_json::json!({
        "accessModes": ["ReadWriteOnce"], "capacity": {"storage": "10Gi"},
        "claimRef": {"kind": "PersistentVolumeClaim", "namespace": "production", "name": "cache"},
        "persistentVolumeReclaimPolicy": "Delete", "volumeMode": "Filesystem",
    });
    spec.as_object_mut()
        .unwrap()
        .extend(source.as_object().unwrap().clone());
    let items = list["items"].as_array_mut().unwrap();
    items.push(serde_json::json!({
        "apiVersion": "v1", "kind": "PersistentVolumeClaim",
        "metadata": {"name": "cache", "namespace": "production"},
        "spec": {"accessModes": ["ReadWriteOnce"], "volumeName": volume,
                 "resources": {"requests": {"storage": "10Gi"}}},
        "status": {"phase": "Bound"},
    }));
    items.push(serde_json::json!({
        "apiVersion": "v1", "kind": "PersistentVolume",
        "metadata": {"name": volume},
        "spec": spec,
        "status": {"phase": "Bound"},
    }));
}

fn local_source() -> Value {
    serde_json::json!({
        "local": {"path": "/mnt/nvme0"},
        "nodeAffinity": {"required": {"nodeSelectorTerms": [{"matchExpressions": [
            {"key": "kubernetes.io/hostname", "operator": "In", "values": [SICK]}]}]}},
    })
}

fn evicted(record: &Value) -> Vec<String> {
    record["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["op"] == "evict")
        .map(|s| s["call"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn a_node_whose_pod_is_on_a_local_persistent_volume_is_not_drained_by_default() {
    // Drains used to evict such a pod as if its volume were network storage; terminating
    // the node then lost the volume's disk.
    let mut list = cluster();
    with_cache_volume(&mut list, "local-pv-7f3a9c", local_source());
    let r = replay("local-pv.json", &list, &[]);
    assert_eq!(r["verdict"], "suppressed", "{r}");
    let reason = r["reason"].as_str().unwrap();
    assert!(
        reason.contains(&format!(
            "keep data on it: production/{WORKER} (local persistent volume local-pv-7f3a9c)"
        )),
        "{reason}"
    );
    assert!(
        reason.contains("guardrails.nodes.evict_local_data does not allow"),
        "{reason}"
    );
}

#[test]
fn a_policy_may_allow_evicting_pods_on_local_persistent_volumes() {
    let mut list = cluster();
    with_cache_volume(&mut list, "local-pv-7f3a9c", local_source());
    let policy = policy_allowing_local_data("evict-local-pv.yaml");
    let r = replay("local-pv-allowed.json", &list, &["--policy", &policy]);
    assert_eq!(decision(&r), node_target(), "{r}");
    assert!(
        notes(&r).iter().any(|n| n.ends_with(&format!(
            "evict_local_data allows: production/{WORKER} (local persistent volume local-pv-7f3a9c)"
        ))),
        "{:?}",
        notes(&r)
    );
    assert!(evicted(&r).iter().any(|c| c.contains(WORKER)), "{r}");
}

#[test]
fn a_pod_on_an_ebs_volume_is_drained_as_before() {
    let mut list = cluster();
    with_cache_volume(
        &mut list,
        "pvc-5e1d2c7b",
        serde_json::json!({"csi": {"driver": "ebs.csi.aws.com", "fsType": "ext4",
                                   "volumeHandle": "vol-0a9b8c7d6e5f40312"}}),
    );
    let r = replay("ebs-pv.json", &list, &[]);
    assert_eq!(decision(&r), node_target(), "{r}");
    assert_eq!(evicted(&r).len(), 2, "{r}");
    assert!(evicted(&r).iter().any(|c| c.contains(WORKER)), "{r}");
    assert!(
        !notes(&r)
            .iter()
            .any(|n| n.contains("local persistent volume") || n.contains("keep data")),
        "{:?}",
        notes(&r)
    );
}

#[test]
fn a_claim_missing_from_the_snapshot_is_noted_not_refused() {
    let mut list = cluster();
    worker_mounts_cache_claim(&mut list);
    let r = replay("claim-missing.json", &list, &[]);
    assert_eq!(decision(&r), node_target(), "{r}");
    let note = notes(&r)
        .into_iter()
        .find(|n| n.starts_with("not checked for local persistent volumes"))
        .unwrap_or_else(|| panic!("no note of the claim: {r}"));
    assert!(
        note.ends_with(&format!(
            "PersistentVolumeClaim production/cache (mounted by production/{WORKER}) not found"
        )),
        "{note}"
    );
}

#[test]
fn a_snapshot_taken_without_claims_says_so_in_the_note() {
    let mut list = cluster();
    worker_mounts_cache_claim(&mut list);
    list["items"].as_array_mut().unwrap().retain(|i| {
        !["PersistentVolumeClaim", "PersistentVolume"].contains(&i["kind"].as_str().unwrap())
    });
    let r = replay("no-claims.json", &list, &[]);
    assert_eq!(decision(&r), node_target(), "{r}");
    assert!(
        notes(&r).iter().any(|n| n.contains(&format!(
            "PersistentVolumeClaim production/cache (mounted by production/{WORKER}) not found; the snapshot holds no persistentvolumeclaims (add persistentvolumeclaims,persistentvolumes to the kubectl get command that takes it)"
        ))),
        "{:?}",
        notes(&r)
    );
}
