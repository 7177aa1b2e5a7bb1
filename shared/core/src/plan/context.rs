//! What every planner shares: the result types ([`Plan`], [`Refused`], [`Resolution`]), the
//! inputs of a resolution, and [`Ctx`], the cluster view plus those inputs with the reads
//! more than one action needs (a namespace's opt-out, a pod's reference).
//!
//! Nothing here decides an action; the files beside it do, one per action kind.

use crate::alert::Alert;
use crate::cluster::{ClusterError, ClusterView};
use crate::guard::Refusal;
use crate::history::History;
use crate::objects::Meta;
use crate::policy::{Guardrails, Policy, Rule};
use crate::vocab::action::ActionKind;
use crate::vocab::op::{Op, PodRef};
use crate::vocab::target::TargetRef;
use crate::vocab::verdict::Verdict;

use chrono::{DateTime, Utc};

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
    /// The workload the action is for (a pod's controller), when the rule's escalation
    /// ladder is in play: recorded, so that the rule's next alert on the same workload
    /// finds this action whatever pod it names.
    pub workload: Option<TargetRef>,
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
    /// A refusal with no action attached yet.
    pub(crate) fn new(verdict: Verdict, reason: impl Into<String>) -> Self {
        Refused {
            verdict,
            reason: reason.into(),
            action: None,
            notes: Vec::new(),
            error: None,
        }
    }

    /// Names the action and target that were refused (the first one named wins).
    pub(crate) fn with_action(mut self, kind: ActionKind, target: &TargetRef) -> Self {
        self.action.get_or_insert((kind, target.clone()));
        self
    }

    /// The target does not exist (any more): nothing to do.
    pub(crate) fn gone(kind: ActionKind, target: &TargetRef) -> Self {
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

/// A planning step: its value, or the refusal that ends the resolution.
pub(crate) type Step<T> = Result<T, Refused>;

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

impl Inputs<'_> {
    /// The policy's guardrails.
    pub(crate) fn guardrails(&self) -> &Guardrails {
        &self.policy.guardrails
    }
}

/// A cluster view and the inputs of one resolution.
#[derive(Debug)]
pub(crate) struct Ctx<'a, C> {
    /// Where objects are read.
    pub cluster: &'a C,
    /// The rule, alert, policy, history and time.
    pub inputs: Inputs<'a>,
}

impl<C: ClusterView> Ctx<'_, C> {
    /// The policy's guardrails.
    pub(crate) fn g(&self) -> &Guardrails {
        self.inputs.guardrails()
    }

    /// The Namespace's metadata, labelled for opt-out reasons, if the Namespace exists.
    pub(crate) async fn namespace_meta(&self, ns: &str) -> Step<Option<(String, Meta)>> {
        Ok(self
            .cluster
            .namespace(ns)
            .await?
            .map(|n| (format!("Namespace {ns}"), n.metadata)))
    }
}

/// The pod a namespaced target names.
pub(crate) fn pod_ref(t: &TargetRef) -> PodRef {
    PodRef {
        namespace: t.namespace.clone().unwrap_or_default(),
        name: t.name.clone(),
    }
}
