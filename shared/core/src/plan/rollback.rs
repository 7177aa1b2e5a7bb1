//! `rollback`: `kubectl rollout undo` of a Deployment to its previous revision, under the
//! rule's recent-revision condition, with the rule's fallback when it may not roll back.
//!
//! Decides: whether the newest revision is the likely cause (created at most
//! `recent_revision` before the alert, not after it, and, when the alert names a pod, the
//! revision that pod runs) and an older revision exists; otherwise the fallback
//! (`restart_pod`, `rollout_restart` or `notify`) with the reason carried over. A
//! Deployment that a HorizontalPodAutoscaler scaled out beyond the cluster's capacity (its
//! missing replicas all Pending, unschedulable) is not rolled back either: on-call is told.
//! Nor is a Deployment that Argo CD or Flux manages (`gitops.rs`): its sync would revert the
//! rollback, so the fallback is taken (or, without one, on-call told), with a note naming
//! the tool, unless `guardrails.gitops: allow`.
//! Guardrails applied here: the Deployment must exist and not be paused, must have an older
//! revision and a resourceVersion to guard the patch with; the opt-out annotation on the
//! pod, the Deployment and the Namespace. The rollback restores what `kubectl rollout undo`
//! restores: the revision's pod template and its annotations.

use std::collections::BTreeMap;

use chrono::TimeDelta;

use crate::cluster::ClusterView;
use crate::guard;
use crate::objects::{Meta, ReplicaSet, Workload};
use crate::plan::context::{Ctx, Plan, Refused, Step};
use crate::plan::owner::{OptOuts, workload_for};
use crate::plan::reason::{Why, human_age};
use crate::plan::{gitops, notify, pod, rollout};
use crate::policy::GitOps;
use crate::vocab::action::ActionKind;
use crate::vocab::annotations::ROLLBACK_KEEPS_ANNOTATIONS;
use crate::vocab::op::Op;
use crate::vocab::target::TargetRef;
use crate::vocab::verdict::Verdict;

