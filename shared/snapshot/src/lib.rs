//! reflex-snapshot: a cluster view read from a `kubectl get ... -o json` List file.
//!
//! Start at [`Snapshot::from_json`]. The snapshot answers the same [`ClusterView`] reads as
//! the live API, so a replay against it plans exactly what a live run would plan against a
//! cluster in that state. It also implements [`Actuator`] and [`Fleet`] as an in-memory
//! *simulation* (for `reflex replay --execute --cluster FILE`): changes are applied to a
//! private copy, controllers are simulated as instantly successful, and a
//! PodDisruptionBudget at zero refuses evictions for good, because nothing in a static
//! snapshot will ever free it. Nothing leaves the process.
//!
//! Kinds beyond the snapshot command's first eight are optional (HorizontalPodAutoscalers,
//! PersistentVolumeClaims, PersistentVolumes, Karpenter's `nodeclaims.karpenter.sh`,
//! Services and the AWS Load Balancer Controller's `targetgroupbindings.elbv2.k8s.aws`): a
//! file without them still loads. Deleting a NodeClaim is simulated as Karpenter does it:
//! the NodeClaim and its node go, and a Ready node (with a NodeClaim of its own) joins the
//! same NodePool. When a
//! drain finds no claim of a pod in a snapshot holding none at all,
//! [`ClusterView::missing_kind`] says so, so the note points at the `kubectl get` command
//! rather than at the cluster.

use std::collections::BTreeMap;
use std::future::{Future, ready};
use std::sync::{Mutex, MutexGuard};

use reflex_core::cluster::{Actuator, ClusterError, ClusterView, Fleet, ReadResult, Submit};

use reflex_core::objects::{
    Condition, Hpa, LabelSelector, Namespace, Node, NodeClaim, OwnerRef, Pdb, Pod, Pv, Pvc,
    ReplicaSet, Service, TargetGroupBinding, Workload,
};

use reflex_core::vocab::annotations::RESTARTED_AT_ANNOTATION;
use reflex_core::vocab::labels::{KARPENTER_API_VERSION, NODEPOOL_LABEL};
use reflex_core::vocab::op::{Op, PodRef};
use reflex_core::vocab::target::TargetKind;
use serde::Deserialize;

/// Why a snapshot file could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    /// The file is not JSON, or not a `List`.
    #[error("cluster snapshot is not a kubectl List: {0}")]
    NotAList(String),
    /// One item did not decode as the kind it claims.
    #[error("cluster snapshot item {index} ({kind} {name}): {source}")]
    Item {
        /// Position in `items`.
        index: usize,
        /// Its `kind`.
        kind: String,
        /// Its `metadata.name`.
        name: String,
        /// The decoding error, with the field path.
        #[source]
        source: serde_path_to_error::Error<serde_json::Error>,
    },
}

mod evidence;

type Key = (String, String);

#[derive(Debug, Default, Clone)]
struct State {
    pods: BTreeMap<Key, Pod>,
    replica_sets: BTreeMap<Key, ReplicaSet>,
    workloads: BTreeMap<(TargetKind, String, String), Workload>,
    namespaces: BTreeMap<String, Namespace>,
    nodes: BTreeMap<String, Node>,
    pdbs: BTreeMap<Key, Pdb>,
    hpas: BTreeMap<Key, Hpa>,
    pvcs: BTreeMap<Key, Pvc>,
    pvs: BTreeMap<String, Pv>,
    nodeclaims: BTreeMap<String, NodeClaim>,
    services: BTreeMap<Key, Service>,
    target_group_bindings: BTreeMap<Key, TargetGroupBinding>,
    /// Event items as they are in the file, read for notifications (`evidence.rs`).
    events: Vec<serde_json::Value>,
    /// Kinds present in the file that reflex does not read, with counts.
    skipped: BTreeMap<String, usize>,
    /// Instances the simulated fleet terminated.
    terminated: Vec<String>,
    /// Counter for simulated names and resourceVersions.
    seq: u64,
}

