//! Resolve + guard: from a matched rule to a concrete plan, or to a refusal.
//!
//! Start at [`resolve`]. It names the target from the alert's labels (validating every name
//! before use), reads what it needs through [`ClusterView`] (one read per API call), decides
//! between a rule's action and its fallback, runs the guardrails of [`crate::guard`] in a
//! fixed order, and writes the plan as a list of [`Op`]s. Without a cluster view it still
//! plans what it can and says in `notes` what it could not check.

// A refusal is built at most once per alert, on a path that then writes a record; boxing it
// to shrink `Result` would buy nothing measurable.
#![allow(clippy::result_large_err)]

use chrono::{DateTime, TimeDelta, Utc};

use crate::alert::Alert;
use crate::audit::Verdict;
use crate::cluster::{
    ClusterError, ClusterView, Meta, Node, Pod, ReplicaSet, TargetKind, TargetRef, Workload,
};
use crate::execute::{Op, PodRef};
use crate::guard::{self, Refusal};
use crate::history::History;
use crate::names::{self, NameRule};
use crate::policy::{ActionKind, Policy, Rule, TemplateError};

/// A plan that passed every guardrail.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// The action decided (a rule's action or its fallback).
    pub action: ActionKind,
    /// The object it is aimed at.
    pub target: TargetRef,
    /// Steps, in order.
    pub ops: Vec<Op>,
    /// Why this action, in one sentence.
    pub reason: String,
    /// Facts worth recording: PDBs a drain will wait on, what was not checked.
    pub notes: Vec<String>,
}

/// A decision that will not be carried out.
#[derive(Debug, Clone, PartialEq)]
pub struct Refused {
    /// `suppressed`, `ignored`, `rejected` or `failed` (the cluster could not be read).
    pub verdict: Verdict,
    /// Why.
    pub reason: String,
    /// The action and target that would have been used, when known.
    pub action: Option<(ActionKind, TargetRef)>,
    /// Notes gathered before the refusal.
    pub notes: Vec<String>,
    /// The cluster error behind a `failed` verdict (its transience decides Lambda retries).
    pub error: Option<ClusterError>,
}

/// What resolution came to.
#[derive(Debug, Clone, PartialEq)]
pub enum Resolution {
    /// Go ahead.
    Plan(Plan),
    /// Don't.
    Refused(Refused),
}

impl Refused {
    fn new(verdict: Verdict, reason: impl Into<String>) -> Self {
        Refused {
            verdict,
            reason: reason.into(),
            action: None,
            notes: Vec::new(),
            error: None,
        }
    }

    fn with_action(mut self, kind: ActionKind, target: &TargetRef) -> Self {
        self.action.get_or_insert((kind, target.clone()));
        self
    }

    fn gone(kind: ActionKind, target: &TargetRef) -> Self {
        Refused::new(
            Verdict::Ignored,
            format!("target gone: {target} does not exist"),
        )
        .with_action(kind, target)
    }
}

impl From<Refusal> for Refused {
    fn from(r: Refusal) -> Self {
        Refused::new(r.verdict, r.reason)
    }
}

impl From<ClusterError> for Refused {
    fn from(e: ClusterError) -> Self {
        let mut refused = Refused::new(Verdict::Failed, format!("could not read the cluster: {e}"));
        refused.error = Some(e);
        refused
    }
}

type Step<T> = Result<T, Refused>;

/// The target as named by a rule's templates, before any cluster read.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Named {
    Object(TargetRef),
    NodeByInstance(String),
}

/// Everything resolution needs besides the cluster.
#[derive(Debug, Clone, Copy)]
pub struct Inputs<'a> {
    /// The matched rule.
    pub rule: &'a Rule,
    /// The alert.
    pub alert: &'a Alert,
    /// The policy (for its guardrails).
    pub policy: &'a Policy,
    /// Recent actions.
    pub history: &'a History,
    /// Evaluation time.
    pub now: DateTime<Utc>,
}

