//! The Karpenter part of `replace_node`, after the drain: delete the node's NodeClaim
//! (`karpenter.sh/v1`, cluster-scoped), pinned by a uid precondition to the one the plan
//! was made for; wait until it is gone; then wait for a new Ready node in its NodePool.
//!
//! A `404` to the delete means the NodeClaim is already gone (Karpenter disrupted the node
//! itself, or an earlier attempt went through): that is the goal, not a failure. The
//! NodeClaim is addressed by path and decoded into the core's own type, so no Karpenter
//! crate or CRD type is needed.

use std::time::Duration;

use k8s_openapi::api::core::v1::Node as NodeType;
use kube::api::{DeleteParams, ListParams, Preconditions};
use kube::core::Request;
use reflex_core::cluster::{ClusterError, Submit};
use reflex_core::objects::{Node, NodeClaim};
use reflex_core::vocab::labels::NODEPOOL_LABEL;
use tokio::time::Instant;

use crate::KubeCluster;
use crate::call::{Deadline, Resend, build_error, secs};
use crate::read::{NODECLAIMS, collection};

impl KubeCluster {
    /// `DELETE` the NodeClaim, with the planned uid as precondition.
    pub(crate) async fn delete_nodeclaim(
        &self,
        nodeclaim: &str,
        uid: Option<&str>,
        submit: Submit,
    ) -> Result<String, ClusterError> {
        let deadline = Deadline::after(self.settings.request_timeout);
        let params = DeleteParams {
            dry_run: submit == Submit::DryRun,
            preconditions: uid.map(|uid| Preconditions {
                uid: Some(uid.to_owned()),
                resource_version: None,
            }),
            ..Default::default()
        };
        let request = Request::new(NODECLAIMS);
        // Resending is safe: the uid pins the instance, and a 404 means it is gone.
        let deleted: Result<serde_json::Value, _> = self
            .call(Resend::Transient, &deadline, || {
                request.delete(nodeclaim, &params).map_err(build_error)
            })
            .await;
        let pinned = uid.map_or_else(String::new, |u| format!(" (uid {u})"));
        match (deleted, submit) {
            (Ok(_), Submit::DryRun) => {
                Ok(format!("delete of NodeClaim {nodeclaim}{pinned} admitted"))
            }
            (Ok(_), Submit::Apply) => Ok(format!(
                "deleted NodeClaim {nodeclaim}{pinned}; Karpenter terminates its instance"
            )),
            (Err(e), _) if e.code() == Some(404) => {
                Ok(format!("NodeClaim {nodeclaim} was already gone"))
            }
            (Err(e), _) => Err(e.into_cluster(&format!("DELETE NodeClaim {nodeclaim}{pinned}"))),
        }
    }

    /// Polls the NodeClaim until it is gone (404).
    pub(crate) async fn verify_nodeclaim_gone(
        &self,
        nodeclaim: &str,
        timeout: Duration,
    ) -> Result<String, ClusterError> {
        let started = Instant::now();
        let deadline = Deadline::after(timeout);
        let mut last = format!("NodeClaim {nodeclaim} still exists");
        loop {
            match self
                .get::<NodeClaim>(NODECLAIMS, nodeclaim, &deadline)
                .await
            {
                Ok(None) => {
                    return Ok(format!(
                        "NodeClaim {nodeclaim} is gone ({} after the delete)",
                        secs(started.elapsed())
                    ));
                }
                Ok(Some(_)) => last = format!("NodeClaim {nodeclaim} still exists"),
                Err(e) if e.is_transient() => last = format!("last read failed: {}", e.message()),
                Err(e) => return Err(e.into_cluster(&format!("GET NodeClaim {nodeclaim}"))),
            }
            if !deadline.sleep(self.settings.poll_interval).await {
                return Err(ClusterError::Timeout(format!(
                    "NodeClaim {nodeclaim} not gone within {}: {last}",
                    secs(timeout)
                )));
            }
        }
    }

    /// Polls the NodePool's nodes until one not among `known` is Ready.
    pub(crate) async fn wait_pool_node(
        &self,
        nodepool: &str,
        known: &[String],
        timeout: Duration,
    ) -> Result<String, ClusterError> {
        let started = Instant::now();
        let deadline = Deadline::after(timeout);
        let params = ListParams::default().labels(&format!("{NODEPOOL_LABEL}={nodepool}"));
        let path = collection::<NodeType>(None);
        let mut last = "no new node yet".to_owned();
        loop {
            match self.list::<Node>(&path, params.clone(), &deadline).await {
                Ok(nodes) => {
                    let new: Vec<&Node> = nodes
                        .iter()
                        .filter(|n| !known.contains(&n.metadata.name))
                        .collect();
                    if let Some(ready) = new.iter().find(|n| n.is_ready()) {
                        return Ok(format!(
                            "{} is Ready in NodePool {nodepool} ({} after the NodeClaim was gone)",
                            ready.metadata.name,
                            secs(started.elapsed())
                        ));
                    }
                    if !new.is_empty() {
                        let names: Vec<&str> =
                            new.iter().map(|n| n.metadata.name.as_str()).collect();
                        last = format!("new node(s) not Ready: {}", names.join(", "));
                    }
                }
                Err(e) if e.is_transient() => last = format!("last read failed: {}", e.message()),
                Err(e) => return Err(e.into_cluster(&format!("LIST nodes of NodePool {nodepool}"))),
            }
            if !deadline.sleep(self.settings.poll_interval).await {
                return Err(ClusterError::Timeout(last));
            }
        }
    }
}
