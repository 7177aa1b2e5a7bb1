//! Resolve + guard: from a matched rule to a concrete plan, or to a refusal.
//!
//! Start at [`resolve`], the walk every alert takes: name the target from the alert's labels
//! (`naming.rs`, every name validated before use), check the namespace deny-list, hand the
//! decision to the planner of its action kind, then apply the guardrails on the final action
//! (cooldown, budget). A rule with an escalation ladder first picks the ladder's step
//! (`escalate.rs`). Each action kind is planned in its own file, which says at its top
//! what it decides and which guardrails it applies:
//!
//! | action | file |
//! |---|---|
//! | `restart_pod` | `pod.rs` |
//! | `rollout_restart` | `rollout.rs` |
//! | `rollback` (and its fallback) | `rollback.rs` |
//! | `replace_node` | `node.rs` (who owns the node: `node_owner.rs`) |
//! | `notify` | `notify.rs` |
//! | `shift_traffic` (Route 53 weights, no cluster read) | `shift.rs` |
//! | any, without a cluster view | `blind.rs` |
//!
//! A Deployment named by an ALB target group is found first (`target_group.rs`), so that
//! every guardrail sees the Deployment.
//!
//! The one design choice to know: a planner reads the cluster through [`ClusterView`] (one
//! read per API call) and writes its plan as a list of [`crate::vocab::op::Op`]s, each one
//! concrete API call, so a dry run shows exactly what a live run would send. Within one
//! resolution a repeated `GET` of the same object is answered once (`reads.rs`).

// A refusal is built at most once per alert, on a path that then writes a record; boxing it
// to shrink `Result` would buy nothing measurable.
#![allow(clippy::result_large_err)]

mod blind;
mod context;
mod escalate;
mod gitops;
mod naming;
mod node;
mod node_owner;
mod notify;
mod owner;
mod pod;
mod reads;
mod reason;
mod rollback;
mod rollout;
mod shift;
mod target_group;

pub use context::{Inputs, Plan, Refused, Resolution};

use crate::cluster::ClusterView;
use crate::guard::{self, Refusal};
use crate::traffic::Traffic;
use crate::vocab::action::ActionKind;
use crate::vocab::verdict::Verdict;
use context::{Ctx, Step};
use naming::{Named, name_target};
use reason::Why;

/// Resolves a matched rule into a plan or a refusal. `cluster` is `None` when replaying
/// without a snapshot or live cluster; `traffic` is Route 53, read by `shift_traffic` only.
pub async fn resolve<C: ClusterView, T: Traffic>(
    inputs: Inputs<'_>,
    cluster: Option<&C>,
    traffic: &T,
) -> Resolution {
    let mut walk = None;
    let reads = cluster.map(reads::Reads::new);
    let cluster = reads.as_ref();
    let outcome = async {
        if let Some(spec) = &inputs.rule.traffic {
            let plan = shift::plan(inputs, traffic, spec).await?;
            admit(inputs, &plan)?;
            return Ok(plan);
        }
        let mut named = name_target(inputs.rule, inputs.alert)?;
        if let (Named::DeploymentByTargetGroup(tg), Some(cluster)) = (&named, cluster) {
            let behind = target_group::deployment_behind(cluster, tg).await?;
            named = Named::Object(behind.target);
            walk = Some(behind.note);
        }
        if let Named::Object(target) = &named
            && let Some(ns) = &target.namespace
        {
            guard::namespace_allowed(ns, inputs.guardrails())
                .map_err(|r| Refused::from(r).with_action(inputs.rule.action, target))?;
        }
        let Some(rung) = escalate::rung(inputs, cluster, &named).await? else {
            return plan_and_admit(inputs, cluster, &named).await;
        };
        let stepped = Inputs {
            rule: rung.rule.as_ref().unwrap_or(inputs.rule),
            ..inputs
        };
        let prefix = |reason: String| rung.why.then(reason);
        match plan_and_admit(stepped, cluster, &named).await {
            Ok(mut plan) => {
                plan.reason = prefix(plan.reason);
                plan.workload = Some(rung.workload);
                Ok(plan)
            }
            Err(mut refused) => {
                refused.reason = prefix(refused.reason);
                Err(refused)
            }
        }
    };
    let outcome = outcome.await;
    match (outcome, walk) {
        (Ok(mut plan), walk) => {
            plan.notes.splice(0..0, walk);
            Resolution::Plan(plan)
        }
        (Err(mut refused), walk) => {
            refused.notes.splice(0..0, walk);
            Resolution::Refused(refused)
        }
    }
}

/// Plans the rule's action for `named` (with or without a cluster view) and applies the
/// guardrails on the final action.
async fn plan_and_admit<C: ClusterView>(
    inputs: Inputs<'_>,
    cluster: Option<&C>,
    named: &Named,
) -> Step<Plan> {
    let plan = match cluster {
        Some(cluster) => plan(&Ctx { cluster, inputs }, named).await?,
        None => blind::plan(inputs, named),
    };
    admit(inputs, &plan)?;
    Ok(plan)
}

/// Hands the decision to the planner of the rule's action.
async fn plan<C: ClusterView>(ctx: &Ctx<'_, C>, named: &Named) -> Step<Plan> {
    let rule = ctx.inputs.rule;
    match (rule.action, named) {
        (ActionKind::ReplaceNode, _) => node::plan(ctx, named).await,
        (_, Named::NodeByInstance(id)) => Err(Refused::new(
            Verdict::Rejected,
            format!("{} cannot target instance {id}", rule.action),
        )),
        (_, Named::DeploymentByTargetGroup(tg)) => Err(Refused::new(
            Verdict::Rejected,
            format!("the Deployment behind target group {tg} was not looked up"),
        )),
        (ActionKind::RestartPod, Named::Object(t)) => pod::plan(ctx, t, Why::none()).await,
        (ActionKind::RolloutRestart, Named::Object(t)) => rollout::plan(ctx, t, Why::none()).await,
        (ActionKind::Notify, Named::Object(t)) => notify::plan(ctx, t, Why::none()).await,
        (ActionKind::Rollback, Named::Object(t)) => rollback::plan_or_fallback(ctx, t).await,
        // A shift_traffic rule has a traffic block (validated at load), planned in `resolve`.
        (ActionKind::ShiftTraffic, Named::Object(_)) => Err(Refused::new(
            Verdict::Rejected,
            format!("rule {} has no traffic block to shift", rule.name),
        )),
    }
}

/// Guardrails on the final action and target: cooldown, budget.
fn admit(inputs: Inputs<'_>, plan: &Plan) -> Step<()> {
    let g = inputs.guardrails();
    let with = |r: Refusal| Refused::from(r).with_action(plan.action, &plan.target);
    guard::cooled_down(&plan.target, inputs.history, inputs.now, g).map_err(with)?;
    guard::within_budget(plan.action, inputs.history, inputs.now, g).map_err(with)?;
    Ok(())
}
