//! `dryRun=All`: the answer of a real write, and nothing persisted.

use k8s_openapi::api::core::v1::{Node, Pod};
use kube::api::{DeleteParams, EvictParams, Patch, PatchParams, PostParams};
use kube::{Api, ResourceExt};
use serde_json::json;

use crate::common::{NODE_1, VOTE_POD_1, VOTE_POD_2, api_code, client, start};

fn dry_run_eviction() -> EvictParams {
    EvictParams {
        delete_options: Some(DeleteParams::default().dry_run()),
        post_options: PostParams {
            dry_run: true,
            ..PostParams::default()
        },
    }
}

#[tokio::test]
async fn dry_run_patch_replace_delete_and_eviction_persist_nothing() {
    let fake = start().await;
    let client = client(&fake);
    let nodes: Api<Node> = Api::all(client.clone());
    let pods: Api<Pod> = Api::namespaced(client, "production");
    let before = fake.snapshot();
    let version = fake.resource_version();

    let cordon = Patch::Merge(json!({ "spec": { "unschedulable": true } }));
    let answered = nodes
        .patch(NODE_1, &PatchParams::default().dry_run(), &cordon)
        .await
        .unwrap();
    assert_eq!(answered.spec.unwrap().unschedulable, Some(true));

    let mut node = nodes.get(NODE_1).await.unwrap();
    node.labels_mut().insert("dry".into(), "run".into());
    let replaced = nodes
        .replace(
            NODE_1,
            &PostParams {
                dry_run: true,
                ..PostParams::default()
            },
            &node,
        )
        .await
        .unwrap();
    assert_eq!(replaced.labels()["dry"], "run");

    assert!(
        pods.delete(VOTE_POD_1, &DeleteParams::default().dry_run())
            .await
            .unwrap()
            .is_left()
    );
    assert_eq!(
        pods.evict(VOTE_POD_2, &dry_run_eviction())
            .await
            .unwrap()
            .code,
        201
    );
    assert_eq!(
        pods.evict(VOTE_POD_2, &dry_run_eviction())
            .await
            .unwrap()
            .code,
        201,
        "the budget was not spent"
    );

    assert_eq!(fake.resource_version(), version);
    assert_eq!(fake.snapshot(), before);
    assert!(
        fake.requests()
            .iter()
            .filter(|r| r.method != "GET")
            .all(|r| r.is_dry_run())
    );
}

#[tokio::test]
async fn dry_run_still_validates() {
    let fake = start().await;
    let pods: Api<Pod> = Api::namespaced(client(&fake), "production");
    pods.evict(VOTE_POD_1, &EvictParams::default())
        .await
        .unwrap();
    let error = pods
        .evict(VOTE_POD_2, &dry_run_eviction())
        .await
        .unwrap_err();
    assert_eq!(api_code(&error), Some(429));
    assert_eq!(
        api_code(
            &pods
                .delete("absent", &DeleteParams::default().dry_run())
                .await
                .unwrap_err()
        ),
        Some(404)
    );
}
