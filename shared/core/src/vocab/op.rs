//! The steps of a plan: each [`Op`] is one concrete API call (or one wait), so a dry run can
//! show exactly what a live run would send, and the audit record's `steps[].call` is
//! [`Op::call`].

use std::collections::BTreeMap;

use serde_json::json;

use crate::duration::Span;
use crate::vocab::annotations::{CORDON_ANNOTATION, RESTARTED_AT_ANNOTATION};
use crate::vocab::labels::NODEPOOL_LABEL;
use crate::vocab::target::TargetRef;

/// The API path of a Karpenter NodeClaim (cluster-scoped, `karpenter.sh/v1`).
pub fn nodeclaim_path(name: &str) -> String {
    format!("/apis/karpenter.sh/v1/nodeclaims/{name}")
}

/// A pod, by namespace and name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PodRef {
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
}

impl std::fmt::Display for PodRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.namespace, self.name)
    }
}

/// The rules of a drain, carried by its cordon so that the executor can apply them to the
/// pods it finds on the node after the cordon.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DrainRules {
    /// Whether pods that keep data on the node (`emptyDir`, local persistent volumes) may be
    /// evicted.
    pub evict_local_data: bool,
    /// The drain timeout (evictions, and the wait for evicted pods).
    pub timeout: Span,
    /// On a NotReady node, a pod terminating for longer than this counts as gone.
    pub terminating_grace: Span,
}

/// One step of a plan.
#[derive(Debug, Clone, PartialEq)]
pub enum Op {
    /// Delete a pod so its controller replaces it.
    DeletePod {
        /// The pod.
        pod: PodRef,
        /// The uid of the pod the plan was made for: the delete is pinned to it, so a pod
        /// recreated under the same name since (a StatefulSet's) is never deleted instead.
        /// `None` only in a plan made without a cluster view.
        uid: Option<String>,
    },
    /// Wait until the pod's controller has a Ready pod that replaced it.
    VerifyReplacement {
        /// The deleted pod.
        pod: PodRef,
        /// Its controller, e.g. `ReplicaSet vote-6f7c9b8d5`.
        controller: String,
        /// Give up after this long.
        timeout: Span,
    },
    /// Merge-patch `kubectl.kubernetes.io/restartedAt` onto a workload's pod template.
    RestartWorkload {
        /// The workload.
        target: TargetRef,
        /// The timestamp written.
        at: String,
    },
    /// `kubectl rollout undo`: replace a Deployment's pod template and annotations with an
    /// older revision's, guarded by a JSON-patch `test` of the resourceVersion read while
    /// planning.
    Rollback {
        /// The Deployment.
        target: TargetRef,
        /// Its resourceVersion when the plan was made.
        resource_version: String,
        /// Revision being left.
        from_revision: u64,
        /// Revision restored.
        to_revision: u64,
        /// The restored pod template (without `pod-template-hash`).
        template: serde_json::Value,
        /// The Deployment's annotations afterwards: the revision's, with the Deployment's
        /// own [`ROLLBACK_KEEPS_ANNOTATIONS`](crate::vocab::annotations::ROLLBACK_KEEPS_ANNOTATIONS).
        annotations: BTreeMap<String, String>,
    },
    /// Wait until a workload's rollout completes.
    VerifyRollout {
        /// The workload.
        target: TargetRef,
        /// Give up after this long.
        timeout: Span,
    },
    /// Mark a node unschedulable, recording why in an annotation.
    Cordon {
        /// Node name.
        node: String,
        /// Why (stored in the annotation).
        reason: String,
        /// How the drain that follows treats pods it finds on its second look, after the
        /// cordon (see [`crate::execute::run`]).
        drain: DrainRules,
    },
    /// Evict a pod through the Eviction API. A PodDisruptionBudget answer (HTTP 429) is
    /// retried with bounded backoff until `timeout`, the drain timeout.
    Evict {
        /// The pod.
        pod: PodRef,
        /// Give up retrying after this long.
        timeout: Span,
    },
    /// Wait until evicted pods are gone.
    WaitPodsGone {
        /// The pods.
        pods: Vec<PodRef>,
        /// Give up after this long (the drain timeout).
        timeout: Span,
        /// On a NotReady node, a pod terminating for longer than this counts as gone.
        terminating_grace: Span,
    },
    /// Terminate the node's instance in its Auto Scaling group, keeping desired capacity.
    TerminateInstance {
        /// Node name.
        node: String,
        /// EC2 instance id.
        instance_id: String,
    },
    /// Delete the Karpenter NodeClaim that owns a node, pinned to the uid read while
    /// planning: Karpenter then terminates its instance and removes the node.
    DeleteNodeClaim {
        /// Node name.
        node: String,
        /// The NodeClaim.
        nodeclaim: String,
        /// Its uid when the plan was made (a delete precondition).
        uid: Option<String>,
    },
    /// Wait until the deleted NodeClaim is gone (404).
    VerifyNodeClaimGone {
        /// The NodeClaim.
        nodeclaim: String,
        /// Give up after this long.
        timeout: Span,
    },
    /// Wait for a new Ready node in the NodePool: one not among `known`. Karpenter launches
    /// one only when pending pods need it, so one that is late is noted, not a failure.
    WaitPoolNode {
        /// The NodePool.
        nodepool: String,
        /// The node being replaced.
        replacing: String,
        /// The pool's nodes when the plan was made (none of them counts as new).
        known: Vec<String>,
        /// Stop waiting after this long.
        timeout: Span,
    },
    /// Tell on-call; change nothing.
    Notify {
        /// What to say.
        message: String,
    },
    /// A step that could not be made concrete without a cluster view.
    Unresolved {
        /// What the step would do.
        what: String,
    },
}