/// A cluster snapshot loaded in memory.
#[derive(Debug)]
pub struct Snapshot {
    state: Mutex<State>,
}

impl Clone for Snapshot {
    /// An independent copy: simulated changes to one do not show in the other.
    fn clone(&self) -> Self {
        Snapshot {
            state: Mutex::new(self.state().clone()),
        }
    }
}

/// Counts of what a snapshot holds, for people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    /// Nodes, and how many are Ready.
    pub nodes: (usize, usize),
    /// Namespaces.
    pub namespaces: usize,
    /// Pods.
    pub pods: usize,
    /// Deployments, StatefulSets and DaemonSets.
    pub workloads: usize,
    /// ReplicaSets.
    pub replica_sets: usize,
    /// PodDisruptionBudgets.
    pub pdbs: usize,
    /// Kinds ignored, with counts.
    pub skipped: BTreeMap<String, usize>,
}

#[derive(Deserialize)]
struct List<'a> {
    #[serde(default)]
    kind: Option<&'a str>,
    #[serde(borrow)]
    items: Vec<&'a serde_json::value::RawValue>,
}

#[derive(Deserialize)]
struct Head<'a> {
    #[serde(default, borrow)]
    kind: Option<std::borrow::Cow<'a, str>>,
    #[serde(default)]
    metadata: HeadMeta,
}

#[derive(Deserialize, Default)]
struct HeadMeta {
    #[serde(default)]
    name: String,
    #[serde(default)]
    namespace: Option<String>,
}

/// Decodes one item: a plain decode, and only for an item that fails, a second decode
/// that tracks the field path for the error message, so items that decode do not pay for
/// path tracking.
fn decode<T: serde::de::DeserializeOwned>(
    raw: &serde_json::value::RawValue,
) -> Result<T, serde_path_to_error::Error<serde_json::Error>> {
    serde_json::from_str(raw.get()).or_else(|_| {
        serde_path_to_error::deserialize(&mut serde_json::Deserializer::from_str(raw.get()))
    })
}

fn key(ns: &str, name: &str) -> Key {
    (ns.to_owned(), name.to_owned())
}

