//! The two controller loops a remediation waits on, reduced to one step each.
//!
//! - Pod replacement: when a pod owned by a ReplicaSet, StatefulSet or DaemonSet is deleted
//!   or evicted, its owner brings a Ready replacement (a ReplicaSet only while its pods
//!   that are not Terminating are below `spec.replicas`; a StatefulSet pod comes back under
//!   the same name once the old one is gone; a DaemonSet pod on the same node). Other pods go to a Ready, schedulable node, or stay Pending if none is.
//! - Rollout: when a Deployment's spec changes, the deployment controller's result is
//!   written at once: the ReplicaSet whose template matches (an old one on a rollback, or a
//!   new `<name>-<pod-template-hash>`) becomes the newest revision with all the replicas,
//!   older ones are scaled to zero, the Deployment's annotations are copied onto it (its
//!   revision bookkeeping aside), and the Deployment's status reports the rollout done.
//!
//! - Karpenter: when a NodeClaim is deleted, its node goes (with the pods bound to it), and
//!   a replacement NodeClaim and a Ready node with its labels join the same NodePool.
//!
//! All run after a configurable delay and can be switched off, so a caller's verification
//! can be tested for success and for timeout. Settings are read when the triggering
//! request is served.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use serde_json::{Map, Value, json};

use crate::resources::{
    DAEMONSETS, DEPLOYMENTS, NODECLAIMS, NODES, PODS, REPLICASETS, ResourceType, STATEFULSETS,
};
use crate::server::Shared;
use crate::store::{Store, meta, meta_mut, now, safe_encode};

const REVISION: &str = "deployment.kubernetes.io/revision";
const POD_TEMPLATE_HASH: &str = "pod-template-hash";
const NODEPOOL_LABEL: &str = "karpenter.sh/nodepool";

/// Which controller steps run, and how long after the triggering request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ControllerSettings {
    /// Replace a deleted or evicted controller-owned pod.
    pub replace_pods: bool,
    /// Complete a Deployment rollout after its spec changes.
    pub advance_rollouts: bool,
    /// Replace a deleted Karpenter NodeClaim's node with a new Ready one in its NodePool.
    pub replace_nodeclaims: bool,
    /// Time between the triggering request and the controller's writes.
    pub delay: Duration,
}

impl Default for ControllerSettings {
    fn default() -> Self {
        Self {
            replace_pods: true,
            advance_rollouts: true,
            replace_nodeclaims: true,
            delay: Duration::from_millis(100),
        }
    }
}

impl ControllerSettings {
    /// Every step off: deleted pods stay gone, rollouts are never observed, and a deleted
    /// NodeClaim's node stays (NotReady) with no replacement.
    pub fn off() -> Self {
        Self {
            replace_pods: false,
            advance_rollouts: false,
            replace_nodeclaims: false,
            ..Self::default()
        }
    }
}

/// A handle on the controller settings of a running server; clones share them.
#[derive(Debug, Clone, Default)]
pub struct Controllers {
    settings: Arc<Mutex<ControllerSettings>>,
}