impl Op {
    /// Short operation name for audit steps.
    pub fn name(&self) -> &'static str {
        match self {
            Op::DeletePod { .. } => "delete_pod",
            Op::VerifyReplacement { .. } => "verify_replacement",
            Op::RestartWorkload { .. } => "rollout_restart",
            Op::Rollback { .. } => "rollback",
            Op::VerifyRollout { .. } => "verify_rollout",
            Op::Cordon { .. } => "cordon",
            Op::Evict { .. } => "evict",
            Op::WaitPodsGone { .. } => "wait_pods_gone",
            Op::TerminateInstance { .. } => "terminate_instance",
            Op::DeleteNodeClaim { .. } => "delete_nodeclaim",
            Op::VerifyNodeClaimGone { .. } => "verify_nodeclaim_gone",
            Op::WaitPoolNode { .. } => "wait_pool_node",
            Op::Notify { .. } => "notify",
            Op::Unresolved { .. } => "unresolved",
        }
    }

    /// Whether a step recorded under operation name `name` changes something: the names
    /// of the ops [`Op::is_mutation`] is true for. A stored record only has the names.
    pub fn is_mutation_name(name: &str) -> bool {
        matches!(
            name,
            "delete_pod"
                | "rollout_restart"
                | "rollback"
                | "cordon"
                | "evict"
                | "terminate_instance"
                | "delete_nodeclaim"
        )
    }

    /// Whether the step changes something (and so has a `dryRun=All` form).
    pub fn is_mutation(&self) -> bool {
        Op::is_mutation_name(self.name())
    }

    /// The object this step changes, with what pins it (uid, revisions, instance), for a
    /// step that changes one: how an approved plan is known to act on the same objects as
    /// the plan made when it is approved. Waits, evictions (a drain evicts whatever is on
    /// the node then) and notifications name none.
    pub fn names(&self) -> Option<String> {
        let uid = |uid: &Option<String>| {
            uid.as_ref()
                .map_or_else(String::new, |u| format!(" (uid {u})"))
        };
        match self {
            Op::DeletePod { pod, uid: pinned } => {
                Some(format!("Pod {}/{}{}", pod.namespace, pod.name, uid(pinned)))
            }
            Op::RestartWorkload { target, .. } => Some(target.to_string()),
            Op::Rollback {
                target,
                from_revision,
                to_revision,
                ..
            } => Some(format!(
                "{target} from revision {from_revision} to revision {to_revision}"
            )),
            Op::Cordon { node, .. } => Some(format!("Node {node}")),
            Op::TerminateInstance { node, instance_id } => {
                Some(format!("Node {node} on instance {instance_id}"))
            }
            Op::DeleteNodeClaim {
                node,
                nodeclaim,
                uid: pinned,
            } => Some(format!(
                "NodeClaim {nodeclaim} of Node {node}{}",
                uid(pinned)
            )),
            Op::VerifyReplacement { .. }
            | Op::VerifyRollout { .. }
            | Op::Evict { .. }
            | Op::WaitPodsGone { .. }
            | Op::VerifyNodeClaimGone { .. }
            | Op::WaitPoolNode { .. }
            | Op::Notify { .. }
            | Op::Unresolved { .. } => None,
        }
    }

    /// The merge patch a restart sends.
    pub fn restart_patch(at: &str) -> serde_json::Value {
        json!({"spec": {"template": {"metadata": {"annotations": {RESTARTED_AT_ANNOTATION: at}}}}})
    }

    /// The merge patch a cordon sends.
    pub fn cordon_patch(reason: &str) -> serde_json::Value {
        json!({"metadata": {"annotations": {CORDON_ANNOTATION: reason}}, "spec": {"unschedulable": true}})
    }

    /// The JSON patch a rollback sends: `kubectl rollout undo`'s two replacements (the
    /// template, the annotations), after a `test` that makes a concurrent change fail with a
    /// conflict instead of being overwritten. The annotations are written with `add`, which
    /// replaces them as `replace` would and also works on a Deployment that has none.
    pub fn rollback_patch(
        resource_version: &str,
        template: &serde_json::Value,
        annotations: &BTreeMap<String, String>,
    ) -> serde_json::Value {
        json!([
            {"op": "test", "path": "/metadata/resourceVersion", "value": resource_version},
            {"op": "replace", "path": "/spec/template", "value": template},
            {"op": "add", "path": "/metadata/annotations", "value": annotations},
        ])
    }

    /// The concrete request, as the audit record shows it.
    pub fn call(&self) -> String {
        match self {
            Op::DeletePod { pod, .. } => format!(
                "DELETE /api/v1/namespaces/{}/pods/{}",
                pod.namespace, pod.name
            ),
            Op::VerifyReplacement {
                pod,
                controller,
                timeout,
            } => format!(
                "LIST /api/v1/namespaces/{}/pods until {controller} has a Ready pod replacing {} (timeout {timeout})",
                pod.namespace, pod.name
            ),
            Op::RestartWorkload { target, at } => format!(
                "PATCH {} (merge-patch: spec.template.metadata.annotations[{RESTARTED_AT_ANNOTATION}]={at})",
                target.api_path()
            ),
            Op::Rollback {
                target,
                resource_version,
                from_revision,
                to_revision,
                ..
            } => format!(
                "PATCH {} (json-patch: test /metadata/resourceVersion={resource_version}; replace /spec/template and /metadata/annotations with revision {to_revision}'s, leaving revision {from_revision})",
                target.api_path()
            ),
            Op::VerifyRollout { target, timeout } => format!(
                "GET {} until status.observedGeneration >= metadata.generation and updated = available = desired replicas (timeout {timeout})",
                target.api_path()
            ),
            Op::Cordon { node, .. } => format!(
                "PATCH /api/v1/nodes/{node} (merge-patch: spec.unschedulable=true, metadata.annotations[{CORDON_ANNOTATION}])"
            ),
            Op::Evict { pod, .. } => format!(
                "POST /api/v1/namespaces/{}/pods/{}/eviction",
                pod.namespace, pod.name
            ),
            Op::WaitPodsGone {
                pods,
                timeout,
                terminating_grace,
            } => {
                format!(
                    "GET each of {} evicted pods until 404 (timeout {timeout}; on a NotReady node a pod terminating for more than {terminating_grace} counts as gone)",
                    pods.len()
                )
            }
            Op::TerminateInstance { instance_id, node } => format!(
                "autoscaling:TerminateInstanceInAutoScalingGroup InstanceId={instance_id} ShouldDecrementDesiredCapacity=false (node {node})"
            ),
            Op::DeleteNodeClaim {
                node,
                nodeclaim,
                uid,
            } => format!(
                "DELETE {} ({}node {node}; Karpenter terminates its instance and removes the node)",
                nodeclaim_path(nodeclaim),
                uid.as_deref()
                    .map_or_else(String::new, |u| format!("precondition uid={u}; "))
            ),
            Op::VerifyNodeClaimGone { nodeclaim, timeout } => format!(
                "GET {} until 404 (timeout {timeout})",
                nodeclaim_path(nodeclaim)
            ),
            Op::WaitPoolNode {
                nodepool, timeout, ..
            } => format!(
                "LIST /api/v1/nodes?labelSelector={NODEPOOL_LABEL}={nodepool} until a new node is Ready (timeout {timeout}; a late one is noted, not a failure)"
            ),
            Op::Notify { message } => format!("notify on-call: {message}"),
            Op::Unresolved { what } => format!("(unresolved without a cluster view) {what}"),
        }
    }
}
