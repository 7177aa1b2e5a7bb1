//! The Kubernetes objects reflex reads, kept to the fields planning needs.
//!
//! The types deserialize straight from the Kubernetes JSON that `kubectl get -o json` prints
//! and the API server returns. A snapshot file and the live API therefore feed the same
//! types, and the planner cannot tell them apart.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::vocab::annotations::{
    CORDON_ANNOTATION, MIRROR_ANNOTATION, REVISION_ANNOTATION, SKIP_ANNOTATION,
};
use crate::vocab::labels::{
    EKSCTL_NODEGROUP_LABEL, KARPENTER_API_VERSION, NODEGROUP_LABEL, NODEPOOL_LABEL,
};

/// `metadata.ownerReferences[]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct OwnerRef {
    /// Owner `apiVersion` (`apps/v1`, `karpenter.sh/v1`, ...).
    pub api_version: String,
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
    /// Why, in one word (`Unschedulable` for a pod the scheduler cannot place).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
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
    /// Volumes, for the kinds of storage a drain must know about.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub volumes: Vec<Volume>,
}

/// A `Pod.spec.volumes[]` entry: its name, and the two sources a drain must know about
/// (node-local scratch space, and a claim whose volume may be on the node's disk).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Volume {
    /// Volume name.
    pub name: String,
    /// Present for an `emptyDir` volume, whose data lives on the node and dies with the pod.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub empty_dir: Option<serde_json::Value>,
    /// Present for a volume backed by a PersistentVolumeClaim of the pod's namespace.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub persistent_volume_claim: Option<ClaimSource>,
}

/// `persistentVolumeClaim` of a pod volume: which claim it mounts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ClaimSource {
    /// The claim's name, in the pod's namespace.
    pub claim_name: String,
}

/// `Pod.status`, the part read.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct PodStatus {
    /// `Pending`, `Running`, `Succeeded`, `Failed`.
    pub phase: Option<String>,
    /// Conditions (`Ready`, ...).
    pub conditions: Vec<Condition>,
    /// Each container's restarts and last termination, as the kubelet reports them.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub container_statuses: Vec<ContainerStatus>,
}

/// A `Pod.status.containerStatuses[]` entry, the part a notification shows.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ContainerStatus {
    /// Container name.
    pub name: String,
    /// How often the kubelet restarted the container.
    pub restart_count: i64,
    /// The previous instance's end, if it ended.
    pub last_state: ContainerState,
}

/// A container's `lastState`: only a termination is read.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ContainerState {
    /// Present when the previous instance terminated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub terminated: Option<Termination>,
}

/// How a container instance ended.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Termination {
    /// `Error`, `OOMKilled`, `Completed`, ...
    pub reason: Option<String>,
    /// The process's exit code.
    pub exit_code: i64,
    /// When it ended.
    pub finished_at: Option<DateTime<Utc>>,
}

impl Pod {
    /// Whether the pod's Ready condition is true.
    pub fn is_ready(&self) -> bool {
        condition_true(&self.status.conditions, "Ready")
    }

    /// Whether the pod is Pending because the scheduler cannot place it (`PodScheduled`
    /// false, reason `Unschedulable`): a shortage of capacity, not a fault of the pod.
    pub fn is_unschedulable(&self) -> bool {
        self.status.phase.as_deref() == Some("Pending")
            && self.status.conditions.iter().any(|c| {
                c.kind == "PodScheduled"
                    && c.status == "False"
                    && c.reason.as_deref() == Some("Unschedulable")
            })
    }

    /// Whether the pod has finished (it holds no workload a drain must move).
    pub fn is_finished(&self) -> bool {
        matches!(self.status.phase.as_deref(), Some("Succeeded" | "Failed"))
    }

    /// Whether evicting the pod loses data kept on its node in an `emptyDir` volume, as
    /// kubectl drain's `--delete-emptydir-data` means. (A claim bound to a node-local
    /// PersistentVolume loses data too; telling needs two reads: [`crate::drain::check_claims`].)
    pub fn keeps_local_data(&self) -> bool {
        self.spec.volumes.iter().any(|v| v.empty_dir.is_some())
    }

