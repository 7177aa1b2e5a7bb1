//! Get, list, selectors and 404s, of namespaced and cluster-scoped kinds.

use k8s_openapi::api::core::v1::{Node, PersistentVolume, PersistentVolumeClaim, Pod};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use kube::api::ListParams;
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Api, Config, ResourceExt};

use crate::common::{NODE_1, VOTE_POD_1, VOTE_POD_2, api_code, client, start};

#[tokio::test]
async fn get_returns_the_seeded_pod_with_its_snapshot_version() {
    let fake = start().await;
    let pods: Api<Pod> = Api::namespaced(client(&fake), "production");
    let pod = pods.get(VOTE_POD_1).await.unwrap();
    assert_eq!(pod.spec.unwrap().node_name.as_deref(), Some(NODE_1));
    let seeded = fake.object("Pod", Some("production"), VOTE_POD_1).unwrap();
    assert_eq!(
        pod.metadata.resource_version.as_deref(),
        seeded["metadata"]["resourceVersion"].as_str()
    );
}

#[tokio::test]
async fn list_across_namespaces_by_node_uses_the_field_selector() {
    let fake = start().await;
    let pods: Api<Pod> = Api::all(client(&fake));
    let on_node = pods
        .list(&ListParams::default().fields(&format!("spec.nodeName={NODE_1}")))
        .await
        .unwrap();
    let mut names: Vec<String> = on_node.items.iter().map(|p| p.name_any()).collect();
    names.sort();
    assert_eq!(names, ["debug-shell", "node-exporter-8xk2v", VOTE_POD_1]);
    assert_eq!(
        on_node.metadata.resource_version,
        Some(fake.resource_version().to_string())
    );
}

#[tokio::test]
async fn list_filters_by_label_selector_in_one_namespace() {
    let fake = start().await;
    let pods: Api<Pod> = Api::namespaced(client(&fake), "production");
    let vote = pods
        .list(&ListParams::default().labels("app=vote,pod-template-hash in (7d9f8b6c5d)"))
        .await
        .unwrap();
    assert_eq!(vote.items.len(), 2);
    let bare = pods
        .list(&ListParams::default().labels("!app"))
        .await
        .unwrap();
    assert_eq!(
        bare.items.iter().map(|p| p.name_any()).collect::<Vec<_>>(),
        ["debug-shell"]
    );
}

#[tokio::test]
async fn field_selector_on_an_unindexed_field_is_a_bad_request() {
    let fake = start().await;
    let nodes: Api<Node> = Api::all(client(&fake));
    let error = nodes
        .list(&ListParams::default().fields("spec.nodeName=x"))
        .await
        .unwrap_err();
    assert_eq!(api_code(&error), Some(400));
}

#[tokio::test]
async fn missing_object_is_a_not_found_status_in_kube_error() {
    let fake = start().await;
    let budgets: Api<PodDisruptionBudget> = Api::namespaced(client(&fake), "production");
    let kube::Error::Api(status) = budgets.get("absent").await.unwrap_err() else {
        panic!("not an API error")
    };
    assert_eq!(status.code, 404);
    assert_eq!(status.reason, "NotFound");
    assert_eq!(
        status.message,
        "poddisruptionbudgets.policy \"absent\" not found"
    );
    assert_eq!(budgets.get_opt("absent").await.unwrap(), None);
}

#[tokio::test]
async fn claims_and_their_volumes_are_served_from_the_snapshot() {
    let fake = start().await;
    let claims: Api<PersistentVolumeClaim> = Api::namespaced(client(&fake), "monitoring");
    let claim = claims.get("metrics-data").await.unwrap();
    assert_eq!(
        claim.spec.unwrap().volume_name.as_deref(),
        Some("local-pv-2b6e1f0c")
    );
    let everywhere: Api<PersistentVolumeClaim> = Api::all(client(&fake));
    let listed = everywhere.list(&ListParams::default()).await.unwrap();
    assert_eq!(
        listed
            .items
            .iter()
            .map(|c| c.name_any())
            .collect::<Vec<_>>(),
        ["metrics-data"]
    );
    // A claim lives in its namespace only.
    let elsewhere: Api<PersistentVolumeClaim> = Api::namespaced(client(&fake), "production");
    assert_eq!(elsewhere.get_opt("metrics-data").await.unwrap(), None);

    let volumes: Api<PersistentVolume> = Api::all(client(&fake));
    let volume = volumes.get("local-pv-2b6e1f0c").await.unwrap();
    assert_eq!(volume.spec.unwrap().local.unwrap().path, "/mnt/nvme0");
    assert_eq!(
        volumes
            .list(&ListParams::default())
            .await
            .unwrap()
            .items
            .len(),
        1
    );
}

