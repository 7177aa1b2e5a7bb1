//! The Deployment behind an ALB target group (ARCHITECTURE section 13), for a rule whose
//! target is `{ kind: Deployment, target_group: ... }`.
//!
//! Decides: which Deployment the alarm's `TargetGroup` dimension (`targetgroup/NAME/ID`)
//! stands for. The AWS Load Balancer Controller registers the pods of a Service in a target
//! group through a `TargetGroupBinding` whose `spec.targetGroupARN` ends in that dimension;
//! the Service's selector, matched against the pod-template labels of the Deployments in the
//! binding's namespace, names the Deployment. Exactly one must match: with none there is
//! nothing to act on, and with several which one is failing cannot be told, so both are
//! `ignored` with a reason naming what was found. The walk is written down as a note, so
//! the record shows how the alarm reached the Deployment.

use crate::cluster::{ClusterError, ClusterView};
use crate::objects::TargetGroupBinding;
use crate::plan::context::{Refused, Step};
use crate::vocab::target::{TargetKind, TargetRef};
use crate::vocab::verdict::Verdict;

/// A target group resolved to its Deployment, and how.
pub(crate) struct Behind {
    /// The Deployment.
    pub target: TargetRef,
    /// The walk from the target group to it, for the record's notes.
    pub note: String,
}

/// The one Deployment whose pods the target group `tg` serves.
pub(crate) async fn deployment_behind<C: ClusterView>(cluster: &C, tg: &str) -> Step<Behind> {
    let ignored = |reason: String| Refused::new(Verdict::Ignored, reason);
    let bindings = match cluster.target_group_bindings().await {
        Ok(bindings) => bindings,
        Err(ClusterError::NotFound(_)) => {
            return Err(ignored(format!(
                "target group {tg}: the cluster does not serve TargetGroupBindings (elbv2.k8s.aws/v1beta1; is the AWS Load Balancer Controller installed?)"
            )));
        }
        Err(e) => return Err(e.into()),
    };
    let bound: Vec<&TargetGroupBinding> = bindings.iter().filter(|b| b.binds(tg)).collect();
    let binding = match bound.as_slice() {
        [one] => *one,
        [] => {
            let mut refused = ignored(format!(
                "target gone: no TargetGroupBinding binds target group {tg} (spec.targetGroupARN ending in :{tg})"
            ));
            refused
                .notes
                .extend(cluster.missing_kind("targetgroupbindings"));
            return Err(refused);
        }
        several => {
            return Err(ignored(format!(
                "target group {tg} is bound by several TargetGroupBindings ({}): which Service it serves cannot be told",
                several
                    .iter()
                    .map(|b| qualified(b))
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
    };
    let ns = binding.metadata.namespace.clone().unwrap_or_default();
    let service_name = &binding.spec.service_ref.name;
    let via = format!(
        "target group {tg} is bound by TargetGroupBinding {} to Service {ns}/{service_name}",
        qualified(binding)
    );
    let Some(service) = cluster.service(&ns, service_name).await? else {
        let mut refused = ignored(format!("target gone: {via}, which does not exist"));
        refused.notes.extend(cluster.missing_kind("services"));
        return Err(refused);
    };
    let selector = &service.spec.selector;
    if selector.is_empty() {
        return Err(ignored(format!(
            "{via}, which has no selector: the pods behind it cannot be told"
        )));
    }
    let shown = selector
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",");
    let selected: Vec<String> = cluster
        .deployments(&ns)
        .await?
        .into_iter()
        .filter(|d| {
            let labels = d.template_labels();
            selector.iter().all(|(k, v)| labels.get(k) == Some(v))
        })
        .map(|d| d.metadata.name)
        .collect();
    match selected.as_slice() {
        [name] => Ok(Behind {
            target: TargetRef::namespaced(TargetKind::Deployment, &ns, name),
            note: format!("{via}, whose selector {shown} selects Deployment {ns}/{name}"),
        }),
        [] => Err(ignored(format!(
            "{via}, whose selector {shown} matches the pod template of no Deployment in namespace {ns}"
        ))),
        several => Err(ignored(format!(
            "{via}, whose selector {shown} matches the pod templates of several Deployments ({}): which one fails cannot be told",
            several
                .iter()
                .map(|d| format!("{ns}/{d}"))
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

fn qualified(binding: &TargetGroupBinding) -> String {
    format!(
        "{}/{}",
        binding.metadata.namespace.as_deref().unwrap_or_default(),
        binding.metadata.name
    )
}
