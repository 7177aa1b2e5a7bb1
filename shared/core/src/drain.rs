//! Which pods a drain evicts, the same way when the plan is made and again after the
//! cordon (when the executor lists the node anew, so that a pod scheduled in between is
//! evicted too): kubectl drain's rules, and [`decide`], the one call both make.
//!
//! Finished pods are left alone, mirror pods are left to their kubelet, DaemonSet pods are
//! skipped (their controller would put them back); a bare pod refuses the drain (it would be
//! lost), and so does a pod that keeps data on the node unless the policy's
//! `nodes.evict_local_data` allows it: an `emptyDir` volume, or a PersistentVolumeClaim
//! bound to a `local` or `hostPath` PersistentVolume (terminating the node loses that disk).
//!
//! The selection itself ([`select`]) is a pure function of the pods and of what their
//! claims are bound to; [`check_claims`] reads that first, one claim and one volume per
//! distinct claim of the pods the drain would evict, nothing for pods without claims. A
//! claim or volume that is not there is noted (what could not be checked), not refused:
//! the API would not mount a volume that does not exist.

use std::collections::BTreeMap;

use crate::cluster::{ClusterView, ReadResult};
use crate::objects::Pod;
use crate::vocab::op::PodRef;

/// The pods to evict, in namespace and name order, and what is worth noting about the rest.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DrainSet {
    /// Pods to evict.
    pub evict: Vec<Pod>,
    /// Facts for the record: mirror pods left alone, local data evicted as allowed, claims
    /// that could not be checked.
    pub notes: Vec<String>,
}

/// A PersistentVolume whose data is on the node's own disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalVolume {
    /// The PersistentVolume's name.
    pub name: String,
    /// Its node-local source: `local` or `hostPath`.
    pub source: &'static str,
}

/// What the claims of a node's pods are bound to, as far as the drain must know: which
/// pods are on node-local PersistentVolumes, and which claims could not be checked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Claims {
    /// Node-local PersistentVolumes, by the pod that mounts them.
    pub local: BTreeMap<PodRef, Vec<LocalVolume>>,
    /// Claims, or the volumes they are bound to, that were not found: each a clause naming
    /// the object and the pods mounting it.
    pub unchecked: Vec<String>,
    /// Why the view may lack such objects altogether (a snapshot taken without them).
    pub missing_kinds: Vec<String>,
}

/// A pod by namespace and name.
pub fn pod_ref(pod: &Pod) -> PodRef {
    PodRef {
        namespace: pod.metadata.namespace.clone().unwrap_or_default(),
        name: pod.metadata.name.clone(),
    }
}

/// What a drain does with one pod, before its volumes are looked at.
enum Disposition {
    /// Finished, or a DaemonSet's: left where it is, silently.
    Leave,
    /// A static pod's mirror: left to its kubelet, noted.
    Mirror,
    /// No controller: the drain is refused.
    Bare,
    /// Evicted (if its data may go).
    Evict,
}

fn disposition(pod: &Pod) -> Disposition {
    if pod.is_finished() {
        return Disposition::Leave;
    }
    if pod.is_mirror() {
        return Disposition::Mirror;
    }
    match pod.metadata.controller() {
        Some(o) if o.kind == "DaemonSet" => Disposition::Leave,
        None => Disposition::Bare,
        Some(_) => Disposition::Evict,
    }
}