#[tokio::test]
async fn a_missing_claim_or_volume_is_not_found() {
    let fake = start().await;
    let claims: Api<PersistentVolumeClaim> = Api::namespaced(client(&fake), "monitoring");
    let kube::Error::Api(status) = claims.get("absent").await.unwrap_err() else {
        panic!("not an API error")
    };
    assert_eq!(status.code, 404);
    assert_eq!(
        status.message,
        "persistentvolumeclaims \"absent\" not found"
    );
    let volumes: Api<PersistentVolume> = Api::all(client(&fake));
    let kube::Error::Api(status) = volumes.get("absent").await.unwrap_err() else {
        panic!("not an API error")
    };
    assert_eq!(status.code, 404);
    assert_eq!(status.message, "persistentvolumes \"absent\" not found");
}

#[tokio::test]
async fn unknown_resource_path_is_not_found() {
    let fake = start().await;
    let config_maps: Api<k8s_openapi::api::core::v1::ConfigMap> =
        Api::namespaced(client(&fake), "production");
    let error = config_maps.list(&ListParams::default()).await.unwrap_err();
    assert_eq!(api_code(&error), Some(404));
}

#[tokio::test]
async fn client_built_from_the_kubeconfig_reads_nodes_and_version() {
    let fake = start().await;
    let kubeconfig = Kubeconfig::from_yaml(&fake.kubeconfig_yaml()).unwrap();
    let config = Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
        .await
        .unwrap();
    let client = crate::common::build(config);
    assert_eq!(client.apiserver_version().await.unwrap().minor, "34");
    let nodes: Api<Node> = Api::all(client);
    let listed = nodes.list(&ListParams::default()).await.unwrap();
    assert_eq!(listed.items.len(), 2);
}

#[tokio::test]
async fn pod_logs_honour_container_previous_tail_lines_and_limit_bytes() {
    use kube::api::LogParams;
    let fake = start().await;
    let container = fake.object("Pod", Some("production"), VOTE_POD_1).unwrap()["spec"]
        ["containers"][0]["name"]
        .as_str()
        .unwrap()
        .to_owned();
    fake.set_log(
        "production",
        VOTE_POD_1,
        &container,
        true,
        "one\ntwo\nthree\nfour\n",
    );
    fake.set_log("production", VOTE_POD_1, &container, false, "current\n");
    let pods: Api<Pod> = Api::namespaced(client(&fake), "production");
    let params = |previous, tail, limit| LogParams {
        container: Some(container.clone()),
        previous,
        tail_lines: tail,
        limit_bytes: limit,
        ..LogParams::default()
    };
    let got = pods.logs(VOTE_POD_1, &params(true, Some(2), None)).await;
    assert_eq!(got.unwrap(), "three\nfour\n");
    let got = pods.logs(VOTE_POD_1, &params(true, Some(3), Some(6))).await;
    assert_eq!(got.unwrap(), "two\nth");
    let got = pods.logs(VOTE_POD_1, &params(false, None, None)).await;
    assert_eq!(got.unwrap(), "current\n");
    // A pod without a previous instance's log: 400, as kube-apiserver answers.
    let err = pods
        .logs(VOTE_POD_2, &params(true, Some(2), None))
        .await
        .unwrap_err();
    assert_eq!(api_code(&err), Some(400));
}

#[tokio::test]
async fn events_are_listed_by_involved_object() {
    use k8s_openapi::api::core::v1::Event;
    let fake = start().await;
    for (name, pod, uid) in [("a", VOTE_POD_1, "uid-1"), ("b", VOTE_POD_2, "uid-2")] {
        fake.put_object(serde_json::json!({
            "apiVersion": "v1", "kind": "Event",
            "metadata": {"name": name, "namespace": "production"},
            "involvedObject": {"kind": "Pod", "namespace": "production", "name": pod, "uid": uid},
            "reason": "BackOff", "type": "Warning"
        }))
        .unwrap();
    }
    let events: Api<Event> = Api::namespaced(client(&fake), "production");
    let by_uid = events
        .list(&ListParams::default().fields("involvedObject.uid=uid-2"))
        .await
        .unwrap();
    assert_eq!(by_uid.items.len(), 1);
    assert_eq!(by_uid.items[0].name_any(), "b");
    let by_name = Api::<Event>::all(client(&fake))
        .list(&ListParams::default().fields(&format!(
            "involvedObject.kind=Pod,involvedObject.name={VOTE_POD_1}"
        )))
        .await
        .unwrap();
    assert_eq!(by_name.items.len(), 1);
    assert_eq!(by_name.items[0].name_any(), "a");
}
