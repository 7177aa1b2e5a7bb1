//! Planning without a cluster view (`reflex replay` with neither `--cluster` nor
//! `--kubeconfig`): the plan the alert alone allows, with the steps that need a cluster read
//! left `unresolved` and a note saying what was not checked.
//!
//! Only the guardrails that need no cluster apply (namespace deny-list, cooldown, budget,
//! exactly-once, in the shared walk).

use crate::audit::rfc3339;
use crate::plan::context::{Inputs, Plan, pod_ref};
use crate::plan::naming::{Named, target_group_stand_in};
use crate::plan::{node, notify};
use crate::vocab::action::ActionKind;
use crate::vocab::op::Op;
use crate::vocab::target::{TargetKind, TargetRef};

const NOT_CHECKED: &str = "no cluster view: target existence, owners, revision history, opt-out annotations, node health and PodDisruptionBudgets were not checked";

/// A plan from the alert alone.
pub(crate) fn plan(inputs: Inputs<'_>, named: &Named) -> Plan {
    let rule = inputs.rule;
    let timeouts = &inputs.guardrails().timeouts;
    let mut notes = vec![NOT_CHECKED.to_owned()];
    let (target, ops, reason) = match (rule.action, named) {
        (ActionKind::ReplaceNode, Named::NodeByInstance(id)) => {
            notes.push(format!("the node behind instance {id} was not looked up"));
            (
                TargetRef::node(id),
                vec![
                    Op::Unresolved {
                        what: format!("cordon the node whose providerID ends in /{id}"),
                    },
                    Op::Unresolved {
                        what: "evict every pod on it except DaemonSet and mirror pods".into(),
                    },
                    Op::TerminateInstance {
                        node: "(unresolved)".into(),
                        instance_id: id.clone(),
                    },
                ],
                format!("replace the node behind instance {id}"),
            )
        }
        (_, Named::DeploymentByTargetGroup(tg)) => {
            notes.push(format!(
                "the Deployment behind target group {tg} (its TargetGroupBinding, Service and selector) was not looked up"
            ));
            (
                target_group_stand_in(tg),
                vec![Op::Unresolved {
                    what: format!(
                        "{} of the Deployment whose pods target group {tg} serves",
                        rule.action
                    ),
                }],
                format!("{} of the Deployment behind target group {tg}", rule.action),
            )
        }
        (_, Named::NodeByInstance(id)) => (
            TargetRef::node(id),
            vec![Op::Unresolved {
                what: format!("{} for instance {id}", rule.action),
            }],
            rule.action.to_string(),
        ),
        (ActionKind::ReplaceNode, Named::Object(t)) => (
            t.clone(),
            vec![
                Op::Cordon {
                    node: t.name.clone(),
                    reason: node::cordon_reason(inputs),
                    drain: node::drain_rules(inputs.guardrails()),
                },
                Op::Unresolved {
                    what: "evict every pod on the node except DaemonSet and mirror pods".into(),
                },
                Op::Unresolved {
                    what: "terminate the node's EC2 instance in its Auto Scaling group".into(),
                },
            ],
            format!("replace node {}", t.name),
        ),
        (ActionKind::RestartPod, Named::Object(t)) => (
            t.clone(),
            vec![
                Op::DeletePod {
                    pod: pod_ref(t),
                    uid: None,
                },
                Op::VerifyReplacement {
                    pod: pod_ref(t),
                    controller: "its controller".into(),
                    timeout: timeouts.verify,
                },
            ],
            format!("restart {t}"),
        ),
        (ActionKind::RolloutRestart, Named::Object(t)) => (
            t.clone(),
            vec![
                Op::RestartWorkload {
                    target: t.clone(),
                    at: rfc3339(inputs.now),
                },
                Op::VerifyRollout {
                    target: t.clone(),
                    timeout: timeouts.verify,
                },
            ],
            format!("rollout restart of {t}"),
        ),
        (ActionKind::Rollback, Named::Object(t)) => {
            let condition = match (rule.recent_revision, rule.fallback) {
                (Some(window), Some(fallback)) => format!(
                    " if its newest revision is at most {window} older than the alert, otherwise {fallback}"
                ),
                (Some(window), None) => {
                    format!(" if its newest revision is at most {window} older than the alert")
                }
                _ => String::new(),
            };
            let what = match t.kind {
                TargetKind::Pod => format!(
                    "roll back the Deployment owning {t} to its previous revision{condition}"
                ),
                _ => format!("roll back {t} to its previous revision{condition}"),
            };
            (t.clone(), vec![Op::Unresolved { what: what.clone() }], what)
        }
        (ActionKind::Notify, Named::Object(t)) => (
            t.clone(),
            vec![Op::Notify {
                message: notify::message(inputs, t),
            }],
            format!("notify on-call about {t}"),
        ),
        // Planned in `resolve` from the rule's traffic block, cluster or none.
        (ActionKind::ShiftTraffic, Named::Object(t)) => (
            t.clone(),
            vec![Op::Unresolved {
                what: format!("shift the traffic of {t}"),
            }],
            format!("shift the traffic of {t}"),
        ),
    };
    Plan {
        action: rule.action,
        target,
        ops,
        reason: format!(
            "{reason} (rule {}; not checked against a cluster)",
            rule.name
        ),
        notes,
        workload: None,
    }
}
