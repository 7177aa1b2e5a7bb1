//! `rollback`: `kubectl rollout undo` as one JSON patch ([`Op::rollback_patch`]: the
//! revision's template and annotations) whose first operation `test`s
//! `metadata.resourceVersion` against the version the plan was made from, so a Deployment
//! changed in between is never overwritten blindly.
//!
//! kube-apiserver answers a failed `test` with a generic `422 Invalid` ("the server rejected
//! our request due to an error in our request"), the same answer as for a malformed patch.
//! So a 422 is followed by one `GET`: if the resourceVersion moved, the refusal is reported
//! as the conflict it is. A race the `test` cannot see (a write between the patch's read
//! and its write) is a `409`, also a conflict. The patch is never resent: a first attempt
//! that was applied but lost its answer would make the second fail its `test`.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::Deployment;
use kube::api::Patch;
use kube::core::Request;
use reflex_core::cluster::{ClusterError, Submit};
use reflex_core::vocab::op::Op;
use reflex_core::vocab::target::TargetRef;
use serde_json::Value;

use crate::KubeCluster;
use crate::actions::rollout::patch_params;
use crate::call::{Deadline, Resend, build_error};
use crate::error::CallError;
use crate::read::collection;

impl KubeCluster {
    /// `PATCH` (JSON patch) the Deployment's template and annotations back to an older
    /// revision's.
    pub(crate) async fn rollback(
        &self,
        target: &TargetRef,
        resource_version: &str,
        (from, to): (u64, u64),
        (template, annotations): (&Value, &BTreeMap<String, String>),
        submit: Submit,
    ) -> Result<String, ClusterError> {
        let path = collection::<Deployment>(target.namespace.as_deref());
        let what = format!("PATCH {target}");
        let patch: json_patch::Patch =
            serde_json::from_value(Op::rollback_patch(resource_version, template, annotations))
                .map_err(|e| {
                    ClusterError::Unsupported(format!(
                        "rollback patch for {target} is not a JSON patch: {e}"
                    ))
                })?;
        let deadline = Deadline::after(self.settings.request_timeout);
        let params = patch_params(submit);
        let request = Request::new(&path);
        let patched: Result<Value, CallError> = self
            .call(Resend::Never, &deadline, || {
                request
                    .patch(&target.name, &params, &Patch::Json::<()>(patch.clone()))
                    .map_err(build_error)
            })
            .await;
        match patched {
            Ok(d) => {
                let generation = d
                    .pointer("/metadata/generation")
                    .and_then(Value::as_i64)
                    .unwrap_or(0);
                Ok(match submit {
                    Submit::DryRun => format!(
                        "rollback to revision {to} admitted: resourceVersion {resource_version} is still current"
                    ),
                    Submit::Apply => format!(
                        "template and annotations replaced with revision {to}'s, leaving revision {from}; generation {generation}"
                    ),
                })
            }
            Err(e) if e.code() == Some(409) => Err(ClusterError::Conflict(format!(
                "{target} changed while the rollback was written ({}); nothing was overwritten",
                e.message()
            ))),
            Err(e) if e.code() == Some(422) => {
                // Was it the `test`? One read tells.
                let now: Option<Value> = self
                    .get(&path, &target.name, &deadline)
                    .await
                    .ok()
                    .flatten();
                let current = now
                    .as_ref()
                    .and_then(|d| d.pointer("/metadata/resourceVersion"))
                    .and_then(Value::as_str);
                match current {
                    Some(current) if current != resource_version => {
                        Err(ClusterError::Conflict(format!(
                            "{target} changed since the plan was made (resourceVersion {resource_version} then, {current} now): the patch's test failed and nothing was changed"
                        )))
                    }
                    _ => Err(e.into_cluster(&what)),
                }
            }
            Err(e) => Err(e.into_cluster(&what)),
        }
    }
}
