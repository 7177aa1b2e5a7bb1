//! Who controls a pod, and which workload a rule's target stands for: the owner-chain walk
//! (pod → ReplicaSet → Deployment, or pod → StatefulSet / DaemonSet) shared by the pod,
//! rollout and rollback planners. It gathers every object on the chain so that the opt-out
//! annotation is honoured wherever it is set.

use crate::cluster::ClusterView;
use crate::objects::{Meta, Pod, ReplicaSet, Workload};
use crate::plan::context::{Ctx, Refused, Step};
use crate::vocab::action::ActionKind;
use crate::vocab::target::{TargetKind, TargetRef};
use crate::vocab::verdict::Verdict;

/// A pod's controller, as far as the owner chain goes.
// Built once per resolution and matched right away: the size of the large variant is moot.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Owner {
    /// No controller: deleting it would lose it.
    Bare,
    /// A ReplicaSet, and the Deployment that owns it (if any, and if it exists).
    ReplicaSet(ReplicaSet, Option<Workload>),
    /// A StatefulSet or DaemonSet.
    Workload(TargetKind, Workload),
    /// A controller kind reflex does not restart through (Job, Node for mirror pods, ...).
    Other(String),
}

/// Objects whose `reflex/skip-remediation` annotation applies, each with its description.
pub(crate) type OptOuts = Vec<(String, Meta)>;

/// Follows `pod`'s controller reference up to the workload.
pub(crate) async fn owner_of<C: ClusterView>(ctx: &Ctx<'_, C>, pod: &Pod) -> Step<Owner> {
    let ns = pod.metadata.namespace.as_deref().unwrap_or_default();
    let Some(owner) = pod.metadata.controller() else {
        return Ok(Owner::Bare);
    };
    Ok(match owner.kind.as_str() {
        "ReplicaSet" => {
            let Some(rs) = ctx.cluster.replica_set(ns, &owner.name).await? else {
                return Ok(Owner::Other(format!("ReplicaSet {} (gone)", owner.name)));
            };
            let deployment = match rs.metadata.controller() {
                Some(d) if d.kind == "Deployment" => {
                    ctx.cluster
                        .workload(TargetKind::Deployment, ns, &d.name)
                        .await?
                }
                _ => None,
            };
            Owner::ReplicaSet(rs, deployment)
        }
        kind @ ("StatefulSet" | "DaemonSet") => {
            let kind = if kind == "StatefulSet" {
                TargetKind::StatefulSet
            } else {
                TargetKind::DaemonSet
            };
            match ctx.cluster.workload(kind, ns, &owner.name).await? {
                Some(w) => Owner::Workload(kind, w),
                None => Owner::Other(format!("{kind} {} (gone)", owner.name)),
            }
        }
        other => Owner::Other(format!("{other} {}", owner.name)),
    })
}

/// The workload a rule's target stands for.
pub(crate) struct Resolved {
    /// The workload, as a target.
    pub target: TargetRef,
    /// Its object.
    pub workload: Workload,
    /// Every object on the way whose opt-out applies.
    pub opt_outs: OptOuts,
    /// When the rule named a pod of a Deployment: the ReplicaSet that pod belongs to.
    pub pod_replica_set: Option<String>,
}

/// Finds the workload a rule names: directly, or through a pod's owner chain. A rollback
/// accepts only a Deployment.
pub(crate) async fn workload_for<C: ClusterView>(
    ctx: &Ctx<'_, C>,
    t: &TargetRef,
    kind: ActionKind,
) -> Step<Resolved> {
    let ns = t.namespace.as_deref().unwrap_or_default();
    let mut opt_outs = Vec::new();
    let mut pod_replica_set = None;
    let (wt, workload) = if t.kind == TargetKind::Pod {
        let Some(pod) = ctx.cluster.pod(ns, &t.name).await? else {
            return Err(Refused::gone(kind, t));
        };
        opt_outs.push((format!("Pod {ns}/{}", t.name), pod.metadata.clone()));
        match owner_of(ctx, &pod).await? {
            Owner::ReplicaSet(rs, Some(d)) => {
                pod_replica_set = Some(rs.metadata.name);
                (
                    TargetRef::namespaced(TargetKind::Deployment, ns, &d.metadata.name),
                    d,
                )
            }
            Owner::Workload(k, w) if kind != ActionKind::Rollback => {
                (TargetRef::namespaced(k, ns, &w.metadata.name), w)
            }
            _ => {
                return Err(Refused::new(
                    Verdict::Suppressed,
                    format!("{t} is not owned by a Deployment that reflex could {kind}"),
                )
                .with_action(kind, t));
            }
        }
    } else {
        match ctx.cluster.workload(t.kind, ns, &t.name).await? {
            Some(w) => (t.clone(), w),
            None => return Err(Refused::gone(kind, t)),
        }
    };
    opt_outs.push((wt.to_string(), workload.metadata.clone()));
    opt_outs.extend(ctx.namespace_meta(ns).await?);
    Ok(Resolved {
        target: wt,
        workload,
        opt_outs,
        pod_replica_set,
    })
}