    /// The names of the PersistentVolumeClaims the pod mounts (in its namespace), each once.
    pub fn claims(&self) -> Vec<&str> {
        let mut claims: Vec<&str> = self
            .spec
            .volumes
            .iter()
            .filter_map(|v| v.persistent_volume_claim.as_ref())
            .map(|c| c.claim_name.as_str())
            .collect();
        claims.sort_unstable();
        claims.dedup();
        claims
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
    /// Which pods the workload owns.
    pub selector: LabelSelector,
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

    /// The NodeClaim named by the node's owner reference to a `karpenter.sh/v1` NodeClaim.
    pub fn nodeclaim_owner(&self) -> Option<&str> {
        self.metadata
            .owner_references
            .iter()
            .find(|o| o.kind == "NodeClaim" && o.api_version == KARPENTER_API_VERSION)
            .map(|o| o.name.as_str())
    }

    /// Whether Karpenter (or EKS Auto Mode, which runs it) provisioned the node: the
    /// `karpenter.sh/nodepool` label, or an owner reference to a NodeClaim.
    pub fn karpenter_provisioned(&self) -> bool {
        self.metadata.labels.contains_key(NODEPOOL_LABEL) || self.nodeclaim_owner().is_some()
    }

    /// The node group whose Auto Scaling group launched the node, from the labels EKS
    /// managed node groups (`eks.amazonaws.com/nodegroup`) and eksctl's self-managed
    /// groups (`alpha.eksctl.io/nodegroup-name`) set.
    pub fn node_group(&self) -> Option<&str> {
        let labels = &self.metadata.labels;
        labels
            .get(NODEGROUP_LABEL)
            .or_else(|| labels.get(EKSCTL_NODEGROUP_LABEL))
            .map(String::as_str)
    }

    /// The pool the node belongs to, as the per-pool NotReady cap counts it: its NodePool,
    /// else its node group.
    pub fn pool(&self) -> Option<Pool> {
        let labels = &self.metadata.labels;
        if let Some(p) = labels.get(NODEPOOL_LABEL) {
            return Some(Pool::NodePool(p.clone()));
        }
        self.node_group().map(|g| Pool::NodeGroup(g.to_owned()))
    }

    /// Whether reflex cordoned this node for a replacement (one still in flight, or one
    /// that stopped half-way: see [`Node::reflex_cordoned_at`]).
    pub fn replacement_in_flight(&self) -> bool {
        self.spec.unschedulable && self.metadata.annotations.contains_key(CORDON_ANNOTATION)
    }

    /// When reflex cordoned this node: the time its cordon annotation ends with
    /// (`reflex rule R for A at <RFC 3339>`), if the annotation is there and says so.
    pub fn reflex_cordoned_at(&self) -> Option<DateTime<Utc>> {
        let value = self.metadata.annotations.get(CORDON_ANNOTATION)?;
        let (_, at) = value.rsplit_once(" at ")?;
        DateTime::parse_from_rfc3339(at.trim())
            .ok()
            .map(|t| t.with_timezone(&Utc))
    }
}

/// A group of nodes provisioned alike, within which the NotReady cap also applies.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Pool {
    /// A Karpenter NodePool (label `karpenter.sh/nodepool`).
    NodePool(String),
    /// An Auto Scaling node group (label `eks.amazonaws.com/nodegroup`).
    NodeGroup(String),
}

impl Pool {
    /// Whether `node` is in this pool.
    pub fn holds(&self, node: &Node) -> bool {
        node.pool().as_ref() == Some(self)
    }
}

impl std::fmt::Display for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Pool::NodePool(name) => write!(f, "NodePool {name}"),
            Pool::NodeGroup(name) => write!(f, "node group {name}"),
        }
    }
}

/// A Karpenter `NodeClaim` (`karpenter.sh/v1`, cluster-scoped): Karpenter's request for one
/// node. Deleting it makes Karpenter drain, delete and terminate its node; the NodePool
/// launches a replacement when pods need one.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct NodeClaim {
    /// Metadata (the `karpenter.sh/nodepool` label names its NodePool).
    pub metadata: Meta,
    /// Status.
    pub status: NodeClaimStatus,
}

/// `NodeClaim.status`, the part read: which node and instance it became.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct NodeClaimStatus {
    /// The Node it registered as.
    pub node_name: Option<String>,
    /// The cloud provider id of its instance (`aws:///<zone>/<instance-id>`).
    #[serde(rename = "providerID")]
    pub provider_id: Option<String>,
}

impl NodeClaim {
    /// Its NodePool, from the `karpenter.sh/nodepool` label.
    pub fn nodepool(&self) -> Option<&str> {
        self.metadata.labels.get(NODEPOOL_LABEL).map(String::as_str)
    }

    /// Whether this NodeClaim is `node`'s: by `status.nodeName`, or by `status.providerID`.
    pub fn claims(&self, node: &Node) -> bool {
        self.status.node_name.as_deref() == Some(node.metadata.name.as_str())
            || (self.status.provider_id.is_some()
                && self.status.provider_id == node.spec.provider_id)
    }
}

