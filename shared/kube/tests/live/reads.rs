//! The planner's reads: one request each, decoded into the core types; 404 is `None`;
//! failures map onto `ClusterError` and never outlive the request timeout.

use std::time::{Duration, Instant};

use reflex_core::cluster::{ClusterError, ClusterView};

use reflex_core::vocab::target::TargetKind;
use reflex_fake_kube::Route;
use reflex_kube::{KubeCluster, KubeError, Settings};

use crate::common::{SICK_INSTANCE, SICK_NODE, cluster, fast, start_voting_app};

#[tokio::test]
async fn each_read_is_one_request_decoded_into_core_types() {
    let fake = start_voting_app().await;
    let kube = cluster(&fake);

    let pod = kube
        .pod("production", "vote-6f7c9b8d5-x2k4q")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(pod.spec.node_name.as_deref(), Some(SICK_NODE));
    assert_eq!(pod.metadata.controller().unwrap().name, "vote-6f7c9b8d5");
    let vote = kube
        .workload(TargetKind::Deployment, "staging", "vote")
        .await
        .unwrap()
        .unwrap();
    assert!(vote.spec.paused);
    let db = kube
        .workload(TargetKind::StatefulSet, "production", "db")
        .await
        .unwrap()
        .unwrap();
    assert!(db.metadata.opted_out());
    assert_eq!(
        kube.replica_sets("staging", &vote.spec.selector)
            .await
            .unwrap()
            .len(),
        2,
        "staging/vote's two ReplicaSets, not the namespace's five"
    );
    assert!(
        kube.replica_set("production", "vote-7c8d6f9b5")
            .await
            .unwrap()
            .unwrap()
            .revision()
            == Some(2)
    );
    let nodes = kube.nodes().await.unwrap();
    assert_eq!(nodes.len(), 6);
    let sick = kube.node(SICK_NODE).await.unwrap().unwrap();
    assert!(!sick.is_ready());
    assert_eq!(sick.instance_id(), Some(SICK_INSTANCE));
    let mut on_node: Vec<String> = kube
        .pods_on_node(SICK_NODE)
        .await
        .unwrap()
        .into_iter()
        .map(|p| p.metadata.name)
        .collect();
    on_node.sort();
    assert_eq!(
        on_node,
        [
            "aws-node-x9c2k",
            "kube-proxy-w4h8c",
            "vote-6f7c9b8d5-x2k4q",
            "worker-69d4c8b7f-h7s2d"
        ]
    );
    let pdbs = kube.pdbs("production").await.unwrap();
    let db_pdb = pdbs.iter().find(|p| p.metadata.name == "db").unwrap();
    assert_eq!(db_pdb.status.disruptions_allowed, 0);
    assert!(kube.namespace("production").await.unwrap().is_some());

    let lines: Vec<String> = fake.requests().iter().map(|r| r.line()).collect();
    assert_eq!(lines.len(), 10, "one request per read: {lines:?}");
    let by_node = fake
        .requests()
        .into_iter()
        .find(|r| r.path == "/api/v1/pods")
        .unwrap();
    assert_eq!(
        by_node.query_param("fieldSelector").as_deref(),
        Some(format!("spec.nodeName={SICK_NODE}").as_str())
    );
}

#[tokio::test]
async fn missing_objects_are_none_not_errors() {
    let fake = start_voting_app().await;
    let kube = cluster(&fake);
    assert!(kube.pod("production", "absent").await.unwrap().is_none());
    assert!(
        kube.workload(TargetKind::DaemonSet, "production", "absent")
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        kube.node("ip-10-0-9-9.ec2.internal")
            .await
            .unwrap()
            .is_none()
    );
    assert!(kube.pdbs("nowhere").await.unwrap().is_empty());
}

