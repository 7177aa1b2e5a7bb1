//! Discovery: the documents a client such as kubectl reads before any other request, to learn
//! which groups, versions and resources the server has (`/api`, `/apis`, `/api/v1`,
//! `/apis/{group}`, `/apis/{group}/{version}`) and which release it is (`/version`).
//!
//! Every document is built from the resource table in `resources.rs`, so discovery lists
//! exactly what the fake serves: its kinds, their `status` subresource, the pod `eviction`
//! subresource (kind `Eviction` in `policy/v1`, which is how `kubectl drain` finds the
//! Eviction API), and only the verbs the fake implements (no `watch`, no
//! `deletecollection`). The one decision to know: the fake answers the unaggregated
//! (legacy) format only. kubectl 1.30+ asks for aggregated discovery
//! (`application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList`) with plain
//! `application/json` as its last choice, and reads the answer by its `Content-Type`: a
//! plain JSON answer makes it fetch every group version's resource list, as it does against
//! a server without aggregated discovery.

use serde_json::{Value, json};

use crate::resources::{self, PODS, ResourceType};

/// The verbs the fake serves on a resource's main path.
const VERBS: [&str; 6] = ["create", "delete", "get", "list", "patch", "update"];
/// The verbs of a `status` subresource.
const STATUS_VERBS: [&str; 3] = ["get", "patch", "update"];

/// The discovery document at `path`, or `None` when `path` is not a discovery path (or
/// names a group or version the fake does not serve).
pub(crate) fn document(path: &str) -> Option<Value> {
    let segments: Vec<&str> = path.trim_end_matches('/').split('/').skip(1).collect();
    match segments.as_slice() {
        ["version"] => Some(version()),
        ["api"] => Some(api_versions()),
        ["apis"] => Some(group_list()),
        ["api", "v1"] => Some(resource_list("", "v1")),
        ["apis", name] => group(name),
        ["apis", group, version] if !group.is_empty() => {
            served(group, version).then(|| resource_list(group, version))
        }
        _ => None,
    }
}

/// What `GET /version` reports: a current EKS-like server.
fn version() -> Value {
    json!({
        "major": "1",
        "minor": "34",
        "gitVersion": "v1.34.0",
        "gitCommit": "0000000000000000000000000000000000000000",
        "gitTreeState": "clean",
        "buildDate": "2025-08-27T00:00:00Z",
        "goVersion": "go1.24.6",
        "compiler": "gc",
        "platform": "linux/amd64",
    })
}

fn served(group: &str, version: &str) -> bool {
    resources::all().any(|r| r.group == group && r.version == version)
}

/// `/api`: the core group's versions.
fn api_versions() -> Value {
    json!({
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{ "clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1" }],
    })
}

/// The named groups, in the order the resource table first mentions them.
fn group_names() -> Vec<&'static str> {
    let mut names: Vec<&'static str> = Vec::new();
    for resource in resources::all().filter(|r| !r.group.is_empty()) {
        if !names.contains(&resource.group) {
            names.push(resource.group);
        }
    }
    names
}

/// One group and its versions (one each: the fake serves a single version per group).
fn api_group(name: &str) -> Value {
    let mut versions: Vec<Value> = Vec::new();
    for resource in resources::all().filter(|r| r.group == name) {
        let entry = json!({ "groupVersion": resource.api_version(), "version": resource.version });
        if !versions.contains(&entry) {
            versions.push(entry);
        }
    }
    json!({
        "name": name,
        "versions": versions,
        "preferredVersion": versions.first(),
    })
}

/// `/apis`: every named group.
fn group_list() -> Value {
    let groups: Vec<Value> = group_names().into_iter().map(api_group).collect();
    json!({ "kind": "APIGroupList", "apiVersion": "v1", "groups": groups })
}

/// `/apis/{group}`.
fn group(name: &str) -> Option<Value> {
    group_names().contains(&name).then(|| {
        let mut group = api_group(name);
        group["kind"] = json!("APIGroup");
        group["apiVersion"] = json!("v1");
        group
    })
}

/// The entry of a resource's main path.
fn main_entry(resource: &ResourceType) -> Value {
    let mut entry = json!({
        "name": resource.plural,
        "singularName": resource.kind.to_ascii_lowercase(),
        "namespaced": resource.namespaced,
        "kind": resource.kind,
        "verbs": VERBS,
    });
    if !resource.short_names.is_empty() {
        entry["shortNames"] = json!(resource.short_names);
    }
    if resource.in_all {
        entry["categories"] = json!(["all"]);
    }
    entry
}

/// `/api/v1` or `/apis/{group}/{version}`: the resources and subresources served there.
fn resource_list(group: &str, version: &str) -> Value {
    let mut entries = Vec::new();
    for resource in resources::all().filter(|r| r.group == group && r.version == version) {
        entries.push(main_entry(resource));
        if std::ptr::eq(resource, &PODS) {
            entries.push(json!({
                "name": "pods/eviction",
                "singularName": "",
                "namespaced": true,
                "group": "policy",
                "version": "v1",
                "kind": "Eviction",
                "verbs": ["create"],
            }));
        }
        entries.push(json!({
            "name": format!("{}/status", resource.plural),
            "singularName": "",
            "namespaced": resource.namespaced,
            "kind": resource.kind,
            "verbs": STATUS_VERBS,
        }));
    }
    let group_version = if group.is_empty() {
        version.to_owned()
    } else {
        format!("{group}/{version}")
    };
    json!({
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": group_version,
        "resources": entries,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // Tests fail loudly on bad fixtures.

    use super::*;

    fn names(list: &Value) -> Vec<&str> {
        list["resources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["name"].as_str().unwrap())
            .collect()
    }

    #[test]
    fn the_core_group_lists_its_kinds_and_the_eviction_subresource() {
        let v1 = document("/api/v1").unwrap();
        assert_eq!(v1["groupVersion"], "v1");
        let names = names(&v1);
        for name in [
            "nodes",
            "namespaces",
            "pods",
            "pods/eviction",
            "pods/status",
        ] {
            assert!(names.contains(&name), "{name} missing from {names:?}");
        }
        let eviction = v1["resources"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["name"] == "pods/eviction")
            .unwrap();
        assert_eq!(
            (&eviction["group"], &eviction["version"], &eviction["kind"]),
            (&json!("policy"), &json!("v1"), &json!("Eviction"))
        );
    }

    #[test]
    fn every_group_in_the_list_has_its_resource_list() {
        let groups = document("/apis").unwrap();
        let listed: Vec<&str> = groups["groups"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| g["preferredVersion"]["groupVersion"].as_str().unwrap())
            .collect();
        assert_eq!(
            listed,
            [
                "apps/v1",
                "policy/v1",
                "autoscaling/v2",
                "karpenter.sh/v1",
                "elbv2.k8s.aws/v1beta1"
            ]
        );
        for group_version in listed {
            let list = document(&format!("/apis/{group_version}")).unwrap();
            assert_eq!(list["groupVersion"], group_version);
            assert!(!names(&list).is_empty());
        }
        assert_eq!(document("/apis/apps").unwrap()["kind"], "APIGroup");
    }

    #[test]
    fn groups_and_versions_the_fake_does_not_serve_are_not_found() {
        assert_eq!(document("/apis/batch"), None);
        assert_eq!(document("/apis/apps/v1beta1"), None);
        assert_eq!(document("/api/v2"), None);
        assert_eq!(document("/api/v1/pods"), None);
    }
}
