//! The resource types the fake serves and how request paths map onto them.
//!
//! Only the kinds of reflex's snapshot format exist here (PersistentVolumeClaims and
//! PersistentVolumes included, for the drain's local-storage check, and Karpenter's
//! `nodeclaims.karpenter.sh`, and Services with the AWS Load Balancer Controller's
//! `targetgroupbindings.elbv2.k8s.aws`); any other path is a 404,
//! as it would be for an API group the server does not have. Paths are parsed the way
//! kube-apiserver routes them: `/api/v1/...` for the core group, `/apis/{group}/{version}/...`
//! otherwise, with `namespaces/{ns}/` in front of namespaced resources.

use serde_json::Value;

/// One served resource: where it lives in the API and what its objects are called.
#[derive(Debug, PartialEq, Eq, Hash)]
pub(crate) struct ResourceType {
    /// API group, empty for the core group.
    pub group: &'static str,
    /// API version inside the group.
    pub version: &'static str,
    /// Lower-case plural used in paths (`pods`).
    pub plural: &'static str,
    /// Object kind (`Pod`).
    pub kind: &'static str,
    /// Whether objects live in a namespace.
    pub namespaced: bool,
    /// Short names kubectl accepts (`po`), as discovery lists them.
    pub short_names: &'static [&'static str],
    /// Whether the resource is in the `all` category (`kubectl get all`).
    pub in_all: bool,
}

impl ResourceType {
    /// The `apiVersion` of objects of this type (`v1`, `apps/v1`).
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.to_owned()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// The group-qualified resource name kube-apiserver uses in messages (`deployments.apps`).
    pub fn qualified(&self) -> String {
        if self.group.is_empty() {
            self.plural.to_owned()
        } else {
            format!("{}.{}", self.plural, self.group)
        }
    }

    /// Whether a change to `spec` bumps `metadata.generation` (types with a controller).
    pub fn has_generation(&self) -> bool {
        self.group == "apps" || self.group == "policy"
    }
}

pub(crate) static NODES: ResourceType = core("nodes", "Node", false, &["no"], false);
pub(crate) static NAMESPACES: ResourceType = core("namespaces", "Namespace", false, &["ns"], false);
pub(crate) static PODS: ResourceType = core("pods", "Pod", true, &["po"], true);
/// Events (`v1`), for the evidence a notification shows.
pub(crate) static EVENTS: ResourceType = core("events", "Event", true, &["ev"], false);
pub(crate) static PERSISTENTVOLUMECLAIMS: ResourceType = core(
    "persistentvolumeclaims",
    "PersistentVolumeClaim",
    true,
    &["pvc"],
    false,
);
pub(crate) static PERSISTENTVOLUMES: ResourceType = core(
    "persistentvolumes",
    "PersistentVolume",
    false,
    &["pv"],
    false,
);
pub(crate) static DEPLOYMENTS: ResourceType = apps("deployments", "Deployment", &["deploy"]);
pub(crate) static REPLICASETS: ResourceType = apps("replicasets", "ReplicaSet", &["rs"]);
pub(crate) static STATEFULSETS: ResourceType = apps("statefulsets", "StatefulSet", &["sts"]);
pub(crate) static DAEMONSETS: ResourceType = apps("daemonsets", "DaemonSet", &["ds"]);
pub(crate) static PODDISRUPTIONBUDGETS: ResourceType = ResourceType {
    group: "policy",
    version: "v1",
    plural: "poddisruptionbudgets",
    kind: "PodDisruptionBudget",
    namespaced: true,
    short_names: &["pdb"],
    in_all: false,
};

pub(crate) static HORIZONTALPODAUTOSCALERS: ResourceType = ResourceType {
    group: "autoscaling",
    version: "v2",
    plural: "horizontalpodautoscalers",
    kind: "HorizontalPodAutoscaler",
    namespaced: true,
    short_names: &["hpa"],
    in_all: true,
};

/// Karpenter's NodeClaims (a CRD; EKS Auto Mode serves the same group).
pub(crate) static NODECLAIMS: ResourceType = ResourceType {
    group: "karpenter.sh",
    version: "v1",
    plural: "nodeclaims",
    kind: "NodeClaim",
    namespaced: false,
    short_names: &[],
    in_all: false,
};

/// Services: the pods behind a TargetGroupBinding.
pub(crate) static SERVICES: ResourceType = core("services", "Service", true, &["svc"], true);

