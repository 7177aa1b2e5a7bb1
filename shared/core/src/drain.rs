//! Which pods a drain evicts, the same way when the plan is made and again after the
//! cordon (when the executor lists the node anew, so that a pod scheduled in between is
//! evicted too): kubectl drain's rules.
//!
//! Finished pods are left alone, mirror pods are left to their kubelet, DaemonSet pods are
//! skipped (their controller would put them back); a bare pod refuses the drain (it would be
//! lost), and so does a pod that keeps data on the node (`emptyDir`) unless the policy's
//! `nodes.evict_local_data` allows it.

use crate::objects::Pod;
use crate::vocab::op::PodRef;

/// The pods to evict, in namespace and name order, and what is worth noting about the rest.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DrainSet {
    /// Pods to evict.
    pub evict: Vec<Pod>,
    /// Facts for the record: mirror pods left alone, local data evicted as allowed.
    pub notes: Vec<String>,
}

/// A pod by namespace and name.
pub fn pod_ref(pod: &Pod) -> PodRef {
    PodRef {
        namespace: pod.metadata.namespace.clone().unwrap_or_default(),
        name: pod.metadata.name.clone(),
    }
}

/// Selects what a drain of `node` evicts from the pods on it, or says why the node must not
/// be drained.
pub fn select(node: &str, pods: Vec<Pod>, evict_local_data: bool) -> Result<DrainSet, String> {
    let mut set = DrainSet::default();
    let mut local_data = Vec::new();
    for pod in pods {
        let p = pod_ref(&pod);
        if pod.is_finished() {
            continue;
        }
        if pod.is_mirror() {
            set.notes
                .push(format!("mirror pod {p} is left to its kubelet"));
            continue;
        }
        match pod.metadata.controller() {
            Some(o) if o.kind == "DaemonSet" => continue,
            None => {
                return Err(format!(
                    "bare pod {p} runs on node {node}: a drain would lose it (escalate to on-call)"
                ));
            }
            Some(_) => {
                if pod.keeps_local_data() {
                    local_data.push(p.to_string());
                }
                set.evict.push(pod);
            }
        }
    }
    if !local_data.is_empty() {
        if !evict_local_data {
            return Err(format!(
                "pods on node {node} keep data on it (emptyDir volumes): {}; evicting them loses that data, which guardrails.nodes.evict_local_data does not allow (escalate to on-call)",
                local_data.join(", ")
            ));
        }
        set.notes.push(format!(
            "evicting pods that keep data on the node (emptyDir), as guardrails.nodes.evict_local_data allows: {}",
            local_data.join(", ")
        ));
    }
    set.evict.sort_by(|a, b| {
        (&a.metadata.namespace, &a.metadata.name).cmp(&(&b.metadata.namespace, &b.metadata.name))
    });
    Ok(set)
}
