//! The annotations reflex reads and writes, in one place: their names are part of the
//! contract with operators (`reflex/skip-remediation`) and with kubectl (`restartedAt`).

/// The annotation that opts a target out of remediation (ARCHITECTURE section 5).
pub const SKIP_ANNOTATION: &str = "reflex/skip-remediation";
/// Set on a node when reflex cordons it, with the reason; marks a replacement in flight.
pub const CORDON_ANNOTATION: &str = "reflex/cordoned-by";
/// ReplicaSet annotation holding the Deployment revision it belongs to.
pub const REVISION_ANNOTATION: &str = "deployment.kubernetes.io/revision";
/// Pod annotation marking a static (mirror) pod, which drain never evicts.
pub const MIRROR_ANNOTATION: &str = "kubernetes.io/config.mirror";
/// The annotation `kubectl rollout restart` sets on a pod template.
pub const RESTARTED_AT_ANNOTATION: &str = "kubectl.kubernetes.io/restartedAt";
/// The Deployment annotations a rollback keeps instead of taking them from the restored
/// revision's ReplicaSet, as `kubectl rollout undo` does: the deployment controller's
/// revision bookkeeping and kubectl's last applied configuration. Every other annotation
/// comes back with the revision (its `kubernetes.io/change-cause`, for one).
pub const ROLLBACK_KEEPS_ANNOTATIONS: [&str; 6] = [
    "kubectl.kubernetes.io/last-applied-configuration",
    REVISION_ANNOTATION,
    "deployment.kubernetes.io/revision-history",
    "deployment.kubernetes.io/desired-replicas",
    "deployment.kubernetes.io/max-replicas",
    "deprecated.deployment.rollback.to",
];
/// Argo CD's resource tracking annotation: `<application>:<group>/<kind>:<namespace>/<name>`.
pub const ARGOCD_TRACKING_ANNOTATION: &str = "argocd.argoproj.io/tracking-id";
/// Flux's labels naming the Kustomization that applied an object, and its namespace.
pub const FLUX_KUSTOMIZATION_LABELS: (&str, &str) = (
    "kustomize.toolkit.fluxcd.io/name",
    "kustomize.toolkit.fluxcd.io/namespace",
);
/// Flux's labels naming the HelmRelease that installed an object, and its namespace.
pub const FLUX_HELM_RELEASE_LABELS: (&str, &str) = (
    "helm.toolkit.fluxcd.io/name",
    "helm.toolkit.fluxcd.io/namespace",
);
