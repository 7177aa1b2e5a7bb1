//! `rollout_restart`, and the rollout check that ends every workload change (a restart or
//! a rollback).
//!
//! The restart is the merge patch `kubectl rollout restart` sends ([`Op::restart_patch`]).
//! A rollout counts as complete the way `kubectl rollout status` decides it: the controller
//! has observed the new generation, and every desired replica is updated and available
//! with no old one left (DaemonSets: every scheduled pod updated and available).

use std::time::Duration;

use kube::api::{Patch, PatchParams};
use kube::core::Request;
use reflex_core::cluster::{ClusterError, Submit};
use reflex_core::vocab::op::Op;
use reflex_core::vocab::target::TargetRef;
use serde_json::Value;
use tokio::time::Instant;

use crate::KubeCluster;
use crate::call::{Deadline, Resend, build_error, secs};
use crate::read::workload_collection;

/// The field manager reflex's patches are recorded under (`metadata.managedFields`).
pub(crate) const FIELD_MANAGER: &str = "reflex";

pub(crate) fn patch_params(submit: Submit) -> PatchParams {
    PatchParams {
        dry_run: submit == Submit::DryRun,
        field_manager: Some(FIELD_MANAGER.to_owned()),
        ..Default::default()
    }
}

/// The collection path of a workload target, or why there is none.
pub(crate) fn target_collection(target: &TargetRef) -> Result<String, ClusterError> {
    target
        .namespace
        .as_deref()
        .and_then(|ns| workload_collection(target.kind, ns))
        .ok_or_else(|| ClusterError::Unsupported(format!("{target} has no pod template")))
}

fn int(object: &Value, pointer: &str) -> Option<i64> {
    object.pointer(pointer).and_then(Value::as_i64)
}

/// Whether a workload's rollout is complete: `Ok` with a summary, or `Err` saying what it
/// still waits for.
pub(crate) fn rollout_state(kind: &str, w: &Value) -> Result<String, String> {
    let generation = int(w, "/metadata/generation").unwrap_or(0);
    let observed = int(w, "/status/observedGeneration").unwrap_or(-1);
    if observed < generation {
        return Err(format!(
            "the controller has not observed generation {generation} yet (observed {observed})"
        ));
    }
    let status = |field: &str| int(w, &format!("/status/{field}")).unwrap_or(0);
    let (desired, updated, available, total) = match kind {
        "DaemonSet" => {
            let desired = status("desiredNumberScheduled");
            (
                desired,
                status("updatedNumberScheduled"),
                status("numberAvailable"),
                status("currentNumberScheduled").max(desired),
            )
        }
        _ => {
            if kind == "StatefulSet"
                && w.pointer("/spec/updateStrategy/type")
                    .and_then(Value::as_str)
                    == Some("OnDelete")
            {
                return Ok(format!(
                    "generation {generation} observed; OnDelete strategy: pods change only when deleted"
                ));
            }
            let desired = int(w, "/spec/replicas").unwrap_or(1);
            (
                desired,
                status("updatedReplicas"),
                status("availableReplicas"),
                status("replicas"),
            )
        }
    };
    if updated < desired {
        return Err(format!("{updated} of {desired} replicas updated"));
    }
    if total > updated {
        return Err(format!(
            "{} old replica(s) still to be terminated",
            total - updated
        ));
    }
    if available < desired {
        return Err(format!(
            "{available} of {desired} updated replicas available"
        ));
    }
    Ok(format!(
        "generation {generation} rolled out: {desired} of {desired} replicas updated and available"
    ))
}

