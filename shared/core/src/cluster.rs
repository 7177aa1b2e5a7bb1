//! What reflex knows about a cluster, and the traits through which it reads and changes it.
//!
//! The object types here are deliberately small: they deserialize straight from the
//! Kubernetes JSON that `kubectl get -o json` prints and the API server returns, keeping only
//! the fields planning reads. A snapshot file and the live API therefore feed the same
//! types, and the planner cannot tell them apart.
//!
//! The traits return `Send` futures so that the live adapters can be async without this
//! crate owning an executor; the snapshot adapter answers with ready futures.

use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::execute::Op;

/// The annotation that opts a target out of remediation (ARCHITECTURE section 5).
pub const SKIP_ANNOTATION: &str = "reflex/skip-remediation";
/// Set on a node when reflex cordons it, with the reason; marks a replacement in flight.
pub const CORDON_ANNOTATION: &str = "reflex/cordoned-by";
/// ReplicaSet annotation holding the Deployment revision it belongs to.
pub const REVISION_ANNOTATION: &str = "deployment.kubernetes.io/revision";
/// Pod annotation marking a static (mirror) pod, which drain never evicts.
pub const MIRROR_ANNOTATION: &str = "kubernetes.io/config.mirror";

/// The kinds of object a remediation can target (audit record `action.target.kind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum TargetKind {
    /// A pod.
    Pod,
    /// An apps/v1 Deployment.
    Deployment,
    /// An apps/v1 StatefulSet.
    StatefulSet,
    /// An apps/v1 DaemonSet.
    DaemonSet,
    /// A node (and the EC2 instance behind it).
    Node,
}

impl TargetKind {
    /// The kind as Kubernetes spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            TargetKind::Pod => "Pod",
            TargetKind::Deployment => "Deployment",
            TargetKind::StatefulSet => "StatefulSet",
            TargetKind::DaemonSet => "DaemonSet",
            TargetKind::Node => "Node",
        }
    }

    /// Whether objects of this kind live in a namespace.
    pub fn is_namespaced(self) -> bool {
        self != TargetKind::Node
    }

    /// The API path segment of the kind's resource (`/apis/apps/v1/.../deployments/...`).
    pub fn api_path(self, namespace: Option<&str>, name: &str) -> String {
        let (group, plural) = match self {
            TargetKind::Pod => ("/api/v1", "pods"),
            TargetKind::Node => ("/api/v1", "nodes"),
            TargetKind::Deployment => ("/apis/apps/v1", "deployments"),
            TargetKind::StatefulSet => ("/apis/apps/v1", "statefulsets"),
            TargetKind::DaemonSet => ("/apis/apps/v1", "daemonsets"),
        };
        match namespace {
            Some(ns) => format!("{group}/namespaces/{ns}/{plural}/{name}"),
            None => format!("{group}/{plural}/{name}"),
        }
    }
}

impl fmt::Display for TargetKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A concrete object an action is aimed at.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct TargetRef {
    /// Its kind.
    pub kind: TargetKind,
    /// Its namespace; `None` for nodes.
    pub namespace: Option<String>,
    /// Its name.
    pub name: String,
}

impl TargetRef {
    /// A namespaced target.
    pub fn namespaced(kind: TargetKind, namespace: &str, name: &str) -> Self {
        TargetRef {
            kind,
            namespace: Some(namespace.to_owned()),
            name: name.to_owned(),
        }
    }

    /// A node target.
    pub fn node(name: &str) -> Self {
        TargetRef {
            kind: TargetKind::Node,
            namespace: None,
            name: name.to_owned(),
        }
    }

    /// The object's API path, e.g. `/api/v1/namespaces/production/pods/vote-1`.
    pub fn api_path(&self) -> String {
        self.kind.api_path(self.namespace.as_deref(), &self.name)
    }
}

impl fmt::Display for TargetRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.namespace {
            Some(ns) => write!(f, "{} {ns}/{}", self.kind, self.name),
            None => write!(f, "{} {}", self.kind, self.name),
        }
    }
}