/// Reads what the PersistentVolumeClaims of the pods a drain would evict are bound to:
/// one `GET` of the claim and one of its volume per distinct claim (a claim shared by two
/// pods is read once), nothing for pods without claims. Read errors end it, as any
/// cluster read does; a claim or volume that is not found is recorded as not checked.
pub async fn check_claims<C: ClusterView>(cluster: &C, pods: &[Pod]) -> ReadResult<Claims> {
    // (namespace, claim) → the pods mounting it.
    let mut by_claim: BTreeMap<(String, String), Vec<PodRef>> = BTreeMap::new();
    for pod in pods {
        if !matches!(disposition(pod), Disposition::Evict) {
            continue;
        }
        let p = pod_ref(pod);
        for claim in pod.claims() {
            by_claim
                .entry((p.namespace.clone(), claim.to_owned()))
                .or_default()
                .push(p.clone());
        }
    }
    let mut claims = Claims::default();
    let missing = |claims: &mut Claims, resource: &str, what: String| {
        claims.unchecked.push(what);
        if let Some(why) = cluster.missing_kind(resource)
            && !claims.missing_kinds.contains(&why)
        {
            claims.missing_kinds.push(why);
        }
    };
    for ((ns, claim), mounted_by) in by_claim {
        let of = mounted_by
            .iter()
            .map(PodRef::to_string)
            .collect::<Vec<_>>()
            .join(", ");
        let Some(pvc) = cluster.pvc(&ns, &claim).await? else {
            let what = format!("PersistentVolumeClaim {ns}/{claim} (mounted by {of}) not found");
            missing(&mut claims, "persistentvolumeclaims", what);
            continue;
        };
        // An unbound claim has no volume yet, so no data anywhere: nothing to lose.
        let Some(volume) = pvc.spec.volume_name.filter(|v| !v.is_empty()) else {
            continue;
        };
        let Some(pv) = cluster.pv(&volume).await? else {
            let what = format!(
                "PersistentVolume {volume} (bound to claim {ns}/{claim}, mounted by {of}) not found"
            );
            missing(&mut claims, "persistentvolumes", what);
            continue;
        };
        if let Some(source) = pv.node_local_source() {
            for p in mounted_by {
                claims.local.entry(p).or_default().push(LocalVolume {
                    name: volume.clone(),
                    source,
                });
            }
        }
    }
    Ok(claims)
}

/// Selects what a drain of `node` evicts from the pods on it, given what their claims are
/// bound to ([`check_claims`]), or says why the node must not be drained.
pub fn select(
    node: &str,
    pods: Vec<Pod>,
    claims: &Claims,
    evict_local_data: bool,
) -> Result<DrainSet, String> {
    let mut set = DrainSet::default();
    let mut local_data = Vec::new();
    for pod in pods {
        let p = pod_ref(&pod);
        match disposition(&pod) {
            Disposition::Leave => {}
            Disposition::Mirror => set
                .notes
                .push(format!("mirror pod {p} is left to its kubelet")),
            Disposition::Bare => {
                return Err(format!(
                    "bare pod {p} runs on node {node}: a drain would lose it (escalate to on-call)"
                ));
            }
            Disposition::Evict => {
                let mut kinds: Vec<String> = Vec::new();
                if pod.keeps_local_data() {
                    kinds.push("emptyDir".to_owned());
                }
                for v in claims.local.get(&p).into_iter().flatten() {
                    kinds.push(format!("{} persistent volume {}", v.source, v.name));
                }
                if !kinds.is_empty() {
                    local_data.push(format!("{p} ({})", kinds.join(", ")));
                }
                set.evict.push(pod);
            }
        }
    }
    if !local_data.is_empty() {
        if !evict_local_data {
            return Err(format!(
                "pods on node {node} keep data on it: {}; evicting them loses that data, which guardrails.nodes.evict_local_data does not allow (escalate to on-call)",
                local_data.join(", ")
            ));
        }
        set.notes.push(format!(
            "evicting pods that keep data on the node, as guardrails.nodes.evict_local_data allows: {}",
            local_data.join(", ")
        ));
    }
    if !claims.unchecked.is_empty() {
        let mut note = format!(
            "not checked for local persistent volumes (their pods are evicted as if none were on the node): {}",
            claims.unchecked.join("; ")
        );
        for why in &claims.missing_kinds {
            note.push_str("; ");
            note.push_str(why);
        }
        set.notes.push(note);
    }
    set.evict.sort_by(|a, b| {
        (&a.metadata.namespace, &a.metadata.name).cmp(&(&b.metadata.namespace, &b.metadata.name))
    });
    Ok(set)
}