/// Resolves a matched rule into a plan or a refusal. `cluster` is `None` when replaying
/// without a snapshot or live cluster.
pub async fn resolve<C: ClusterView>(inputs: Inputs<'_>, cluster: Option<&C>) -> Resolution {
    let outcome = async {
        let named = name_target(inputs.rule, inputs.alert)?;
        if let Named::Object(target) = &named
            && let Some(ns) = &target.namespace
        {
            guard::namespace_allowed(ns, &inputs.policy.guardrails)
                .map_err(|r| Refused::from(r).with_action(inputs.rule.action, target))?;
        }
        let plan = match cluster {
            Some(cluster) => Resolver { cluster, inputs }.plan(&named).await?,
            None => blind_plan(inputs, &named),
        };
        admit(inputs, &plan)?;
        Ok(plan)
    };
    match outcome.await {
        Ok(plan) => Resolution::Plan(plan),
        Err(refused) => Resolution::Refused(refused),
    }
}

/// Renders the rule's target templates and validates every resulting name.
fn name_target(rule: &Rule, alert: &Alert) -> Step<Named> {
    let spec = &rule.target;
    let render = |field: &str, template: &crate::policy::Template| {
        template.render(&alert.labels).map_err(|e| match e {
            TemplateError::MissingLabel(label) => Refused::new(
                Verdict::Ignored,
                format!(
                    "rule {} needs label {label:?} for target.{field}, and the alert has none",
                    rule.name
                ),
            ),
            malformed @ TemplateError::Malformed { .. } => {
                Refused::new(Verdict::Rejected, malformed.to_string())
            }
        })
    };
    let reject = |e: names::InvalidName| {
        Refused::new(
            Verdict::Rejected,
            format!("refusing to act on an invalid target name: {e}"),
        )
    };
    if let Some(template) = &spec.instance_id {
        let id = render("instance_id", template)?;
        names::validate_instance_id(&id).map_err(reject)?;
        return Ok(Named::NodeByInstance(id));
    }
    let name = match &spec.name {
        Some(t) => render("name", t)?,
        None => {
            return Err(Refused::new(
                Verdict::Rejected,
                format!("rule {} names no target", rule.name),
            ));
        }
    };
    names::validate(&name, NameRule::Subdomain).map_err(reject)?;
    let namespace = match &spec.namespace {
        Some(t) => {
            let ns = render("namespace", t)?;
            names::validate(&ns, NameRule::Label).map_err(reject)?;
            Some(ns)
        }
        None => None,
    };
    Ok(Named::Object(TargetRef {
        kind: spec.kind,
        namespace,
        name,
    }))
}

/// Guardrails on the final action and target: exactly-once, cooldown, budget.
fn admit(inputs: Inputs<'_>, plan: &Plan) -> Step<()> {
    let g = &inputs.policy.guardrails;
    let with = |r: Refusal| Refused::from(r).with_action(plan.action, &plan.target);
    guard::cooled_down(&plan.target, inputs.history, inputs.now, g).map_err(with)?;
    guard::within_budget(plan.action, inputs.history, inputs.now, g).map_err(with)?;
    Ok(())
}

const NOT_CHECKED: &str = "no cluster view: target existence, owners, revision history, opt-out annotations, node health and PodDisruptionBudgets were not checked";

/// A plan from the alert alone.
fn blind_plan(inputs: Inputs<'_>, named: &Named) -> Plan {
    let rule = inputs.rule;
    let timeouts = &inputs.policy.guardrails.timeouts;
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
                    reason: cordon_reason(inputs),
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
                Op::DeletePod { pod: pod_ref(t) },
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
                    at: crate::audit::rfc3339(inputs.now),
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
                message: notify_message(inputs, t),
            }],
            format!("notify on-call about {t}"),
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
    }
}

fn pod_ref(t: &TargetRef) -> PodRef {
    PodRef {
        namespace: t.namespace.clone().unwrap_or_default(),
        name: t.name.clone(),
    }
}

fn cordon_reason(inputs: Inputs<'_>) -> String {
    format!(
        "reflex rule {} for {} at {}",
        inputs.rule.name,
        inputs.alert.name,
        crate::audit::rfc3339(inputs.now)
    )
}

fn notify_message(inputs: Inputs<'_>, target: &TargetRef) -> String {
    format!(
        "{} ({}) on {target}; no automatic action applies",
        inputs.alert.name, inputs.rule.class
    )
}

