//! What an action is aimed at: a kind and a name, as the audit record's `action.target`
//! carries them. Everything that names an object (plans, ops, history, records) uses these.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The kinds of object a remediation can target (audit record `action.target.kind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum TargetKind {
    /// A pod.
    Pod,
    /// An apps/v1 Deployment.
    Deployment,
    /// An apps/v1 StatefulSet.
    StatefulSet,
    /// An apps/v1 DaemonSet.
    DaemonSet,
    /// A node (and the EC2 instance behind it).
    Node,
}

impl TargetKind {
    /// The kind as Kubernetes spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            TargetKind::Pod => "Pod",
            TargetKind::Deployment => "Deployment",
            TargetKind::StatefulSet => "StatefulSet",
            TargetKind::DaemonSet => "DaemonSet",
            TargetKind::Node => "Node",
        }
    }

    /// Whether objects of this kind live in a namespace.
    pub fn is_namespaced(self) -> bool {
        self != TargetKind::Node
    }

    /// The API path segment of the kind's resource (`/apis/apps/v1/.../deployments/...`).
    pub fn api_path(self, namespace: Option<&str>, name: &str) -> String {
        let (group, plural) = match self {
            TargetKind::Pod => ("/api/v1", "pods"),
            TargetKind::Node => ("/api/v1", "nodes"),
            TargetKind::Deployment => ("/apis/apps/v1", "deployments"),
            TargetKind::StatefulSet => ("/apis/apps/v1", "statefulsets"),
            TargetKind::DaemonSet => ("/apis/apps/v1", "daemonsets"),
        };
        match namespace {
            Some(ns) => format!("{group}/namespaces/{ns}/{plural}/{name}"),
            None => format!("{group}/{plural}/{name}"),
        }
    }
}

impl fmt::Display for TargetKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A concrete object an action is aimed at.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct TargetRef {
    /// Its kind.
    pub kind: TargetKind,
    /// Its namespace; `None` for nodes.
    pub namespace: Option<String>,
    /// Its name.
    pub name: String,
}

impl TargetRef {
    /// A namespaced target.
    pub fn namespaced(kind: TargetKind, namespace: &str, name: &str) -> Self {
        TargetRef {
            kind,
            namespace: Some(namespace.to_owned()),
            name: name.to_owned(),
        }
    }

    /// A node target.
    pub fn node(name: &str) -> Self {
        TargetRef {
            kind: TargetKind::Node,
            namespace: None,
            name: name.to_owned(),
        }
    }

    /// The object's API path, e.g. `/api/v1/namespaces/production/pods/vote-1`.
    pub fn api_path(&self) -> String {
        self.kind.api_path(self.namespace.as_deref(), &self.name)
    }
}

impl fmt::Display for TargetRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.namespace {
            Some(ns) => write!(f, "{} {ns}/{}", self.kind, self.name),
            None => write!(f, "{} {}", self.kind, self.name),
        }
    }
}

/// Reads `KIND/NAMESPACE/NAME` (namespaced kinds) or `Node/NAME`, the kind in any case: how
/// an operator names a target on the command line (`reflex audit list --target`).
impl std::str::FromStr for TargetRef {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let kinds = [
            TargetKind::Pod,
            TargetKind::Deployment,
            TargetKind::StatefulSet,
            TargetKind::DaemonSet,
            TargetKind::Node,
        ];
        let parts: Vec<&str> = s.split('/').collect();
        let kind = kinds
            .into_iter()
            .find(|k| k.as_str().eq_ignore_ascii_case(parts[0]))
            .ok_or_else(|| {
                format!(
                    "unknown kind {:?}: expected one of Pod, Deployment, StatefulSet, DaemonSet, Node",
                    parts[0]
                )
            })?;
        match (kind.is_namespaced(), parts.as_slice()) {
            (true, [_, ns, name]) if !ns.is_empty() && !name.is_empty() => {
                Ok(TargetRef::namespaced(kind, ns, name))
            }
            (false, [_, name]) if !name.is_empty() => Ok(TargetRef::node(name)),
            (true, _) => Err(format!(
                "expected {kind}/NAMESPACE/NAME, e.g. {kind}/production/vote"
            )),
            (false, _) => {
                Err("expected Node/NAME, e.g. Node/ip-10-0-1-5.eu-west-1.compute.internal".into())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_are_read_as_operators_write_them() {
        assert_eq!(
            "deployment/production/vote".parse::<TargetRef>(),
            Ok(TargetRef::namespaced(
                TargetKind::Deployment,
                "production",
                "vote"
            ))
        );
        assert_eq!(
            "Node/ip-1".parse::<TargetRef>(),
            Ok(TargetRef::node("ip-1"))
        );
        assert!(
            "Pod/vote"
                .parse::<TargetRef>()
                .unwrap_err()
                .contains("Pod/NAMESPACE/NAME")
        );
        assert!(
            "Node/a/b"
                .parse::<TargetRef>()
                .unwrap_err()
                .contains("Node/NAME")
        );
        assert!(
            "Job/a/b"
                .parse::<TargetRef>()
                .unwrap_err()
                .contains("unknown kind")
        );
    }
}
