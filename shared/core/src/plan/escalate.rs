//! The escalation ladder (`escalate`, `escalate_within`): when a rule acts again on the same
//! workload, the next action of its ladder is taken instead of the same one forever.
//!
//! Decides: which step of the ladder this alert is on. The ladder is the rule's `action`
//! followed by its `escalate` list; the step is how many times this rule already acted for
//! the workload within `escalate_within` (from the records, whatever store holds them, so
//! it holds across invocations), and past the end of the ladder it is `notify`. "The same
//! workload" is a pod's controller (a Deployment through its ReplicaSet, a StatefulSet, a
//! DaemonSet), because a restarted pod comes back under a new name; any other target is
//! its own workload. A later step is planned as if the rule named that action, with the
//! ladder's next step as a rollback's fallback, and its reason starts with the step and
//! the earlier record it follows.

use crate::cluster::ClusterView;
use crate::plan::context::{Ctx, Inputs, Step};
use crate::plan::naming::{Named, target_group_stand_in};
use crate::plan::owner::{Owner, owner_of};
use crate::plan::reason::Why;
use crate::policy::Rule;
use crate::time_format::rfc3339;
use crate::vocab::action::ActionKind;
use crate::vocab::target::{TargetKind, TargetRef};

/// The step of the ladder an alert is on.
pub(crate) struct Rung {
    /// The rule as this step plans it: `None` for the rule's own action.
    pub rule: Option<Rule>,
    /// Why this step, for a later one (empty on the first).
    pub why: Why,
    /// The workload the step is for, recorded so that the next alert finds it.
    pub workload: TargetRef,
}

/// The step `inputs.rule`'s ladder is on for the target `named`; `None` when the rule has
/// no ladder.
pub(crate) async fn rung<C: ClusterView>(
    inputs: Inputs<'_>,
    cluster: Option<&C>,
    named: &Named,
) -> Step<Option<Rung>> {
    let rule = inputs.rule;
    let Some(within) = rule.escalate_within else {
        return Ok(None);
    };
    let workload = workload_of(inputs, cluster, named).await?;
    let since = inputs.now - within.to_chrono();
    let earlier = inputs.history.by_rule_for(&rule.name, &workload, since);
    let Some(last) = earlier.last() else {
        return Ok(Some(Rung {
            rule: None,
            why: Why::none(),
            workload,
        }));
    };
    let ladder: Vec<ActionKind> = std::iter::once(rule.action)
        .chain(rule.escalate.iter().copied())
        .collect();
    let step = earlier.len();
    let follows = format!(
        "{} on {} at {} (record {})",
        last.kind,
        last.target,
        rfc3339(last.at),
        last.record_id
    );
    let times = match step {
        1 => "once".to_owned(),
        n => format!("{n} times"),
    };
    let (action, why) = match ladder.get(step) {
        Some(&action) => (
            action,
            Why::because(format!(
                "escalation step {} of {}: rule {} already acted for {workload} {times} within {within}, last {follows}, so {action} now",
                step + 1,
                ladder.len(),
                rule.name
            )),
        ),
        None => (
            ActionKind::Notify,
            Why::because(format!(
                "escalation ladder of rule {} used up: it already acted for {workload} {times} within {within} ({}), last {follows}, so notify",
                rule.name,
                ladder
                    .iter()
                    .copied()
                    .map(ActionKind::as_str)
                    .collect::<Vec<_>>()
                    .join(", then ")
            )),
        ),
    };
    // A rollback step keeps the rule's recent-revision condition (validation requires one),
    // and when it may not roll back it falls to the next step that can be a fallback.
    let rollback = action == ActionKind::Rollback;
    let fallback = rollback.then(|| match ladder.get(step + 1) {
        Some(&next @ (ActionKind::RestartPod | ActionKind::RolloutRestart)) => next,
        _ => ActionKind::Notify,
    });
    let stepped = Rule {
        action,
        fallback,
        recent_revision: rule.recent_revision.filter(|_| rollback),
        escalate: Vec::new(),
        escalate_within: None,
        ..rule.clone()
    };
    Ok(Some(Rung {
        rule: Some(stepped),
        why,
        workload,
    }))
}

/// The workload a target stands for: a pod's controlling workload (the owner chain of
/// `owner.rs`) when the cluster can be read, otherwise the target itself (a node named by
/// instance id is keyed by it).
async fn workload_of<C: ClusterView>(
    inputs: Inputs<'_>,
    cluster: Option<&C>,
    named: &Named,
) -> Step<TargetRef> {
    let t = match named {
        Named::Object(t) => t,
        Named::NodeByInstance(id) => return Ok(TargetRef::node(id)),
        Named::DeploymentByTargetGroup(tg) => return Ok(target_group_stand_in(tg)),
    };
    let (Some(cluster), TargetKind::Pod, Some(ns)) = (cluster, t.kind, t.namespace.as_deref())
    else {
        return Ok(t.clone());
    };
    let Some(pod) = cluster.pod(ns, &t.name).await? else {
        return Ok(t.clone());
    };
    Ok(match owner_of(&Ctx { cluster, inputs }, &pod).await? {
        Owner::ReplicaSet(_, Some(d)) => {
            TargetRef::namespaced(TargetKind::Deployment, ns, &d.metadata.name)
        }
        Owner::Workload(kind, w) => TargetRef::namespaced(kind, ns, &w.metadata.name),
        Owner::ReplicaSet(_, None) | Owner::Bare | Owner::Other(_) => t.clone(),
    })
}
