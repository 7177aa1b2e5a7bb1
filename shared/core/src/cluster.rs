//! The ports through which the core reads and changes a cluster and its compute fleet.
//!
//! The traits return `Send` futures so that the live adapters can be async without this
//! crate owning an executor; the snapshot adapter answers with ready futures. Each read
//! maps to one API call, so the planner's reads are visible in the request log.

use std::future::Future;
use std::time::Duration;

use crate::objects::{
    Hpa, LabelSelector, Namespace, Node, NodeClaim, Pdb, Pod, Pv, Pvc, ReplicaSet, Service,
    TargetGroupBinding, Workload,
};
use crate::vocab::op::Op;
use crate::vocab::target::TargetKind;

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
    /// The step was not started: the invocation would end before it could finish.
    #[error("stopped before the deadline: {0}")]
    Deadline(String),
}

impl ClusterError {
    /// Whether retrying the whole alert later may succeed (the Lambda boundary uses this).
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            ClusterError::Unavailable(_) | ClusterError::Timeout(_) | ClusterError::Deadline(_)
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
    /// `LIST` the ReplicaSets of a namespace that `selector` (a Deployment's) selects
    /// (`labelSelector=`); revision history is read from their owners, so a ReplicaSet
    /// another Deployment's selector also matches is told apart by its owner reference.
    fn replica_sets(
        &self,
        namespace: &str,
        selector: &LabelSelector,
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
    /// `LIST` the HorizontalPodAutoscalers of a namespace.
    fn hpas(&self, namespace: &str) -> impl Future<Output = ReadResult<Vec<Hpa>>> + Send;
    /// `LIST` the pods of a namespace that `selector` selects (`labelSelector=`).
    fn pods_selected(
        &self,
        namespace: &str,
        selector: &LabelSelector,
    ) -> impl Future<Output = ReadResult<Vec<Pod>>> + Send;
    /// `GET` one PersistentVolumeClaim.
    fn pvc(
        &self,
        namespace: &str,
        name: &str,
    ) -> impl Future<Output = ReadResult<Option<Pvc>>> + Send;
    /// `GET` one PersistentVolume (cluster-scoped).
    fn pv(&self, name: &str) -> impl Future<Output = ReadResult<Option<Pv>>> + Send;
    /// `GET` one Karpenter NodeClaim (`karpenter.sh/v1`, cluster-scoped).
    fn nodeclaim(&self, name: &str) -> impl Future<Output = ReadResult<Option<NodeClaim>>> + Send;
    /// `LIST` all Karpenter NodeClaims.
    fn nodeclaims(&self) -> impl Future<Output = ReadResult<Vec<NodeClaim>>> + Send;
    /// `LIST` the Deployments of a namespace.
    fn deployments(
        &self,
        namespace: &str,
    ) -> impl Future<Output = ReadResult<Vec<Workload>>> + Send;
    /// `GET` one Service.
    fn service(
        &self,
        namespace: &str,
        name: &str,
    ) -> impl Future<Output = ReadResult<Option<Service>>> + Send;
    /// `LIST` the AWS Load Balancer Controller's TargetGroupBindings
    /// (`elbv2.k8s.aws/v1beta1`) of every namespace. A cluster that does not serve the group
    /// answers `NotFound`.
    fn target_group_bindings(
        &self,
    ) -> impl Future<Output = ReadResult<Vec<TargetGroupBinding>>> + Send;

    /// Why this view may miss every object of `resource` (a plural, `persistentvolumeclaims`)
    /// that the cluster has, said for a note next to an object of it that was not found: a
    /// snapshot taken without that kind. `None`, the default and the live API's answer: not
    /// found means there is none.
    fn missing_kind(&self, resource: &str) -> Option<String> {
        let _ = resource;
        None
    }
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
/// eviction round), or one verification wait. An actuator reads the cluster it changes,
/// too: a drain lists the node's pods again after the cordon.
pub trait Actuator: ClusterView {
    /// Performs `op` and returns a short description of what happened for the audit step.
    fn apply(
        &self,
        op: &Op,
        submit: Submit,
    ) -> impl Future<Output = Result<String, ClusterError>> + Send;

    /// How much longer this actuator may act (a Lambda invocation's remaining time);
    /// `None`: no limit. Checked before every step that changes something.
    fn time_left(&self) -> Option<Duration> {
        None
    }

    /// The longest one API call may take, all resends included: what a single-call step
    /// (a cordon, a delete, a patch, an instance termination) needs of [`Actuator::time_left`].
    fn call_allowance(&self) -> Duration {
        Duration::from_secs(30)
    }

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