impl Controllers {
    /// The current settings.
    pub fn settings(&self) -> ControllerSettings {
        *self.settings.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Replaces all settings.
    pub fn set(&self, settings: ControllerSettings) {
        *self.settings.lock().unwrap_or_else(PoisonError::into_inner) = settings;
    }

    /// Switches pod replacement on or off.
    pub fn set_replace_pods(&self, on: bool) {
        self.update(|s| s.replace_pods = on);
    }

    /// Switches rollout completion on or off.
    pub fn set_advance_rollouts(&self, on: bool) {
        self.update(|s| s.advance_rollouts = on);
    }

    /// Switches the Karpenter step (a deleted NodeClaim's node replaced) on or off.
    pub fn set_replace_nodeclaims(&self, on: bool) {
        self.update(|s| s.replace_nodeclaims = on);
    }

    /// Sets the delay before controller writes.
    pub fn set_delay(&self, delay: Duration) {
        self.update(|s| s.delay = delay);
    }

    fn update(&self, change: impl FnOnce(&mut ControllerSettings)) {
        change(&mut self.settings.lock().unwrap_or_else(PoisonError::into_inner));
    }
}

/// Schedules the owner's reaction to a pod that left through the API.
pub(crate) fn pod_removed(shared: &Arc<Shared>, pod: Value) {
    let settings = shared.controllers.settings();
    if !settings.replace_pods || controller_ref(&pod).is_none() {
        return;
    }
    let shared = Arc::clone(shared);
    tokio::spawn(async move {
        tokio::time::sleep(settings.delay).await;
        replace_pod(&mut shared.store(), &pod);
    });
}

/// Schedules the deployment controller's reaction to a spec change.
pub(crate) fn deployment_changed(shared: &Arc<Shared>, namespace: String, name: String) {
    let settings = shared.controllers.settings();
    if !settings.advance_rollouts {
        return;
    }
    let shared = Arc::clone(shared);
    tokio::spawn(async move {
        tokio::time::sleep(settings.delay).await;
        reconcile_deployment(&mut shared.store(), &namespace, &name);
    });
}

/// Schedules Karpenter's reaction to a deleted NodeClaim.
pub(crate) fn nodeclaim_removed(shared: &Arc<Shared>, claim: Value) {
    let settings = shared.controllers.settings();
    if !settings.replace_nodeclaims {
        return;
    }
    let shared = Arc::clone(shared);
    tokio::spawn(async move {
        tokio::time::sleep(settings.delay).await;
        replace_nodeclaim(&mut shared.store(), &claim);
    });
}

/// Karpenter's answer to a deleted NodeClaim: its node leaves with the pods bound to it
/// (the instance is terminated), and a new NodeClaim becomes a Ready node with the old
/// one's labels in the same NodePool.
fn replace_nodeclaim(store: &mut Store, claim: &Value) {
    let Some(old_name) = claim.pointer("/status/nodeName").and_then(Value::as_str) else {
        return;
    };
    let Some(old) = store.remove(&NODES, None, old_name) else {
        return;
    };
    // The pods of a terminated instance are gone; nothing reacts to them here.
    crate::api::finish_pods_of_node(store, old_name, false, &mut Vec::new());
    let Some(pool) = claim
        .pointer("/metadata/labels")
        .and_then(|l| l.get(NODEPOOL_LABEL))
        .and_then(Value::as_str)
        .map(str::to_owned)
    else {
        return;
    };
    let claim_name = store.generate_name(&NODECLAIMS, None, &format!("{pool}-"));
    let bits = store.next_random();
    let node_name = format!(
        "ip-10-0-{}-{}.ec2.internal",
        (bits >> 8) % 250 + 1,
        bits % 250 + 2
    );
    let zone = old
        .pointer("/metadata/labels/topology.kubernetes.io~1zone")
        .and_then(Value::as_str)
        .unwrap_or("us-east-1a")
        .to_owned();
    let provider_id = format!("aws:///{zone}/i-{:017x}", bits.rotate_left(23) >> 4);
    let fresh_meta = |name: &str, labels: Option<&Value>| {
        let mut metadata = Map::new();
        metadata.insert("name".into(), json!(name));
        if let Some(labels) = labels {
            metadata.insert("labels".into(), labels.clone());
        }
        metadata
    };
    let new_claim = json!({
        "metadata": fresh_meta(&claim_name, claim.pointer("/metadata/labels")),
        "spec": claim.get("spec").cloned().unwrap_or_else(|| json!({})),
        "status": { "nodeName": node_name, "providerID": provider_id },
    });
    let Ok(created) = store.create(&NODECLAIMS, new_claim, false) else {
        return;
    };
    let mut labels = old
        .pointer("/metadata/labels")
        .cloned()
        .unwrap_or_else(|| json!({}));
    labels["kubernetes.io/hostname"] = json!(node_name);
    let mut metadata = fresh_meta(&node_name, Some(&labels));
    metadata.insert(
        "ownerReferences".into(),
        json!([{
            "apiVersion": NODECLAIMS.api_version(),
            "kind": NODECLAIMS.kind,
            "name": claim_name,
            "uid": meta(&created, "uid"),
            "blockOwnerDeletion": true,
        }]),
    );
    let ready = json!({ "type": "Ready", "status": "True", "reason": "KubeletReady", "lastTransitionTime": now() });
    let node = json!({
        "metadata": metadata,
        "spec": { "providerID": provider_id },
        "status": { "conditions": [ready] },
    });
    // Generated names are checked unused; nothing else can make this fail.
    let _ = store.create(&NODES, node, false);
}

/// The `ownerReferences` entry with `controller: true`.
fn controller_ref(object: &Value) -> Option<&Value> {
    object
        .pointer("/metadata/ownerReferences")?
        .as_array()?
        .iter()
        .find(|r| r.get("controller").and_then(Value::as_bool) == Some(true))
}

/// Whether `object`'s controller is `owner` (by uid when both carry one).
fn owned_by(object: &Value, owner: &Value) -> bool {
    controller_ref(object).is_some_and(|r| {
        let field = |f: &str| r.get(f).and_then(Value::as_str);
        field("kind") == owner.get("kind").and_then(Value::as_str)
            && field("name") == meta(owner, "name")
            && match (field("uid"), meta(owner, "uid")) {
                (Some(a), Some(b)) => a == b,
                _ => true,
            }
    })
}

/// An `ownerReferences` entry naming `owner` as controller.
fn owner_reference(owner: &Value) -> Value {
    json!({
        "apiVersion": owner.get("apiVersion"),
        "kind": owner.get("kind"),
        "name": meta(owner, "name"),
        "uid": meta(owner, "uid"),
        "controller": true,
        "blockOwnerDeletion": true,
    })
}

fn pods_owned_by<'a>(store: &'a Store, owner: &'a Value) -> impl Iterator<Item = &'a Value> {
    store
        .list(&PODS, meta(owner, "namespace"))
        .filter(move |pod| owned_by(pod, owner))
}

fn condition_true(object: &Value, kind: &str) -> bool {
    object
        .pointer("/status/conditions")
        .and_then(Value::as_array)
        .is_some_and(|conditions| {
            conditions.iter().any(|c| {
                c.get("type").and_then(Value::as_str) == Some(kind)
                    && c.get("status").and_then(Value::as_str) == Some("True")
            })
        })
}

/// A Ready, schedulable node: `preferred` if it qualifies, else the one running the
/// fewest pods (ties broken by name).
fn choose_node(store: &Store, preferred: Option<&str>) -> Option<String> {
    let candidates: Vec<&str> = store
        .list(&NODES, None)
        .filter(|node| condition_true(node, "Ready"))
        .filter(|node| node.pointer("/spec/unschedulable").and_then(Value::as_bool) != Some(true))
        .filter_map(|node| meta(node, "name"))
        .collect();
    if let Some(preferred) = preferred.filter(|p| candidates.contains(p)) {
        return Some(preferred.to_owned());
    }
    let load = |node: &str| {
        store
            .list(&PODS, None)
            .filter(|p| p.pointer("/spec/nodeName").and_then(Value::as_str) == Some(node))
            .count()
    };
    candidates
        .into_iter()
        .min_by_key(|node| (load(node), *node))
        .map(str::to_owned)
}

/// The status a kubelet reports for a pod whose containers all started.
fn running_status(store: &mut Store, spec: &Value, node: &str) -> Value {
    let started = now();
    let bits = store.next_random();
    let pod_ip = format!("10.0.{}.{}", (bits >> 8) % 250 + 1, bits % 250 + 2);
    let host_ip = store
        .get(&NODES, None, node)
        .and_then(|n| n.pointer("/status/addresses"))
        .and_then(Value::as_array)
        .and_then(|a| {
            a.iter()
                .find(|a| a.get("type").and_then(Value::as_str) == Some("InternalIP"))
        })
        .and_then(|a| a.get("address"))
        .cloned();
    let conditions: Vec<Value> = [
        "PodReadyToStartContainers",
        "Initialized",
        "Ready",
        "ContainersReady",
        "PodScheduled",
    ]
    .iter()
    .map(|kind| json!({ "type": kind, "status": "True", "lastTransitionTime": started }))
    .collect();
    let containers: Vec<Value> = spec
        .get("containers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|c| {
            json!({
                "name": c.get("name"),
                "image": c.get("image"),
                "imageID": "",
                "containerID": format!("containerd://{:016x}", bits.rotate_left(17)),
                "ready": true,
                "started": true,
                "restartCount": 0,
                "state": { "running": { "startedAt": started } },
            })
        })
        .collect();
    json!({
        "phase": "Running",
        "hostIP": host_ip,
        "podIP": pod_ip,
        "podIPs": [{ "ip": pod_ip }],
        "startTime": started,
        "conditions": conditions,
        "containerStatuses": containers,
        "qosClass": "BestEffort",
    })
}

