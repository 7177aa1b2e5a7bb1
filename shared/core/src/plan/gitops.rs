//! Which GitOps tool manages an object (ARCHITECTURE section 13): Argo CD by its tracking
//! annotation, Flux by the labels its Kustomization and HelmRelease controllers set. A
//! rollback of such a Deployment would be reverted by the tool's next sync, within seconds,
//! and the cluster would flap between the two revisions, so `rollback.rs` takes the rule's
//! fallback instead unless `guardrails.gitops: allow`.

use crate::objects::Meta;
use crate::vocab::annotations::{
    ARGOCD_TRACKING_ANNOTATION, FLUX_HELM_RELEASE_LABELS, FLUX_KUSTOMIZATION_LABELS,
};

/// The tool managing `meta`'s object and what it is called there, e.g. `Argo CD
/// application vote-prod (annotation argocd.argoproj.io/tracking-id)`.
pub(crate) fn manager(meta: &Meta) -> Option<String> {
    if let Some(tracking) = meta.annotations.get(ARGOCD_TRACKING_ANNOTATION) {
        let app = tracking.split(':').next().unwrap_or_default().trim();
        let app = if app.is_empty() { "(unnamed)" } else { app };
        return Some(format!(
            "Argo CD application {app} (annotation {ARGOCD_TRACKING_ANNOTATION})"
        ));
    }
    [
        ("Flux Kustomization", FLUX_KUSTOMIZATION_LABELS),
        ("Flux HelmRelease", FLUX_HELM_RELEASE_LABELS),
    ]
    .into_iter()
    .find_map(|(tool, (name, namespace))| {
        let object = meta.labels.get(name)?;
        let object = match meta.labels.get(namespace) {
            Some(ns) => format!("{ns}/{object}"),
            None => object.clone(),
        };
        Some(format!("{tool} {object} (label {name})"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(annotations: &[(&str, &str)], labels: &[(&str, &str)]) -> Meta {
        let map = |kv: &[(&str, &str)]| {
            kv.iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect()
        };
        Meta {
            annotations: map(annotations),
            labels: map(labels),
            ..Meta::default()
        }
    }

    #[test]
    fn names_the_argo_cd_application_from_its_tracking_id() {
        let m = meta(
            &[(
                ARGOCD_TRACKING_ANNOTATION,
                "vote-prod:apps/Deployment:production/vote",
            )],
            &[],
        );
        assert_eq!(
            manager(&m).unwrap(),
            "Argo CD application vote-prod (annotation argocd.argoproj.io/tracking-id)"
        );
    }

    #[test]
    fn names_the_flux_kustomization_or_helm_release_with_its_namespace() {
        let k = meta(
            &[],
            &[
                ("kustomize.toolkit.fluxcd.io/name", "apps"),
                ("kustomize.toolkit.fluxcd.io/namespace", "flux-system"),
            ],
        );
        assert_eq!(
            manager(&k).unwrap(),
            "Flux Kustomization flux-system/apps (label kustomize.toolkit.fluxcd.io/name)"
        );
        let h = meta(&[], &[("helm.toolkit.fluxcd.io/name", "redis")]);
        assert_eq!(
            manager(&h).unwrap(),
            "Flux HelmRelease redis (label helm.toolkit.fluxcd.io/name)"
        );
    }

    #[test]
    fn an_object_applied_by_hand_has_no_manager() {
        let m = meta(
            &[("kubectl.kubernetes.io/last-applied-configuration", "{}")],
            &[],
        );
        assert_eq!(manager(&m), None);
    }
}