impl Snapshot {
    /// Loads a `kubectl get nodes,namespaces,pods,deployments,replicasets,statefulsets,
    /// daemonsets,poddisruptionbudgets,persistentvolumeclaims,persistentvolumes -A -o json`
    /// List (HorizontalPodAutoscalers, Karpenter NodeClaims, Services,
    /// TargetGroupBindings and Events are read too). Other kinds
    /// are skipped and counted.
    pub fn from_json(bytes: &[u8]) -> Result<Snapshot, SnapshotError> {
        let list: List<'_> =
            serde_json::from_slice(bytes).map_err(|e| SnapshotError::NotAList(e.to_string()))?;
        if let Some(kind) = list.kind
            && !kind.ends_with("List")
        {
            return Err(SnapshotError::NotAList(format!("kind is {kind:?}")));
        }
        let mut state = State::default();
        for (index, raw) in list.items.into_iter().enumerate() {
            let head: Head<'_> = serde_json::from_str(raw.get())
                .map_err(|e| SnapshotError::NotAList(format!("items[{index}]: {e}")))?;
            let kind = head.kind.as_deref().unwrap_or("").to_owned();
            let name = head.metadata.name.clone();
            let ns = head.metadata.namespace.clone().unwrap_or_default();
            let item_err = |source| SnapshotError::Item {
                index,
                kind: kind.clone(),
                name: name.clone(),
                source,
            };
            match kind.as_str() {
                "Pod" => {
                    state
                        .pods
                        .insert(key(&ns, &name), decode(raw).map_err(item_err)?);
                }
                "ReplicaSet" => {
                    state
                        .replica_sets
                        .insert(key(&ns, &name), decode(raw).map_err(item_err)?);
                }
                "Deployment" | "StatefulSet" | "DaemonSet" => {
                    let k = match kind.as_str() {
                        "Deployment" => TargetKind::Deployment,
                        "StatefulSet" => TargetKind::StatefulSet,
                        _ => TargetKind::DaemonSet,
                    };
                    state
                        .workloads
                        .insert((k, ns, name.clone()), decode(raw).map_err(item_err)?);
                }
                "Namespace" => {
                    state
                        .namespaces
                        .insert(name.clone(), decode(raw).map_err(item_err)?);
                }
                "Node" => {
                    state
                        .nodes
                        .insert(name.clone(), decode(raw).map_err(item_err)?);
                }
                "PodDisruptionBudget" => {
                    state
                        .pdbs
                        .insert(key(&ns, &name), decode(raw).map_err(item_err)?);
                }
                "HorizontalPodAutoscaler" => {
                    state
                        .hpas
                        .insert(key(&ns, &name), decode(raw).map_err(item_err)?);
                }
                "PersistentVolumeClaim" => {
                    state
                        .pvcs
                        .insert(key(&ns, &name), decode(raw).map_err(item_err)?);
                }
                "PersistentVolume" => {
                    state
                        .pvs
                        .insert(name.clone(), decode(raw).map_err(item_err)?);
                }
                "NodeClaim" => {
                    state
                        .nodeclaims
                        .insert(name.clone(), decode(raw).map_err(item_err)?);
                }
                "Service" => {
                    state
                        .services
                        .insert(key(&ns, &name), decode(raw).map_err(item_err)?);
                }
                "TargetGroupBinding" => {
                    state
                        .target_group_bindings
                        .insert(key(&ns, &name), decode(raw).map_err(item_err)?);
                }
                "Event" => state.events.push(decode(raw).map_err(item_err)?),
                other => *state.skipped.entry(other.to_owned()).or_default() += 1,
            }
        }
        Ok(Snapshot {
            state: Mutex::new(state),
        })
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave the maps half-updated in a way that
        // matters to a read; keep serving.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// What the snapshot holds.
    pub fn summary(&self) -> Summary {
        let s = self.state();
        Summary {
            nodes: (
                s.nodes.len(),
                s.nodes.values().filter(|n| n.is_ready()).count(),
            ),
            namespaces: s.namespaces.len(),
            pods: s.pods.len(),
            workloads: s.workloads.len(),
            replica_sets: s.replica_sets.len(),
            pdbs: s.pdbs.len(),
            skipped: s.skipped.clone(),
        }
    }

    /// A pod as the snapshot (or its simulation) now has it.
    pub fn pod_now(&self, namespace: &str, name: &str) -> Option<Pod> {
        self.state().pods.get(&key(namespace, name)).cloned()
    }

    /// A node as the snapshot (or its simulation) now has it.
    pub fn node_now(&self, name: &str) -> Option<Node> {
        self.state().nodes.get(name).cloned()
    }

    /// A workload as the snapshot (or its simulation) now has it.
    pub fn workload_now(&self, kind: TargetKind, namespace: &str, name: &str) -> Option<Workload> {
        self.state()
            .workloads
            .get(&(kind, namespace.to_owned(), name.to_owned()))
            .cloned()
    }

    /// A Karpenter NodeClaim as the snapshot (or its simulation) now has it.
    pub fn nodeclaim_now(&self, name: &str) -> Option<NodeClaim> {
        self.state().nodeclaims.get(name).cloned()
    }

    /// Instances the simulated fleet has terminated.
    pub fn terminated(&self) -> Vec<String> {
        self.state().terminated.clone()
    }
}

impl ClusterView for Snapshot {
    fn pod(
        &self,
        namespace: &str,
        name: &str,
    ) -> impl Future<Output = ReadResult<Option<Pod>>> + Send {
        ready(Ok(self.pod_now(namespace, name)))
    }

