//! A snapshot is skimmed at load and its items decoded on first use: reads that select by
//! node or by label answer exactly what a full decode would, and an item that does not
//! decode fails every read that needs it (never silently left out), while reads that do
//! not need it are answered.

// Test helpers outside #[test] functions: a panic there is a failed test too.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use reflex_core::cluster::ClusterView;
use reflex_core::objects::LabelSelector;
use reflex_snapshot::Snapshot;
use serde_json::{Value, json};

/// The snapshot answers with ready futures, so one poll completes a read.
fn now<F: Future>(future: F) -> F::Output {
    match pin!(future).poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("a snapshot read never waits"),
    }
}

fn list(items: Value) -> Vec<u8> {
    json!({"apiVersion": "v1", "kind": "List", "items": items})
        .to_string()
        .into_bytes()
}

fn sample(name: &str) -> Vec<u8> {
    let path = format!("{}/../../events/cluster/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(path).unwrap()
}

/// The items of `kind`, one per namespace and name: a later item replaces an earlier one
/// of the same name, as in the snapshot.
fn items<'a>(file: &'a Value, kind: &str) -> impl Iterator<Item = &'a Value> + 'a {
    let by_key: BTreeMap<(String, String), &Value> = file["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["kind"] == kind)
        .map(|i| {
            let meta = &i["metadata"];
            let ns = meta["namespace"].as_str().unwrap_or_default().to_owned();
            ((ns, meta["name"].as_str().unwrap().to_owned()), i)
        })
        .collect();
    by_key.into_values()
}

fn labels(item: &Value) -> BTreeMap<String, String> {
    serde_json::from_value(item["metadata"]["labels"].clone()).unwrap_or_default()
}

fn sorted(mut names: Vec<String>) -> Vec<String> {
    names.sort();
    names
}

#[test]
fn selecting_reads_answer_what_the_whole_file_says() {
    for file in [
        "voting-app.json",
        "voting-app-karpenter.json",
        "voting-app-gitops.json",
    ] {
        let bytes = sample(file);
        let whole: Value = serde_json::from_slice(&bytes).unwrap();
        let snapshot = Snapshot::from_json(&bytes).unwrap();

        for node in items(&whole, "Node") {
            let name = node["metadata"]["name"].as_str().unwrap();
            let want: Vec<String> = items(&whole, "Pod")
                .filter(|p| p["spec"]["nodeName"] == name)
                .map(|p| p["metadata"]["name"].as_str().unwrap().to_owned())
                .collect();
            let got = now(snapshot.pods_on_node(name)).unwrap();
            let got = got.into_iter().map(|p| p.metadata.name).collect();
            assert_eq!(sorted(got), sorted(want), "{file}: pods on {name}");
        }
        assert!(
            now(snapshot.pods_on_node("no-such-node"))
                .unwrap()
                .is_empty()
        );

        let mut checked = 0;
        for deployment in items(&whole, "Deployment") {
            let ns = deployment["metadata"]["namespace"].as_str().unwrap();
            let selector: LabelSelector =
                serde_json::from_value(deployment["spec"]["selector"].clone()).unwrap();
            for (kind, read) in [
                (
                    "Pod",
                    now(snapshot.pods_selected(ns, &selector))
                        .unwrap()
                        .into_iter()
                        .map(|p| p.metadata.name)
                        .collect::<Vec<_>>(),
                ),
                (
                    "ReplicaSet",
                    now(snapshot.replica_sets(ns, &selector))
                        .unwrap()
                        .into_iter()
                        .map(|rs| rs.metadata.name)
                        .collect(),
                ),
            ] {
                let want: Vec<String> = items(&whole, kind)
                    .filter(|i| i["metadata"]["namespace"] == ns)
                    .filter(|i| selector.matches(&labels(i)))
                    .map(|i| i["metadata"]["name"].as_str().unwrap().to_owned())
                    .collect();
                checked += want.len();
                assert_eq!(
                    sorted(read),
                    sorted(want),
                    "{file}: {kind}s of {selector:?}"
                );
            }
        }
        assert!(checked > 0, "{file} selects nothing");
    }
}

fn pod(name: &str, node: Value, labels: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod",
           "metadata": {"name": name, "namespace": "production", "labels": labels},
           "spec": {"nodeName": node, "containers": []},
           "status": {"phase": "Running"}})
}

