//! The in-memory object store: JSON objects keyed by (kind, namespace, name), with the
//! bookkeeping etcd and the registry do for kube-apiserver.
//!
//! Every write goes through [`Store::create`] or [`Store::update`], which stamp
//! `resourceVersion` from one global counter, keep `uid` and `creationTimestamp`, bump
//! `generation` on spec changes, and refuse an update whose `resourceVersion` is not the
//! current one. API semantics that differ per verb (status handling, dry-run answers)
//! live in the handlers; this file only guarantees the invariants every write shares.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};

use crate::resources::{self, ResourceType};
use crate::status::ApiError;

/// Objects are ordered by namespace then name within a kind, as an etcd range read is.
type Key = (&'static str, String, String);

/// All objects and the counters that stamp them.
#[derive(Debug, Default)]
pub(crate) struct Store {
    objects: BTreeMap<Key, Value>,
    resource_version: u64,
    /// Feeds uids and generated name suffixes; deterministic so test runs repeat.
    sequence: u64,
    /// Nodes whose kubelet is gone: their pods stay Terminating once deleted.
    dead_kubelets: BTreeSet<String>,
    /// Container logs by (namespace, pod, container, previous instance).
    logs: BTreeMap<(String, String, String, bool), String>,
}

impl Store {
    /// Sets the log of a container's current or previous instance.
    pub fn set_log(
        &mut self,
        namespace: &str,
        pod: &str,
        container: &str,
        previous: bool,
        text: String,
    ) {
        self.logs.insert(
            (
                namespace.to_owned(),
                pod.to_owned(),
                container.to_owned(),
                previous,
            ),
            text,
        );
    }

    /// The log of a container's current or previous instance, if one was set.
    pub fn log(&self, namespace: &str, pod: &str, container: &str, previous: bool) -> Option<&str> {
        self.logs
            .get(&(
                namespace.to_owned(),
                pod.to_owned(),
                container.to_owned(),
                previous,
            ))
            .map(String::as_str)
    }
}

/// A string field of `metadata`.
pub(crate) fn meta<'a>(object: &'a Value, field: &str) -> Option<&'a str> {
    object.get("metadata")?.get(field)?.as_str()
}

/// The `metadata` object, created when absent. `object` must be a JSON object: every
/// write path checks that first, and indexing anything else would panic.
pub(crate) fn meta_mut(object: &mut Value) -> &mut serde_json::Map<String, Value> {
    if !object.get("metadata").is_some_and(Value::is_object) {
        object["metadata"] = json!({});
    }
    match object.get_mut("metadata") {
        Some(Value::Object(metadata)) => metadata,
        _ => unreachable!("metadata was just set to an object"),
    }
}

/// The current time in the apiserver's RFC 3339 form.
pub(crate) fn now() -> String {
    seconds_from_now(0)
}