    fn replica_set(
        &self,
        namespace: &str,
        name: &str,
    ) -> impl Future<Output = ReadResult<Option<ReplicaSet>>> + Send {
        ready(Ok(self
            .state()
            .replica_sets
            .get(&key(namespace, name))
            .cloned()))
    }

    fn replica_sets(
        &self,
        namespace: &str,
        selector: &LabelSelector,
    ) -> impl Future<Output = ReadResult<Vec<ReplicaSet>>> + Send {
        let s = self.state();
        ready(Ok(s
            .replica_sets
            .iter()
            .filter(|((ns, _), rs)| ns == namespace && selector.matches(&rs.metadata.labels))
            .map(|(_, rs)| rs.clone())
            .collect()))
    }

    fn workload(
        &self,
        kind: TargetKind,
        namespace: &str,
        name: &str,
    ) -> impl Future<Output = ReadResult<Option<Workload>>> + Send {
        ready(Ok(self.workload_now(kind, namespace, name)))
    }

    fn namespace(&self, name: &str) -> impl Future<Output = ReadResult<Option<Namespace>>> + Send {
        ready(Ok(self.state().namespaces.get(name).cloned()))
    }

    fn node(&self, name: &str) -> impl Future<Output = ReadResult<Option<Node>>> + Send {
        ready(Ok(self.node_now(name)))
    }

    fn nodes(&self) -> impl Future<Output = ReadResult<Vec<Node>>> + Send {
        ready(Ok(self.state().nodes.values().cloned().collect()))
    }

    fn pods_on_node(&self, node: &str) -> impl Future<Output = ReadResult<Vec<Pod>>> + Send {
        let s = self.state();
        ready(Ok(s
            .pods
            .values()
            .filter(|p| p.spec.node_name.as_deref() == Some(node))
            .cloned()
            .collect()))
    }

    fn pdbs(&self, namespace: &str) -> impl Future<Output = ReadResult<Vec<Pdb>>> + Send {
        let s = self.state();
        ready(Ok(s
            .pdbs
            .iter()
            .filter(|((ns, _), _)| ns == namespace)
            .map(|(_, p)| p.clone())
            .collect()))
    }

    fn hpas(&self, namespace: &str) -> impl Future<Output = ReadResult<Vec<Hpa>>> + Send {
        let s = self.state();
        ready(Ok(s
            .hpas
            .iter()
            .filter(|((ns, _), _)| ns == namespace)
            .map(|(_, h)| h.clone())
            .collect()))
    }

    fn pods_selected(
        &self,
        namespace: &str,
        selector: &LabelSelector,
    ) -> impl Future<Output = ReadResult<Vec<Pod>>> + Send {
        let s = self.state();
        ready(Ok(s
            .pods
            .iter()
            .filter(|((ns, _), p)| ns == namespace && selector.matches(&p.metadata.labels))
            .map(|(_, p)| p.clone())
            .collect()))
    }

    fn pvc(
        &self,
        namespace: &str,
        name: &str,
    ) -> impl Future<Output = ReadResult<Option<Pvc>>> + Send {
        ready(Ok(self.state().pvcs.get(&key(namespace, name)).cloned()))
    }

    fn pv(&self, name: &str) -> impl Future<Output = ReadResult<Option<Pv>>> + Send {
        ready(Ok(self.state().pvs.get(name).cloned()))
    }

    fn nodeclaim(&self, name: &str) -> impl Future<Output = ReadResult<Option<NodeClaim>>> + Send {
        ready(Ok(self.nodeclaim_now(name)))
    }

    fn nodeclaims(&self) -> impl Future<Output = ReadResult<Vec<NodeClaim>>> + Send {
        ready(Ok(self.state().nodeclaims.values().cloned().collect()))
    }

