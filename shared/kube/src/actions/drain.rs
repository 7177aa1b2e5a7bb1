//! The cluster part of `replace_node`: cordon, evict in parallel, wait until the evicted
//! pods are gone. (Terminating the instance is the fleet's job, not this adapter's.)
//!
//! Evictions of a batch run at most `eviction_concurrency` at a time. Each first reads its
//! pod (a pod already gone is done; its uid pins the eviction to that instance, so a
//! StatefulSet's same-name replacement is never evicted in its place), then posts the
//! eviction. A `429` (a PodDisruptionBudget at zero) or a transient failure is retried with
//! capped exponential backoff and jitter until the op's timeout, the drain timeout; then
//! the step fails naming the budget's message. In a dry run a `429` is reported at once:
//! the server has said the eviction would be refused now, and waiting on a budget that a
//! dry run never spends would only stall the run.
//!
//! A drain has one deadline, the drain timeout from its first eviction: later eviction
//! batches (pods the second look after the cordon found) and the wait for evicted pods get
//! what is left of it, so a drain ends within the timeout however its time is spent.
//!
//! The wait for evicted pods ends when each is gone (404) or replaced (a new uid under its
//! name), with one exception, kubectl's `--skip-wait-for-delete-timeout`: a pod on a
//! NotReady node (or a node that no longer exists) whose `deletionTimestamp` (the end of
//! its own termination grace period) passed more than the policy's `terminating_grace` ago
//! counts as gone. A dead kubelet never confirms a deletion, so such a pod would otherwise
//! stay Terminating forever and the node would never be replaced. The node is read only
//! for such overdue pods, and a pod on a Ready node is always waited for: its kubelet is
//! alive and will finish the deletion, or something else (a finalizer) holds it.
//!
//! The eviction request is built here rather than with kube's `Request::evict`, which
//! writes the body's options under `delete_options`, a key the API server ignores
//! (`deleteOptions`): preconditions and `dryRun` would be silently dropped.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::StreamExt;
use futures::stream;
use k8s_openapi::api::core::v1::{Node as NodeType, Pod as PodType};
use kube::api::Patch;
use kube::core::Request;
use reflex_core::cluster::{Actuator, ClusterError, Submit};
use reflex_core::duration::Span;
use reflex_core::objects::{Node, Pod};
use reflex_core::vocab::annotations::CORDON_ANNOTATION;
use reflex_core::vocab::op::{Op, PodRef};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::time::Instant;

use crate::KubeCluster;
use crate::actions::rollout::patch_params;
use crate::call::{Deadline, Resend, backoff, build_error, secs};
use crate::error::CallError;
use crate::read::collection;