#[test]
fn a_malformed_pod_fails_the_reads_that_would_return_it() {
    let snapshot = Snapshot::from_json(&list(json!([
        pod("good", json!("node-a"), json!({"app": "vote"})),
        {"apiVersion": "v1", "kind": "Pod",
         "metadata": {"name": "bad", "namespace": "production", "labels": {"app": "vote"}},
         "spec": {"nodeName": "node-b"}, "status": {"phase": 3}},
    ])))
    .unwrap();
    let vote = LabelSelector {
        match_labels: BTreeMap::from([("app".into(), "vote".into())]),
        ..LabelSelector::default()
    };
    for err in [
        now(snapshot.pod("production", "bad")).unwrap_err(),
        now(snapshot.pods_on_node("node-b")).unwrap_err(),
        now(snapshot.pods_selected("production", &vote)).unwrap_err(),
    ] {
        let message = err.to_string();
        assert!(
            message.contains("cluster snapshot item 1 (Pod bad): status.phase"),
            "{message}"
        );
    }
    // Reads the bad item cannot be part of are answered.
    assert_eq!(now(snapshot.pods_on_node("node-a")).unwrap().len(), 1);
    assert!(now(snapshot.pod("production", "good")).unwrap().is_some());
    let other = LabelSelector {
        match_labels: BTreeMap::from([("app".into(), "db".into())]),
        ..LabelSelector::default()
    };
    assert!(
        now(snapshot.pods_selected("production", &other))
            .unwrap()
            .is_empty()
    );
}

#[test]
fn a_pod_whose_node_or_labels_are_not_strings_is_decoded_by_every_selecting_read() {
    let snapshot =
        Snapshot::from_json(&list(json!([pod("odd-node", json!(7), json!({}))]))).unwrap();
    for message in [
        now(snapshot.pods_on_node("node-z"))
            .unwrap_err()
            .to_string(),
        now(snapshot.pods_selected("production", &LabelSelector::default()))
            .unwrap_err()
            .to_string(),
    ] {
        assert!(
            message.contains("cluster snapshot item 0 (Pod odd-node): spec.nodeName"),
            "{message}"
        );
    }
    let vote = LabelSelector {
        match_labels: BTreeMap::from([("app".into(), "vote".into())]),
        ..LabelSelector::default()
    };
    let snapshot = Snapshot::from_json(&list(json!([pod(
        "odd-labels",
        json!("node-a"),
        json!(["app", "vote"])
    )])))
    .unwrap();
    let message = now(snapshot.pods_selected("production", &vote))
        .unwrap_err()
        .to_string();
    assert!(
        message.contains("cluster snapshot item 0 (Pod odd-labels): metadata.labels"),
        "{message}"
    );
}

#[test]
fn a_copy_decodes_and_changes_apart_from_the_original() {
    let bytes = sample("voting-app.json");
    let snapshot = Snapshot::from_json(&bytes).unwrap();
    let copy = snapshot.clone();
    let summary = snapshot.summary();
    assert_eq!(copy.summary(), summary);
    assert!(summary.pods > 0 && summary.nodes.0 > 0);
    let whole: Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(summary.pods, items(&whole, "Pod").count());
    assert_eq!(
        summary.nodes.1,
        items(&whole, "Node")
            .filter(|n| n["status"]["conditions"]
                .as_array()
                .unwrap()
                .iter()
                .any(|c| c["type"] == "Ready" && c["status"] == "True"))
            .count()
    );
}
