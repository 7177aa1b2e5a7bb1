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
//!
//! Loading only skims the file (one pass for the `List`, one per item for its kind, name,
//! labels and `spec.nodeName`) and keeps it; each object is decoded when a read first needs
//! it (`table.rs`). A replay reads a handful of objects, so this is what makes a
//! 30 MB snapshot cost tens of milliseconds instead of the decoding of every item. The
//! price is where a malformed item is reported: not at load but by every read that could
//! return it, which fails with the item's index, kind, name and field path. A read that
//! selects by node or label skips an item only when its skimmed `spec.nodeName` or labels
//! show it cannot match, so a bad item is never silently left out.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::future::{Future, ready};
use std::sync::{Arc, Mutex, MutexGuard};

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
use serde_json::value::RawValue;

mod error;
mod evidence;
mod table;

pub use error::SnapshotError;

use table::{Hints, Raw, Span, Table};

type Key = (String, String);

#[derive(Debug, Clone)]
struct State {
    /// The file, shared by every copy of the state: items are decoded from it on first use.
    text: Arc<String>,
    pods: Table<Key, Pod>,
    replica_sets: Table<Key, ReplicaSet>,
    workloads: Table<(TargetKind, String, String), Workload>,
    namespaces: Table<String, Namespace>,
    nodes: Table<String, Node>,
    pdbs: Table<Key, Pdb>,
    hpas: Table<Key, Hpa>,
    pvcs: Table<Key, Pvc>,
    pvs: Table<String, Pv>,
    nodeclaims: Table<String, NodeClaim>,
    services: Table<Key, Service>,
    target_group_bindings: Table<Key, TargetGroupBinding>,
    /// Event items, read for notifications (`evidence.rs`).
    events: Vec<Span>,
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
    /// Nodes, and how many are Ready (a node item that does not decode is not counted
    /// Ready).
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
    items: Vec<&'a RawValue>,
}

/// What the skim reads of an item: its kind and name, and where its labels and
/// `spec.nodeName` are. Every other field is skipped unread.
#[derive(Deserialize)]
struct Head<'a> {
    #[serde(default, borrow)]
    kind: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    metadata: HeadMeta<'a>,
    #[serde(default, borrow)]
    spec: Option<HeadSpec<'a>>,
}

#[derive(Deserialize, Default)]
struct HeadMeta<'a> {
    #[serde(default)]
    name: String,
    #[serde(default)]
    namespace: Option<String>,
    #[serde(default, borrow)]
    labels: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct HeadSpec<'a> {
    #[serde(default, borrow, rename = "nodeName")]
    node_name: Option<&'a RawValue>,
}

/// The skim of an item whose labels or spec are not of the expected shape: its kind and
/// name only (the item's decoding says what is wrong, when a read needs it).
#[derive(Deserialize)]
struct MinHead<'a> {
    #[serde(default, borrow)]
    kind: Option<Cow<'a, str>>,
    #[serde(default)]
    metadata: MinMeta,
}

#[derive(Deserialize, Default)]
struct MinMeta {
    #[serde(default)]
    name: String,
    #[serde(default)]
    namespace: Option<String>,
}

/// The kinds reflex reads.
const KINDS: [&str; 15] = [
    "Pod",
    "ReplicaSet",
    "Deployment",
    "StatefulSet",
    "DaemonSet",
    "Namespace",
    "Node",
    "PodDisruptionBudget",
    "HorizontalPodAutoscaler",
    "PersistentVolumeClaim",
    "PersistentVolume",
    "NodeClaim",
    "Service",
    "TargetGroupBinding",
    "Event",
];