/// The AWS Load Balancer Controller's TargetGroupBindings (a CRD): which Service's pods
/// an ALB or NLB target group holds.
pub(crate) static TARGETGROUPBINDINGS: ResourceType = ResourceType {
    group: "elbv2.k8s.aws",
    version: "v1beta1",
    plural: "targetgroupbindings",
    kind: "TargetGroupBinding",
    namespaced: true,
    short_names: &[],
    in_all: false,
};

/// In the order of the snapshot command's kinds (an export lists them so).
static ALL: [&ResourceType; 15] = [
    &NODES,
    &NAMESPACES,
    &PODS,
    &DEPLOYMENTS,
    &REPLICASETS,
    &STATEFULSETS,
    &DAEMONSETS,
    &PODDISRUPTIONBUDGETS,
    &PERSISTENTVOLUMECLAIMS,
    &PERSISTENTVOLUMES,
    &HORIZONTALPODAUTOSCALERS,
    &NODECLAIMS,
    &SERVICES,
    &TARGETGROUPBINDINGS,
    &EVENTS,
];

const fn core(
    plural: &'static str,
    kind: &'static str,
    namespaced: bool,
    short_names: &'static [&'static str],
    in_all: bool,
) -> ResourceType {
    ResourceType {
        group: "",
        version: "v1",
        plural,
        kind,
        namespaced,
        short_names,
        in_all,
    }
}

const fn apps(
    plural: &'static str,
    kind: &'static str,
    short_names: &'static [&'static str],
) -> ResourceType {
    ResourceType {
        group: "apps",
        version: "v1",
        plural,
        kind,
        namespaced: true,
        short_names,
        in_all: true,
    }
}

/// All served resource types.
pub(crate) fn all() -> impl Iterator<Item = &'static ResourceType> {
    ALL.iter().copied()
}

/// Looks a type up by kind (`Pod`) or plural (`pods`), case-insensitively.
pub(crate) fn lookup(kind_or_plural: &str) -> Option<&'static ResourceType> {
    all().find(|r| {
        r.kind.eq_ignore_ascii_case(kind_or_plural) || r.plural.eq_ignore_ascii_case(kind_or_plural)
    })
}

/// Looks a type up by the `apiVersion` and `kind` written in an object.
fn by_api_version_kind(api_version: &str, kind: &str) -> Option<&'static ResourceType> {
    all().find(|r| r.kind == kind && r.api_version() == api_version)
}

/// The type of an object, from the `apiVersion` and `kind` it carries.
pub(crate) fn of_object(object: &Value) -> Result<&'static ResourceType, String> {
    let field = |name: &str| object.get(name).and_then(Value::as_str).unwrap_or_default();
    let (api_version, kind) = (field("apiVersion"), field("kind"));
    by_api_version_kind(api_version, kind)
        .ok_or_else(|| format!("unsupported object {api_version}/{kind}"))
}

fn by_plural(group: &str, version: &str, plural: &str) -> Option<&'static ResourceType> {
    all().find(|r| r.group == group && r.version == version && r.plural == plural)
}

/// A request path resolved to a resource, and to an object when it names one.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct ApiPath {
    pub resource: &'static ResourceType,
    /// Namespace from the path; `None` for cluster-scoped types and all-namespace lists.
    pub namespace: Option<String>,
    pub name: Option<String>,
    /// `status`, `eviction`, ...; which ones exist is decided by the handler.
    pub subresource: Option<String>,
}

