//! The controller steps: a replacement after a delete, a completed rollout after a
//! template change; and nothing of the sort when they are off.

use std::time::Duration;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Node, Pod};
use kube::api::{DeleteParams, ListParams, Patch, PatchParams};
use kube::{Api, ResourceExt};
use reflex_fake_kube::{ControllerSettings, FakeKube};
use serde_json::{Value, json};

use crate::common::{NODE_1, NODE_2, VOTE_POD_1, client, eventually, start};

const WITHIN: Duration = Duration::from_secs(3);

fn revision(replica_set: &Value) -> &str {
    replica_set["metadata"]["annotations"]["deployment.kubernetes.io/revision"]
        .as_str()
        .unwrap()
}

fn replica_sets(fake: &FakeKube) -> Vec<Value> {
    fake.objects("ReplicaSet", Some("production"))
}

fn rollout_done(fake: &FakeKube) -> bool {
    let deployment = fake
        .object("Deployment", Some("production"), "vote")
        .unwrap();
    deployment["status"]["observedGeneration"] == deployment["metadata"]["generation"]
}

#[tokio::test]
async fn deleted_replicaset_pod_is_replaced_on_a_schedulable_node() {
    let fake = start().await;
    let client = client(&fake);
    let nodes: Api<Node> = Api::all(client.clone());
    let pods: Api<Pod> = Api::namespaced(client, "production");
    nodes
        .patch(
            NODE_1,
            &PatchParams::default(),
            &Patch::Merge(json!({ "spec": { "unschedulable": true } })),
        )
        .await
        .unwrap();
    pods.delete(VOTE_POD_1, &DeleteParams::default())
        .await
        .unwrap();

    let vote = ListParams::default().labels("app=vote");
    let mut replaced = Vec::new();
    for _ in 0..150 {
        replaced = pods.list(&vote).await.unwrap().items;
        if replaced.len() == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let replacement = replaced
        .iter()
        .find(|p| p.name_any() != crate::common::VOTE_POD_2)
        .expect("a replacement pod");
    assert!(replacement.name_any().starts_with("vote-7d9f8b6c5d-"));
    assert_eq!(
        replacement.spec.as_ref().unwrap().node_name.as_deref(),
        Some(NODE_2)
    );
    assert_eq!(replacement.owner_references()[0].name, "vote-7d9f8b6c5d");
    let ready = replacement
        .status
        .as_ref()
        .unwrap()
        .conditions
        .as_ref()
        .unwrap();
    assert!(
        ready
            .iter()
            .any(|c| c.type_ == "Ready" && c.status == "True")
    );
}

#[tokio::test]
async fn rollout_restart_completes_with_a_new_revision() {
    let fake = start().await;
    let deployments: Api<Deployment> = Api::namespaced(client(&fake), "production");
    let restart = json!({ "spec": { "template": { "metadata": { "annotations": {
        "kubectl.kubernetes.io/restartedAt": "2025-06-02T09:30:00Z" } } } } });
    deployments
        .patch("vote", &PatchParams::default(), &Patch::Strategic(&restart))
        .await
        .unwrap();
    assert!(eventually(WITHIN, || rollout_done(&fake)).await);

    let deployment = deployments.get("vote").await.unwrap();
    let status = deployment.status.unwrap();
    assert_eq!(
        (
            status.observed_generation,
            status.updated_replicas,
            status.available_replicas
        ),
        (Some(3), Some(2), Some(2))
    );
    assert_eq!(
        deployment.metadata.annotations.unwrap()["deployment.kubernetes.io/revision"],
        "3"
    );
    let sets = replica_sets(&fake);
    assert_eq!(sets.len(), 3);
    let newest = sets.iter().find(|rs| revision(rs) == "3").unwrap();
    assert_eq!(newest["spec"]["replicas"], 2);
    assert!(
        sets.iter()
            .filter(|rs| revision(rs) != "3")
            .all(|rs| rs["spec"]["replicas"] == 0)
    );
    let newest_name = newest["metadata"]["name"].as_str().unwrap();
    let pods = fake.objects("Pod", Some("production"));
    let vote_pods: Vec<&Value> = pods
        .iter()
        .filter(|p| p["metadata"]["labels"]["app"] == "vote")
        .collect();
    assert_eq!(vote_pods.len(), 2);
    assert!(
        vote_pods
            .iter()
            .all(|p| p["metadata"]["ownerReferences"][0]["name"] == newest_name)
    );
}

#[tokio::test]
async fn rollback_to_the_previous_template_reuses_its_replicaset() {
    let fake = start().await;
    let deployments: Api<Deployment> = Api::namespaced(client(&fake), "production");
    let previous = fake
        .object("ReplicaSet", Some("production"), "vote-5c6b7d8f9a")
        .unwrap();
    let mut template = previous["spec"]["template"].clone();
    template["metadata"]["labels"]
        .as_object_mut()
        .unwrap()
        .remove("pod-template-hash");
    let undo = Patch::Json::<()>(
        serde_json::from_value(json!([
            { "op": "replace", "path": "/spec/template", "value": template },
        ]))
        .unwrap(),
    );
    deployments
        .patch("vote", &PatchParams::default(), &undo)
        .await
        .unwrap();
    assert!(eventually(WITHIN, || rollout_done(&fake)).await);

    let sets = replica_sets(&fake);
    assert_eq!(sets.len(), 2, "no new ReplicaSet for a known template");
    let reused = fake
        .object("ReplicaSet", Some("production"), "vote-5c6b7d8f9a")
        .unwrap();
    assert_eq!(
        (revision(&reused), &reused["spec"]["replicas"]),
        ("3", &json!(2))
    );
    let replaced = fake
        .object("ReplicaSet", Some("production"), "vote-7d9f8b6c5d")
        .unwrap();
    assert_eq!(replaced["spec"]["replicas"], 0);
}

#[tokio::test]
async fn with_controllers_off_nothing_comes_back_and_rollouts_stay_unobserved() {
    let fake = start().await;
    fake.controllers().set(ControllerSettings::off());
    let client = client(&fake);
    let pods: Api<Pod> = Api::namespaced(client.clone(), "production");
    let deployments: Api<Deployment> = Api::namespaced(client, "production");
    pods.delete(VOTE_POD_1, &DeleteParams::default())
        .await
        .unwrap();
    let restart =
        json!({ "spec": { "template": { "metadata": { "annotations": { "a": "b" } } } } });
    deployments
        .patch("vote", &PatchParams::default(), &Patch::Merge(&restart))
        .await
        .unwrap();

    tokio::time::sleep(ControllerSettings::default().delay * 3).await;
    assert_eq!(
        pods.list(&ListParams::default().labels("app=vote"))
            .await
            .unwrap()
            .items
            .len(),
        1
    );
    let status = deployments.get("vote").await.unwrap().status.unwrap();
    assert_eq!(status.observed_generation, Some(2));
    assert_eq!(replica_sets(&fake).len(), 2);
}