impl KubeCluster {
    /// `PATCH` (merge) `kubectl.kubernetes.io/restartedAt` onto the pod template.
    pub(crate) async fn restart_workload(
        &self,
        target: &TargetRef,
        at: &str,
        submit: Submit,
    ) -> Result<String, ClusterError> {
        let path = target_collection(target)?;
        let deadline = Deadline::after(self.settings.request_timeout);
        let patch = Op::restart_patch(at);
        let params = patch_params(submit);
        let request = Request::new(&path);
        // A merge patch setting one value is idempotent: safe to resend.
        let patched: Value = self
            .call(Resend::Transient, &deadline, || {
                request
                    .patch(&target.name, &params, &Patch::Merge(&patch))
                    .map_err(build_error)
            })
            .await
            .map_err(|e| e.into_cluster(&format!("PATCH {target}")))?;
        let generation = int(&patched, "/metadata/generation").unwrap_or(0);
        Ok(match submit {
            Submit::DryRun => {
                format!("restart patch admitted (would make generation {generation})")
            }
            Submit::Apply => format!("restartedAt={at} set; generation {generation}"),
        })
    }

    /// Polls the workload until its rollout is complete.
    pub(crate) async fn verify_rollout(
        &self,
        target: &TargetRef,
        timeout: Duration,
    ) -> Result<String, ClusterError> {
        let path = target_collection(target)?;
        let kind = target.kind.as_str();
        let started = Instant::now();
        let deadline = Deadline::after(timeout);
        // The last state seen, and whether the read after it failed: a read cut off by the
        // deadline itself must not hide what the rollout was waiting for.
        let mut last = "no read answered".to_owned();
        let mut failed: Option<String>;
        loop {
            match self.get::<Value>(&path, &target.name, &deadline).await {
                Ok(Some(w)) => match rollout_state(kind, &w) {
                    Ok(done) => return Ok(format!("{done} ({})", secs(started.elapsed()))),
                    Err(waiting) => {
                        last = waiting;
                        failed = None;
                    }
                },
                Ok(None) => {
                    return Err(ClusterError::NotFound(format!(
                        "{target} disappeared during its rollout"
                    )));
                }
                Err(e) if e.is_transient() => failed = Some(e.message()),
                Err(e) => return Err(e.into_cluster(&format!("GET {target}"))),
            }
            if !deadline.sleep(self.settings.poll_interval).await {
                let failed =
                    failed.map_or_else(String::new, |e| format!("; last read failed: {e}"));
                return Err(ClusterError::Timeout(format!(
                    "rollout of {target} not complete within {}: {last}{failed}",
                    secs(timeout)
                )));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn deployment(generation: i64, observed: i64, status: Value) -> Value {
        let mut status = status;
        status["observedGeneration"] = json!(observed);
        json!({"metadata": {"generation": generation}, "spec": {"replicas": 2}, "status": status})
    }

    #[test]
    fn a_deployment_is_rolled_out_when_every_replica_is_updated_and_available() {
        let done = json!({"replicas": 2, "updatedReplicas": 2, "availableReplicas": 2});
        assert!(rollout_state("Deployment", &deployment(3, 3, done.clone())).is_ok());
        assert!(
            rollout_state("Deployment", &deployment(4, 3, done))
                .unwrap_err()
                .contains("not observed generation 4")
        );
        let old_left = json!({"replicas": 3, "updatedReplicas": 2, "availableReplicas": 2});
        assert!(
            rollout_state("Deployment", &deployment(3, 3, old_left))
                .unwrap_err()
                .contains("1 old replica")
        );
        let unavailable = json!({"replicas": 2, "updatedReplicas": 2, "availableReplicas": 1});
        assert!(
            rollout_state("Deployment", &deployment(3, 3, unavailable))
                .unwrap_err()
                .contains("1 of 2 updated replicas available")
        );
    }

    #[test]
    fn a_daemon_set_is_rolled_out_when_every_scheduled_pod_is_updated_and_available() {
        let ds = |updated: i64| {
            json!({"metadata": {"generation": 2}, "status": {"observedGeneration": 2,
                "desiredNumberScheduled": 6, "currentNumberScheduled": 6,
                "updatedNumberScheduled": updated, "numberAvailable": 6}})
        };
        assert!(rollout_state("DaemonSet", &ds(6)).is_ok());
        assert!(rollout_state("DaemonSet", &ds(5)).is_err());
    }
}
