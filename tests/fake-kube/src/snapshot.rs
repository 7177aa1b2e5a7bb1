//! The snapshot format, both ways: seeding the store from a kubectl `List` (as produced by
//! `kubectl get nodes,namespaces,pods,deployments,replicasets,statefulsets,daemonsets,poddisruptionbudgets,persistentvolumeclaims,persistentvolumes -A -o json`)
//! and exporting the store in the same shape.
//!
//! Seeded objects keep their `resourceVersion`, `uid` and timestamps, so a test can compare
//! with the fixture; the global counter starts above the highest seeded version. Items of
//! kinds the server does not serve (a ConfigMap in a wider dump) are skipped, not refused.

use serde_json::{Value, json};

use crate::error::Error;
use crate::resources;
use crate::store::Store;

/// Builds a store from the bytes of a kubectl `List`.
pub(crate) fn seed(snapshot_json: &[u8]) -> Result<Store, Error> {
    let mut list: Value =
        serde_json::from_slice(snapshot_json).map_err(|e| Error::Snapshot(e.to_string()))?;
    let kind = list.get("kind").and_then(Value::as_str).unwrap_or_default();
    if !kind.ends_with("List") {
        return Err(Error::Snapshot(format!(
            "expected a List, found kind {kind:?}"
        )));
    }
    // The items are moved into the store, not copied: a large snapshot is held once.
    let Some(Value::Array(items)) = list.get_mut("items").map(Value::take) else {
        return Err(Error::Snapshot("no items array".into()));
    };
    let mut store = Store::default();
    for (index, item) in items.into_iter().enumerate() {
        if resources::of_object(&item).is_err() {
            continue;
        }
        store
            .seed(item)
            .map_err(|e| Error::Snapshot(format!("items[{index}]: {e}")))?;
    }
    store.stamp_unversioned();
    Ok(store)
}

/// Every stored object as a kubectl `List`, kinds in the order of the snapshot command.
pub(crate) fn export(store: &Store) -> Value {
    let items: Vec<Value> = resources::all()
        .flat_map(|r| store.list(r, None).cloned())
        .collect();
    json!({
        "apiVersion": "v1",
        "kind": "List",
        "metadata": { "resourceVersion": "" },
        "items": items,
    })
}