/// The status of a pod no node can take.
fn pending_status(store: &Store) -> Value {
    let nodes = store.list(&NODES, None).count();
    json!({
        "phase": "Pending",
        "conditions": [{
            "type": "PodScheduled",
            "status": "False",
            "reason": "Unschedulable",
            "message": format!("0/{nodes} nodes are available: no Ready, schedulable node."),
            "lastTransitionTime": now(),
        }],
        "qosClass": "BestEffort",
    })
}

/// Creates a pod from a template's metadata and spec, owned by `owner`, on `node` (Running)
/// or nowhere (Pending).
fn create_pod(
    store: &mut Store,
    owner: &Value,
    name: String,
    template: &Value,
    node: Option<String>,
) {
    let mut spec = template.get("spec").cloned().unwrap_or_else(|| json!({}));
    let status = match &node {
        Some(node) => {
            spec["nodeName"] = json!(node);
            running_status(store, &spec, node)
        }
        None => {
            if let Some(spec) = spec.as_object_mut() {
                spec.remove("nodeName");
            }
            pending_status(store)
        }
    };
    let mut metadata = Map::new();
    metadata.insert("name".into(), json!(name));
    metadata.insert("namespace".into(), json!(meta(owner, "namespace")));
    metadata.insert(
        "generateName".into(),
        json!(format!("{}-", meta(owner, "name").unwrap_or_default())),
    );
    for field in ["labels", "annotations"] {
        if let Some(value) = template.pointer(&format!("/metadata/{field}")) {
            metadata.insert(field.into(), value.clone());
        }
    }
    metadata.insert("ownerReferences".into(), json!([owner_reference(owner)]));
    let pod = json!({ "apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": spec, "status": status });
    // A name collision is the only way this fails, and generated names are checked unused.
    let _ = store.create(&PODS, pod, false);
}

