//! The `fake-cluster` generator: its snapshot seeds the server, and what it adds has the
//! voting-app shape (node groups, a Karpenter NodePool, zones, revision history, PDBs, pods
//! owned by the newest ReplicaSet and spread over the added nodes).

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

use k8s_openapi::api::apps::v1::ReplicaSet;
use k8s_openapi::api::core::v1::{Node, Pod};
use kube::api::ListParams;
use kube::{Api, ResourceExt};
use reflex_fake_kube::FakeKube;

use crate::common::client;

/// Runs the generator with `args` over the Karpenter sample snapshot; its output bytes.
fn generate(args: &[&str]) -> Vec<u8> {
    let base = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../events/cluster/voting-app-karpenter.json"
    );
    let out = Command::new(env!("CARGO_BIN_EXE_fake-cluster"))
        .args(["--base", base])
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

#[tokio::test]
async fn generated_cluster_seeds_the_server_with_pools_zones_revisions_and_spread_pods() {
    let args = [
        "--nodes",
        "30",
        "--deployments",
        "4",
        "--pods",
        "90",
        "--revisions",
        "3",
    ];
    let snapshot = generate(&args);
    assert_eq!(
        snapshot,
        generate(&args),
        "the same arguments write the same bytes"
    );
    let fake = FakeKube::start(&snapshot).await.unwrap();
    let c = client(&fake);

    let nodes = Api::<Node>::all(c.clone())
        .list(&ListParams::default())
        .await
        .unwrap();
    let added: Vec<&Node> = nodes
        .items
        .iter()
        .filter(|n| n.name_any().starts_with("ip-10-16-"))
        .collect();
    assert_eq!(added.len(), 30);
    let label = |n: &Node, key: &str| n.labels().get(key).cloned().unwrap_or_default();
    let pools: BTreeSet<String> = added
        .iter()
        .map(|n| {
            format!(
                "{}{}",
                label(n, "eks.amazonaws.com/nodegroup"),
                label(n, "karpenter.sh/nodepool")
            )
        })
        .collect();
    assert_eq!(
        pools,
        BTreeSet::from(["compute".into(), "default".into(), "general".into()])
    );
    let zones: BTreeSet<String> = added
        .iter()
        .map(|n| label(n, "topology.kubernetes.io/zone"))
        .collect();
    assert_eq!(zones.len(), 3);
    for karpenter in added
        .iter()
        .filter(|n| !label(n, "karpenter.sh/nodepool").is_empty())
    {
        let claim = &karpenter.owner_references()[0];
        let seeded = fake.object("NodeClaim", None, &claim.name).unwrap();
        assert_eq!(seeded["status"]["nodeName"], karpenter.name_any().as_str());
    }

    let sets = Api::<ReplicaSet>::namespaced(c.clone(), "team-00")
        .list(&ListParams::default().labels("app=app-0000"))
        .await
        .unwrap();
    let revisions: BTreeSet<&str> = sets
        .items
        .iter()
        .map(|rs| rs.annotations()["deployment.kubernetes.io/revision"].as_str())
        .collect();
    assert_eq!(revisions, BTreeSet::from(["1", "2", "3"]));
    let newest = sets
        .items
        .iter()
        .find(|rs| rs.annotations()["deployment.kubernetes.io/revision"] == "3")
        .unwrap();

    let pods = Api::<Pod>::all(c)
        .list(&ListParams::default().labels("pod-template-hash"))
        .await
        .unwrap();
    let generated: Vec<&Pod> = pods
        .items
        .iter()
        .filter(|p| p.name_any().starts_with("app-"))
        .collect();
    assert_eq!(generated.len(), 90);
    let mut per_node: BTreeMap<String, usize> = BTreeMap::new();
    for pod in &generated {
        let node = pod.spec.as_ref().unwrap().node_name.clone().unwrap();
        *per_node.entry(node).or_default() += 1;
    }
    assert_eq!(per_node.len(), 30, "pods spread over every added node");
    assert!(per_node.values().all(|n| *n == 3), "{per_node:?}");
    let of_app0 = generated
        .iter()
        .find(|p| p.labels()["app"] == "app-0000")
        .unwrap();
    assert_eq!(of_app0.owner_references()[0].uid, newest.uid().unwrap());
    assert!(
        fake.object("PodDisruptionBudget", Some("team-00"), "app-0000")
            .is_some()
    );
    // The sample objects are still there, unchanged.
    assert!(
        fake.object("Pod", Some("production"), "vote-6f7c9b8d5-x2k4q")
            .is_some()
    );
}

#[tokio::test]
async fn request_log_counts_the_bytes_of_each_answer() {
    let fake = FakeKube::start(&generate(&[
        "--nodes",
        "5",
        "--deployments",
        "1",
        "--pods",
        "5",
    ]))
    .await
    .unwrap();
    let nodes = Api::<Node>::all(client(&fake));
    nodes.list(&ListParams::default()).await.unwrap();
    nodes.get("ip-10-16-0-1.ec2.internal").await.unwrap();
    let log = fake.requests();
    let bytes: Vec<u64> = log.iter().map(|r| r.bytes.unwrap()).collect();
    let whole = serde_json::to_vec(
        &fake
            .object("Node", None, "ip-10-16-0-1.ec2.internal")
            .unwrap(),
    )
    .unwrap();
    assert_eq!(bytes[1], whole.len() as u64, "a GET answers one object");
    assert!(
        bytes[0] > 20 * bytes[1],
        "a list of 20 nodes is bigger than one: {bytes:?}"
    );
}