#[tokio::test]
async fn a_kubeconfig_file_and_its_context_are_honoured() {
    let fake = start_voting_app().await;
    let path = reflex_test_support::kube::kubeconfig_file(&fake, "kubeconfig");

    for context in [None, Some("fake-kube")] {
        let kube = KubeCluster::from_kubeconfig(&path, context).await.unwrap();
        assert_eq!(kube.nodes().await.unwrap().len(), 6);
    }
    let unknown = KubeCluster::from_kubeconfig(&path, Some("prod")).await;
    assert!(
        matches!(unknown, Err(KubeError::Kubeconfig { .. })),
        "{unknown:?}"
    );
    let missing = KubeCluster::from_kubeconfig(&path.with_file_name("absent"), None).await;
    assert!(
        matches!(missing, Err(KubeError::ReadKubeconfig { .. })),
        "{missing:?}"
    );
    std::fs::remove_file(&path).unwrap();
}

#[tokio::test]
async fn read_failures_map_onto_cluster_errors_and_a_short_burst_is_resent() {
    let fake = start_voting_app().await;
    let kube = cluster(&fake);
    let nodes = || Route::prefix("/api/v1/nodes").method("GET");

    fake.faults().fail_next(nodes(), 2, 500);
    assert_eq!(
        kube.nodes().await.unwrap().len(),
        6,
        "two 500s, then served"
    );

    fake.faults().fail_always(nodes(), 503);
    let unavailable = kube.nodes().await.unwrap_err();
    assert!(
        matches!(&unavailable, ClusterError::Unavailable(m) if m.contains("503")),
        "{unavailable:?}"
    );
    fake.faults().clear();

    fake.faults().fail_always(nodes(), 403);
    let refused = kube.node(SICK_NODE).await.unwrap_err();
    assert!(matches!(refused, ClusterError::Refused(_)), "{refused:?}");
    fake.faults().clear();

    fake.faults().drop_next(nodes(), 10);
    let dropped = kube.nodes().await.unwrap_err();
    assert!(
        matches!(dropped, ClusterError::Unavailable(_)),
        "{dropped:?}"
    );
}

#[tokio::test]
async fn a_read_slower_than_the_request_timeout_fails_in_time() {
    let fake = start_voting_app().await;
    let kube = reflex_test_support::kube::cluster(
        &fake,
        Settings {
            request_timeout: Duration::from_millis(300),
            ..fast()
        },
    );
    fake.faults()
        .delay(Route::prefix("/api/v1/nodes"), Duration::from_secs(5));
    let started = Instant::now();
    let late = kube.nodes().await.unwrap_err();
    let took = started.elapsed();
    assert!(
        matches!(&late, ClusterError::Unavailable(m) if m.contains("no answer within 0.3 s")),
        "{late:?}"
    );
    assert!(took < Duration::from_millis(900), "took {took:?}");
}

#[tokio::test]
async fn autoscalers_and_the_pods_a_selector_picks_are_one_list_each() {
    let fake = start_voting_app().await;
    fake.put_object(serde_json::json!({
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": "vote", "namespace": "production"},
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "vote"},
            "minReplicas": 2,
            "maxReplicas": 10
        }
    }))
    .unwrap();
    let kube = cluster(&fake);
    fake.clear_requests();

    let hpas = kube.hpas("production").await.unwrap();
    assert_eq!(hpas.len(), 1);
    assert_eq!(hpas[0].spec.scale_target_ref.kind, "Deployment");
    assert_eq!(hpas[0].spec.scale_target_ref.name, "vote");
    let vote = kube
        .workload(TargetKind::Deployment, "production", "vote")
        .await
        .unwrap()
        .unwrap();
    let mut pods: Vec<String> = kube
        .pods_selected("production", &vote.spec.selector)
        .await
        .unwrap()
        .into_iter()
        .map(|p| p.metadata.name)
        .collect();
    pods.sort();
    assert_eq!(
        pods,
        [
            "vote-6f7c9b8d5-x2k4q",
            "vote-7c8d6f9b5-k2x9w",
            "vote-7c8d6f9b5-p4t7n"
        ]
    );
    let requests = fake.requests();
    let lines: Vec<String> = requests.iter().map(|r| r.line()).collect();
    assert_eq!(lines.len(), 3, "{lines:?}");
    assert_eq!(
        lines[0],
        "GET /apis/autoscaling/v2/namespaces/production/horizontalpodautoscalers"
    );
    assert_eq!(lines[2], "GET /api/v1/namespaces/production/pods");
    assert_eq!(
        requests[2].query_param("labelSelector").as_deref(),
        Some("app=vote")
    );
}
