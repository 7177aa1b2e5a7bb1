//! `notify`: change nothing and tell on-call. Also the fallback of a rollback rule that may
//! not roll back.
//!
//! Guardrails applied here: the target must exist; the opt-out annotation on it and on its
//! Namespace (an opted-out workload is not paged about either).

use crate::cluster::ClusterView;
use crate::guard;
use crate::plan::context::{Ctx, Inputs, Plan, Refused, Step};
use crate::plan::reason::Why;
use crate::vocab::action::ActionKind;
use crate::vocab::op::Op;
use crate::vocab::target::{TargetKind, TargetRef};

/// What on-call is told.
pub(crate) fn message(inputs: Inputs<'_>, target: &TargetRef) -> String {
    format!(
        "{} ({}) on {target}; no automatic action applies",
        inputs.alert.name, inputs.rule.class
    )
}

/// Plans a notification about `t`.
pub(crate) async fn plan<C: ClusterView>(ctx: &Ctx<'_, C>, t: &TargetRef, why: Why) -> Step<Plan> {
    let kind = ActionKind::Notify;
    let ns = t.namespace.as_deref().unwrap_or_default();
    let meta = match t.kind {
        TargetKind::Pod => ctx.cluster.pod(ns, &t.name).await?.map(|p| p.metadata),
        TargetKind::Node => ctx.cluster.node(&t.name).await?.map(|n| n.metadata),
        k => ctx
            .cluster
            .workload(k, ns, &t.name)
            .await?
            .map(|w| w.metadata),
    };
    let Some(meta) = meta else {
        return Err(Refused::gone(kind, t));
    };
    let mut opt_outs = vec![(t.to_string(), meta)];
    if t.kind.is_namespaced() {
        opt_outs.extend(ctx.namespace_meta(ns).await?);
    }
    guard::not_opted_out(opt_outs.iter().map(|(w, m)| (w.clone(), m)))
        .map_err(|r| Refused::from(r).with_action(kind, t))?;
    Ok(Plan {
        action: kind,
        target: t.clone(),
        ops: vec![Op::Notify {
            message: message(ctx.inputs, t),
        }],
        reason: why.then("tell on-call; no cluster change"),
        notes: Vec::new(),
        workload: None,
    })
}
