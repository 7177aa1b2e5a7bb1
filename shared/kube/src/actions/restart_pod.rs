//! `restart_pod`: delete the pod, pinned to the instance that was read, then wait until its
//! controller has a Ready pod that was not there before.
//!
//! The delete carries a `uid` precondition, not a `resourceVersion` one: a crash-looping
//! pod's status (restart counts) changes every few seconds, so a version precondition
//! would refuse the very remediation, while the uid still guarantees that a replacement
//! under the same name (a StatefulSet's) is never deleted in its stead. Before deleting,
//! the controller's current pods are noted, so that verification accepts only a pod that
//! is new, not a sibling that was Ready all along.

use std::collections::HashSet;
use std::time::Duration;

use k8s_openapi::api::core::v1::Pod as PodType;
use kube::api::{DeleteParams, ListParams, Preconditions};
use kube::core::Request;
use reflex_core::cluster::{ClusterError, Submit};
use reflex_core::objects::{OwnerRef, Pod};
use reflex_core::vocab::op::PodRef;
use tokio::time::Instant;

use crate::KubeCluster;
use crate::call::{Deadline, Resend, build_error, secs};
use crate::read::collection;

/// A pod this adapter deleted, and the controller's pods at that moment.
#[derive(Debug, Clone)]
pub(crate) struct Deleted {
    uid: String,
    owner: Option<OwnerRef>,
    selector: Option<String>,
    before: HashSet<String>,
}

/// `k1=v1,k2=v2`: the pod's labels, which its controller's other pods share.
fn selector_of(pod: &Pod) -> Option<String> {
    let labels = &pod.metadata.labels;
    (!labels.is_empty()).then(|| {
        labels
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(",")
    })
}

fn owned_by(pod: &Pod, owner: &OwnerRef) -> bool {
    pod.metadata.controller().is_some_and(|o| {
        o.kind == owner.kind
            && o.name == owner.name
            && (o.uid.is_empty() || owner.uid.is_empty() || o.uid == owner.uid)
    })
}

impl KubeCluster {
    /// `DELETE` the pod with a uid precondition: the uid the plan was made for (`planned`),
    /// after one `GET` that checks the pod is still that one (and, when applying, one `LIST`
    /// of its controller's pods).
    pub(crate) async fn delete_pod(
        &self,
        pod: &PodRef,
        planned: Option<&str>,
        submit: Submit,
    ) -> Result<String, ClusterError> {
        let deadline = Deadline::after(self.settings.request_timeout);
        let path = collection::<PodType>(Some(&pod.namespace));
        let current: Pod = self
            .get(&path, &pod.name, &deadline)
            .await
            .map_err(|e| e.into_cluster(&format!("GET pod {pod}")))?
            .ok_or_else(|| {
                ClusterError::NotFound(format!("pod {pod} no longer exists: nothing deleted"))
            })?;
        let uid = current.metadata.uid.clone().unwrap_or_default();
        if let Some(planned) = planned
            && planned != uid
        {
            return Err(ClusterError::Conflict(format!(
                "pod {pod} was recreated since the plan (planned uid {planned}, now {uid}): nothing deleted"
            )));
        }
        let owner = current.metadata.controller().cloned();
        if submit == Submit::Apply {
            let selector = selector_of(&current);
            let siblings: Vec<Pod> = self
                .list(
                    &path,
                    ListParams {
                        label_selector: selector.clone(),
                        ..Default::default()
                    },
                    &deadline,
                )
                .await
                .map_err(|e| e.into_cluster(&format!("LIST pods of {pod}'s controller")))?;
            let before = siblings
                .iter()
                .filter(|p| owner.as_ref().is_some_and(|o| owned_by(p, o)))
                .filter_map(|p| p.metadata.uid.clone())
                .collect();
            self.memo().deleted(
                pod.clone(),
                Deleted {
                    uid: uid.clone(),
                    owner,
                    selector,
                    before,
                },
            );
        }

        let params = DeleteParams {
            dry_run: submit == Submit::DryRun,
            preconditions: (!uid.is_empty()).then(|| Preconditions {
                uid: Some(uid.clone()),
                resource_version: None,
            }),
            ..Default::default()
        };
        let request = Request::new(&path);
        // Resending is safe: the uid pins the instance, and a second answer of 404 means
        // the first attempt went through.
        let deleted: Result<serde_json::Value, _> = self
            .call(Resend::Transient, &deadline, || {
                request.delete(&pod.name, &params).map_err(build_error)
            })
            .await;
        match (deleted, submit) {
            (Ok(_), Submit::DryRun) => Ok(format!("delete of {pod} (uid {uid}) admitted")),
            (Ok(_), Submit::Apply) => Ok(format!("deleted {pod} (uid {uid})")),
            (Err(e), _) if e.code() == Some(404) => Ok(format!("{pod} was already gone")),
            (Err(e), _) => Err(e.into_cluster(&format!("DELETE pod {pod} (uid {uid})"))),
        }
    }

