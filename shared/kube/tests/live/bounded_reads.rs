//! What a decision reads, from the fake's request log: a pod action decides in at most 8
//! requests and lists nothing cluster-wide; a rollback lists only its Deployment's
//! ReplicaSets; a node replacement reads the node list once, whole, from the watch cache
//! (`resourceVersion=0`), and the node's pods by `spec.nodeName`.

use reflex_core::vocab::verdict::{Mode, Verdict};
use reflex_fake_kube::{FakeKube, RecordedRequest};
use serde_json::{Value, json};

use crate::common::{cluster, policy, run, start_voting_app};

/// The log, each request as `METHOD path?query`.
fn lines(log: &[RecordedRequest]) -> Vec<String> {
    log.iter()
        .map(|r| match &r.query {
            Some(q) => format!("{}?{q}", r.line()),
            None => r.line(),
        })
        .collect()
}

/// Lists of a whole cluster's pods, ReplicaSets, Deployments or nodes: what a pod or
/// workload action must never send.
fn cluster_wide(r: &RecordedRequest) -> bool {
    let unselected =
        r.query_param("labelSelector").is_none() && r.query_param("fieldSelector").is_none();
    r.method == "GET"
        && (matches!(
            r.path.as_str(),
            "/api/v1/pods"
                | "/api/v1/nodes"
                | "/apis/apps/v1/replicasets"
                | "/apis/apps/v1/deployments"
        ) || (r.path.ends_with("/replicasets") || r.path.ends_with("/pods")) && unselected)
}

#[tokio::test]
async fn a_pod_restart_decides_and_acts_in_at_most_8_requests_none_cluster_wide() {
    let fake = start_voting_app().await;
    let r = run(
        &cluster(&fake),
        &policy(2, 2),
        Mode::DryRun,
        "alertmanager/pod-crashloop-worker.json",
    )
    .await;
    assert_eq!(r.verdict, Verdict::Planned, "{}", r.reason);
    let log = fake.requests();
    assert!(log.len() <= 8, "{:#?}", lines(&log));
    assert!(!log.iter().any(cluster_wide), "{:#?}", lines(&log));
    let pod = "/api/v1/namespaces/production/pods/worker-69d4c8b7f-h7s2d";
    assert_eq!(
        log.iter()
            .filter(|q| q.method == "GET" && q.path == pod)
            .count(),
        2,
        "the pod is read once to decide (the escalation ladder shares the read) and once \
         right before the delete: {:#?}",
        lines(&log)
    );
}

#[tokio::test]
async fn a_rollback_lists_only_the_deployments_replica_sets() {
    let fake = start_voting_app().await;
    let r = run(
        &cluster(&fake),
        &policy(2, 2),
        Mode::DryRun,
        "alertmanager/pod-crashloop-vote-recent-rollout.json",
    )
    .await;
    assert_eq!(r.verdict, Verdict::Planned, "{}", r.reason);
    let log = fake.requests();
    assert!(log.len() <= 8, "{:#?}", lines(&log));
    assert!(!log.iter().any(cluster_wide), "{:#?}", lines(&log));
    let listed: Vec<&RecordedRequest> = log
        .iter()
        .filter(|q| q.path == "/apis/apps/v1/namespaces/production/replicasets")
        .collect();
    assert_eq!(listed.len(), 1, "{:#?}", lines(&log));
    assert_eq!(
        listed[0].query_param("labelSelector").as_deref(),
        Some("app=vote")
    );
    assert!(
        fake.objects("ReplicaSet", Some("production")).len() > 3,
        "the namespace holds other Deployments' ReplicaSets too"
    );
}

#[tokio::test]
async fn a_rollout_restart_decides_without_listing_the_cluster() {
    let fake = start_voting_app().await;
    let r = run(
        &cluster(&fake),
        &policy(2, 2),
        Mode::DryRun,
        "eventbridge/pod-restarts-worker.json",
    )
    .await;
    assert_eq!(r.verdict, Verdict::Planned, "{}", r.reason);
    let log = fake.requests();
    assert!(log.len() <= 8, "{:#?}", lines(&log));
    assert!(!log.iter().any(cluster_wide), "{:#?}", lines(&log));
}

/// The sample cluster grown by `extra` Ready nodes (more than one page of 500).
async fn start_with_nodes(extra: usize) -> FakeKube {
    let mut list: Value = serde_json::from_slice(&reflex_test_support::kube::voting_app()).unwrap();
    let items = list["items"].as_array_mut().unwrap();
    items.extend((0..extra).map(|i| {
        json!({
            "apiVersion": "v1", "kind": "Node",
            "metadata": {"name": format!("ip-10-9-{}-{}.ec2.internal", i / 250, i % 250),
                         "labels": {"eks.amazonaws.com/nodegroup": "general"}},
            "spec": {"providerID": format!("aws:///us-east-1a/i-0{i:016x}")},
            "status": {"conditions": [{"type": "Ready", "status": "True"}]},
        })
    }));
    reflex_test_support::kube::start(&serde_json::to_vec(&list).unwrap()).await
}

#[tokio::test]
async fn a_node_replacement_reads_the_node_list_once_from_the_watch_cache() {
    let fake = start_with_nodes(1200).await;
    let r = run(
        &cluster(&fake),
        &policy(2, 2),
        Mode::DryRun,
        "alertmanager/node-not-ready-sick-node.json",
    )
    .await;
    assert_eq!(r.verdict, Verdict::Planned, "{}", r.reason);
    let log = fake.requests();
    let node_lists: Vec<&RecordedRequest> = log
        .iter()
        .filter(|q| q.method == "GET" && q.path == "/api/v1/nodes")
        .collect();
    assert_eq!(
        node_lists.len(),
        1,
        "one read of 1,206 nodes, not one per page: {:#?}",
        lines(&log)
    );
    assert_eq!(
        node_lists[0].query_param("resourceVersion").as_deref(),
        Some("0")
    );
    assert_eq!(node_lists[0].query_param("limit"), None);
    let pods: Vec<&RecordedRequest> = log
        .iter()
        .filter(|q| q.method == "GET" && q.path == "/api/v1/pods")
        .collect();
    assert_eq!(pods.len(), 1, "{:#?}", lines(&log));
    assert_eq!(
        pods[0].query_param("fieldSelector").as_deref(),
        Some("spec.nodeName=ip-10-0-2-41.ec2.internal")
    );
}