/// `metadata.ownerReferences[]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct OwnerRef {
    /// Owner kind (`ReplicaSet`, `StatefulSet`, `DaemonSet`, `Job`, `Node`, ...).
    pub kind: String,
    /// Owner name.
    pub name: String,
    /// Owner uid.
    pub uid: String,
    /// Whether this owner is the managing controller.
    pub controller: Option<bool>,
}

/// The part of `metadata` that planning reads.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Meta {
    /// Object name.
    pub name: String,
    /// Namespace, for namespaced objects.
    pub namespace: Option<String>,
    /// Unique id.
    pub uid: Option<String>,
    /// Version for optimistic concurrency.
    pub resource_version: Option<String>,
    /// Spec generation (workloads).
    pub generation: Option<i64>,
    /// Creation time.
    pub creation_timestamp: Option<DateTime<Utc>>,
    /// Labels.
    pub labels: BTreeMap<String, String>,
    /// Annotations.
    pub annotations: BTreeMap<String, String>,
    /// Owners.
    pub owner_references: Vec<OwnerRef>,
}

impl Meta {
    /// Whether the object carries `reflex/skip-remediation: "true"`.
    pub fn opted_out(&self) -> bool {
        self.annotations
            .get(SKIP_ANNOTATION)
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"))
    }

    /// The managing controller, if any.
    pub fn controller(&self) -> Option<&OwnerRef> {
        self.owner_references
            .iter()
            .find(|o| o.controller == Some(true))
    }
}

/// A `status.conditions[]` entry.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Condition {
    /// Condition type (`Ready`, ...).
    #[serde(rename = "type")]
    pub kind: String,
    /// `True`, `False` or `Unknown`.
    pub status: String,
    /// When the status last changed.
    pub last_transition_time: Option<DateTime<Utc>>,
}

fn condition_true(conditions: &[Condition], kind: &str) -> bool {
    conditions
        .iter()
        .any(|c| c.kind == kind && c.status == "True")
}

/// A pod.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Pod {
    /// Metadata.
    pub metadata: Meta,
    /// Spec.
    pub spec: PodSpec,
    /// Status.
    pub status: PodStatus,
}

/// `Pod.spec`, the part read.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct PodSpec {
    /// The node the pod is scheduled on.
    pub node_name: Option<String>,
}

/// `Pod.status`, the part read.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct PodStatus {
    /// `Pending`, `Running`, `Succeeded`, `Failed`.
    pub phase: Option<String>,
    /// Conditions (`Ready`, ...).
    pub conditions: Vec<Condition>,
}

impl Pod {
    /// Whether the pod's Ready condition is true.
    pub fn is_ready(&self) -> bool {
        condition_true(&self.status.conditions, "Ready")
    }

    /// Whether the pod has finished (it holds no workload a drain must move).
    pub fn is_finished(&self) -> bool {
        matches!(self.status.phase.as_deref(), Some("Succeeded" | "Failed"))
    }

    /// Whether the pod is a static pod's mirror, which only its kubelet can remove.
    pub fn is_mirror(&self) -> bool {
        self.metadata.annotations.contains_key(MIRROR_ANNOTATION)
    }
}

/// A ReplicaSet: one revision of a Deployment.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ReplicaSet {
    /// Metadata.
    pub metadata: Meta,
    /// Spec.
    pub spec: TemplateSpec,
}

impl ReplicaSet {
    /// The Deployment revision this ReplicaSet holds, from its annotation.
    pub fn revision(&self) -> Option<u64> {
        self.metadata
            .annotations
            .get(REVISION_ANNOTATION)
            .and_then(|r| r.trim().parse().ok())
    }
}

/// A workload spec's pod template, kept verbatim: a rollback copies it back unchanged.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TemplateSpec {
    /// Desired replicas.
    pub replicas: Option<i64>,
    /// Whether a Deployment's rollout is paused.
    pub paused: bool,
    /// The pod template, as JSON.
    pub template: serde_json::Value,
}

