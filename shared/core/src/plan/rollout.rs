//! `rollout_restart`: `kubectl rollout restart` of a Deployment, StatefulSet or DaemonSet
//! (its pod template's `restartedAt` annotation), then wait for the rollout to complete.
//!
//! Guardrails applied here: the workload (named directly or through a pod's owner chain)
//! must exist; the opt-out annotation on it, the pod and the Namespace; a paused Deployment
//! is not restarted (it would not roll out, as `kubectl rollout restart` says).

use crate::audit::rfc3339;
use crate::cluster::ClusterView;
use crate::guard;
use crate::plan::context::{Ctx, Plan, Refused, Step};
use crate::plan::owner::workload_for;
use crate::plan::reason::Why;
use crate::vocab::action::ActionKind;
use crate::vocab::op::Op;
use crate::vocab::target::{TargetKind, TargetRef};
use crate::vocab::verdict::Verdict;

/// Plans a rolling restart of the workload `t` names. `why` carries the rollback rule's
/// reasoning when this is its fallback.
pub(crate) async fn plan<C: ClusterView>(ctx: &Ctx<'_, C>, t: &TargetRef, why: Why) -> Step<Plan> {
    let kind = ActionKind::RolloutRestart;
    let resolved = workload_for(ctx, t, kind).await?;
    let wt = resolved.target;
    guard::not_opted_out(resolved.opt_outs.iter().map(|(w, m)| (w.clone(), m)))
        .map_err(|r| Refused::from(r).with_action(kind, &wt))?;
    if wt.kind == TargetKind::Deployment && resolved.workload.spec.paused {
        // kubectl refuses it too: a paused Deployment does not roll out a template change,
        // so the restart would only wait for its verification to time out.
        return Err(Refused::new(
            Verdict::Suppressed,
            why.then(format!("but {wt} is paused: rollout restart refused")),
        )
        .with_action(kind, &wt));
    }
    let reason = if why.is_empty() {
        format!("restart every pod of {wt} with a rolling update")
    } else {
        why.to_string()
    };
    Ok(Plan {
        action: kind,
        target: wt.clone(),
        ops: vec![
            Op::RestartWorkload {
                target: wt.clone(),
                at: rfc3339(ctx.inputs.now),
            },
            Op::VerifyRollout {
                target: wt.clone(),
                timeout: ctx.g().timeouts.verify,
            },
        ],
        reason,
        notes: Vec::new(),
        workload: None,
    })
}
