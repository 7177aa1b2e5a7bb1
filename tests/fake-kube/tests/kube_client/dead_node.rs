//! A node whose kubelet is gone: deleted and evicted pods stay Terminating, with their
//! `deletionTimestamp`, until they are force-deleted, the node is deleted, or the kubelet
//! comes back.

use std::time::Duration;

use k8s_openapi::api::core::v1::{Node, Pod};
use kube::Api;
use kube::api::{DeleteParams, EvictParams};
use reflex_fake_kube::ControllerSettings;

use crate::common::{NODE_1, VOTE_POD_1, client, eventually, start};

fn terminating(pod: &serde_json::Value) -> bool {
    pod["metadata"]["deletionTimestamp"].is_string()
}

#[tokio::test]
async fn an_evicted_pod_on_a_dead_node_stays_terminating_until_the_node_is_deleted() {
    let fake = start().await;
    fake.kill_kubelet(NODE_1);
    assert_eq!(fake.dead_kubelets(), [NODE_1]);
    let pods: Api<Pod> = Api::namespaced(client(&fake), "production");

    let status = pods
        .evict(VOTE_POD_1, &EvictParams::default())
        .await
        .unwrap();

    assert_eq!(status.code, 201);
    let pod = pods.get(VOTE_POD_1).await.unwrap();
    let deletion = pod.metadata.deletion_timestamp.expect("Terminating").0;
    let ahead = deletion
        .duration_since(k8s_openapi::jiff::Timestamp::now())
        .as_secs();
    assert!(
        (28..=31).contains(&ahead),
        "deletion at the end of the 30 s grace: {ahead}"
    );
    assert_eq!(pod.metadata.deletion_grace_period_seconds, Some(30));
    // The ReplicaSet does not count a Terminating pod: a replacement comes.
    assert!(
        eventually(Duration::from_secs(2), || {
            fake.objects("Pod", Some("production"))
                .iter()
                .filter(|p| p["metadata"]["name"].as_str().unwrap().starts_with("vote-"))
                .filter(|p| !terminating(p))
                .count()
                == 2
        })
        .await
    );
    // Evicting it again is admitted without spending budget, and changes nothing.
    let budget_before = fake.object("PodDisruptionBudget", Some("production"), "vote");
    pods.evict(VOTE_POD_1, &EvictParams::default())
        .await
        .unwrap();
    assert_eq!(
        fake.object("PodDisruptionBudget", Some("production"), "vote"),
        budget_before
    );
    assert!(terminating(
        &fake.object("Pod", Some("production"), VOTE_POD_1).unwrap()
    ));

    let nodes: Api<Node> = Api::all(client(&fake));
    nodes
        .delete(NODE_1, &DeleteParams::default())
        .await
        .unwrap();
    assert!(fake.object("Pod", Some("production"), VOTE_POD_1).is_none());
    assert!(
        fake.objects("Pod", None)
            .iter()
            .all(|p| p["spec"]["nodeName"] != NODE_1),
        "the pod garbage collector removes every pod of a deleted node"
    );
}

#[tokio::test]
async fn a_force_delete_or_a_revived_kubelet_removes_a_terminating_pod() {
    let fake = start().await;
    fake.controllers().set(ControllerSettings::off());
    fake.kill_kubelet(NODE_1);
    let pods: Api<Pod> = Api::namespaced(client(&fake), "production");

    pods.delete(VOTE_POD_1, &DeleteParams::default())
        .await
        .unwrap();
    assert!(terminating(
        &fake.object("Pod", Some("production"), VOTE_POD_1).unwrap()
    ));
    fake.revive_kubelet(NODE_1);
    assert!(fake.object("Pod", Some("production"), VOTE_POD_1).is_none());
    assert!(fake.dead_kubelets().is_empty());

    fake.kill_kubelet(NODE_1);
    pods.delete("debug-shell", &DeleteParams::default())
        .await
        .unwrap();
    assert!(
        fake.object("Pod", Some("production"), "debug-shell")
            .is_some()
    );
    pods.delete("debug-shell", &DeleteParams::default().grace_period(0))
        .await
        .unwrap();
    assert!(
        fake.object("Pod", Some("production"), "debug-shell")
            .is_none()
    );
}
