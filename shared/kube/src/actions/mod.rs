//! [`Actuator`] over the API: each [`Op`] to the file that performs it.
//!
//! | op | file |
//! |---|---|
//! | `DeletePod`, `VerifyReplacement` | `restart_pod.rs` |
//! | `RestartWorkload`, `VerifyRollout` | `rollout.rs` |
//! | `Rollback` | `rollback.rs` |
//! | `Cordon`, `Evict` (batches), `WaitPodsGone` | `drain.rs` |
//! | `DeleteNodeClaim`, `VerifyNodeClaimGone`, `WaitPoolNode` | `nodeclaim.rs` |
//! | `Notify` | no call |
//!
//! Ops without a timeout of their own (deletes and patches) get one request timeout. Waits
//! poll every `poll_interval` until their op's timeout and keep polling through transient
//! read failures (the last one is named if time runs out); any other failure ends them.
//! The core never sends a wait in a dry run; if one comes anyway it is answered without a
//! call.

use std::future::Future;

use reflex_core::cluster::{Actuator, ClusterError, Submit};
use reflex_core::vocab::op::Op;

use crate::KubeCluster;
use crate::call::Deadline;

mod drain;
mod nodeclaim;
pub(crate) mod restart_pod;
mod rollback;
mod rollout;

impl Actuator for KubeCluster {
    /// The time left before [`KubeCluster::with_time_limit`]'s end.
    fn time_left(&self) -> Option<std::time::Duration> {
        self.ends
            .map(|end| end.saturating_duration_since(tokio::time::Instant::now()))
    }

    /// A single-call op runs under one deadline of the request timeout, resends included.
    fn call_allowance(&self) -> std::time::Duration {
        self.settings.request_timeout
    }

    async fn apply(&self, op: &Op, submit: Submit) -> Result<String, ClusterError> {
        let waits = matches!(
            op,
            Op::VerifyReplacement { .. }
                | Op::VerifyRollout { .. }
                | Op::WaitPodsGone { .. }
                | Op::VerifyNodeClaimGone { .. }
                | Op::WaitPoolNode { .. }
        );
        if waits && submit == Submit::DryRun {
            return Ok("not waited for in a dry run".to_owned());
        }
        match op {
            Op::DeletePod { pod, uid } => self.delete_pod(pod, uid.as_deref(), submit).await,
            Op::VerifyReplacement {
                pod,
                controller,
                timeout,
            } => {
                self.verify_replacement(pod, controller, timeout.to_std())
                    .await
            }
            Op::RestartWorkload { target, at } => self.restart_workload(target, at, submit).await,
            Op::Rollback {
                target,
                resource_version,
                from_revision,
                to_revision,
                template,
                annotations,
            } => {
                self.rollback(
                    target,
                    resource_version,
                    (*from_revision, *to_revision),
                    (template, annotations),
                    submit,
                )
                .await
            }
            Op::VerifyRollout { target, timeout } => {
                self.verify_rollout(target, timeout.to_std()).await
            }
            Op::Cordon { node, reason, .. } => self.cordon(node, reason, submit).await,
            Op::Evict { pod, timeout } => {
                let timeout = timeout.to_std();
                self.evict(pod, timeout, &Deadline::after(timeout), submit)
                    .await
            }
            Op::WaitPodsGone {
                pods,
                timeout,
                terminating_grace,
            } => {
                self.wait_pods_gone(pods, timeout.to_std(), *terminating_grace)
                    .await
            }
            Op::DeleteNodeClaim { nodeclaim, uid, .. } => {
                self.delete_nodeclaim(nodeclaim, uid.as_deref(), submit)
                    .await
            }
            Op::VerifyNodeClaimGone { nodeclaim, timeout } => {
                self.verify_nodeclaim_gone(nodeclaim, timeout.to_std())
                    .await
            }
            Op::WaitPoolNode {
                nodepool,
                known,
                timeout,
                ..
            } => self.wait_pool_node(nodepool, known, timeout.to_std()).await,
            Op::Notify { .. } => Ok("recorded for on-call; no cluster call".to_owned()),
            Op::TerminateInstance { .. }
            | Op::ChangeWeights { .. }
            | Op::VerifyInSync { .. }
            | Op::Unresolved { .. } => Err(ClusterError::Unsupported(format!(
                "{} is not a Kubernetes call",
                op.name()
            ))),
        }
    }

    fn apply_batch(
        &self,
        ops: &[Op],
        submit: Submit,
    ) -> impl Future<Output = Vec<Result<String, ClusterError>>> + Send {
        self.evict_batch(ops, submit)
    }
}