/// `seconds` from now (negative: ago), in the same format as [`now`].
pub(crate) fn seconds_from_now(seconds: i64) -> String {
    (chrono::Utc::now() + chrono::TimeDelta::seconds(seconds))
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

/// SplitMix64: spreads a counter into well-mixed bits for uids and suffixes.
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// The alphabet Kubernetes uses for generated names (no vowels, no confusable digits).
const NAME_ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";

/// Kubernetes' `SafeEncodeString`: each byte mapped into [`NAME_ALPHABET`].
pub(crate) fn safe_encode(text: &str) -> String {
    text.bytes()
        .map(|b| char::from(NAME_ALPHABET[usize::from(b) % NAME_ALPHABET.len()]))
        .collect()
}

impl Store {
    /// Whether `node`'s kubelet is gone (see `kubelets` in `api.rs`).
    pub fn kubelet_dead(&self, node: &str) -> bool {
        self.dead_kubelets.contains(node)
    }

    /// The nodes whose kubelet is gone.
    pub fn dead_kubelets(&self) -> Vec<String> {
        self.dead_kubelets.iter().cloned().collect()
    }

    /// Marks `node`'s kubelet gone or back; returns whether that changed anything.
    pub fn set_kubelet_dead(&mut self, node: &str, dead: bool) -> bool {
        if dead {
            self.dead_kubelets.insert(node.to_owned())
        } else {
            self.dead_kubelets.remove(node)
        }
    }

    fn key(resource: &ResourceType, namespace: Option<&str>, name: &str) -> Key {
        let namespace = if resource.namespaced {
            namespace.unwrap_or("default")
        } else {
            ""
        };
        (resource.kind, namespace.to_owned(), name.to_owned())
    }

    /// The current (latest) resourceVersion, as list responses report it.
    pub fn resource_version(&self) -> u64 {
        self.resource_version
    }

    /// Raises the counter so later writes stay above versions seeded from a snapshot.
    pub fn observe_resource_version(&mut self, seen: u64) {
        self.resource_version = self.resource_version.max(seen);
    }

    fn next_resource_version(&mut self) -> String {
        self.resource_version += 1;
        self.resource_version.to_string()
    }

    /// The next pseudo-random number (uids, names, pod IPs).
    pub fn next_random(&mut self) -> u64 {
        self.sequence += 1;
        mix(self.sequence)
    }

    /// A fresh uid in UUID form.
    pub fn new_uid(&mut self) -> String {
        let (a, b) = (self.next_random(), self.next_random());
        format!(
            "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
            a >> 32,
            (a >> 16) & 0xffff,
            a & 0xfff,
            b >> 52,
            b & 0xffff_ffff_ffff
        )
    }

    /// `prefix` plus five generated characters, unused for that kind in that namespace.
    pub fn generate_name(
        &mut self,
        resource: &ResourceType,
        namespace: Option<&str>,
        prefix: &str,
    ) -> String {
        loop {
            let bits = self.next_random();
            let suffix: String = (0..5)
                .map(|i| {
                    char::from(
                        NAME_ALPHABET[((bits >> (i * 8)) % NAME_ALPHABET.len() as u64) as usize],
                    )
                })
                .collect();
            let name = format!("{prefix}{suffix}");
            if self.get(resource, namespace, &name).is_none() {
                return name;
            }
        }
    }

    /// One object.
    pub fn get(
        &self,
        resource: &ResourceType,
        namespace: Option<&str>,
        name: &str,
    ) -> Option<&Value> {
        self.objects.get(&Self::key(resource, namespace, name))
    }

    /// Objects of one kind, in one namespace or in all of them, in key order.
    pub fn list<'a>(
        &'a self,
        resource: &ResourceType,
        namespace: Option<&'a str>,
    ) -> impl Iterator<Item = &'a Value> {
        // A range read from the first key of the kind (and namespace): a list costs what it
        // returns, not the size of the whole store.
        let kind = resource.kind;
        let start: Key = (
            kind,
            namespace.unwrap_or_default().to_owned(),
            String::new(),
        );
        self.objects
            .range(start..)
            .take_while(move |((k, ns, _), _)| {
                *k == kind && namespace.is_none_or(|want| want == ns)
            })
            .map(|(_, object)| object)
    }

    /// Stores a new object: fills `uid`, `creationTimestamp`, `generation` and a fresh
    /// `resourceVersion`. With `dry_run` the answer is computed and nothing is kept.
    pub fn create(
        &mut self,
        resource: &ResourceType,
        mut object: Value,
        dry_run: bool,
    ) -> Result<Value, ApiError> {
        if !object.is_object() {
            return Err(ApiError::bad_request("the object is not a JSON object"));
        }
        let name = meta(&object, "name").unwrap_or_default().to_owned();
        let namespace = meta(&object, "namespace").map(str::to_owned);
        if self.get(resource, namespace.as_deref(), &name).is_some() {
            return Err(ApiError::already_exists(resource, &name));
        }
        object["apiVersion"] = json!(resource.api_version());
        object["kind"] = json!(resource.kind);
        let uid = self.new_uid();
        let resource_version = if dry_run {
            None
        } else {
            Some(self.next_resource_version())
        };
        let metadata = meta_mut(&mut object);
        metadata.entry("uid").or_insert(json!(uid));
        metadata.entry("creationTimestamp").or_insert(json!(now()));
        if resource.has_generation() {
            metadata.insert("generation".into(), json!(1));
        }
        match resource_version {
            Some(rv) => metadata.insert("resourceVersion".into(), json!(rv)),
            None => metadata.remove("resourceVersion"),
        };
        if !dry_run {
            self.objects.insert(
                Self::key(resource, namespace.as_deref(), &name),
                object.clone(),
            );
        }
        Ok(object)
    }

    /// Replaces an existing object with `desired`.
    ///
    /// A non-empty `metadata.resourceVersion` in `desired` is a precondition: it must equal
    /// the stored one, or the update is a `409 Conflict` (an empty one updates
    /// unconditionally, as pods and workloads allow). `uid`, `creationTimestamp` and
    /// `generation` are system fields and are carried over, the latter bumped when `spec`
    /// changed. With `dry_run` the answer is computed and nothing is kept.
    pub fn update(
        &mut self,
        resource: &ResourceType,
        namespace: Option<&str>,
        name: &str,
        mut desired: Value,
        dry_run: bool,
    ) -> Result<Value, ApiError> {
        if !desired.is_object() {
            return Err(ApiError::bad_request("the object is not a JSON object"));
        }
        let current = self
            .get(resource, namespace, name)
            .ok_or_else(|| ApiError::not_found(resource, name))?;
        let current_rv = meta(current, "resourceVersion")
            .unwrap_or_default()
            .to_owned();
        match meta(&desired, "resourceVersion") {
            Some(rv) if !rv.is_empty() && rv != current_rv => {
                return Err(ApiError::stale(resource, name));
            }
            _ => {}
        }
        if let Some(uid) = meta(&desired, "uid")
            && Some(uid) != meta(current, "uid")
        {
            return Err(ApiError::conflict(
                resource,
                name,
                &format!(
                    "Precondition failed: UID in precondition: {uid}, UID in object meta: {}",
                    meta(current, "uid").unwrap_or_default()
                ),
            ));
        }
        let generation = current
            .pointer("/metadata/generation")
            .and_then(Value::as_i64);
        let spec_changed = current.get("spec") != desired.get("spec");
        let carried: Vec<(&str, Option<Value>)> = ["uid", "creationTimestamp", "namespace", "name"]
            .into_iter()
            .map(|field| {
                (
                    field,
                    current.get("metadata").and_then(|m| m.get(field)).cloned(),
                )
            })
            .collect();

        desired["apiVersion"] = json!(resource.api_version());
        desired["kind"] = json!(resource.kind);
        let resource_version = if dry_run {
            current_rv
        } else {
            self.next_resource_version()
        };
        let metadata = meta_mut(&mut desired);
        for (field, value) in carried {
            match value {
                Some(value) => metadata.insert(field.into(), value),
                None => metadata.remove(field),
            };
        }
        match generation {
            Some(g) => metadata.insert(
                "generation".into(),
                json!(if spec_changed { g + 1 } else { g }),
            ),
            None => metadata.remove("generation"),
        };
        metadata.insert("resourceVersion".into(), json!(resource_version));
        if !dry_run {
            self.objects
                .insert(Self::key(resource, namespace, name), desired.clone());
        }
        Ok(desired)
    }

    /// Removes an object and returns it.
    pub fn remove(
        &mut self,
        resource: &ResourceType,
        namespace: Option<&str>,
        name: &str,
    ) -> Option<Value> {
        let removed = self.objects.remove(&Self::key(resource, namespace, name));
        if removed.is_some() {
            // A deletion is a write: later lists must report a newer version.
            self.next_resource_version();
        }
        removed
    }

    /// Inserts an object seeded from a snapshot, keeping what it already carries and
    /// filling what a stored object must have.
    pub fn seed(&mut self, mut object: Value) -> Result<(), String> {
        if !object.is_object() {
            return Err("a list item is not a JSON object".to_owned());
        }
        let resource = resources::of_object(&object)?;
        let name = meta(&object, "name")
            .ok_or_else(|| format!("a {} without metadata.name", resource.kind))?
            .to_owned();
        let seeded_rv = meta(&object, "resourceVersion").and_then(|rv| rv.parse::<u64>().ok());
        let uid = self.new_uid();
        let metadata = meta_mut(&mut object);
        if resource.namespaced {
            metadata.entry("namespace").or_insert(json!("default"));
        } else {
            metadata.remove("namespace");
        }
        metadata.entry("uid").or_insert(json!(uid));
        metadata.entry("creationTimestamp").or_insert(json!(now()));
        if resource.has_generation() {
            metadata.entry("generation").or_insert(json!(1));
        }
        match seeded_rv {
            Some(rv) => self.observe_resource_version(rv),
            None => {
                // Stamped after the whole snapshot is read so it stays above seeded versions.
                metadata.remove("resourceVersion");
            }
        }
        let namespace = meta(&object, "namespace").map(str::to_owned);
        self.objects
            .insert(Self::key(resource, namespace.as_deref(), &name), object);
        Ok(())
    }

    /// Gives a fresh `resourceVersion` to seeded objects that came without one.
    pub fn stamp_unversioned(&mut self) {
        let mut counter = self.resource_version;
        for object in self.objects.values_mut() {
            if meta(object, "resourceVersion").is_none() {
                counter += 1;
                meta_mut(object).insert("resourceVersion".into(), json!(counter.to_string()));
            }
        }
        self.resource_version = counter;
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // Tests fail loudly on bad fixtures.

    use super::*;
    use crate::resources::{DEPLOYMENTS, PODS};

    fn deployment() -> Value {
        json!({"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web","namespace":"prod"},"spec":{"replicas":1}})
    }

    #[test]
    fn every_write_gets_a_newer_resource_version() {
        let mut store = Store::default();
        let created = store.create(&DEPLOYMENTS, deployment(), false).unwrap();
        assert_eq!(meta(&created, "resourceVersion"), Some("1"));
        let updated = store
            .update(&DEPLOYMENTS, Some("prod"), "web", created, false)
            .unwrap();
        assert_eq!(meta(&updated, "resourceVersion"), Some("2"));
        assert_eq!(store.resource_version(), 2);
    }

    #[test]
    fn stale_update_conflicts_and_empty_version_is_unconditional() {
        let mut store = Store::default();
        let created = store.create(&DEPLOYMENTS, deployment(), false).unwrap();
        store
            .update(&DEPLOYMENTS, Some("prod"), "web", created.clone(), false)
            .unwrap();
        let error = store
            .update(&DEPLOYMENTS, Some("prod"), "web", created.clone(), false)
            .unwrap_err();
        assert_eq!((error.code, error.reason), (409, "Conflict"));
        let mut unconditional = created;
        meta_mut(&mut unconditional).remove("resourceVersion");
        assert!(
            store
                .update(&DEPLOYMENTS, Some("prod"), "web", unconditional, false)
                .is_ok()
        );
    }

    #[test]
    fn spec_change_bumps_generation_but_metadata_change_does_not() {
        let mut store = Store::default();
        let mut object = store.create(&DEPLOYMENTS, deployment(), false).unwrap();
        meta_mut(&mut object).insert("annotations".into(), json!({"a": "b"}));
        let object = store
            .update(&DEPLOYMENTS, Some("prod"), "web", object, false)
            .unwrap();
        assert_eq!(object["metadata"]["generation"], 1);
        let mut object = object;
        object["spec"]["replicas"] = json!(3);
        let object = store
            .update(&DEPLOYMENTS, Some("prod"), "web", object, false)
            .unwrap();
        assert_eq!(object["metadata"]["generation"], 2);
    }

    #[test]
    fn dry_run_keeps_nothing() {
        let mut store = Store::default();
        let pod = json!({"metadata":{"name":"p","namespace":"prod"}});
        store.create(&PODS, pod, true).unwrap();
        assert!(store.get(&PODS, Some("prod"), "p").is_none());
        assert_eq!(store.resource_version(), 0);
    }

    #[test]
    fn generated_names_use_the_kubernetes_alphabet() {
        let mut store = Store::default();
        let name = store.generate_name(&PODS, Some("prod"), "web-5d8f-");
        let suffix = name.strip_prefix("web-5d8f-").unwrap();
        assert_eq!(suffix.len(), 5);
        assert!(suffix.bytes().all(|b| NAME_ALPHABET.contains(&b)));
    }
}