/// Plans the rollback of the Deployment `t` names (directly, or as a pod's owner), or the
/// rule's fallback.
pub(crate) async fn plan_or_fallback<C: ClusterView>(
    ctx: &Ctx<'_, C>,
    t: &TargetRef,
) -> Step<Plan> {
    let rule = ctx.inputs.rule;
    let kind = ActionKind::Rollback;
    let resolved = match workload_for(ctx, t, kind).await {
        // A crash-looping pod outside any Deployment (a StatefulSet's) cannot be rolled
        // back, but the rule's fallback may still apply to it.
        Err(refused) if refused.verdict == Verdict::Suppressed && rule.fallback.is_some() => {
            return fallback(ctx, t, None, Why::because(refused.reason)).await;
        }
        other => other?,
    };
    let (dt, deployment, opt_outs) = (resolved.target, resolved.workload, resolved.opt_outs);
    if let Some(why) = capacity_shortfall(ctx, &dt, &deployment).await? {
        return notify::plan(ctx, &dt, why.and("so notify instead")).await;
    }
    let revisions = revisions(ctx, &deployment).await?;
    let Some(window) = rule.recent_revision else {
        return rollback_unless_gitops(ctx, t, dt, deployment, &revisions, opt_outs, Why::none())
            .await;
    };
    let newest = revisions.first();
    let previous = revisions.get(1);
    // The alerting pod runs an older revision: whatever is wrong with it, the newest
    // revision did not cause it, and rolling that back would only undo a good change.
    if let (Some(pod_rs), Some((rev, newest_rs))) = (&resolved.pod_replica_set, newest)
        && *pod_rs != newest_rs.metadata.name
    {
        let pod_revision = revisions
            .iter()
            .find(|(_, rs)| rs.metadata.name == *pod_rs)
            .map_or_else(
                || "an unknown revision".to_owned(),
                |(r, _)| format!("revision {r}"),
            );
        let why = Why::because(format!(
            "{t} belongs to ReplicaSet {pod_rs} ({pod_revision}), not to the newest revision {rev} of {dt}, which is therefore not the cause"
        ));
        return fallback(ctx, t, Some((dt, deployment)), why).await;
    }
    let Some(started) = ctx.inputs.alert.starts_at else {
        let why = Why::because(format!(
            "the alert does not say when it started, so whether the newest revision of {dt} came before it cannot be told"
        ));
        return fallback(ctx, t, Some((dt, deployment)), why).await;
    };
    let recent = newest
        .and_then(|(_, rs)| rs.metadata.creation_timestamp)
        .map(|created| (started - created, started - created <= window.to_chrono()));
    match (newest, recent, previous) {
        // A revision created after the alert started is a change made since (perhaps the
        // fix), never the cause: rolling it back would undo it.
        (Some((rev, _)), Some((age, _)), _) if age < TimeDelta::zero() => {
            let why = Why::because(format!(
                "newest revision {rev} of {dt} was created {} after the alert started, so it is not the cause",
                human_age(-age)
            ));
            fallback(ctx, t, Some((dt, deployment)), why).await
        }
        (Some((rev, _)), Some((age, true)), Some(_)) => {
            let why = Why::because(format!(
                "newest revision {rev} of {dt} was created {} before the alert (within {window})",
                human_age(age)
            ));
            rollback_unless_gitops(ctx, t, dt, deployment, &revisions, opt_outs, why).await
        }
        (Some((rev, _)), Some((age, false)), _) => {
            let why = Why::because(format!(
                "newest revision {rev} of {dt} was created {} before the alert (more than {window})",
                human_age(age)
            ));
            fallback(ctx, t, Some((dt, deployment)), why).await
        }
        (Some((rev, _)), Some((_, true)), None) => {
            let why = Why::because(format!(
                "revision {rev} of {dt} is recent but there is no older revision to go back to"
            ));
            fallback(ctx, t, Some((dt, deployment)), why).await
        }
        _ => {
            let why = Why::because(format!(
                "the revision history of {dt} does not say when its newest revision was created"
            ));
            fallback(ctx, t, Some((dt, deployment)), why).await
        }
    }
}

/// Whether the Deployment is short of replicas because the cluster is short of capacity:
/// a HorizontalPodAutoscaler scales it, and every pod of it that is not Ready is Pending
/// for want of a node. Then the release is healthy and a rollback would only undo it.
async fn capacity_shortfall<C: ClusterView>(
    ctx: &Ctx<'_, C>,
    dt: &TargetRef,
    deployment: &Workload,
) -> Step<Option<Why>> {
    let ns = deployment.metadata.namespace.as_deref().unwrap_or_default();
    let hpas = ctx.cluster.hpas(ns).await?;
    let Some(hpa) = hpas.iter().find(|h| {
        h.spec.scale_target_ref.kind == "Deployment"
            && h.spec.scale_target_ref.name == deployment.metadata.name
    }) else {
        return Ok(None);
    };
    let selector = &deployment.spec.selector;
    if selector.match_labels.is_empty() && selector.match_expressions.is_empty() {
        return Ok(None);
    }
    let pods = ctx.cluster.pods_selected(ns, selector).await?;
    let missing: Vec<_> = pods
        .iter()
        .filter(|p| !p.is_ready() && !p.is_finished())
        .collect();
    if missing.is_empty() || !missing.iter().all(|p| p.is_unschedulable()) {
        return Ok(None);
    }
    let names: Vec<&str> = missing.iter().map(|p| p.metadata.name.as_str()).collect();
    Ok(Some(Why::because(format!(
        "{dt} is scaled by HorizontalPodAutoscaler {} and its missing replicas are Pending because no node can take them ({}): a shortage of capacity, not a bad release",
        hpa.metadata.name,
        names.join(", ")
    ))))
}

