//! Patches, replace and delete, and the resourceVersion rules they obey.

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Node, Pod};
use kube::api::{DeleteParams, Patch, PatchParams, PostParams, Preconditions};
use kube::{Api, ResourceExt};
use reflex_fake_kube::ControllerSettings;
use serde_json::json;

use crate::common::{NODE_1, VOTE_POD_1, api_code, client, start};

fn json_patch(operations: serde_json::Value) -> Patch<()> {
    Patch::Json(serde_json::from_value(operations).unwrap())
}

#[tokio::test]
async fn merge_patch_cordons_the_node_with_a_newer_resource_version() {
    let fake = start().await;
    let nodes: Api<Node> = Api::all(client(&fake));
    let before = nodes.get(NODE_1).await.unwrap().resource_version().unwrap();
    let cordon = json!({
        "metadata": { "annotations": { "reflex/cordoned": "node_not_ready" } },
        "spec": { "unschedulable": true },
    });
    let node = nodes
        .patch(NODE_1, &PatchParams::default(), &Patch::Merge(&cordon))
        .await
        .unwrap();
    assert_eq!(node.spec.unwrap().unschedulable, Some(true));
    assert!(
        node.metadata
            .resource_version
            .unwrap()
            .parse::<u64>()
            .unwrap()
            > before.parse::<u64>().unwrap()
    );
    let stored = fake.object("Node", None, NODE_1).unwrap();
    assert_eq!(
        stored["metadata"]["annotations"]["reflex/cordoned"],
        "node_not_ready"
    );
    let request = fake.requests().pop().unwrap();
    assert_eq!(request.line(), format!("PATCH /api/v1/nodes/{NODE_1}"));
    assert_eq!(
        request.content_type.as_deref(),
        Some("application/merge-patch+json")
    );
}

#[tokio::test]
async fn strategic_patch_of_the_pod_template_bumps_generation_and_leaves_status() {
    let fake = start().await;
    fake.controllers().set(ControllerSettings::off());
    let deployments: Api<Deployment> = Api::namespaced(client(&fake), "production");
    let restart = json!({
        "spec": { "template": { "metadata": { "annotations": {
            "kubectl.kubernetes.io/restartedAt": "2025-06-02T09:30:00Z" } } } },
        "status": { "replicas": 99 },
    });
    let patched = deployments
        .patch("vote", &PatchParams::default(), &Patch::Strategic(&restart))
        .await
        .unwrap();
    assert_eq!(patched.metadata.generation, Some(3));
    assert_eq!(patched.status.as_ref().unwrap().replicas, Some(2));
    assert_eq!(patched.status.unwrap().observed_generation, Some(2));
    let annotations = patched
        .spec
        .unwrap()
        .template
        .metadata
        .unwrap()
        .annotations
        .unwrap();
    assert_eq!(
        annotations["kubectl.kubernetes.io/restartedAt"],
        "2025-06-02T09:30:00Z"
    );
}

#[tokio::test]
async fn json_patch_guarded_by_a_resource_version_test_applies_once_then_is_invalid() {
    let fake = start().await;
    fake.controllers().set(ControllerSettings::off());
    let deployments: Api<Deployment> = Api::namespaced(client(&fake), "production");
    let read = deployments
        .get("vote")
        .await
        .unwrap()
        .resource_version()
        .unwrap();
    let rollback = json_patch(json!([
        { "op": "test", "path": "/metadata/resourceVersion", "value": read },
        { "op": "replace", "path": "/spec/template/spec/containers/0/image",
          "value": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/vote:v1" },
    ]));
    let patched = deployments
        .patch("vote", &PatchParams::default(), &rollback)
        .await
        .unwrap();
    assert_ne!(patched.resource_version().unwrap(), read);

    // The same patch again: its `test` now fails. kube-apiserver answers 422 Invalid with a
    // generic message (not 409), so callers must re-read to tell a race from a bad path.
    let kube::Error::Api(status) = deployments
        .patch("vote", &PatchParams::default(), &rollback)
        .await
        .unwrap_err()
    else {
        panic!("not an API error")
    };
    assert_eq!((status.code, status.reason.as_str()), (422, "Invalid"));
    assert_eq!(
        status.message,
        "the server rejected our request due to an error in our request"
    );
    assert_eq!(
        fake.object("Deployment", Some("production"), "vote")
            .unwrap()["metadata"]["generation"],
        3
    );
}

#[tokio::test]
async fn merge_patch_carrying_a_stale_resource_version_conflicts() {
    let fake = start().await;
    let nodes: Api<Node> = Api::all(client(&fake));
    let stale = nodes.get(NODE_1).await.unwrap().resource_version().unwrap();
    let label = |v: &str| json!({ "metadata": { "labels": { "touched": v } } });
    nodes
        .patch(NODE_1, &PatchParams::default(), &Patch::Merge(label("1")))
        .await
        .unwrap();
    let guarded = json!({ "metadata": { "resourceVersion": stale, "labels": { "touched": "2" } } });
    let error = nodes
        .patch(NODE_1, &PatchParams::default(), &Patch::Merge(&guarded))
        .await
        .unwrap_err();
    let kube::Error::Api(status) = error else {
        panic!("not an API error")
    };
    assert_eq!((status.code, status.reason.as_str()), (409, "Conflict"));
    assert_eq!(
        fake.object("Node", None, NODE_1).unwrap()["metadata"]["labels"]["touched"],
        "1"
    );
}

#[tokio::test]
async fn replace_with_a_stale_object_conflicts() {
    let fake = start().await;
    let nodes: Api<Node> = Api::all(client(&fake));
    let mut node = nodes.get(NODE_1).await.unwrap();
    node.labels_mut().insert("replaced".into(), "yes".into());
    let replaced = nodes
        .replace(NODE_1, &PostParams::default(), &node)
        .await
        .unwrap();
    assert_eq!(replaced.labels()["replaced"], "yes");
    let error = nodes
        .replace(NODE_1, &PostParams::default(), &node)
        .await
        .unwrap_err();
    assert_eq!(api_code(&error), Some(409));
}

#[tokio::test]
async fn delete_honours_preconditions_and_answers_pods_with_the_object() {
    let fake = start().await;
    fake.controllers().set(ControllerSettings::off());
    let pods: Api<Pod> = Api::namespaced(client(&fake), "production");
    let wrong_uid = DeleteParams::default().preconditions(Preconditions {
        uid: Some("not-the-uid".into()),
        resource_version: None,
    });
    assert_eq!(
        api_code(&pods.delete(VOTE_POD_1, &wrong_uid).await.unwrap_err()),
        Some(409)
    );

    let deleted = pods
        .delete(VOTE_POD_1, &DeleteParams::default())
        .await
        .unwrap();
    let pod = deleted.left().expect("a pod delete answers with the pod");
    assert!(pod.metadata.deletion_timestamp.is_some());
    assert_eq!(
        api_code(&pods.get(VOTE_POD_1).await.unwrap_err()),
        Some(404)
    );
    assert_eq!(
        api_code(
            &pods
                .delete(VOTE_POD_1, &DeleteParams::default())
                .await
                .unwrap_err()
        ),
        Some(404)
    );
}

#[tokio::test]
async fn delete_of_a_deployment_answers_a_success_status() {
    let fake = start().await;
    let deployments: Api<Deployment> = Api::namespaced(client(&fake), "production");
    let status = deployments
        .delete("vote", &DeleteParams::default())
        .await
        .unwrap()
        .right()
        .unwrap();
    assert_eq!(status.details.unwrap().name, "vote");
    assert!(
        fake.object("Deployment", Some("production"), "vote")
            .is_none()
    );
}