fn owner_type(kind: &str) -> Option<&'static ResourceType> {
    match kind {
        "ReplicaSet" => Some(&REPLICASETS),
        "StatefulSet" => Some(&STATEFULSETS),
        "DaemonSet" => Some(&DAEMONSETS),
        _ => None,
    }
}

/// The owner's answer to one of its pods disappearing.
pub(crate) fn replace_pod(store: &mut Store, old: &Value) {
    let Some(reference) = controller_ref(old) else {
        return;
    };
    let (Some(resource), Some(owner_name)) = (
        reference
            .get("kind")
            .and_then(Value::as_str)
            .and_then(owner_type),
        reference.get("name").and_then(Value::as_str),
    ) else {
        return;
    };
    let namespace = meta(old, "namespace");
    let Some(owner) = store.get(resource, namespace, owner_name).cloned() else {
        return;
    };
    let old_node = old.pointer("/spec/nodeName").and_then(Value::as_str);
    let prefix = format!("{owner_name}-");
    let (name, node) = match resource.kind {
        "ReplicaSet" => {
            let desired = owner
                .pointer("/spec/replicas")
                .and_then(Value::as_u64)
                .unwrap_or(1);
            // A Terminating pod is no longer one of the replicas.
            let active = pods_owned_by(store, &owner)
                .filter(|p| p.pointer("/metadata/deletionTimestamp").is_none())
                .count();
            if active as u64 >= desired {
                return;
            }
            (
                store.generate_name(&PODS, namespace, &prefix),
                choose_node(store, old_node),
            )
        }
        "StatefulSet" => {
            let name = meta(old, "name").unwrap_or_default().to_owned();
            if store.get(&PODS, namespace, &name).is_some() {
                return;
            }
            (name, choose_node(store, old_node))
        }
        _ => {
            let on_node =
                |p: &&Value| p.pointer("/spec/nodeName").and_then(Value::as_str) == old_node;
            if pods_owned_by(store, &owner).any(|p| on_node(&p)) {
                return;
            }
            (
                store.generate_name(&PODS, namespace, &prefix),
                old_node.map(str::to_owned),
            )
        }
    };
    create_pod(store, &owner, name, old, node);
}

fn revision(object: &Value) -> u64 {
    object
        .pointer("/metadata/annotations")
        .and_then(|a| a.get(REVISION))
        .and_then(Value::as_str)
        .and_then(|r| r.parse().ok())
        .unwrap_or(0)
}

/// A pod template as the deployment controller compares templates (`EqualIgnoreHash`):
/// without the `pod-template-hash` label, and without a `creationTimestamp: null`, which
/// clients that send Go's typed template (kubectl's rollback) write for an unset time.
fn comparable_template(template: &Value) -> Value {
    let mut template = template.clone();
    if let Some(metadata) = template.get_mut("metadata").and_then(Value::as_object_mut) {
        if metadata.get("creationTimestamp") == Some(&Value::Null) {
            metadata.remove("creationTimestamp");
        }
        if let Some(labels) = metadata.get_mut("labels").and_then(Value::as_object_mut) {
            labels.remove(POD_TEMPLATE_HASH);
        }
    }
    template
}