/// The ReplicaSets of a Deployment, newest revision first.
async fn revisions<C: ClusterView>(
    ctx: &Ctx<'_, C>,
    deployment: &Workload,
) -> Step<Vec<(u64, ReplicaSet)>> {
    let ns = deployment.metadata.namespace.as_deref().unwrap_or_default();
    let mut revisions: Vec<(u64, ReplicaSet)> = ctx
        .cluster
        .replica_sets(ns, &deployment.spec.selector)
        .await?
        .into_iter()
        .filter(|rs| {
            rs.metadata.controller().is_some_and(|o| {
                o.kind == "Deployment"
                    && match (&deployment.metadata.uid, o.uid.is_empty()) {
                        (Some(uid), false) => *uid == o.uid,
                        _ => o.name == deployment.metadata.name,
                    }
            })
        })
        .filter_map(|rs| rs.revision().map(|r| (r, rs)))
        .collect();
    revisions.sort_by_key(|(revision, _)| std::cmp::Reverse(*revision));
    Ok(revisions)
}

/// The rule's fallback, with `why` saying why the rollback does not apply. `resolved` is the
/// Deployment when the owner chain got that far.
async fn fallback<C: ClusterView>(
    ctx: &Ctx<'_, C>,
    t: &TargetRef,
    resolved: Option<(TargetRef, Workload)>,
    why: Why,
) -> Step<Plan> {
    let rule = ctx.inputs.rule;
    let workload = resolved.as_ref().map_or(t, |(dt, _)| dt);
    let Some(fallback) = rule.fallback else {
        return Err(Refused::new(
            Verdict::Suppressed,
            why.then(format!(
                "rule {} rolls back only then and has no fallback",
                rule.name
            )),
        )
        .with_action(ActionKind::Rollback, workload));
    };
    let why = why.and(format!("so {fallback} instead"));
    match fallback {
        ActionKind::RestartPod => pod::plan(ctx, t, why).await,
        ActionKind::RolloutRestart => rollout::plan(ctx, workload, why).await,
        ActionKind::Notify => notify::plan(ctx, workload, why).await,
        ActionKind::Rollback | ActionKind::ReplaceNode | ActionKind::ShiftTraffic => {
            Err(Refused::new(
                Verdict::Rejected,
                format!("rule {}: {fallback} is not a valid fallback", rule.name),
            ))
        }
    }
}

/// The rollback, unless a GitOps tool manages the Deployment and the guardrails say so: then
/// the rule's fallback, or notify without one, with a note naming the tool.
async fn rollback_unless_gitops<C: ClusterView>(
    ctx: &Ctx<'_, C>,
    t: &TargetRef,
    dt: TargetRef,
    deployment: Workload,
    revisions: &[(u64, ReplicaSet)],
    opt_outs: OptOuts,
    why: Why,
) -> Step<Plan> {
    let manager = match ctx.g().gitops {
        GitOps::Allow => None,
        GitOps::Refuse => gitops::manager(&deployment.metadata),
    };
    let Some(manager) = manager else {
        return rollback(ctx, dt, deployment, revisions, opt_outs, why);
    };
    let note = format!(
        "{dt} is managed by {manager}: roll it back in Git, or set guardrails.gitops: allow to let reflex roll back such Deployments"
    );
    let why = why.and(format!(
        "but {dt} is managed by {manager}, whose sync would revert a rollback within seconds"
    ));
    let decided = if ctx.inputs.rule.fallback.is_some() {
        fallback(ctx, t, Some((dt, deployment)), why).await
    } else {
        notify::plan(ctx, &dt, why.and("so notify instead")).await
    };
    match decided {
        Ok(mut plan) => {
            plan.notes.push(note);
            Ok(plan)
        }
        Err(mut refused) => {
            refused.notes.push(note);
            Err(refused)
        }
    }
}