/// A workload controller: Deployment, StatefulSet or DaemonSet.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Workload {
    /// Metadata.
    pub metadata: Meta,
    /// Spec.
    pub spec: TemplateSpec,
}

/// A node.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Node {
    /// Metadata.
    pub metadata: Meta,
    /// Spec.
    pub spec: NodeSpec,
    /// Status.
    pub status: NodeStatus,
}

/// `Node.spec`, the part read.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct NodeSpec {
    /// Cloud provider id: on EKS `aws:///<zone>/<instance-id>`.
    #[serde(rename = "providerID")]
    pub provider_id: Option<String>,
    /// Whether the node is cordoned.
    pub unschedulable: bool,
}

/// `Node.status`, the part read.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct NodeStatus {
    /// Conditions (`Ready`, ...).
    pub conditions: Vec<Condition>,
}

impl Node {
    /// Whether the node's Ready condition is true.
    pub fn is_ready(&self) -> bool {
        condition_true(&self.status.conditions, "Ready")
    }

    /// The EC2 instance id at the end of `spec.providerID`.
    pub fn instance_id(&self) -> Option<&str> {
        let id = self.spec.provider_id.as_deref()?.rsplit('/').next()?;
        id.starts_with("i-").then_some(id)
    }

    /// Whether reflex cordoned this node for a replacement still in flight.
    pub fn replacement_in_flight(&self) -> bool {
        self.spec.unschedulable && self.metadata.annotations.contains_key(CORDON_ANNOTATION)
    }
}

/// A namespace.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Namespace {
    /// Metadata.
    pub metadata: Meta,
}

/// A label selector (`matchLabels` and `matchExpressions`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct LabelSelector {
    /// Exact label matches.
    pub match_labels: BTreeMap<String, String>,
    /// Set-based requirements.
    pub match_expressions: Vec<SelectorRequirement>,
}

/// One `matchExpressions` entry.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SelectorRequirement {
    /// Label key.
    pub key: String,
    /// `In`, `NotIn`, `Exists`, `DoesNotExist`.
    pub operator: String,
    /// Values for `In`/`NotIn`.
    pub values: Vec<String>,
}

impl LabelSelector {
    /// Whether `labels` satisfy the selector. An empty selector selects everything, as in
    /// `policy/v1` PodDisruptionBudgets.
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        self.match_labels
            .iter()
            .all(|(k, v)| labels.get(k) == Some(v))
            && self.match_expressions.iter().all(|req| {
                let value = labels.get(&req.key);
                match req.operator.as_str() {
                    "In" => value.is_some_and(|v| req.values.contains(v)),
                    "NotIn" => value.is_none_or(|v| !req.values.contains(v)),
                    "Exists" => value.is_some(),
                    "DoesNotExist" => value.is_none(),
                    _ => false,
                }
            })
    }
}

/// A PodDisruptionBudget.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Pdb {
    /// Metadata.
    pub metadata: Meta,
    /// Spec.
    pub spec: PdbSpec,
    /// Status.
    pub status: PdbStatus,
}

/// `PodDisruptionBudget.spec`, the part read.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct PdbSpec {
    /// Which pods the budget covers.
    pub selector: LabelSelector,
}

/// `PodDisruptionBudget.status`, the part read.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct PdbStatus {
    /// How many more pods may be disrupted now.
    pub disruptions_allowed: i64,
}

/// A failure to read or change the cluster.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClusterError {
    /// The API could not be reached or answered with a server error; trying later may work.
    #[error("cluster API unavailable: {0}")]
    Unavailable(String),
    /// The object changed since it was read (HTTP 409): the action was not applied.
    #[error("conflict: {0}")]
    Conflict(String),
    /// The API refused the request (HTTP 429 from a PodDisruptionBudget, 403, 422, ...).
    #[error("refused: {0}")]
    Refused(String),
    /// The object does not exist.
    #[error("not found: {0}")]
    NotFound(String),
    /// The step did not reach its goal within its time limit.
    #[error("timed out: {0}")]
    Timeout(String),
    /// This cluster source cannot perform the operation.
    #[error("unsupported: {0}")]
    Unsupported(String),
}