/// The drain's decision over the pods listed on `node`: their claims read
/// ([`check_claims`]), then [`select`]. The planner makes it before the cordon, the
/// executor again after it. `Ok(Err(reason))`: the node must not be drained.
pub async fn decide<C: ClusterView>(
    cluster: &C,
    node: &str,
    pods: Vec<Pod>,
    evict_local_data: bool,
) -> ReadResult<Result<DrainSet, String>> {
    let claims = check_claims(cluster, &pods).await?;
    Ok(select(node, pods, &claims, evict_local_data))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A running pod of ReplicaSet `web-1` in `production`, with `volumes`.
    fn pod(name: &str, volumes: serde_json::Value) -> Pod {
        serde_json::from_value(serde_json::json!({
            "metadata": {"name": name, "namespace": "production",
                "ownerReferences": [{"kind": "ReplicaSet", "name": "web-1", "uid": "u", "controller": true}]},
            "spec": {"nodeName": "n1", "volumes": volumes},
            "status": {"phase": "Running"},
        }))
        .expect("pod")
    }

    fn on_local_volume(pod: &str, volume: &str, source: &'static str) -> Claims {
        let mut claims = Claims::default();
        claims.local.insert(
            PodRef {
                namespace: "production".into(),
                name: pod.into(),
            },
            vec![LocalVolume {
                name: volume.into(),
                source,
            }],
        );
        claims
    }

    #[test]
    fn a_pod_on_a_local_persistent_volume_refuses_the_drain_naming_the_volume() {
        let pods = vec![
            pod(
                "db-0",
                serde_json::json!([{"name": "data", "persistentVolumeClaim": {"claimName": "data-db-0"}}]),
            ),
            pod("web-1-a", serde_json::json!([])),
        ];
        let claims = on_local_volume("db-0", "local-pv-1", "local");
        let reason = select("n1", pods, &claims, false).expect_err("refused");
        assert_eq!(
            reason,
            "pods on node n1 keep data on it: production/db-0 (local persistent volume local-pv-1); evicting them loses that data, which guardrails.nodes.evict_local_data does not allow (escalate to on-call)"
        );
    }

    #[test]
    fn every_kind_of_local_data_of_a_pod_is_named() {
        let pods = vec![pod(
            "db-0",
            serde_json::json!([{"name": "tmp", "emptyDir": {}},
                {"name": "data", "persistentVolumeClaim": {"claimName": "data-db-0"}}]),
        )];
        let claims = on_local_volume("db-0", "host-pv-1", "hostPath");
        let reason = select("n1", pods, &claims, false).expect_err("refused");
        assert!(
            reason.contains("production/db-0 (emptyDir, hostPath persistent volume host-pv-1)"),
            "{reason}"
        );
    }

    #[test]
    fn local_data_the_policy_allows_is_evicted_and_noted() {
        let pods = vec![pod("db-0", serde_json::json!([]))];
        let claims = on_local_volume("db-0", "local-pv-1", "local");
        let set = select("n1", pods, &claims, true).expect("allowed");
        assert_eq!(set.evict.len(), 1);
        assert_eq!(
            set.notes,
            [
                "evicting pods that keep data on the node, as guardrails.nodes.evict_local_data allows: production/db-0 (local persistent volume local-pv-1)"
            ]
        );
    }

    #[test]
    fn claims_that_could_not_be_checked_are_noted_not_refused() {
        let pods = vec![pod("db-0", serde_json::json!([]))];
        let claims = Claims {
            unchecked: vec![
                "PersistentVolumeClaim production/data-db-0 (mounted by production/db-0) not found"
                    .into(),
            ],
            missing_kinds: vec!["the snapshot holds no persistentvolumeclaims (...)".into()],
            ..Claims::default()
        };
        let set = select("n1", pods, &claims, false).expect("not refused");
        assert_eq!(set.evict.len(), 1);
        assert_eq!(
            set.notes,
            [
                "not checked for local persistent volumes (their pods are evicted as if none were on the node): PersistentVolumeClaim production/data-db-0 (mounted by production/db-0) not found; the snapshot holds no persistentvolumeclaims (...)"
            ]
        );
    }

    #[test]
    fn a_pod_lists_each_claim_it_mounts_once_in_order() {
        let p = pod(
            "db-0",
            serde_json::json!([{"name": "b", "persistentVolumeClaim": {"claimName": "wal"}},
                {"name": "a", "persistentVolumeClaim": {"claimName": "data"}},
                {"name": "c", "persistentVolumeClaim": {"claimName": "wal"}},
                {"name": "d", "emptyDir": {}}]),
        );
        assert_eq!(p.claims(), ["data", "wal"]);
    }
}