/// The rollback itself, once the rule's condition holds. `revisions` are the Deployment's,
/// newest first.
fn rollback<C: ClusterView>(
    ctx: &Ctx<'_, C>,
    dt: TargetRef,
    deployment: Workload,
    revisions: &[(u64, ReplicaSet)],
    opt_outs: OptOuts,
    why: Why,
) -> Step<Plan> {
    let kind = ActionKind::Rollback;
    guard::not_opted_out(opt_outs.iter().map(|(w, m)| (w.clone(), m)))
        .map_err(|r| Refused::from(r).with_action(kind, &dt))?;
    if deployment.spec.paused {
        return Err(Refused::new(
            Verdict::Suppressed,
            why.then(format!("but {dt} is paused: rollback refused")),
        )
        .with_action(kind, &dt));
    }
    let (Some((from, _)), Some((to, previous))) = (revisions.first(), revisions.get(1)) else {
        return Err(Refused::new(
            Verdict::Suppressed,
            why.then(format!("but {dt} has no older revision to roll back to")),
        )
        .with_action(kind, &dt));
    };
    let Some(resource_version) = deployment.metadata.resource_version.clone() else {
        return Err(Refused::new(
            Verdict::Suppressed,
            format!("{dt} has no resourceVersion to guard the rollback with"),
        )
        .with_action(kind, &dt));
    };
    let mut template = previous.spec.template.clone();
    if let Some(labels) = template
        .pointer_mut("/metadata/labels")
        .and_then(|l| l.as_object_mut())
    {
        labels.remove("pod-template-hash");
    }
    let annotations = restored_annotations(&deployment.metadata, &previous.metadata);
    Ok(Plan {
        action: kind,
        target: dt.clone(),
        ops: vec![
            Op::Rollback {
                target: dt.clone(),
                resource_version,
                from_revision: *from,
                to_revision: *to,
                template,
                annotations,
            },
            Op::VerifyRollout {
                target: dt.clone(),
                timeout: ctx.g().timeouts.verify,
            },
        ],
        reason: why.then(format!(
            "roll {dt} back from revision {from} to revision {to} (ReplicaSet {})",
            previous.metadata.name
        )),
        notes: Vec::new(),
        workload: None,
    })
}

/// The Deployment's annotations after rolling back to the revision `revision` (its
/// ReplicaSet's metadata): `kubectl rollout undo`'s, the revision's own annotations plus the
/// Deployment's bookkeeping ones ([`ROLLBACK_KEEPS_ANNOTATIONS`]), so the change cause and
/// every other annotation the deployment controller copied onto the revision come back with
/// its template.
fn restored_annotations(deployment: &Meta, revision: &Meta) -> BTreeMap<String, String> {
    let kept = |key: &String| ROLLBACK_KEEPS_ANNOTATIONS.contains(&key.as_str());
    deployment
        .annotations
        .iter()
        .filter(|(key, _)| kept(key))
        .chain(revision.annotations.iter().filter(|(key, _)| !kept(key)))
        .map(|(key, value)| (key.clone(), value.clone()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(annotations: &[(&str, &str)]) -> Meta {
        Meta {
            annotations: annotations
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            ..Meta::default()
        }
    }

    #[test]
    fn a_rollback_restores_the_revisions_annotations_and_keeps_the_deployments_bookkeeping() {
        let deployment = meta(&[
            ("deployment.kubernetes.io/revision", "3"),
            ("kubernetes.io/change-cause", "vote 1.4.0"),
            ("added-after-revision-2", "x"),
        ]);
        let revision_2 = meta(&[
            ("deployment.kubernetes.io/revision", "2"),
            ("deployment.kubernetes.io/desired-replicas", "2"),
            ("kubernetes.io/change-cause", "vote 1.3.1"),
        ]);

        let restored = restored_annotations(&deployment.clone(), &revision_2);

        assert_eq!(
            restored,
            meta(&[
                ("deployment.kubernetes.io/revision", "3"),
                ("kubernetes.io/change-cause", "vote 1.3.1"),
            ])
            .annotations
        );
    }
}