/// The deployment controller's `pod-template-hash`: FNV-1a of the template, encoded with
/// Kubernetes' name alphabet.
fn pod_template_hash(template: &Value) -> String {
    let hash = template.to_string().bytes().fold(0x811c_9dc5_u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    });
    safe_encode(&hash.to_string())
}

fn set_annotation(object: &mut Value, key: &str, value: String) {
    let metadata = meta_mut(object);
    let annotations = metadata.entry("annotations").or_insert_with(|| json!({}));
    if !annotations.is_object() {
        *annotations = json!({});
    }
    annotations[key] = json!(value);
}

/// The Deployment annotations the deployment controller does not copy onto its
/// ReplicaSets: its own bookkeeping, and kubectl's last applied configuration.
const NOT_COPIED: [&str; 6] = [
    "kubectl.kubernetes.io/last-applied-configuration",
    REVISION,
    "deployment.kubernetes.io/revision-history",
    "deployment.kubernetes.io/desired-replicas",
    "deployment.kubernetes.io/max-replicas",
    "deprecated.deployment.rollback.to",
];

/// Copies the Deployment's annotations onto the ReplicaSet of its current revision, as the
/// deployment controller does (so each revision remembers its `kubernetes.io/change-cause`).
fn copy_annotations(deployment: &Value, rs: &mut Value) {
    let Some(annotations) = deployment
        .pointer("/metadata/annotations")
        .and_then(Value::as_object)
    else {
        return;
    };
    for (key, value) in annotations {
        if let (false, Some(value)) = (NOT_COPIED.contains(&key.as_str()), value.as_str()) {
            set_annotation(rs, key, value.to_owned());
        }
    }
}

/// Writes `object` back, then records `status.observedGeneration` for its new generation.
fn write_with_status(
    store: &mut Store,
    resource: &ResourceType,
    object: Value,
    mut status: Value,
) -> Option<Value> {
    let namespace = meta(&object, "namespace").map(str::to_owned);
    let name = meta(&object, "name")?.to_owned();
    let mut written = store
        .update(resource, namespace.as_deref(), &name, object, false)
        .ok()?;
    status["observedGeneration"] = written
        .pointer("/metadata/generation")
        .cloned()
        .unwrap_or(json!(1));
    written["status"] = status;
    store
        .update(resource, namespace.as_deref(), &name, written, false)
        .ok()
}

fn ready_pods(store: &Store, owner: &Value) -> usize {
    pods_owned_by(store, owner)
        .filter(|p| condition_true(p, "Ready"))
        .count()
}

