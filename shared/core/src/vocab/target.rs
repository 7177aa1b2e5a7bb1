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
    /// A Route 53 weighted record set: `namespace` is the hosted zone id, `name` the record
    /// name, and the target's `set_identifier` the set (a canary's).
    WeightedRecord,
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
            TargetKind::WeightedRecord => "WeightedRecord",
        }
    }

    /// Whether objects of this kind live in a namespace (a weighted record's is its hosted
    /// zone).
    pub fn is_namespaced(self) -> bool {
        self != TargetKind::Node
    }

    /// Whether objects of this kind are Kubernetes objects (a weighted record is not).
    pub fn is_kubernetes(self) -> bool {
        self != TargetKind::WeightedRecord
    }

    /// The API path segment of the kind's resource (`/apis/apps/v1/.../deployments/...`).
    pub fn api_path(self, namespace: Option<&str>, name: &str) -> String {
        let (group, plural) = match self {
            TargetKind::Pod => ("/api/v1", "pods"),
            TargetKind::Node => ("/api/v1", "nodes"),
            TargetKind::Deployment => ("/apis/apps/v1", "deployments"),
            TargetKind::StatefulSet => ("/apis/apps/v1", "statefulsets"),
            TargetKind::DaemonSet => ("/apis/apps/v1", "daemonsets"),
            // Route 53's REST path of a zone's record sets.
            TargetKind::WeightedRecord => {
                return format!(
                    "/2013-04-01/hostedzone/{}/rrset?name={name}",
                    namespace.unwrap_or_default()
                );
            }
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
    /// A weighted record only: the set identifier of the record set acted on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub set_identifier: Option<String>,
}

impl TargetRef {
    /// A namespaced target.
    pub fn namespaced(kind: TargetKind, namespace: &str, name: &str) -> Self {
        TargetRef {
            kind,
            namespace: Some(namespace.to_owned()),
            name: name.to_owned(),
            set_identifier: None,
        }
    }

    /// A node target.
    pub fn node(name: &str) -> Self {
        TargetRef {
            kind: TargetKind::Node,
            namespace: None,
            name: name.to_owned(),
            set_identifier: None,
        }
    }

    /// A Route 53 weighted record set: record `name` of hosted zone `zone`, set
    /// `set_identifier`.
    pub fn weighted_record(zone: &str, name: &str, set_identifier: &str) -> Self {
        TargetRef {
            kind: TargetKind::WeightedRecord,
            namespace: Some(zone.to_owned()),
            name: name.to_owned(),
            set_identifier: Some(set_identifier.to_owned()),
        }
    }

    /// Whether this is the target an operator named as `wanted`: the same object, and the
    /// same record set when `wanted` names one (`WeightedRecord/ZONE/NAME` names every set
    /// of the record).
    pub fn is(&self, wanted: &TargetRef) -> bool {
        self.kind == wanted.kind
            && self.namespace == wanted.namespace
            && self.name == wanted.name
            && wanted
                .set_identifier
                .as_ref()
                .is_none_or(|set| self.set_identifier.as_ref() == Some(set))
    }

    /// The object's API path, e.g. `/api/v1/namespaces/production/pods/vote-1`.
    pub fn api_path(&self) -> String {
        self.kind.api_path(self.namespace.as_deref(), &self.name)
    }
}

impl fmt::Display for TargetRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.namespace, &self.set_identifier) {
            (Some(ns), Some(set)) => write!(f, "{} {ns}/{} (set {set})", self.kind, self.name),
            (Some(ns), None) => write!(f, "{} {ns}/{}", self.kind, self.name),
            (None, _) => write!(f, "{} {}", self.kind, self.name),
        }
    }
}

/// Reads `KIND/NAMESPACE/NAME` (namespaced kinds; `WeightedRecord/ZONE/NAME`, any set) or
/// `Node/NAME`, the kind in any case: how an operator names a target on the command line
/// (`reflex audit list --target`).
impl std::str::FromStr for TargetRef {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let kinds = [
            TargetKind::Pod,
            TargetKind::Deployment,
            TargetKind::StatefulSet,
            TargetKind::DaemonSet,
            TargetKind::Node,
            TargetKind::WeightedRecord,
        ];
        let parts: Vec<&str> = s.split('/').collect();
        let kind = kinds
            .into_iter()
            .find(|k| k.as_str().eq_ignore_ascii_case(parts[0]))
            .ok_or_else(|| {
                format!(
                    "unknown kind {:?}: expected one of Pod, Deployment, StatefulSet, DaemonSet, Node, WeightedRecord",
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
        let canary = TargetRef::weighted_record("Z1", "result.example.com", "canary");
        let named: TargetRef = "WeightedRecord/Z1/result.example.com"
            .parse()
            .expect("parses");
        assert!(canary.is(&named) && !named.is(&canary));
        assert_eq!(
            canary.to_string(),
            "WeightedRecord Z1/result.example.com (set canary)"
        );
    }
}