    fn deployments(
        &self,
        namespace: &str,
    ) -> impl Future<Output = ReadResult<Vec<Workload>>> + Send {
        let s = self.state();
        ready(Ok(s
            .workloads
            .iter()
            .filter(|((kind, ns, _), _)| *kind == TargetKind::Deployment && ns == namespace)
            .map(|(_, w)| w.clone())
            .collect()))
    }

    fn service(
        &self,
        namespace: &str,
        name: &str,
    ) -> impl Future<Output = ReadResult<Option<Service>>> + Send {
        ready(Ok(self
            .state()
            .services
            .get(&key(namespace, name))
            .cloned()))
    }

    fn target_group_bindings(
        &self,
    ) -> impl Future<Output = ReadResult<Vec<TargetGroupBinding>>> + Send {
        ready(Ok(self
            .state()
            .target_group_bindings
            .values()
            .cloned()
            .collect()))
    }

    fn missing_kind(&self, resource: &str) -> Option<String> {
        let s = self.state();
        let (empty, kinds) = match resource {
            "persistentvolumeclaims" => (
                s.pvcs.is_empty(),
                "persistentvolumeclaims,persistentvolumes",
            ),
            "persistentvolumes" => (s.pvs.is_empty(), "persistentvolumeclaims,persistentvolumes"),
            "nodeclaims" => (s.nodeclaims.is_empty(), "nodeclaims"),
            "services" => (s.services.is_empty(), "services"),
            "targetgroupbindings" => (
                s.target_group_bindings.is_empty(),
                "services,targetgroupbindings",
            ),
            _ => (false, ""),
        };
        empty.then(|| {
            format!(
                "the snapshot holds no {resource} (add {kinds} to the kubectl get command that takes it)"
            )
        })
    }
}

fn not_found(what: impl std::fmt::Display) -> ClusterError {
    ClusterError::NotFound(what.to_string())
}

impl State {
    fn next(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }

    /// The simulated controller: a pod owned by a ReplicaSet, StatefulSet or DaemonSet comes
    /// back at once, Ready, on a schedulable node (DaemonSet pods stay on theirs).
    fn replace(&mut self, old: &Pod) -> Option<String> {
        let owner: &OwnerRef = old.metadata.controller()?;
        if !matches!(
            owner.kind.as_str(),
            "ReplicaSet" | "StatefulSet" | "DaemonSet"
        ) {
            return None;
        }
        let n = self.next();
        let ns = old.metadata.namespace.clone().unwrap_or_default();
        let mut pod = old.clone();
        pod.metadata.name = match owner.kind.as_str() {
            "StatefulSet" => old.metadata.name.clone(),
            _ => format!("{}-sim{n}", owner.name),
        };
        pod.metadata.uid = Some(format!("simulated-{n}"));
        pod.metadata.resource_version = Some(format!("sim-{n}"));
        if owner.kind != "DaemonSet" {
            let old_node = old.spec.node_name.as_deref();
            pod.spec.node_name = self
                .nodes
                .values()
                .find(|node| {
                    node.is_ready()
                        && !node.spec.unschedulable
                        && Some(node.metadata.name.as_str()) != old_node
                })
                .map(|node| node.metadata.name.clone());
        }
        pod.status.phase = Some("Running".into());
        pod.status.conditions = vec![Condition {
            reason: None,
            kind: "Ready".into(),
            status: "True".into(),
            last_transition_time: None,
        }];
        let name = pod.metadata.name.clone();
        self.pods.insert(key(&ns, &name), pod);
        Some(name)
    }

