//! The eviction subresource and PodDisruptionBudget accounting.

use k8s_openapi::api::core::v1::Pod;
use kube::Api;
use kube::api::EvictParams;
use reflex_fake_kube::ControllerSettings;

use crate::common::{EXPORTER_POD_1, VOTE_POD_1, VOTE_POD_2, api_code, client, start};

#[tokio::test]
async fn eviction_spends_the_budget_then_is_refused_with_429() {
    let fake = start().await;
    fake.controllers().set(ControllerSettings::off());
    // `client` disables kube's default retry layer, which would otherwise retry the 429
    // below for minutes (see `common::client`).
    let pods: Api<Pod> = Api::namespaced(client(&fake), "production");

    let status = pods
        .evict(VOTE_POD_1, &EvictParams::default())
        .await
        .unwrap();
    assert_eq!(status.code, 201);
    assert!(fake.object("Pod", Some("production"), VOTE_POD_1).is_none());
    let budget = fake
        .object("PodDisruptionBudget", Some("production"), "vote")
        .unwrap();
    assert_eq!(budget["status"]["disruptionsAllowed"], 0);
    assert!(budget["status"]["disruptedPods"][VOTE_POD_1].is_string());

    let kube::Error::Api(refusal) = pods
        .evict(VOTE_POD_2, &EvictParams::default())
        .await
        .unwrap_err()
    else {
        panic!("not an API error")
    };
    assert_eq!(
        (refusal.code, refusal.reason.as_str()),
        (429, "TooManyRequests")
    );
    assert_eq!(
        refusal.message,
        "Cannot evict pod as it would violate the pod's disruption budget."
    );
    let cause = &refusal.details.unwrap().causes[0];
    assert_eq!(cause.reason, "DisruptionBudget");
    assert_eq!(
        cause.message,
        "The disruption budget vote needs 1 healthy pods and has 2 currently"
    );
    assert!(fake.object("Pod", Some("production"), VOTE_POD_2).is_some());
    let evictions: Vec<Option<u16>> = fake
        .requests()
        .iter()
        .filter(|r| r.path.ends_with("/eviction"))
        .map(|r| r.status)
        .collect();
    assert_eq!(
        evictions,
        [Some(201), Some(429)],
        "one attempt each: no client-side retry"
    );
}

#[tokio::test]
async fn pods_without_a_budget_are_evicted_and_missing_ones_are_404() {
    let fake = start().await;
    let pods: Api<Pod> = Api::namespaced(client(&fake), "monitoring");
    pods.evict(EXPORTER_POD_1, &EvictParams::default())
        .await
        .unwrap();
    assert!(
        fake.object("Pod", Some("monitoring"), EXPORTER_POD_1)
            .is_none()
    );
    assert_eq!(
        api_code(
            &pods
                .evict("absent", &EvictParams::default())
                .await
                .unwrap_err()
        ),
        Some(404)
    );
}

#[tokio::test]
async fn a_hundred_parallel_evictions_are_served_well_under_a_second() {
    let fake = start().await;
    fake.controllers().set(ControllerSettings::off());
    for i in 0..100 {
        fake.put_object(serde_json::json!({
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": { "name": format!("load-{i}"), "namespace": "load", "labels": { "app": "load" } },
            "spec": { "nodeName": crate::common::NODE_2, "containers": [{ "name": "c", "image": "busybox" }] },
            "status": { "phase": "Running" },
        }))
        .unwrap();
    }
    let pods: Api<Pod> = Api::namespaced(client(&fake), "load");
    let started = std::time::Instant::now();
    let mut evictions = tokio::task::JoinSet::new();
    for i in 0..100 {
        let pods = pods.clone();
        evictions.spawn(async move {
            pods.evict(&format!("load-{i}"), &EvictParams::default())
                .await
        });
    }
    while let Some(result) = evictions.join_next().await {
        assert_eq!(result.unwrap().unwrap().code, 201);
    }
    let elapsed = started.elapsed();
    assert!(fake.objects("Pod", Some("load")).is_empty());
    assert!(
        elapsed < std::time::Duration::from_secs(1),
        "took {elapsed:?}"
    );
}