    /// Polls the namespace's pods until the controller has a Ready pod that replaced `pod`.
    pub(crate) async fn verify_replacement(
        &self,
        pod: &PodRef,
        controller: &str,
        timeout: Duration,
    ) -> Result<String, ClusterError> {
        let deleted = self.memo().deleted.remove(pod);
        // Without a note from the delete (another process deleted it), fall back to the
        // controller named in the plan, and to names: a StatefulSet's replacement has the
        // same name, any other controller's a new one.
        let owner = deleted
            .as_ref()
            .and_then(|d| d.owner.clone())
            .or_else(|| {
                let (kind, name) = controller.split_once(' ')?;
                Some(OwnerRef {
                    kind: kind.to_owned(),
                    name: name.to_owned(),
                    ..OwnerRef::default()
                })
            })
            .ok_or_else(|| {
                ClusterError::Unsupported(format!(
                    "cannot tell which controller replaces {pod} ({controller:?})"
                ))
            })?;
        let is_new = |p: &Pod| match &deleted {
            Some(d) => p
                .metadata
                .uid
                .as_ref()
                .is_some_and(|uid| *uid != d.uid && !d.before.contains(uid)),
            None => (owner.kind == "StatefulSet") == (p.metadata.name == pod.name),
        };
        let path = collection::<PodType>(Some(&pod.namespace));
        let params = ListParams {
            label_selector: deleted.as_ref().and_then(|d| d.selector.clone()),
            ..Default::default()
        };
        let started = Instant::now();
        let deadline = Deadline::after(timeout);
        let mut last = format!("no new pod of {} {} yet", owner.kind, owner.name);
        // Whether the read after `last` failed: a read cut off by the deadline itself must
        // not hide what was last seen.
        let mut failed: Option<String>;
        loop {
            match self.list::<Pod>(&path, params.clone(), &deadline).await {
                Ok(pods) => {
                    failed = None;
                    let new: Vec<&Pod> = pods
                        .iter()
                        .filter(|p| owned_by(p, &owner) && is_new(p))
                        .collect();
                    if let Some(ready) = new.iter().find(|p| p.is_ready()) {
                        return Ok(format!(
                            "{} is Ready, replacing {} ({} after the delete)",
                            ready.metadata.name,
                            pod.name,
                            secs(started.elapsed())
                        ));
                    }
                    if !new.is_empty() {
                        let names: Vec<&str> =
                            new.iter().map(|p| p.metadata.name.as_str()).collect();
                        last = format!("new pod(s) not Ready: {}", names.join(", "));
                    }
                }
                Err(e) if e.is_transient() => failed = Some(e.message()),
                Err(e) => return Err(e.into_cluster(&format!("LIST pods in {}", pod.namespace))),
            }
            if !deadline.sleep(self.settings.poll_interval).await {
                let failed =
                    failed.map_or_else(String::new, |e| format!("; last read failed: {e}"));
                return Err(ClusterError::Timeout(format!(
                    "no Ready replacement for {pod} from {controller} within {}: {last}{failed}",
                    secs(timeout)
                )));
            }
        }
    }
}
