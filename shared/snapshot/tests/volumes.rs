//! PersistentVolumeClaims and PersistentVolumes in a snapshot: read when the `kubectl get`
//! command included them, optional when it did not, and a malformed one refused by name.

// Test helpers outside #[test] functions: a panic there is a failed test too.
#![allow(clippy::unwrap_used)]

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use reflex_core::cluster::ClusterView;
use reflex_snapshot::{Snapshot, SnapshotError};
use serde_json::json;

/// The snapshot answers with ready futures, so one poll completes a read.
fn now<F: Future>(future: F) -> F::Output {
    match pin!(future).poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("a snapshot read never waits"),
    }
}

fn list(items: serde_json::Value) -> Vec<u8> {
    json!({"apiVersion": "v1", "kind": "List", "items": items})
        .to_string()
        .into_bytes()
}

#[test]
fn claims_and_volumes_are_read_by_namespace_and_name() {
    let snapshot = Snapshot::from_json(&list(json!([
        {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
         "metadata": {"name": "data", "namespace": "production"},
         "spec": {"volumeName": "local-pv-1"}},
        {"apiVersion": "v1", "kind": "PersistentVolume",
         "metadata": {"name": "local-pv-1"}, "spec": {"local": {"path": "/mnt/disk"}}},
    ])))
    .unwrap();

    let claim = now(snapshot.pvc("production", "data")).unwrap().unwrap();
    assert_eq!(claim.spec.volume_name.as_deref(), Some("local-pv-1"));
    assert_eq!(now(snapshot.pvc("staging", "data")).unwrap(), None);
    let volume = now(snapshot.pv("local-pv-1")).unwrap().unwrap();
    assert_eq!(volume.node_local_source(), Some("local"));
    assert_eq!(now(snapshot.pv("absent")).unwrap(), None);
    assert_eq!(snapshot.missing_kind("persistentvolumeclaims"), None);
    assert!(snapshot.summary().skipped.is_empty());
}

#[test]
fn a_snapshot_without_claims_says_it_holds_none() {
    let snapshot = Snapshot::from_json(&list(json!([]))).unwrap();
    assert_eq!(
        snapshot.missing_kind("persistentvolumeclaims").as_deref(),
        Some(
            "the snapshot holds no persistentvolumeclaims (add persistentvolumeclaims,persistentvolumes to the kubectl get command that takes it)"
        )
    );
    assert!(
        snapshot
            .missing_kind("persistentvolumes")
            .unwrap()
            .starts_with("the snapshot holds no persistentvolumes")
    );
}

#[test]
fn a_malformed_claim_fails_the_read_that_needs_it_with_its_name_and_field() {
    let snapshot = Snapshot::from_json(&list(json!([
        {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
         "metadata": {"name": "data", "namespace": "production"},
         "spec": {"volumeName": 7}},
        {"apiVersion": "v1", "kind": "PersistentVolume",
         "metadata": {"name": "pv-1"}, "spec": {}},
    ])))
    .unwrap();
    let err = now(snapshot.pvc("production", "data")).unwrap_err();
    let message = err.to_string();
    assert!(
        message.contains("cluster snapshot item 0 (PersistentVolumeClaim data): spec.volumeName"),
        "{message}"
    );
    // Reads that do not touch it are answered.
    assert!(now(snapshot.pv("pv-1")).unwrap().is_some());
    assert!(now(snapshot.pvc("production", "other")).unwrap().is_none());
}

#[test]
fn a_file_that_is_not_a_list_of_named_items_is_refused_at_load() {
    for (bytes, why) in [
        (b"{\"kind\": \"Pod\"}".to_vec(), "missing field `items`"),
        (b"[1, 2".to_vec(), "cluster snapshot is not a kubectl List"),
        (
            list(json!([{"kind": "Pod", "metadata": {"name": 7}}])),
            "items[0]",
        ),
        (vec![0xff, 0xfe], "not UTF-8"),
    ] {
        let err = Snapshot::from_json(&bytes).unwrap_err();
        assert!(matches!(err, SnapshotError::NotAList(_)), "{err}");
        assert!(err.to_string().contains(why), "{err}");
    }
}