/// Resolves a request path, or `None` when the server has no such resource.
pub(crate) fn parse_path(path: &str) -> Option<ApiPath> {
    let segments: Vec<&str> = path.strip_prefix('/')?.split('/').collect();
    if segments.iter().any(|s| s.is_empty()) {
        return None;
    }
    let (group, version, rest) = match segments.as_slice() {
        ["api", version, rest @ ..] => ("", *version, rest),
        ["apis", group, version, rest @ ..] => (*group, *version, rest),
        _ => return None,
    };
    let owned = |s: Option<&&str>| s.map(|s| (*s).to_owned());
    // `namespaces/{ns}/{plural}` is a namespaced path only when `{plural}` is a namespaced
    // type; otherwise `namespaces/{name}/{sub}` addresses a Namespace object.
    if let ["namespaces", namespace, plural, tail @ ..] = rest
        && let Some(resource) = by_plural(group, version, plural).filter(|r| r.namespaced)
    {
        if tail.len() > 2 {
            return None;
        }
        return Some(ApiPath {
            resource,
            namespace: Some((*namespace).to_owned()),
            name: owned(tail.first()),
            subresource: owned(tail.get(1)),
        });
    }
    let (plural, tail) = rest.split_first()?;
    let resource = by_plural(group, version, plural)?;
    if tail.len() > 2 || (resource.namespaced && !tail.is_empty()) {
        return None;
    }
    Some(ApiPath {
        resource,
        namespace: None,
        name: owned(tail.first()),
        subresource: owned(tail.get(1)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (plural, namespace, name, subresource)
    type Parsed = (&'static str, Option<String>, Option<String>, Option<String>);

    fn parsed(path: &str) -> Option<Parsed> {
        parse_path(path).map(|p| (p.resource.plural, p.namespace, p.name, p.subresource))
    }

    #[test]
    fn namespaced_paths_resolve_with_their_namespace() {
        assert_eq!(
            parsed("/api/v1/namespaces/prod/pods/web-1/eviction"),
            Some((
                "pods",
                Some("prod".into()),
                Some("web-1".into()),
                Some("eviction".into())
            ))
        );
        assert_eq!(
            parsed("/apis/apps/v1/namespaces/prod/deployments"),
            Some(("deployments", Some("prod".into()), None, None))
        );
    }

    #[test]
    fn namespace_objects_are_not_mistaken_for_namespaced_paths() {
        assert_eq!(
            parsed("/api/v1/namespaces/prod"),
            Some(("namespaces", None, Some("prod".into()), None))
        );
        assert_eq!(
            parsed("/api/v1/namespaces/prod/status"),
            Some((
                "namespaces",
                None,
                Some("prod".into()),
                Some("status".into())
            ))
        );
    }

    #[test]
    fn all_namespace_lists_and_cluster_objects_resolve() {
        assert_eq!(parsed("/api/v1/pods"), Some(("pods", None, None, None)));
        assert_eq!(
            parsed("/api/v1/nodes/n1"),
            Some(("nodes", None, Some("n1".into()), None))
        );
    }

    #[test]
    fn claims_are_namespaced_and_volumes_cluster_scoped() {
        assert_eq!(
            parsed("/api/v1/namespaces/prod/persistentvolumeclaims/data-db-0"),
            Some((
                "persistentvolumeclaims",
                Some("prod".into()),
                Some("data-db-0".into()),
                None
            ))
        );
        assert_eq!(
            parsed("/api/v1/persistentvolumes/pv-1"),
            Some(("persistentvolumes", None, Some("pv-1".into()), None))
        );
        assert_eq!(parsed("/api/v1/persistentvolumeclaims/data-db-0"), None);
        assert_eq!(
            parsed("/api/v1/namespaces/prod/persistentvolumes/pv-1"),
            None
        );
    }

    #[test]
    fn nodeclaims_are_cluster_scoped_in_the_karpenter_group() {
        assert_eq!(
            parsed("/apis/karpenter.sh/v1/nodeclaims/default-x7k2p"),
            Some(("nodeclaims", None, Some("default-x7k2p".into()), None))
        );
        assert_eq!(
            parsed("/apis/karpenter.sh/v1/nodeclaims"),
            Some(("nodeclaims", None, None, None))
        );
        assert_eq!(parsed("/apis/karpenter.sh/v1beta1/nodeclaims/x"), None);
    }

    #[test]
    fn targetgroupbindings_are_namespaced_in_the_elbv2_group() {
        assert_eq!(
            parsed("/apis/elbv2.k8s.aws/v1beta1/namespaces/production/targetgroupbindings/vote"),
            Some((
                "targetgroupbindings",
                Some("production".into()),
                Some("vote".into()),
                None
            ))
        );
        assert_eq!(
            parsed("/apis/elbv2.k8s.aws/v1beta1/targetgroupbindings"),
            Some(("targetgroupbindings", None, None, None))
        );
        assert_eq!(
            parsed("/api/v1/namespaces/production/services/vote"),
            Some((
                "services",
                Some("production".into()),
                Some("vote".into()),
                None
            ))
        );
    }

    #[test]
    fn unknown_or_malformed_paths_do_not_resolve() {
        assert_eq!(parsed("/api/v1/configmaps"), None);
        assert_eq!(parsed("/apis/apps/v1/pods"), None);
        assert_eq!(parsed("/api/v1/pods/web-1"), None);
        assert_eq!(parsed("/api/v1/nodes/"), None);
        assert_eq!(parsed("/healthz"), None);
    }
}