    /// Simulated Karpenter, for a deleted NodeClaim: it and its node go (with the pods still
    /// bound there, as the pod garbage collector removes them), and a Ready node with a
    /// NodeClaim of its own joins the same NodePool.
    fn karpenter_replaces(&mut self, nodeclaim: &str) -> String {
        let Some(claim) = self.nodeclaims.remove(nodeclaim) else {
            return format!("NodeClaim {nodeclaim} was already gone");
        };
        let old = claim.status.node_name.clone().unwrap_or_default();
        let node = self.nodes.remove(&old);
        self.pods
            .retain(|_, p| p.spec.node_name.as_deref() != Some(old.as_str()));
        let (Some(mut node), Some(pool)) = (node, claim.nodepool().map(str::to_owned)) else {
            return format!("NodeClaim {nodeclaim} deleted (simulated); node {old} removed");
        };
        let n = self.next();
        let (claim_name, node_name) = (format!("{pool}-sim{n}"), format!("{pool}-node-sim{n}"));
        let mut new_claim = claim.clone();
        new_claim.metadata.name = claim_name.clone();
        new_claim.metadata.uid = Some(format!("simulated-{n}"));
        new_claim.status.node_name = Some(node_name.clone());
        new_claim.status.provider_id = None;
        node.metadata.name = node_name.clone();
        node.metadata.uid = Some(format!("simulated-node-{n}"));
        node.metadata.annotations.clear();
        node.metadata.owner_references = vec![OwnerRef {
            api_version: KARPENTER_API_VERSION.into(),
            kind: "NodeClaim".into(),
            name: claim_name.clone(),
            uid: format!("simulated-{n}"),
            controller: None,
        }];
        node.spec.unschedulable = false;
        node.spec.provider_id = None;
        node.status.conditions = vec![Condition {
            kind: "Ready".into(),
            status: "True".into(),
            last_transition_time: None,
            reason: None,
        }];
        self.nodeclaims.insert(claim_name.clone(), new_claim);
        self.nodes.insert(node_name.clone(), node);
        format!(
            "NodeClaim {nodeclaim} deleted (simulated); node {old} removed; Karpenter launched {node_name} (NodeClaim {claim_name}) in NodePool {pool}"
        )
    }

    fn evict(&mut self, pod: &PodRef, submit: Submit) -> Result<String, ClusterError> {
        let current = self
            .pods
            .get(&key(&pod.namespace, &pod.name))
            .cloned()
            .ok_or_else(|| not_found(format!("pod {pod}")))?;
        let blocking: Vec<Key> = self
            .pdbs
            .iter()
            .filter(|((ns, _), pdb)| {
                *ns == pod.namespace && pdb.spec.selector.matches(&current.metadata.labels)
            })
            .map(|(k, _)| k.clone())
            .collect();
        for k in &blocking {
            let pdb = &self.pdbs[k];
            if pdb.status.disruptions_allowed <= 0 {
                return Err(ClusterError::Refused(format!(
                    "429 TooManyRequests: evicting pod {pod} would violate PodDisruptionBudget {}/{} (0 disruptions allowed); a static snapshot never frees it",
                    k.0, k.1
                )));
            }
        }
        if submit == Submit::DryRun {
            return Ok("eviction would be admitted".into());
        }
        for k in &blocking {
            if let Some(pdb) = self.pdbs.get_mut(k) {
                pdb.status.disruptions_allowed -= 1;
            }
        }
        self.pods.remove(&key(&pod.namespace, &pod.name));
        Ok(match self.replace(&current) {
            Some(new) => format!("evicted (simulated); controller recreated it as {new}"),
            None => "evicted (simulated)".into(),
        })
    }

