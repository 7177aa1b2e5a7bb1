//! Naming the target: a rule's templates rendered from the alert's labels, every resulting
//! name validated as a Kubernetes name (or an EC2 instance id, or an ALB target group) before anything reads or acts
//! on it. A missing label means the rule cannot apply (`ignored`); a malformed name is bad
//! input (`rejected`), never acted on.

use crate::alert::Alert;
use crate::names::{self, NameRule};
use crate::plan::context::{Refused, Step};
use crate::policy::{Rule, Template, TemplateError};
use crate::vocab::target::{TargetKind, TargetRef};
use crate::vocab::verdict::Verdict;

/// The target as named by a rule's templates, before any cluster read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Named {
    /// An object by kind, namespace and name.
    Object(TargetRef),
    /// The node behind an EC2 instance (matched against `spec.providerID`).
    NodeByInstance(String),
    /// The Deployment behind an ALB target group (`targetgroup/NAME/ID`), found through its
    /// TargetGroupBinding and Service (`traffic.rs`).
    DeploymentByTargetGroup(String),
}

/// Renders the rule's target templates and validates every resulting name.
pub(crate) fn name_target(rule: &Rule, alert: &Alert) -> Step<Named> {
    let spec = &rule.target;
    let render = |field: &str, template: &Template| {
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
    if let Some(template) = &spec.target_group {
        let tg = render("target_group", template)?;
        names::validate_target_group(&tg).map_err(reject)?;
        return Ok(Named::DeploymentByTargetGroup(tg));
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
        set_identifier: None,
    }))
}

/// What stands for the Deployment behind target group `tg` where no cluster can be read to
/// find it: a Deployment without a namespace, named by the target group.
pub(crate) fn target_group_stand_in(tg: &str) -> TargetRef {
    TargetRef {
        kind: TargetKind::Deployment,
        namespace: None,
        name: tg.to_owned(),
        set_identifier: None,
    }
}