/// Where `part`, a slice of `text`, is in it.
fn span(text: &str, part: &str) -> Span {
    let start = part.as_ptr() as usize - text.as_ptr() as usize;
    start..start + part.len()
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
    ///
    /// The file is skimmed, not decoded: it must be a JSON `List` whose items each have a
    /// `kind` and a string `metadata.name`, or it is refused here; an item is decoded when
    /// a read first needs it, and an item that does not decode as its kind fails that
    /// read with [`SnapshotError::Item`]'s message (see [`table`]).
    pub fn from_json(bytes: &[u8]) -> Result<Snapshot, SnapshotError> {
        Snapshot::from_json_vec(bytes.to_vec())
    }

    /// [`Snapshot::from_json`] of a file read whole, without copying it.
    pub fn from_json_vec(bytes: Vec<u8>) -> Result<Snapshot, SnapshotError> {
        let text = String::from_utf8(bytes)
            .map_err(|e| SnapshotError::NotAList(format!("not UTF-8: {}", e.utf8_error())))?;
        let text = Arc::new(text);
        let mut state = State {
            text: Arc::clone(&text),
            pods: Table::default(),
            replica_sets: Table::default(),
            workloads: Table::default(),
            namespaces: Table::default(),
            nodes: Table::default(),
            pdbs: Table::default(),
            hpas: Table::default(),
            pvcs: Table::default(),
            pvs: Table::default(),
            nodeclaims: Table::default(),
            services: Table::default(),
            target_group_bindings: Table::default(),
            events: Vec::new(),
            skipped: BTreeMap::new(),
            terminated: Vec::new(),
            seq: 0,
        };
        let list: List<'_> =
            serde_json::from_str(&text).map_err(|e| SnapshotError::NotAList(e.to_string()))?;
        if let Some(kind) = list.kind
            && !kind.ends_with("List")
        {
            return Err(SnapshotError::NotAList(format!("kind is {kind:?}")));
        }
        for (index, item) in list.items.into_iter().enumerate() {
            let (kind, name, ns, hints) = match serde_json::from_str::<Head<'_>>(item.get()) {
                Ok(head) => {
                    let hints = Hints {
                        labels: head.metadata.labels.map(|l| span(&text, l.get())),
                        node_name: head
                            .spec
                            .and_then(|s| s.node_name)
                            .map(|n| span(&text, n.get())),
                    };
                    let m = head.metadata;
                    (head.kind, m.name, m.namespace, Some(hints))
                }
                Err(_) => {
                    let head: MinHead<'_> = serde_json::from_str(item.get())
                        .map_err(|e| SnapshotError::NotAList(format!("items[{index}]: {e}")))?;
                    let m = head.metadata;
                    (head.kind, m.name, m.namespace, None)
                }
            };
            let kind = kind.as_deref().unwrap_or("");
            let Some(kind) = KINDS.iter().copied().find(|k| *k == kind) else {
                *state.skipped.entry(kind.to_owned()).or_default() += 1;
                continue;
            };
            let ns = ns.unwrap_or_default();
            let raw = Raw {
                index,
                kind,
                item: span(&text, item.get()),
                hints,
            };
            match kind {
                "Pod" => state.pods.insert_raw((ns, name), raw),
                "ReplicaSet" => state.replica_sets.insert_raw((ns, name), raw),
                "Deployment" => state
                    .workloads
                    .insert_raw((TargetKind::Deployment, ns, name), raw),
                "StatefulSet" => state
                    .workloads
                    .insert_raw((TargetKind::StatefulSet, ns, name), raw),
                "DaemonSet" => state
                    .workloads
                    .insert_raw((TargetKind::DaemonSet, ns, name), raw),
                "Namespace" => state.namespaces.insert_raw(name, raw),
                "Node" => state.nodes.insert_raw(name, raw),
                "PodDisruptionBudget" => state.pdbs.insert_raw((ns, name), raw),
                "HorizontalPodAutoscaler" => state.hpas.insert_raw((ns, name), raw),
                "PersistentVolumeClaim" => state.pvcs.insert_raw((ns, name), raw),
                "PersistentVolume" => state.pvs.insert_raw(name, raw),
                "NodeClaim" => state.nodeclaims.insert_raw(name, raw),
                "Service" => state.services.insert_raw((ns, name), raw),
                "TargetGroupBinding" => state.target_group_bindings.insert_raw((ns, name), raw),
                _ => state.events.push(raw.item),
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

    /// Runs `f` on the state; an item that does not decode fails the read.
    fn read<R>(
        &self,
        f: impl FnOnce(&mut State) -> Result<R, SnapshotError>,
    ) -> std::future::Ready<ReadResult<R>> {
        ready(f(&mut self.state()).map_err(ClusterError::from))
    }

    /// What the snapshot holds.
    pub fn summary(&self) -> Summary {
        let s = &mut *self.state();
        let ready_nodes = s
            .nodes
            .values(&s.text)
            .map_or(0, |nodes| nodes.iter().filter(|n| n.is_ready()).count());
        Summary {
            nodes: (s.nodes.len(), ready_nodes),
            namespaces: s.namespaces.len(),
            pods: s.pods.len(),
            workloads: s.workloads.len(),
            replica_sets: s.replica_sets.len(),
            pdbs: s.pdbs.len(),
            skipped: s.skipped.clone(),
        }
    }

    /// A pod as the snapshot (or its simulation) now has it (`None` too when its item
    /// does not decode; a read says why).
    pub fn pod_now(&self, namespace: &str, name: &str) -> Option<Pod> {
        let s = &mut *self.state();
        s.pods
            .get(&s.text, &key(namespace, name))
            .ok()
            .flatten()
            .cloned()
    }

    /// A node as the snapshot (or its simulation) now has it (`None` too when its item
    /// does not decode).
    pub fn node_now(&self, name: &str) -> Option<Node> {
        let s = &mut *self.state();
        s.nodes
            .get(&s.text, &name.to_owned())
            .ok()
            .flatten()
            .cloned()
    }

    /// A workload as the snapshot (or its simulation) now has it (`None` too when its
    /// item does not decode).
    pub fn workload_now(&self, kind: TargetKind, namespace: &str, name: &str) -> Option<Workload> {
        let s = &mut *self.state();
        s.workloads
            .get(&s.text, &(kind, namespace.to_owned(), name.to_owned()))
            .ok()
            .flatten()
            .cloned()
    }

    /// A Karpenter NodeClaim as the snapshot (or its simulation) now has it (`None` too
    /// when its item does not decode).
    pub fn nodeclaim_now(&self, name: &str) -> Option<NodeClaim> {
        let s = &mut *self.state();
        s.nodeclaims
            .get(&s.text, &name.to_owned())
            .ok()
            .flatten()
            .cloned()
    }

    /// Instances the simulated fleet has terminated.
    pub fn terminated(&self) -> Vec<String> {
        self.state().terminated.clone()
    }
}

/// The objects of a selection, cloned.
fn cloned<K, T: Clone>(selected: Vec<(&K, &mut T)>) -> Vec<T> {
    selected.into_iter().map(|(_, v)| v.clone()).collect()
}

impl ClusterView for Snapshot {
    fn pod(
        &self,
        namespace: &str,
        name: &str,
    ) -> impl Future<Output = ReadResult<Option<Pod>>> + Send {
        self.read(|s| Ok(s.pods.get(&s.text, &key(namespace, name))?.cloned()))
    }

    fn replica_set(
        &self,
        namespace: &str,
        name: &str,
    ) -> impl Future<Output = ReadResult<Option<ReplicaSet>>> + Send {
        self.read(|s| Ok(s.replica_sets.get(&s.text, &key(namespace, name))?.cloned()))
    }

    fn replica_sets(
        &self,
        namespace: &str,
        selector: &LabelSelector,
    ) -> impl Future<Output = ReadResult<Vec<ReplicaSet>>> + Send {
        self.read(|s| {
            let text = &s.text;
            Ok(s.replica_sets
                .select(
                    text,
                    |(ns, _)| ns == namespace,
                    |raw| raw.may_match(text, selector),
                )?
                .into_iter()
                .filter(|(_, rs)| selector.matches(&rs.metadata.labels))
                .map(|(_, rs)| rs.clone())
                .collect())
        })
    }

    fn workload(
        &self,
        kind: TargetKind,
        namespace: &str,
        name: &str,
    ) -> impl Future<Output = ReadResult<Option<Workload>>> + Send {
        self.read(|s| {
            Ok(s.workloads
                .get(&s.text, &(kind, namespace.to_owned(), name.to_owned()))?
                .cloned())
        })
    }

    fn namespace(&self, name: &str) -> impl Future<Output = ReadResult<Option<Namespace>>> + Send {
        self.read(|s| Ok(s.namespaces.get(&s.text, &name.to_owned())?.cloned()))
    }

    fn node(&self, name: &str) -> impl Future<Output = ReadResult<Option<Node>>> + Send {
        self.read(|s| Ok(s.nodes.get(&s.text, &name.to_owned())?.cloned()))
    }

    fn nodes(&self) -> impl Future<Output = ReadResult<Vec<Node>>> + Send {
        self.read(|s| Ok(s.nodes.values(&s.text)?.into_iter().cloned().collect()))
    }

    fn pods_on_node(&self, node: &str) -> impl Future<Output = ReadResult<Vec<Pod>>> + Send {
        self.read(|s| {
            let text = &s.text;
            Ok(s.pods
                .select(text, |_| true, |raw| raw.may_be_on(text, node))?
                .into_iter()
                .filter(|(_, p)| p.spec.node_name.as_deref() == Some(node))
                .map(|(_, p)| p.clone())
                .collect())
        })
    }

    fn pdbs(&self, namespace: &str) -> impl Future<Output = ReadResult<Vec<Pdb>>> + Send {
        self.read(|s| {
            Ok(cloned(s.pdbs.select(
                &s.text,
                |(ns, _)| ns == namespace,
                |_| true,
            )?))
        })
    }

    fn hpas(&self, namespace: &str) -> impl Future<Output = ReadResult<Vec<Hpa>>> + Send {
        self.read(|s| {
            Ok(cloned(s.hpas.select(
                &s.text,
                |(ns, _)| ns == namespace,
                |_| true,
            )?))
        })
    }

    fn pods_selected(
        &self,
        namespace: &str,
        selector: &LabelSelector,
    ) -> impl Future<Output = ReadResult<Vec<Pod>>> + Send {
        self.read(|s| {
            let text = &s.text;
            Ok(s.pods
                .select(
                    text,
                    |(ns, _)| ns == namespace,
                    |raw| raw.may_match(text, selector),
                )?
                .into_iter()
                .filter(|(_, p)| selector.matches(&p.metadata.labels))
                .map(|(_, p)| p.clone())
                .collect())
        })
    }

    fn pvc(
        &self,
        namespace: &str,
        name: &str,
    ) -> impl Future<Output = ReadResult<Option<Pvc>>> + Send {
        self.read(|s| Ok(s.pvcs.get(&s.text, &key(namespace, name))?.cloned()))
    }

    fn pv(&self, name: &str) -> impl Future<Output = ReadResult<Option<Pv>>> + Send {
        self.read(|s| Ok(s.pvs.get(&s.text, &name.to_owned())?.cloned()))
    }

    fn nodeclaim(&self, name: &str) -> impl Future<Output = ReadResult<Option<NodeClaim>>> + Send {
        self.read(|s| Ok(s.nodeclaims.get(&s.text, &name.to_owned())?.cloned()))
    }

    fn nodeclaims(&self) -> impl Future<Output = ReadResult<Vec<NodeClaim>>> + Send {
        self.read(|s| Ok(s.nodeclaims.values(&s.text)?.into_iter().cloned().collect()))
    }

    fn deployments(
        &self,
        namespace: &str,
    ) -> impl Future<Output = ReadResult<Vec<Workload>>> + Send {
        self.read(|s| {
            Ok(cloned(s.workloads.select(
                &s.text,
                |(kind, ns, _)| *kind == TargetKind::Deployment && ns == namespace,
                |_| true,
            )?))
        })
    }

    fn service(
        &self,
        namespace: &str,
        name: &str,
    ) -> impl Future<Output = ReadResult<Option<Service>>> + Send {
        self.read(|s| Ok(s.services.get(&s.text, &key(namespace, name))?.cloned()))
    }

    fn target_group_bindings(
        &self,
    ) -> impl Future<Output = ReadResult<Vec<TargetGroupBinding>>> + Send {
        self.read(|s| {
            Ok(s.target_group_bindings
                .values(&s.text)?
                .into_iter()
                .cloned()
                .collect())
        })
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
    fn replace(&mut self, old: &Pod) -> Result<Option<String>, SnapshotError> {
        let Some(owner) = old.metadata.controller() else {
            return Ok(None);
        };
        if !matches!(
            owner.kind.as_str(),
            "ReplicaSet" | "StatefulSet" | "DaemonSet"
        ) {
            return Ok(None);
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
                .values(&self.text)?
                .into_iter()
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
        Ok(Some(name))
    }

    /// Simulated Karpenter, for a deleted NodeClaim: it and its node go (with the pods still
    /// bound there, as the pod garbage collector removes them), and a Ready node with a
    /// NodeClaim of its own joins the same NodePool.
    fn karpenter_replaces(&mut self, nodeclaim: &str) -> Result<String, SnapshotError> {
        let Some(claim) = self.nodeclaims.remove(&self.text, &nodeclaim.to_owned())? else {
            return Ok(format!("NodeClaim {nodeclaim} was already gone"));
        };
        let old = claim.status.node_name.clone().unwrap_or_default();
        let node = self.nodes.remove(&self.text, &old)?;
        for pod in self.keys_on_node(&old)? {
            self.pods.remove(&self.text, &pod)?;
        }
        let (Some(mut node), Some(pool)) = (node, claim.nodepool().map(str::to_owned)) else {
            return Ok(format!(
                "NodeClaim {nodeclaim} deleted (simulated); node {old} removed"
            ));
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
        Ok(format!(
            "NodeClaim {nodeclaim} deleted (simulated); node {old} removed; Karpenter launched {node_name} (NodeClaim {claim_name}) in NodePool {pool}"
        ))
    }

    /// The keys of the pods bound to `node`.
    fn keys_on_node(&mut self, node: &str) -> Result<Vec<Key>, SnapshotError> {
        let text = &self.text;
        Ok(self
            .pods
            .select(text, |_| true, |raw| raw.may_be_on(text, node))?
            .into_iter()
            .filter(|(_, p)| p.spec.node_name.as_deref() == Some(node))
            .map(|(k, _)| k.clone())
            .collect())
    }

    fn evict(&mut self, pod: &PodRef, submit: Submit) -> Result<String, ClusterError> {
        let current = self
            .pods
            .get(&self.text, &key(&pod.namespace, &pod.name))?
            .cloned()
            .ok_or_else(|| not_found(format!("pod {pod}")))?;
        let blocking: Vec<(Key, i64)> = self
            .pdbs
            .select(&self.text, |(ns, _)| *ns == pod.namespace, |_| true)?
            .into_iter()
            .filter(|(_, pdb)| pdb.spec.selector.matches(&current.metadata.labels))
            .map(|(k, pdb)| (k.clone(), pdb.status.disruptions_allowed))
            .collect();
        for (k, allowed) in &blocking {
            if *allowed <= 0 {
                return Err(ClusterError::Refused(format!(
                    "429 TooManyRequests: evicting pod {pod} would violate PodDisruptionBudget {}/{} (0 disruptions allowed); a static snapshot never frees it",
                    k.0, k.1
                )));
            }
        }
        if submit == Submit::DryRun {
            return Ok("eviction would be admitted".into());
        }
        for (k, _) in &blocking {
            if let Some(pdb) = self.pdbs.get_mut(&self.text, k)? {
                pdb.status.disruptions_allowed -= 1;
            }
        }
        self.pods
            .remove(&self.text, &key(&pod.namespace, &pod.name))?;
        Ok(match self.replace(&current)? {
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
                    .get(&self.text, &k)?
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
                self.pods.remove(&self.text, &k)?;
                Ok(match self.replace(&current)? {
                    Some(new) => format!("deleted (simulated); controller recreated it as {new}"),
                    None => "deleted (simulated)".into(),
                })
            }
            Op::VerifyReplacement {
                pod, controller, ..
            } => {
                let owner_name = controller.rsplit(' ').next().unwrap_or_default();
                let ns = pod.namespace.clone();
                let pods = self.pods.select(&self.text, |(n, _)| *n == ns, |_| true)?;
                let replacement = pods.into_iter().map(|(_, p)| &*p).find(|p| {
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
                    .get_mut(&self.text, &(target.kind, ns, target.name.clone()))?
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
                    .get_mut(
                        &self.text,
                        &(TargetKind::Deployment, ns, target.name.clone()),
                    )?
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
                    .get(&self.text, &(target.kind, ns, target.name.clone()))?
                    .ok_or_else(|| not_found(target))?;
                Ok("rollout complete (simulated controller)".into())
            }
            Op::Cordon { node, reason, .. } => {
                let n = self
                    .nodes
                    .get_mut(&self.text, node)?
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
                    .get(&self.text, nodeclaim)?
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
                Ok(self.karpenter_replaces(nodeclaim)?)
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
                .values(&self.text)?
                .into_iter()
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

impl State {
    fn terminate(&mut self, instance_id: &str, submit: Submit) -> Result<String, ClusterError> {
        let node = self
            .nodes
            .values(&self.text)?
            .into_iter()
            .find(|n| n.instance_id() == Some(instance_id))
            .map(|n| n.metadata.name.clone());
        match (node, submit) {
            (None, _) => Err(not_found(format!("no node runs instance {instance_id}"))),
            (Some(_), Submit::DryRun) => Ok("termination would be requested".into()),
            (Some(node), Submit::Apply) => {
                self.nodes.remove(&self.text, &node)?;
                self.terminated.push(instance_id.to_owned());
                Ok(format!(
                    "instance {instance_id} terminated (simulated); node {node} removed; its Auto Scaling group would launch a replacement"
                ))
            }
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
        ready(self.state().terminate(instance_id, submit))
    }
}