/// The part of a pod the wait for evicted pods reads.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Waited {
    metadata: WaitedMeta,
    spec: WaitedSpec,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct WaitedMeta {
    uid: Option<String>,
    deletion_timestamp: Option<DateTime<Utc>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct WaitedSpec {
    node_name: Option<String>,
}

/// A pod counted gone while still Terminating on a NotReady node.
#[derive(Debug)]
struct Abandoned {
    pod: PodRef,
    node: String,
}

/// `POST .../pods/{name}/eviction` with the pod's uid as precondition.
fn eviction_request(
    pod: &PodRef,
    uid: Option<&str>,
    submit: Submit,
) -> Result<http::Request<Vec<u8>>, CallError> {
    let dry_run = submit == Submit::DryRun;
    let mut uri = format!(
        "{}/{}/eviction",
        collection::<PodType>(Some(&pod.namespace)),
        pod.name
    );
    let mut options = json!({});
    if let Some(uid) = uid {
        options["preconditions"] = json!({ "uid": uid });
    }
    if dry_run {
        uri.push_str("?dryRun=All");
        options["dryRun"] = json!(["All"]);
    }
    let body = json!({
        "apiVersion": "policy/v1",
        "kind": "Eviction",
        "metadata": { "name": pod.name, "namespace": pod.namespace },
        "deleteOptions": options,
    });
    http::Request::post(uri)
        .header(http::header::CONTENT_TYPE, "application/json")
        .body(body.to_string().into_bytes())
        .map_err(|e| CallError::Transport(format!("cannot build the eviction request: {e}")))
}

impl KubeCluster {
    /// `PATCH` (merge) the node unschedulable, with the reason in an annotation.
    pub(crate) async fn cordon(
        &self,
        node: &str,
        reason: &str,
        submit: Submit,
    ) -> Result<String, ClusterError> {
        self.memo().drain_deadline = None;
        let deadline = Deadline::after(self.settings.request_timeout);
        let patch = Op::cordon_patch(reason);
        let params = patch_params(submit);
        let request = Request::new(collection::<NodeType>(None));
        // Setting the same two values again is harmless: safe to resend.
        let _: Value = self
            .call(Resend::Transient, &deadline, || {
                request
                    .patch(node, &params, &Patch::Merge(&patch))
                    .map_err(build_error)
            })
            .await
            .map_err(|e| e.into_cluster(&format!("PATCH node {node}")))?;
        Ok(match submit {
            Submit::DryRun => "cordon admitted".to_owned(),
            Submit::Apply => format!("cordoned; {CORDON_ANNOTATION}={reason:?}"),
        })
    }

    /// Evicts one pod, retrying a budget's refusal until `deadline` (the drain's, shared by
    /// every eviction of the batch; `timeout` is how long that deadline was set for).
    pub(crate) async fn evict(
        &self,
        pod: &PodRef,
        timeout: Duration,
        deadline: &Deadline,
        submit: Submit,
    ) -> Result<String, ClusterError> {
        let started = Instant::now();
        let path = collection::<PodType>(Some(&pod.namespace));
        let current: Option<Pod> = self
            .get(&path, &pod.name, deadline)
            .await
            .map_err(|e| e.into_cluster(&format!("GET pod {pod}")))?;
        let Some(current) = current else {
            return Ok(format!("{pod} was already gone"));
        };
        let uid = current.metadata.uid;
        if let (Some(uid), Submit::Apply) = (&uid, submit) {
            self.memo().evicted(pod.clone(), uid.clone());
        }
        let s = &self.settings;
        let mut attempts: u32 = 0;
        let last = loop {
            attempts += 1;
            let answer: Result<Value, CallError> = self
                .call(Resend::Never, deadline, || {
                    eviction_request(pod, uid.as_deref(), submit)
                })
                .await;
            let e = match answer {
                Ok(_) if submit == Submit::DryRun => return Ok("eviction admitted".to_owned()),
                Ok(_) if attempts == 1 => return Ok("evicted".to_owned()),
                Ok(_) => {
                    return Ok(format!(
                        "evicted after {attempts} attempts over {}",
                        secs(started.elapsed())
                    ));
                }
                Err(e) => e,
            };
            match e.code() {
                Some(404) => return Ok(format!("{pod} was already gone")),
                Some(409) => {
                    return Ok(format!(
                        "{pod} was already replaced (its uid changed): nothing left to evict"
                    ));
                }
                Some(429) if submit == Submit::DryRun => {
                    return Err(ClusterError::Refused(format!(
                        "eviction of {pod} refused now: {}; a real drain would retry for up to {}",
                        e.message(),
                        secs(timeout)
                    )));
                }
                Some(429) => {}
                _ if e.is_transient() => {}
                _ => return Err(e.into_cluster(&format!("POST eviction of {pod}"))),
            }
            let pause = backoff(s.backoff_min, s.backoff_max, attempts - 1, &pod.name);
            if !deadline.sleep(pause).await {
                break e;
            }
        };
        Err(ClusterError::Timeout(format!(
            "eviction of {pod} not admitted within {} ({attempts} attempts); last answer: {}",
            secs(timeout),
            last.message()
        )))
    }

    /// A run of evictions, at most `eviction_concurrency` in flight, results in order. The
    /// whole run has one deadline, the longest of its ops' timeouts (all of them the drain
    /// timeout), set when it starts: an eviction that waits for a free slot behind blocked
    /// ones gets what is left of it, so more blocked pods than slots cannot stretch a drain.
    /// The deadline of the drain under way, started `timeout` from now by its first step.
    fn drain_deadline(&self, timeout: Duration) -> Deadline {
        let mut memo = self.memo();
        let at = *memo
            .drain_deadline
            .get_or_insert_with(|| tokio::time::Instant::now() + timeout);
        Deadline::at(at)
    }

    pub(crate) async fn evict_batch(
        &self,
        ops: &[Op],
        submit: Submit,
    ) -> Vec<Result<String, ClusterError>> {
        let timeout = ops
            .iter()
            .filter_map(|op| match op {
                Op::Evict { timeout, .. } => Some(timeout.to_std()),
                _ => None,
            })
            .max()
            .unwrap_or(self.settings.request_timeout);
        let deadline = self.drain_deadline(timeout);
        let deadline = &deadline;
        // The futures are made first (they do nothing until polled) so that the stream holds
        // no closure over borrowed ops, which would not be provably `Send` for every lifetime.
        let evictions: Vec<_> = ops
            .iter()
            .map(|op| async move {
                match op {
                    Op::Evict { pod, .. } => self.evict(pod, timeout, deadline, submit).await,
                    other => self.apply(other, submit).await,
                }
            })
            .collect();
        stream::iter(evictions)
            .buffered(self.settings.eviction_concurrency.max(1))
            .collect()
            .await
    }

    /// Polls each evicted pod until it is gone (404, or a new pod under its name), or
    /// counted gone: Terminating on a NotReady node for `terminating_grace` past its
    /// deletion time (see the module docs).
    pub(crate) async fn wait_pods_gone(
        &self,
        pods: &[PodRef],
        timeout: Duration,
        terminating_grace: Span,
    ) -> Result<String, ClusterError> {
        let timeout = self.drain_deadline(timeout).remaining();
        let result = self.wait_gone(pods, timeout, terminating_grace).await;
        let mut memo = self.memo();
        memo.drain_deadline = None;
        for p in pods {
            memo.evicted.remove(p);
        }
        result
    }

    async fn wait_gone(
        &self,
        pods: &[PodRef],
        timeout: Duration,
        terminating_grace: Span,
    ) -> Result<String, ClusterError> {
        let started = Instant::now();
        let deadline = Deadline::after(timeout);
        let mut left: Vec<PodRef> = pods.to_vec();
        let mut abandoned: Vec<Abandoned> = Vec::new();
        let mut last_error = None;
        loop {
            let reads: Vec<_> = left
                .into_iter()
                .map(|p| {
                    let deadline = &deadline;
                    async move {
                        let path = collection::<PodType>(Some(&p.namespace));
                        let read = self.get::<Waited>(&path, &p.name, deadline).await;
                        (p, read)
                    }
                })
                .collect();
            let reads: Vec<(PodRef, Result<Option<Waited>, CallError>)> = stream::iter(reads)
                .buffer_unordered(self.settings.eviction_concurrency.max(1))
                .collect()
                .await;
            left = Vec::new();
            // Pods Terminating past the grace, by node: gone if their node is NotReady.
            let mut overdue: BTreeMap<String, Vec<PodRef>> = BTreeMap::new();
            let now = Utc::now();
            for (p, read) in reads {
                match read {
                    Ok(None) => {}
                    Ok(Some(found)) => {
                        let evicted = self.memo().evicted.get(&p).cloned();
                        if evicted.is_some() && found.metadata.uid != evicted {
                            continue; // replaced
                        }
                        match (found.metadata.deletion_timestamp, found.spec.node_name) {
                            (Some(deletion), Some(node))
                                if now - deletion > terminating_grace.to_chrono() =>
                            {
                                overdue.entry(node).or_default().push(p);
                            }
                            _ => left.push(p),
                        }
                    }
                    Err(e) if e.is_transient() => {
                        last_error = Some(e.message());
                        left.push(p);
                    }
                    Err(e) => return Err(e.into_cluster(&format!("GET pod {p}"))),
                }
            }
            for (node, waiting) in overdue {
                match self.node_not_ready(&node, &deadline).await {
                    Ok(true) => abandoned.extend(waiting.into_iter().map(|pod| Abandoned {
                        pod,
                        node: node.clone(),
                    })),
                    Ok(false) => left.extend(waiting),
                    Err(e) if e.is_transient() => {
                        last_error = Some(e.message());
                        left.extend(waiting);
                    }
                    Err(e) => return Err(e.into_cluster(&format!("GET node {node}"))),
                }
            }
            if left.is_empty() {
                let mut done = format!(
                    "{} evicted pod(s) gone after {}",
                    pods.len(),
                    secs(started.elapsed())
                );
                if !abandoned.is_empty() {
                    done.push_str(&abandoned_note(&abandoned, terminating_grace));
                }
                return Ok(done);
            }
            if !deadline.sleep(self.settings.poll_interval).await {
                left.sort();
                let shown: Vec<String> = left.iter().take(5).map(ToString::to_string).collect();
                let more = left.len().saturating_sub(shown.len());
                return Err(ClusterError::Timeout(format!(
                    "{} of {} evicted pod(s) still present after {}: {}{}{}",
                    left.len(),
                    pods.len(),
                    secs(timeout),
                    shown.join(", "),
                    if more > 0 {
                        format!(" and {more} more")
                    } else {
                        String::new()
                    },
                    last_error
                        .map(|e| format!("; last read failed: {e}"))
                        .unwrap_or_default()
                )));
            }
        }
    }

    /// Whether `node` is NotReady, or gone: its kubelet will not finish a deletion.
    async fn node_not_ready(&self, node: &str, deadline: &Deadline) -> Result<bool, CallError> {
        let found: Option<Node> = self
            .get(&collection::<NodeType>(None), node, deadline)
            .await?;
        Ok(found.is_none_or(|n| !n.is_ready()))
    }
}

/// "; 2 of them counted gone while still Terminating on NotReady node n1 (more than 1m
/// past their deletion time): production/a, production/b".
fn abandoned_note(abandoned: &[Abandoned], grace: Span) -> String {
    let nodes: BTreeSet<&str> = abandoned.iter().map(|a| a.node.as_str()).collect();
    let mut names: Vec<String> = abandoned.iter().map(|a| a.pod.to_string()).collect();
    names.sort();
    let more = names.len().saturating_sub(5);
    names.truncate(5);
    format!(
        "; {} of them counted gone while still Terminating on NotReady node {} (more than {grace} past their deletion time; its kubelet does not answer): {}{}",
        abandoned.len(),
        nodes.into_iter().collect::<Vec<_>>().join(", "),
        names.join(", "),
        if more > 0 {
            format!(" and {more} more")
        } else {
            String::new()
        }
    )
}