    fn apply(&mut self, op: &Op, submit: Submit) -> Result<String, ClusterError> {
        let dry = submit == Submit::DryRun;
        match op {
            Op::DeletePod { pod, uid } => {
                let k = key(&pod.namespace, &pod.name);
                let current = self
                    .pods
                    .get(&k)
                    .cloned()
                    .ok_or_else(|| not_found(format!("pod {pod}")))?;
                if let Some(planned) = uid
                    && current.metadata.uid.as_ref() != Some(planned)
                {
                    return Err(ClusterError::Conflict(format!(
                        "pod {pod} was recreated since the plan (planned uid {planned}): nothing deleted"
                    )));
                }
                if dry {
                    return Ok("delete would be admitted".into());
                }
                self.pods.remove(&k);
                Ok(match self.replace(&current) {
                    Some(new) => format!("deleted (simulated); controller recreated it as {new}"),
                    None => "deleted (simulated)".into(),
                })
            }
            Op::VerifyReplacement {
                pod, controller, ..
            } => {
                let owner_name = controller.rsplit(' ').next().unwrap_or_default();
                let replacement = self.pods.values().find(|p| {
                    p.metadata.namespace.as_deref() == Some(pod.namespace.as_str())
                        && p.is_ready()
                        && p.metadata
                            .uid
                            .as_deref()
                            .is_some_and(|u| u.starts_with("simulated-"))
                        && p.metadata
                            .controller()
                            .is_some_and(|o| o.name == owner_name)
                });
                match replacement {
                    Some(p) => Ok(format!(
                        "{} is Ready (simulated controller)",
                        p.metadata.name
                    )),
                    None => Err(ClusterError::Timeout(format!(
                        "no Ready replacement for {pod} from {controller}"
                    ))),
                }
            }
            Op::RestartWorkload { target, at } => {
                let ns = target.namespace.clone().unwrap_or_default();
                let w = self
                    .workloads
                    .get_mut(&(target.kind, ns, target.name.clone()))
                    .ok_or_else(|| not_found(target))?;
                if dry {
                    return Ok("patch would be admitted".into());
                }
                if let Some(obj) = w.spec.template.as_object_mut() {
                    let meta = obj
                        .entry("metadata")
                        .or_insert_with(|| serde_json::json!({}));
                    if let Some(meta) = meta.as_object_mut() {
                        let ann = meta
                            .entry("annotations")
                            .or_insert_with(|| serde_json::json!({}));
                        if let Some(ann) = ann.as_object_mut() {
                            ann.insert(RESTARTED_AT_ANNOTATION.into(), at.clone().into());
                        }
                    }
                }
                w.metadata.generation = Some(w.metadata.generation.unwrap_or(1) + 1);
                Ok(format!("{RESTARTED_AT_ANNOTATION}={at} set (simulated)"))
            }
            Op::Rollback {
                target,
                resource_version,
                to_revision,
                template,
                annotations,
                ..
            } => {
                let ns = target.namespace.clone().unwrap_or_default();
                let n = self.next();
                let w = self
                    .workloads
                    .get_mut(&(TargetKind::Deployment, ns, target.name.clone()))
                    .ok_or_else(|| not_found(target))?;
                if w.metadata.resource_version.as_deref() != Some(resource_version.as_str()) {
                    return Err(ClusterError::Conflict(format!(
                        "{target} changed since it was read (resourceVersion {:?}, plan made at {resource_version})",
                        w.metadata.resource_version
                    )));
                }
                if dry {
                    return Ok("patch would be admitted".into());
                }
                w.spec.template = template.clone();
                w.metadata.annotations = annotations.clone();
                w.metadata.resource_version = Some(format!("sim-{n}"));
                w.metadata.generation = Some(w.metadata.generation.unwrap_or(1) + 1);
                Ok(format!(
                    "template and annotations replaced with revision {to_revision}'s (simulated)"
                ))
            }
            Op::VerifyRollout { target, .. } => {
                let ns = target.namespace.clone().unwrap_or_default();
                self.workloads
                    .get(&(target.kind, ns, target.name.clone()))
                    .ok_or_else(|| not_found(target))?;
                Ok("rollout complete (simulated controller)".into())
            }
            Op::Cordon { node, reason, .. } => {
                let n = self
                    .nodes
                    .get_mut(node)
                    .ok_or_else(|| not_found(format!("node {node}")))?;
                if dry {
                    return Ok("patch would be admitted".into());
                }
                n.spec.unschedulable = true;
                n.metadata.annotations.insert(
                    reflex_core::vocab::annotations::CORDON_ANNOTATION.into(),
                    reason.clone(),
                );
                Ok("cordoned (simulated)".into())
            }
            Op::Evict { pod, .. } => self.evict(pod, submit),
            Op::WaitPodsGone { pods, .. } => {
                let left: Vec<String> = pods
                    .iter()
                    .filter(|p| self.pods.contains_key(&key(&p.namespace, &p.name)))
                    .map(ToString::to_string)
                    .collect();
                if left.is_empty() {
                    Ok(format!("{} pods gone", pods.len()))
                } else {
                    Err(ClusterError::Timeout(format!(
                        "pods still present: {}",
                        left.join(", ")
                    )))
                }
            }
            Op::DeleteNodeClaim { nodeclaim, uid, .. } => {
                let current = self
                    .nodeclaims
                    .get(nodeclaim)
                    .ok_or_else(|| not_found(format!("NodeClaim {nodeclaim}")))?;
                if let Some(planned) = uid
                    && current.metadata.uid.as_ref() != Some(planned)
                {
                    return Err(ClusterError::Conflict(format!(
                        "NodeClaim {nodeclaim} was recreated since the plan (planned uid {planned}): nothing deleted"
                    )));
                }
                if dry {
                    return Ok("delete would be admitted".into());
                }
                Ok(self.karpenter_replaces(nodeclaim))
            }
            Op::VerifyNodeClaimGone { nodeclaim, .. } => {
                if self.nodeclaims.contains_key(nodeclaim) {
                    Err(ClusterError::Timeout(format!(
                        "NodeClaim {nodeclaim} still exists"
                    )))
                } else {
                    Ok(format!("NodeClaim {nodeclaim} is gone"))
                }
            }
            Op::WaitPoolNode {
                nodepool, known, ..
            } => self
                .nodes
                .values()
                .find(|n| {
                    n.is_ready()
                        && n.metadata.labels.get(NODEPOOL_LABEL) == Some(nodepool)
                        && !known.contains(&n.metadata.name)
                })
                .map(|n| {
                    format!(
                        "{} is Ready in NodePool {nodepool} (simulated Karpenter)",
                        n.metadata.name
                    )
                })
                .ok_or_else(|| {
                    ClusterError::Timeout(format!("no new Ready node in NodePool {nodepool}"))
                }),
            Op::TerminateInstance { .. }
            | Op::ChangeWeights { .. }
            | Op::VerifyInSync { .. }
            | Op::Notify { .. }
            | Op::Unresolved { .. } => Err(ClusterError::Unsupported(format!(
                "{} is not a cluster call",
                op.name()
            ))),
        }
    }
}

impl Actuator for Snapshot {
    fn apply(
        &self,
        op: &Op,
        submit: Submit,
    ) -> impl Future<Output = Result<String, ClusterError>> + Send {
        ready(self.state().apply(op, submit))
    }
}

impl Fleet for Snapshot {
    fn terminate(
        &self,
        instance_id: &str,
        submit: Submit,
    ) -> impl Future<Output = Result<String, ClusterError>> + Send {
        let mut s = self.state();
        let node = s
            .nodes
            .values()
            .find(|n| n.instance_id() == Some(instance_id))
            .map(|n| n.metadata.name.clone());
        let result = match (node, submit) {
            (None, _) => Err(not_found(format!("no node runs instance {instance_id}"))),
            (Some(_), Submit::DryRun) => Ok("termination would be requested".into()),
            (Some(node), Submit::Apply) => {
                s.nodes.remove(&node);
                s.terminated.push(instance_id.to_owned());
                Ok(format!(
                    "instance {instance_id} terminated (simulated); node {node} removed; its Auto Scaling group would launch a replacement"
                ))
            }
        };
        ready(result)
    }
}