/// Brings a Deployment to the state its controller would reach for its current spec.
pub(crate) fn reconcile_deployment(store: &mut Store, namespace: &str, name: &str) {
    let Some(mut deployment) = store.get(&DEPLOYMENTS, Some(namespace), name).cloned() else {
        return;
    };
    let generation = deployment
        .pointer("/metadata/generation")
        .cloned()
        .unwrap_or(json!(1));
    let mut status = deployment
        .get("status")
        .cloned()
        .filter(Value::is_object)
        .unwrap_or_else(|| json!({}));
    status["observedGeneration"] = generation;
    let paused = deployment.pointer("/spec/paused").and_then(Value::as_bool) == Some(true);
    let Some(template) = deployment
        .pointer("/spec/template")
        .cloned()
        .filter(|_| !paused)
    else {
        // A paused Deployment is observed but not rolled out.
        deployment["status"] = status;
        let _ = store.update(&DEPLOYMENTS, Some(namespace), name, deployment, false);
        return;
    };
    let replicas = deployment
        .pointer("/spec/replicas")
        .and_then(Value::as_u64)
        .unwrap_or(1);

    let owned: Vec<Value> = store
        .list(&REPLICASETS, Some(namespace))
        .filter(|rs| owned_by(rs, &deployment))
        .cloned()
        .collect();
    let newest = owned.iter().map(revision).max().unwrap_or(0);
    let wanted = comparable_template(&template);
    let current = owned.iter().find(|rs| {
        rs.pointer("/spec/template")
            .map(comparable_template)
            .as_ref()
            == Some(&wanted)
    });
    let mut new_rs = match current {
        Some(rs) => {
            let mut rs = rs.clone();
            if revision(&rs) < newest || newest == 0 {
                set_annotation(&mut rs, REVISION, (newest + 1).to_string());
            }
            rs
        }
        None => {
            let hash = pod_template_hash(&wanted);
            let mut rs_template = wanted.clone();
            rs_template["metadata"]["labels"][POD_TEMPLATE_HASH] = json!(hash);
            let mut selector = deployment
                .pointer("/spec/selector")
                .cloned()
                .unwrap_or_else(|| json!({}));
            selector["matchLabels"][POD_TEMPLATE_HASH] = json!(hash);
            let rs = json!({
                "apiVersion": "apps/v1",
                "kind": "ReplicaSet",
                "metadata": {
                    "name": format!("{name}-{hash}"),
                    "namespace": namespace,
                    "labels": rs_template["metadata"]["labels"],
                    "annotations": { REVISION: (newest + 1).to_string() },
                    "ownerReferences": [owner_reference(&deployment)],
                },
                "spec": { "replicas": replicas, "selector": selector, "template": rs_template },
            });
            match store.create(&REPLICASETS, rs, false) {
                Ok(rs) => rs,
                Err(_) => return,
            }
        }
    };
    new_rs["spec"]["replicas"] = json!(replicas);
    copy_annotations(&deployment, &mut new_rs);

    // Scale the new ReplicaSet's pods to `replicas`, and every older one's to zero.
    for old in owned
        .iter()
        .filter(|rs| meta(rs, "uid") != meta(&new_rs, "uid"))
    {
        let doomed: Vec<String> = pods_owned_by(store, old)
            .filter_map(|p| meta(p, "name"))
            .map(str::to_owned)
            .collect();
        for pod in doomed {
            store.remove(&PODS, Some(namespace), &pod);
        }
        let mut old = old.clone();
        old["spec"]["replicas"] = json!(0);
        write_with_status(store, &REPLICASETS, old, json!({ "replicas": 0 }));
    }
    let mut have: Vec<String> = pods_owned_by(store, &new_rs)
        .filter_map(|p| meta(p, "name"))
        .map(str::to_owned)
        .collect();
    while have.len() as u64 > replicas {
        if let Some(extra) = have.pop() {
            store.remove(&PODS, Some(namespace), &extra);
        }
    }
    let rs_template = new_rs
        .pointer("/spec/template")
        .cloned()
        .unwrap_or_else(|| json!({}));
    let rs_name = meta(&new_rs, "name").unwrap_or_default().to_owned();
    for _ in have.len() as u64..replicas {
        let pod_name = store.generate_name(&PODS, Some(namespace), &format!("{rs_name}-"));
        let node = choose_node(store, None);
        create_pod(store, &new_rs, pod_name, &rs_template, node);
    }
    let ready = ready_pods(store, &new_rs) as u64;
    let rs_status = json!({
        "replicas": replicas,
        "fullyLabeledReplicas": replicas,
        "readyReplicas": ready,
        "availableReplicas": ready,
    });
    let Some(new_rs) = write_with_status(store, &REPLICASETS, new_rs, rs_status) else {
        return;
    };

    set_annotation(&mut deployment, REVISION, revision(&new_rs).to_string());
    let available = ready >= replicas;
    let progressed = if available {
        format!("ReplicaSet \"{rs_name}\" has successfully progressed.")
    } else {
        format!("ReplicaSet \"{rs_name}\" is progressing.")
    };
    for (key, value) in [
        ("replicas", json!(replicas)),
        ("updatedReplicas", json!(replicas)),
        ("readyReplicas", json!(ready)),
        ("availableReplicas", json!(ready)),
    ] {
        status[key] = value;
    }
    if let Some(status) = status.as_object_mut() {
        status.remove("unavailableReplicas");
        if !available {
            status.insert("unavailableReplicas".into(), json!(replicas - ready));
        }
    }
    status["conditions"] = json!([
        {
            "type": "Available",
            "status": if available { "True" } else { "False" },
            "reason": if available { "MinimumReplicasAvailable" } else { "MinimumReplicasUnavailable" },
            "message": if available { "Deployment has minimum availability." } else { "Deployment does not have minimum availability." },
            "lastUpdateTime": now(),
            "lastTransitionTime": now(),
        },
        {
            "type": "Progressing",
            "status": "True",
            "reason": if available { "NewReplicaSetAvailable" } else { "ReplicaSetUpdated" },
            "message": progressed,
            "lastUpdateTime": now(),
            "lastTransitionTime": now(),
        },
    ]);
    deployment["status"] = status;
    let _ = store.update(&DEPLOYMENTS, Some(namespace), name, deployment, false);
}
