//! What reflex decides: the failure classes and the actions of ARCHITECTURE section 4.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::vocab::target::TargetKind;

/// Failure classes (ARCHITECTURE section 4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureClass {
    /// Containers of a pod keep crashing and restarting.
    PodCrashLoop,
    /// A pod stays not ready.
    PodNotReady,
    /// A Deployment does not reach its desired state.
    DeploymentDegraded,
    /// A node is not ready or unreachable.
    NodeNotReady,
    /// The EC2 instance behind a node fails its status checks.
    InstanceUnhealthy,
    /// A service answers its clients with errors (an ALB target group's HTTP 5XX).
    ServiceErrors,
}

impl FailureClass {
    /// The contract name.
    pub fn as_str(self) -> &'static str {
        match self {
            FailureClass::PodCrashLoop => "pod_crash_loop",
            FailureClass::PodNotReady => "pod_not_ready",
            FailureClass::DeploymentDegraded => "deployment_degraded",
            FailureClass::NodeNotReady => "node_not_ready",
            FailureClass::InstanceUnhealthy => "instance_unhealthy",
            FailureClass::ServiceErrors => "service_errors",
        }
    }
}

impl fmt::Display for FailureClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Remediation actions (ARCHITECTURE section 4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActionKind {
    /// Delete a controller-owned pod so its controller replaces it.
    RestartPod,
    /// Set `kubectl.kubernetes.io/restartedAt` on a workload's pod template.
    RolloutRestart,
    /// Put a Deployment back on its previous revision (`kubectl rollout undo`).
    Rollback,
    /// Cordon and drain a node, then terminate its instance for the ASG to replace.
    ReplaceNode,
    /// Change nothing; tell on-call.
    Notify,
    /// Set a Route 53 canary record's weight to 0 and give it to the stable record of the
    /// same name, in one change batch.
    ShiftTraffic,
}

impl ActionKind {
    /// The contract name.
    pub fn as_str(self) -> &'static str {
        match self {
            ActionKind::RestartPod => "restart_pod",
            ActionKind::RolloutRestart => "rollout_restart",
            ActionKind::Rollback => "rollback",
            ActionKind::ReplaceNode => "replace_node",
            ActionKind::Notify => "notify",
            ActionKind::ShiftTraffic => "shift_traffic",
        }
    }

    /// Whether a rule with this action can aim at `kind` (a rollback may name a pod, whose
    /// Deployment is then rolled back).
    pub fn accepts(self, kind: TargetKind) -> bool {
        match self {
            ActionKind::RestartPod => kind == TargetKind::Pod,
            ActionKind::RolloutRestart => matches!(
                kind,
                TargetKind::Deployment
                    | TargetKind::StatefulSet
                    | TargetKind::DaemonSet
                    | TargetKind::Pod
            ),
            ActionKind::Rollback => matches!(kind, TargetKind::Deployment | TargetKind::Pod),
            ActionKind::ReplaceNode => kind == TargetKind::Node,
            ActionKind::ShiftTraffic => kind == TargetKind::WeightedRecord,
            ActionKind::Notify => true,
        }
    }
}

impl fmt::Display for ActionKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
