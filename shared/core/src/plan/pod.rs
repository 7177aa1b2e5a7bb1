//! `restart_pod`: delete a pod so that its controller replaces it, then wait for a Ready
//! replacement.
//!
//! Guardrails applied here: the pod must exist and be the one that alerted, not a pod
//! created under its name after the alert started (`ignored` otherwise; an alert that does
//! not say when it started is noted as unchecked); the delete is pinned to the uid read
//! here. It must be controlled by a
//! ReplicaSet, StatefulSet or DaemonSet (a bare pod would not come back, a Job's pod is not
//! reflex's to restart: `suppressed`); the opt-out annotation on the pod, its controller
//! chain and its Namespace.

use crate::audit::rfc3339;
use crate::cluster::ClusterView;
use crate::guard;
use crate::plan::context::{Ctx, Plan, Refused, Step, pod_ref};
use crate::plan::owner::{Owner, owner_of};
use crate::plan::reason::Why;
use crate::vocab::action::ActionKind;
use crate::vocab::op::Op;
use crate::vocab::target::TargetRef;
use crate::vocab::verdict::Verdict;

/// Plans the restart of pod `t`. `why` carries the rollback rule's reasoning when this is
/// its fallback.
pub(crate) async fn plan<C: ClusterView>(ctx: &Ctx<'_, C>, t: &TargetRef, why: Why) -> Step<Plan> {
    let kind = ActionKind::RestartPod;
    let ns = t.namespace.as_deref().unwrap_or_default();
    let Some(pod) = ctx.cluster.pod(ns, &t.name).await? else {
        return Err(Refused::gone(kind, t));
    };
    let started = ctx.inputs.alert.starts_at;
    let mut notes = Vec::new();
    if started.is_none() {
        notes.push(format!(
            "the alert does not say when it started, so reflex could not check that {t} is the pod that alerted rather than one created under its name since; the delete is pinned to the uid read now"
        ));
    }
    if let (Some(created), Some(started)) = (pod.metadata.creation_timestamp, started)
        && created > started
    {
        // Same name, new pod (a StatefulSet's replacement): the one that alerted is gone.
        return Err(Refused::new(
            Verdict::Ignored,
            format!(
                "target gone: {t} was created at {}, after the alert started at {}, so it is a new pod, not the one that alerted",
                rfc3339(created),
                rfc3339(started)
            ),
        )
        .with_action(kind, t));
    }
    let owner = owner_of(ctx, &pod).await?;
    let mut opt_outs = vec![(format!("Pod {ns}/{}", t.name), pod.metadata.clone())];
    let controller = match &owner {
        Owner::Bare => {
            return Err(Refused::new(
                Verdict::Suppressed,
                format!("{t} has no controller: deleting a bare pod would lose it"),
            )
            .with_action(kind, t));
        }
        Owner::Other(what) => {
            return Err(Refused::new(
                Verdict::Suppressed,
                format!("{t} is controlled by {what}, which reflex does not restart pods of"),
            )
            .with_action(kind, t));
        }
        Owner::ReplicaSet(rs, deployment) => {
            if let Some(d) = deployment {
                opt_outs.push((
                    format!("Deployment {ns}/{}", d.metadata.name),
                    d.metadata.clone(),
                ));
            }
            format!("ReplicaSet {}", rs.metadata.name)
        }
        Owner::Workload(k, w) => {
            opt_outs.push((format!("{k} {ns}/{}", w.metadata.name), w.metadata.clone()));
            format!("{k} {}", w.metadata.name)
        }
    };
    opt_outs.extend(ctx.namespace_meta(ns).await?);
    guard::not_opted_out(opt_outs.iter().map(|(w, m)| (w.clone(), m)))
        .map_err(|r| Refused::from(r).with_action(kind, t))?;
    let reason = if why.is_empty() {
        format!("delete {t} so that {controller} replaces it")
    } else {
        why.to_string()
    };
    Ok(Plan {
        action: kind,
        target: t.clone(),
        ops: vec![
            Op::DeletePod {
                pod: pod_ref(t),
                uid: pod.metadata.uid.clone(),
            },
            Op::VerifyReplacement {
                pod: pod_ref(t),
                controller,
                timeout: ctx.g().timeouts.verify,
            },
        ],
        reason,
        notes,
        workload: None,
    })
}
