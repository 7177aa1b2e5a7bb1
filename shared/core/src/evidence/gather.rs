//! [`gather`]: the reads behind one notification's evidence, each failure kept as a line.

use crate::evidence::diff::diff_templates;
use crate::evidence::model::{
    CONTAINERS_SHOWN, ContainerEvidence, EVENTS_SHOWN, EventSubject, EventsOf, Evidence,
    EvidenceSource, LOG_TAIL_LINES, LogBounds, NODE_PODS_SHOWN, NodeEvidence, PodEvidence,
};
use crate::evidence::redact::{redact_line, redact_lines};
use crate::objects::Pod;
use crate::vocab::op::Op;
use crate::vocab::target::{TargetKind, TargetRef};

/// Gathers the evidence about an action on `target`: `ops` is its plan (a rollback's
/// revisions come from it) and `alert_pod` the `namespace/name` of the pod the alert names,
/// shown too when the target is its workload. Never fails: what cannot be read is a line
/// of [`Evidence::unavailable`].
pub async fn gather<S: EvidenceSource>(
    source: &S,
    target: &TargetRef,
    ops: &[Op],
    alert_pod: Option<(&str, &str)>,
) -> Evidence {
    let mut evidence = Evidence::default();
    // A Route 53 record has no Kubernetes object, logs or Events to show.
    if !target.kind.is_kubernetes() {
        return evidence;
    }
    let namespace = target.namespace.as_deref().unwrap_or_default();
    let mut uid = None;
    match target.kind {
        TargetKind::Pod => {
            uid = pod_evidence(source, namespace, &target.name, &mut evidence).await;
        }
        TargetKind::Node => {
            uid = node_evidence(source, &target.name, &mut evidence).await;
        }
        kind => {
            match source.workload(kind, namespace, &target.name).await {
                Ok(Some(workload)) => {
                    uid = workload.metadata.uid.clone();
                    if let Some((from, to, template)) = rollback_of(ops) {
                        evidence.revision =
                            Some(diff_templates(from, &workload.spec.template, to, template));
                    }
                }
                Ok(None) => evidence
                    .unavailable
                    .push(format!("{target} unavailable: not found")),
                Err(e) => evidence
                    .unavailable
                    .push(format!("{target} unavailable: {e}")),
            }
            if let Some((ns, pod)) = alert_pod {
                let pod_uid = pod_evidence(source, ns, pod, &mut evidence).await;
                let pod_ref = TargetRef::namespaced(TargetKind::Pod, ns, pod);
                events_of(source, &pod_ref, pod_uid, &mut evidence).await;
            }
        }
    }
    events_of(source, target, uid, &mut evidence).await;
    evidence
}

/// The from and to revisions and the restored template of a rollback plan.
fn rollback_of(ops: &[Op]) -> Option<(u64, u64, &serde_json::Value)> {
    ops.iter().find_map(|op| match op {
        Op::Rollback {
            from_revision,
            to_revision,
            template,
            ..
        } => Some((*from_revision, *to_revision, template)),
        _ => None,
    })
}

/// Reads one pod and its containers' previous logs; returns its uid.
async fn pod_evidence<S: EvidenceSource>(
    source: &S,
    namespace: &str,
    name: &str,
    evidence: &mut Evidence,
) -> Option<String> {
    let pod = match source.pod(namespace, name).await {
        Ok(Some(pod)) => pod,
        Ok(None) => {
            evidence
                .unavailable
                .push(format!("pod {namespace}/{name} unavailable: not found"));
            return None;
        }
        Err(e) => {
            evidence
                .unavailable
                .push(format!("pod {namespace}/{name} unavailable: {e}"));
            return None;
        }
    };
    let mut found = PodEvidence {
        pod: format!("{namespace}/{name}"),
        phase: pod.status.phase.clone(),
        containers: Vec::new(),
    };
    for status in pod.status.container_statuses.iter().take(CONTAINERS_SHOWN) {
        let mut container = ContainerEvidence {
            name: status.name.clone(),
            restart_count: status.restart_count,
            last_termination: status.last_state.terminated.clone(),
            logs: None,
        };
        // Only a container that ended before has a previous instance to read.
        if status.restart_count > 0 || container.last_termination.is_some() {
            match source
                .previous_log(namespace, name, &status.name, LogBounds::default())
                .await
            {
                Ok(text) => container.logs = Some(log_lines(&text)),
                Err(e) => evidence.unavailable.push(format!(
                    "logs unavailable: container {} of pod {namespace}/{name}: {e}",
                    status.name
                )),
            }
        }
        found.containers.push(container);
    }
    evidence.pods.push(found);
    pod.metadata.uid.clone()
}

/// The last [`LOG_TAIL_LINES`] lines of `text`, redacted.
fn log_lines(text: &str) -> Vec<String> {
    let lines: Vec<&str> = text.lines().collect();
    let start = lines.len().saturating_sub(LOG_TAIL_LINES as usize);
    redact_lines(&lines[start..])
}

/// Reads a node and the pods it holds; returns its uid.
async fn node_evidence<S: EvidenceSource>(
    source: &S,
    name: &str,
    evidence: &mut Evidence,
) -> Option<String> {
    let mut found = NodeEvidence {
        node: name.to_owned(),
        ..NodeEvidence::default()
    };
    let uid = match source.node(name).await {
        Ok(Some(node)) => {
            found.conditions = node.status.conditions.clone();
            node.metadata.uid
        }
        Ok(None) => {
            evidence
                .unavailable
                .push(format!("node {name} unavailable: not found"));
            None
        }
        Err(e) => {
            evidence
                .unavailable
                .push(format!("node {name} unavailable: {e}"));
            None
        }
    };
    match source.pods_on_node(name).await {
        Ok(pods) => {
            found.pod_count = pods.len();
            found.pods = pods.iter().take(NODE_PODS_SHOWN).map(pod_line).collect();
        }
        Err(e) => evidence
            .unavailable
            .push(format!("pods of node {name} unavailable: {e}")),
    }
    evidence.node = Some(found);
    uid
}

fn pod_line(pod: &Pod) -> String {
    format!(
        "{}/{} ({})",
        pod.metadata.namespace.as_deref().unwrap_or_default(),
        pod.metadata.name,
        pod.status.phase.as_deref().unwrap_or("unknown phase"),
    )
}

/// Reads the Events about `target` and keeps the newest [`EVENTS_SHOWN`], redacted.
async fn events_of<S: EvidenceSource>(
    source: &S,
    target: &TargetRef,
    uid: Option<String>,
    evidence: &mut Evidence,
) {
    match source.events(&EventSubject::of(target, uid)).await {
        Ok(mut events) => {
            events.sort_by_key(|e| e.time);
            let start = events.len().saturating_sub(EVENTS_SHOWN);
            let events = events
                .split_off(start)
                .into_iter()
                .map(|mut e| {
                    e.message = redact_line(&e.message);
                    e
                })
                .collect();
            evidence.events.push(EventsOf {
                object: target.to_string(),
                events,
            });
        }
        Err(e) => evidence
            .unavailable
            .push(format!("events unavailable: {target}: {e}")),
    }
}