/// A pod's controller, as far as the owner chain goes.
// Built once per resolution and matched right away: the size of the large variant is moot.
#[allow(clippy::large_enum_variant)]
enum Owner {
    /// No controller: deleting it would lose it.
    Bare,
    /// A ReplicaSet, and the Deployment that owns it (if any, and if it exists).
    ReplicaSet(ReplicaSet, Option<Workload>),
    /// A StatefulSet or DaemonSet.
    Workload(TargetKind, Workload),
    /// A controller kind reflex does not restart through (Job, Node for mirror pods, ...).
    Other(String),
}

struct Resolver<'a, C> {
    cluster: &'a C,
    inputs: Inputs<'a>,
}

fn human_age(delta: TimeDelta) -> String {
    let mins = delta.num_minutes();
    if mins.abs() < 120 {
        format!("{mins} min")
    } else if mins.abs() < 48 * 60 {
        format!("{} h", mins / 60)
    } else {
        format!("{} days", mins / (24 * 60))
    }
}

impl<C: ClusterView> Resolver<'_, C> {
    fn g(&self) -> &crate::policy::Guardrails {
        &self.inputs.policy.guardrails
    }

    async fn plan(&self, named: &Named) -> Step<Plan> {
        let rule = self.inputs.rule;
        match (rule.action, named) {
            (ActionKind::ReplaceNode, _) => self.replace_node(named).await,
            (_, Named::NodeByInstance(id)) => Err(Refused::new(
                Verdict::Rejected,
                format!("{} cannot target instance {id}", rule.action),
            )),
            (ActionKind::RestartPod, Named::Object(t)) => self.restart_pod(t, None).await,
            (ActionKind::RolloutRestart, Named::Object(t)) => self.rollout_restart(t, None).await,
            (ActionKind::Notify, Named::Object(t)) => self.notify(t, String::new()).await,
            (ActionKind::Rollback, Named::Object(t)) => self.rollback_or_fallback(t).await,
        }
    }

    async fn namespace_meta(&self, ns: &str) -> Step<Option<(String, Meta)>> {
        Ok(self
            .cluster
            .namespace(ns)
            .await?
            .map(|n| (format!("Namespace {ns}"), n.metadata)))
    }

    async fn owner_of(&self, pod: &Pod) -> Step<Owner> {
        let ns = pod.metadata.namespace.as_deref().unwrap_or_default();
        let Some(owner) = pod.metadata.controller() else {
            return Ok(Owner::Bare);
        };
        Ok(match owner.kind.as_str() {
            "ReplicaSet" => {
                let Some(rs) = self.cluster.replica_set(ns, &owner.name).await? else {
                    return Ok(Owner::Other(format!("ReplicaSet {} (gone)", owner.name)));
                };
                let deployment = match rs.metadata.controller() {
                    Some(d) if d.kind == "Deployment" => {
                        self.cluster
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
                match self.cluster.workload(kind, ns, &owner.name).await? {
                    Some(w) => Owner::Workload(kind, w),
                    None => Owner::Other(format!("{kind} {} (gone)", owner.name)),
                }
            }
            other => Owner::Other(format!("{other} {}", owner.name)),
        })
    }

    /// `restart_pod`. `why` carries the rollback rule's reasoning when this is a fallback.
    async fn restart_pod(&self, t: &TargetRef, why: Option<String>) -> Step<Plan> {
        let kind = ActionKind::RestartPod;
        let ns = t.namespace.as_deref().unwrap_or_default();
        let Some(pod) = self.cluster.pod(ns, &t.name).await? else {
            return Err(Refused::gone(kind, t));
        };
        let owner = self.owner_of(&pod).await?;
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
        opt_outs.extend(self.namespace_meta(ns).await?);
        guard::not_opted_out(opt_outs.iter().map(|(w, m)| (w.clone(), m)))
            .map_err(|r| Refused::from(r).with_action(kind, t))?;
        let reason = why.unwrap_or_else(|| format!("delete {t} so that {controller} replaces it"));
        Ok(Plan {
            action: kind,
            target: t.clone(),
            ops: vec![
                Op::DeletePod { pod: pod_ref(t) },
                Op::VerifyReplacement {
                    pod: pod_ref(t),
                    controller,
                    timeout: self.g().timeouts.verify,
                },
            ],
            reason,
            notes: Vec::new(),
        })
    }

    /// Finds the workload a rule names: directly, or through a pod's owner chain.
    async fn workload_for(
        &self,
        t: &TargetRef,
        kind: ActionKind,
    ) -> Step<(TargetRef, Workload, Vec<(String, Meta)>)> {
        let ns = t.namespace.as_deref().unwrap_or_default();
        let mut opt_outs = Vec::new();
        let (wt, workload) = if t.kind == TargetKind::Pod {
            let Some(pod) = self.cluster.pod(ns, &t.name).await? else {
                return Err(Refused::gone(kind, t));
            };
            opt_outs.push((format!("Pod {ns}/{}", t.name), pod.metadata.clone()));
            match self.owner_of(&pod).await? {
                Owner::ReplicaSet(_, Some(d)) => (
                    TargetRef::namespaced(TargetKind::Deployment, ns, &d.metadata.name),
                    d,
                ),
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
            match self.cluster.workload(t.kind, ns, &t.name).await? {
                Some(w) => (t.clone(), w),
                None => return Err(Refused::gone(kind, t)),
            }
        };
        opt_outs.push((wt.to_string(), workload.metadata.clone()));
        opt_outs.extend(self.namespace_meta(ns).await?);
        Ok((wt, workload, opt_outs))
    }

    /// The ReplicaSets of a Deployment, newest revision first.
    async fn revisions(&self, deployment: &Workload) -> Step<Vec<(u64, ReplicaSet)>> {
        let ns = deployment.metadata.namespace.as_deref().unwrap_or_default();
        let mut revisions: Vec<(u64, ReplicaSet)> = self
            .cluster
            .replica_sets(ns)
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

    async fn rollback_or_fallback(&self, t: &TargetRef) -> Step<Plan> {
        let rule = self.inputs.rule;
        let kind = ActionKind::Rollback;
        let (dt, deployment, opt_outs) = match self.workload_for(t, kind).await {
            // A crash-looping pod outside any Deployment (a StatefulSet's) cannot be rolled
            // back, but the rule's fallback may still apply to it.
            Err(refused) if refused.verdict == Verdict::Suppressed && rule.fallback.is_some() => {
                return self
                    .fallback(t, None, format!("{}; ", refused.reason))
                    .await;
            }
            other => other?,
        };
        let revisions = self.revisions(&deployment).await?;
        let newest = revisions.first();
        let previous = revisions.get(1);
        if let Some(window) = rule.recent_revision {
            let started = self.inputs.alert.starts_at;
            let recent = newest
                .and_then(|(_, rs)| rs.metadata.creation_timestamp)
                .map(|created| (started - created, started - created <= window.to_chrono()));
            let why = match (newest, recent, previous) {
                (Some((rev, _)), Some((age, true)), Some(_)) => {
                    format!(
                        "newest revision {rev} of {dt} was created {} before the alert (within {window}); ",
                        human_age(age)
                    )
                }
                (Some((rev, _)), Some((age, false)), _) => {
                    let why = format!(
                        "newest revision {rev} of {dt} was created {} before the alert (more than {window}); ",
                        human_age(age)
                    );
                    return self.fallback(t, Some((dt, deployment)), why).await;
                }
                (Some((rev, _)), Some((_, true)), None) => {
                    let why = format!(
                        "revision {rev} of {dt} is recent but there is no older revision to go back to; "
                    );
                    return self.fallback(t, Some((dt, deployment)), why).await;
                }
                _ => {
                    let why = format!(
                        "the revision history of {dt} does not say when its newest revision was created; "
                    );
                    return self.fallback(t, Some((dt, deployment)), why).await;
                }
            };
            return self.rollback(dt, deployment, opt_outs, why).await;
        }
        self.rollback(dt, deployment, opt_outs, String::new()).await
    }

    async fn fallback(
        &self,
        t: &TargetRef,
        resolved: Option<(TargetRef, Workload)>,
        why: String,
    ) -> Step<Plan> {
        let rule = self.inputs.rule;
        let Some(fallback) = rule.fallback else {
            let target = resolved.as_ref().map_or(t, |(dt, _)| dt);
            return Err(Refused::new(
                Verdict::Suppressed,
                format!(
                    "{why}rule {} rolls back only then and has no fallback",
                    rule.name
                ),
            )
            .with_action(ActionKind::Rollback, target));
        };
        let why = format!("{why}so {fallback} instead");
        match fallback {
            ActionKind::RestartPod => self.restart_pod(t, Some(why)).await,
            ActionKind::RolloutRestart => {
                self.rollout_restart(resolved.as_ref().map_or(t, |(dt, _)| dt), Some(why))
                    .await
            }
            ActionKind::Notify => {
                self.notify(resolved.as_ref().map_or(t, |(dt, _)| dt), why)
                    .await
            }
            ActionKind::Rollback | ActionKind::ReplaceNode => Err(Refused::new(
                Verdict::Rejected,
                format!("rule {}: {fallback} is not a valid fallback", rule.name),
            )),
        }
    }

    async fn rollback(
        &self,
        dt: TargetRef,
        deployment: Workload,
        opt_outs: Vec<(String, Meta)>,
        why: String,
    ) -> Step<Plan> {
        let kind = ActionKind::Rollback;
        guard::not_opted_out(opt_outs.iter().map(|(w, m)| (w.clone(), m)))
            .map_err(|r| Refused::from(r).with_action(kind, &dt))?;
        if deployment.spec.paused {
            return Err(Refused::new(
                Verdict::Suppressed,
                format!("{why}but {dt} is paused: rollback refused"),
            )
            .with_action(kind, &dt));
        }
        let revisions = self.revisions(&deployment).await?;
        let (Some((from, _)), Some((to, previous))) = (revisions.first(), revisions.get(1)) else {
            return Err(Refused::new(
                Verdict::Suppressed,
                format!("{why}but {dt} has no older revision to roll back to"),
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
                },
                Op::VerifyRollout {
                    target: dt.clone(),
                    timeout: self.g().timeouts.verify,
                },
            ],
            reason: format!(
                "{why}roll {dt} back from revision {from} to revision {to} (ReplicaSet {})",
                previous.metadata.name
            ),
            notes: Vec::new(),
        })
    }

    async fn rollout_restart(&self, t: &TargetRef, why: Option<String>) -> Step<Plan> {
        let kind = ActionKind::RolloutRestart;
        let (wt, _workload, opt_outs) = self.workload_for(t, kind).await?;
        guard::not_opted_out(opt_outs.iter().map(|(w, m)| (w.clone(), m)))
            .map_err(|r| Refused::from(r).with_action(kind, &wt))?;
        Ok(Plan {
            action: kind,
            target: wt.clone(),
            ops: vec![
                Op::RestartWorkload {
                    target: wt.clone(),
                    at: crate::audit::rfc3339(self.inputs.now),
                },
                Op::VerifyRollout {
                    target: wt.clone(),
                    timeout: self.g().timeouts.verify,
                },
            ],
            reason: why
                .unwrap_or_else(|| format!("restart every pod of {wt} with a rolling update")),
            notes: Vec::new(),
        })
    }

    async fn notify(&self, t: &TargetRef, why: String) -> Step<Plan> {
        let kind = ActionKind::Notify;
        let ns = t.namespace.as_deref().unwrap_or_default();
        let meta = match t.kind {
            TargetKind::Pod => self.cluster.pod(ns, &t.name).await?.map(|p| p.metadata),
            TargetKind::Node => self.cluster.node(&t.name).await?.map(|n| n.metadata),
            k => self
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
            opt_outs.extend(self.namespace_meta(ns).await?);
        }
        guard::not_opted_out(opt_outs.iter().map(|(w, m)| (w.clone(), m)))
            .map_err(|r| Refused::from(r).with_action(kind, t))?;
        Ok(Plan {
            action: kind,
            target: t.clone(),
            ops: vec![Op::Notify {
                message: notify_message(self.inputs, t),
            }],
            reason: format!("{why}tell on-call; no cluster change"),
            notes: Vec::new(),
        })
    }

    async fn replace_node(&self, named: &Named) -> Step<Plan> {
        let kind = ActionKind::ReplaceNode;
        let nodes = self.cluster.nodes().await?;
        let node: Node = match named {
            Named::Object(t) => match self.cluster.node(&t.name).await? {
                Some(n) => n,
                None => return Err(Refused::gone(kind, t)),
            },
            Named::NodeByInstance(id) => {
                match nodes.iter().find(|n| n.instance_id() == Some(id.as_str())) {
                    Some(n) => n.clone(),
                    None => {
                        return Err(Refused::new(
                            Verdict::Ignored,
                            format!("target gone: no node has providerID ending in /{id}"),
                        ));
                    }
                }
            }
        };
        let name = node.metadata.name.clone();
        let t = TargetRef::node(&name);
        let refuse = |r: Refusal| Refused::from(r).with_action(kind, &t);
        guard::not_opted_out([(format!("Node {name}"), &node.metadata)]).map_err(refuse)?;
        guard::not_systemic(&nodes, self.g()).map_err(refuse)?;
        guard::replacement_slot_free(
            &name,
            &nodes,
            self.inputs.history,
            self.inputs.now,
            self.g(),
        )
        .map_err(refuse)?;
        let Some(instance_id) = node.instance_id().map(str::to_owned) else {
            return Err(refuse(Refusal::suppressed(format!(
                "node {name} has no EC2 providerID ({:?}); its instance cannot be replaced",
                node.spec.provider_id
            ))));
        };

        let mut evict = Vec::new();
        let mut notes = Vec::new();
        for pod in self.cluster.pods_on_node(&name).await? {
            let p = PodRef {
                namespace: pod.metadata.namespace.clone().unwrap_or_default(),
                name: pod.metadata.name.clone(),
            };
            if pod.is_finished() {
                continue;
            }
            if pod.is_mirror() {
                notes.push(format!("mirror pod {p} is left to its kubelet"));
                continue;
            }
            match pod.metadata.controller() {
                Some(o) if o.kind == "DaemonSet" => continue,
                None => {
                    return Err(refuse(Refusal::suppressed(format!(
                        "bare pod {p} runs on node {name}: a drain would lose it (escalate to on-call)"
                    ))));
                }
                Some(_) => evict.push(pod),
            }
        }
        evict.sort_by(|a, b| {
            (&a.metadata.namespace, &a.metadata.name)
                .cmp(&(&b.metadata.namespace, &b.metadata.name))
        });
        notes.extend(self.pdb_notes(&evict).await?);

        let mut ops = vec![Op::Cordon {
            node: name.clone(),
            reason: cordon_reason(self.inputs),
        }];
        let pods: Vec<PodRef> = evict
            .iter()
            .map(|p| PodRef {
                namespace: p.metadata.namespace.clone().unwrap_or_default(),
                name: p.metadata.name.clone(),
            })
            .collect();
        ops.extend(pods.iter().map(|p| Op::Evict {
            pod: p.clone(),
            timeout: self.g().timeouts.drain,
        }));
        if !pods.is_empty() {
            ops.push(Op::WaitPodsGone {
                pods: pods.clone(),
                timeout: self.g().timeouts.drain,
            });
        }
        ops.push(Op::TerminateInstance {
            node: name.clone(),
            instance_id: instance_id.clone(),
        });
        let status = if node.is_ready() { "Ready" } else { "NotReady" };
        Ok(Plan {
            action: kind,
            target: t.clone(),
            ops,
            reason: format!(
                "replace node {name} ({status}, instance {instance_id}): cordon, evict {} pods, terminate the instance so its Auto Scaling group launches a new one",
                pods.len()
            ),
            notes,
        })
    }

    /// PodDisruptionBudgets the drain will have to wait on.
    async fn pdb_notes(&self, pods: &[Pod]) -> Step<Vec<String>> {
        let mut namespaces: Vec<&str> = pods
            .iter()
            .filter_map(|p| p.metadata.namespace.as_deref())
            .collect();
        namespaces.dedup();
        let mut notes = Vec::new();
        for ns in namespaces {
            for pdb in self.cluster.pdbs(ns).await? {
                let covered: Vec<&str> = pods
                    .iter()
                    .filter(|p| {
                        p.metadata.namespace.as_deref() == Some(ns)
                            && pdb.spec.selector.matches(&p.metadata.labels)
                    })
                    .map(|p| p.metadata.name.as_str())
                    .collect();
                let allowed = pdb.status.disruptions_allowed;
                if !covered.is_empty() && covered.len() as i64 > allowed {
                    notes.push(format!(
                        "PodDisruptionBudget {ns}/{} allows {allowed} disruption(s) now and covers {} pod(s) to evict ({}): the drain will wait on it, up to {}",
                        pdb.metadata.name,
                        covered.len(),
                        covered.join(", "),
                        self.g().timeouts.drain
                    ));
                }
            }
        }
        Ok(notes)
    }
}