impl ClusterError {
    /// Whether retrying the whole alert later may succeed (the Lambda boundary uses this).
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            ClusterError::Unavailable(_) | ClusterError::Timeout(_)
        )
    }
}

/// Result of a cluster read.
pub type ReadResult<T> = Result<T, ClusterError>;

/// Read access to a cluster: a snapshot file, or the live API.
///
/// Each method maps to one API read, so a live implementation is a thin wrapper and the
/// planner's reads are visible in the request log. Missing objects are `Ok(None)`.
pub trait ClusterView: Sync {
    /// `GET` one pod.
    fn pod(
        &self,
        namespace: &str,
        name: &str,
    ) -> impl Future<Output = ReadResult<Option<Pod>>> + Send;
    /// `GET` one ReplicaSet.
    fn replica_set(
        &self,
        namespace: &str,
        name: &str,
    ) -> impl Future<Output = ReadResult<Option<ReplicaSet>>> + Send;
    /// `LIST` the ReplicaSets of a namespace (revision history is read from their owners).
    fn replica_sets(
        &self,
        namespace: &str,
    ) -> impl Future<Output = ReadResult<Vec<ReplicaSet>>> + Send;
    /// `GET` one Deployment, StatefulSet or DaemonSet.
    fn workload(
        &self,
        kind: TargetKind,
        namespace: &str,
        name: &str,
    ) -> impl Future<Output = ReadResult<Option<Workload>>> + Send;
    /// `GET` one namespace.
    fn namespace(&self, name: &str) -> impl Future<Output = ReadResult<Option<Namespace>>> + Send;
    /// `GET` one node.
    fn node(&self, name: &str) -> impl Future<Output = ReadResult<Option<Node>>> + Send;
    /// `LIST` all nodes.
    fn nodes(&self) -> impl Future<Output = ReadResult<Vec<Node>>> + Send;
    /// `LIST` pods with `fieldSelector=spec.nodeName=<node>`.
    fn pods_on_node(&self, node: &str) -> impl Future<Output = ReadResult<Vec<Pod>>> + Send;
    /// `LIST` the PodDisruptionBudgets of a namespace.
    fn pdbs(&self, namespace: &str) -> impl Future<Output = ReadResult<Vec<Pdb>>> + Send;
}

/// How a mutating call is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Submit {
    /// Server-side dry run (`dryRun=All`): validated, admitted, persisted nowhere.
    DryRun,
    /// For real.
    Apply,
}

/// Write access to a cluster: each [`Op`] is one API call (or one batch of calls, for an
/// eviction round), or one verification wait.
pub trait Actuator: Sync {
    /// Performs `op` and returns a short description of what happened for the audit step.
    fn apply(
        &self,
        op: &Op,
        submit: Submit,
    ) -> impl Future<Output = Result<String, ClusterError>> + Send;

    /// Performs a run of evictions and returns one result per op, in order. Live adapters
    /// run them in parallel; the default sends them one after another.
    fn apply_batch(
        &self,
        ops: &[Op],
        submit: Submit,
    ) -> impl Future<Output = Vec<Result<String, ClusterError>>> + Send {
        async move {
            let mut results = Vec::with_capacity(ops.len());
            for op in ops {
                results.push(self.apply(op, submit).await);
            }
            results
        }
    }
}

/// The compute fleet behind the nodes: terminates an instance so that its Auto Scaling
/// group replaces it.
pub trait Fleet: Sync {
    /// Terminates `instance_id` without decrementing its group's desired capacity, and
    /// returns what was done (group name, activity) for the audit step.
    fn terminate(
        &self,
        instance_id: &str,
        submit: Submit,
    ) -> impl Future<Output = Result<String, ClusterError>> + Send;
}