/// A namespace.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Namespace {
    /// Metadata.
    pub metadata: Meta,
}

/// A Service, the part read: which pods it sends traffic to.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Service {
    /// Metadata.
    pub metadata: Meta,
    /// Spec.
    pub spec: ServiceSpec,
}

/// `Service.spec`, the part read.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ServiceSpec {
    /// The labels of the pods it selects (equality only); empty: the Service selects no pods
    /// by itself (its endpoints are managed by hand).
    pub selector: BTreeMap<String, String>,
}

/// An AWS Load Balancer Controller `TargetGroupBinding` (`elbv2.k8s.aws/v1beta1`): the
/// controller registers the pods behind `spec.serviceRef` in the ALB or NLB target group
/// `spec.targetGroupARN`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct TargetGroupBinding {
    /// Metadata.
    pub metadata: Meta,
    /// Spec.
    pub spec: TargetGroupBindingSpec,
}

/// `TargetGroupBinding.spec`, the part read.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TargetGroupBindingSpec {
    /// The target group's ARN (`arn:aws:elasticloadbalancing:REGION:ACCOUNT:targetgroup/NAME/ID`).
    #[serde(rename = "targetGroupARN")]
    pub target_group_arn: String,
    /// The Service whose pods are registered, in the binding's namespace.
    pub service_ref: ServiceRef,
}

/// `TargetGroupBinding.spec.serviceRef`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ServiceRef {
    /// The Service's name.
    pub name: String,
    /// The Service port (a number or a port name).
    pub port: serde_json::Value,
}

impl TargetGroupBinding {
    /// Whether the binding's target group is `target_group`, the `targetgroup/NAME/ID` that
    /// CloudWatch's `TargetGroup` dimension names (the last part of the ARN).
    pub fn binds(&self, target_group: &str) -> bool {
        self.spec
            .target_group_arn
            .strip_suffix(target_group)
            .is_some_and(|head| head.ends_with(':'))
    }
}

impl Workload {
    /// The labels of the workload's pod template (`spec.template.metadata.labels`).
    pub fn template_labels(&self) -> BTreeMap<String, String> {
        self.spec
            .template
            .pointer("/metadata/labels")
            .and_then(|l| l.as_object())
            .map(|l| {
                l.iter()
                    .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
                    .collect()
            })
            .unwrap_or_default()
    }
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

/// A HorizontalPodAutoscaler (`autoscaling/v2`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Hpa {
    /// Metadata.
    pub metadata: Meta,
    /// Spec.
    pub spec: HpaSpec,
}

/// `HorizontalPodAutoscaler.spec`, the part read.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct HpaSpec {
    /// The workload it scales.
    pub scale_target_ref: ScaleTargetRef,
}

/// `spec.scaleTargetRef` of a HorizontalPodAutoscaler.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ScaleTargetRef {
    /// Its kind (`Deployment`, ...).
    pub kind: String,
    /// Its name, in the autoscaler's namespace.
    pub name: String,
}

/// `PodDisruptionBudget.status`, the part read.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct PdbStatus {
    /// How many more pods may be disrupted now.
    pub disruptions_allowed: i64,
}

/// A PersistentVolumeClaim, kept to what a drain reads: the volume it is bound to.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Pvc {
    /// Spec.
    pub spec: PvcSpec,
}

/// `PersistentVolumeClaim.spec`, the part read.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct PvcSpec {
    /// The PersistentVolume the claim is bound to; `None` until it is bound.
    pub volume_name: Option<String>,
}

/// A PersistentVolume, kept to what a drain reads: whether its data is on one node's disk.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Pv {
    /// Spec.
    pub spec: PvSpec,
}

/// `PersistentVolume.spec`, the part read: the two node-local sources.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct PvSpec {
    /// Present for a `local` volume: a disk or directory of one node.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub local: Option<serde_json::Value>,
    /// Present for a `hostPath` volume: a directory of the node the pod runs on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host_path: Option<serde_json::Value>,
}

impl Pv {
    /// Which node-local source holds the volume's data (`local` or `hostPath`), if one
    /// does: that data is lost with the node. Network volumes (EBS, EFS, ...) are `None`.
    pub fn node_local_source(&self) -> Option<&'static str> {
        if self.spec.local.is_some() {
            Some("local")
        } else if self.spec.host_path.is_some() {
            Some("hostPath")
        } else {
            None
        }
    }
}
