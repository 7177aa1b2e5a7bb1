//! Discovery and server-side tables: kube-rs's discovery client and kubectl (the reference
//! client, `REFLEX_KUBECTL`) read the fake's groups, versions and resources, and
//! `kubectl get` prints kube-apiserver's columns from the Table the fake answers.

use kube::Discovery;
use kube::core::GroupVersionKind;
use kube::discovery::Scope;
use reflex_test_support::kube::Background;
use reflex_test_support::kubectl::Kubectl;
use serde_json::Value;

use crate::common::{NODE_1, NODE_2, SNAPSHOT, client, start};

#[tokio::test]
async fn kube_discovery_finds_every_kind_the_fake_serves_with_its_scope() {
    let fake = start().await;

    let discovery = Discovery::new(client(&fake)).run().await.unwrap();

    for (group, version, kind, scope) in [
        ("", "v1", "Node", Scope::Cluster),
        ("", "v1", "Pod", Scope::Namespaced),
        ("", "v1", "PersistentVolume", Scope::Cluster),
        ("apps", "v1", "Deployment", Scope::Namespaced),
        ("apps", "v1", "DaemonSet", Scope::Namespaced),
        ("policy", "v1", "PodDisruptionBudget", Scope::Namespaced),
        (
            "autoscaling",
            "v2",
            "HorizontalPodAutoscaler",
            Scope::Namespaced,
        ),
    ] {
        let (_, capabilities) = discovery
            .resolve_gvk(&GroupVersionKind::gvk(group, version, kind))
            .unwrap_or_else(|| panic!("{group}/{version} {kind} not discovered"));
        assert_eq!(capabilities.scope, scope, "{kind}");
    }
}

/// The fake seeded with the test fixture, served while kubectl runs, and kubectl for it.
fn kubectl(name: &str) -> (Background, Kubectl) {
    let server = Background::start(SNAPSHOT, name);
    let kubectl = Kubectl::new(&server.kubeconfig);
    (server, kubectl)
}

#[test]
fn kubectl_gets_nodes_as_a_table_as_names_and_as_json() {
    let (server, kubectl) = kubectl("kubectl-get");

    let table = kubectl.ok(&["get", "nodes"]);
    let names = kubectl.ok(&["get", "nodes", "-o", "name"]);
    let json: Value = serde_json::from_str(&kubectl.ok(&["get", "nodes", "-o", "json"])).unwrap();

    let header: Vec<&str> = table.lines().next().unwrap().split_whitespace().collect();
    assert_eq!(
        header,
        ["NAME", "STATUS", "ROLES", "AGE", "VERSION"],
        "{table}"
    );
    assert!(
        table
            .lines()
            .any(|l| l.starts_with(NODE_1) && l.contains(" Ready ")),
        "{table}"
    );
    assert_eq!(names, format!("node/{NODE_1}\nnode/{NODE_2}\n"));
    assert_eq!(json["items"].as_array().unwrap().len(), 2, "{json}");
    let unanswered: Vec<String> = server
        .fake
        .requests()
        .iter()
        .filter(|r| r.status != Some(200))
        .map(|r| format!("{} {:?}", r.line(), r.status))
        .collect();
    assert!(
        unanswered.is_empty(),
        "discovery or reads not served: {unanswered:?}"
    );
}

#[test]
fn kubectl_tables_carry_namespaces_labels_and_wide_columns() {
    let (_server, kubectl) = kubectl("kubectl-wide");

    let pods = kubectl.ok(&["get", "pods", "-A", "-o", "wide", "--show-labels"]);

    let header: Vec<&str> = pods.lines().next().unwrap().split_whitespace().collect();
    assert_eq!(
        header,
        [
            "NAMESPACE",
            "NAME",
            "READY",
            "STATUS",
            "RESTARTS",
            "AGE",
            "IP",
            "NODE",
            "NOMINATED",
            "NODE",
            "READINESS",
            "GATES",
            "LABELS"
        ],
        "{pods}"
    );
    let exporter = pods
        .lines()
        .find(|l| l.contains("node-exporter-8xk2v"))
        .unwrap_or_else(|| panic!("{pods}"));
    assert!(
        exporter.starts_with("monitoring ")
            && exporter.contains(NODE_1)
            && exporter.contains("app.kubernetes.io/name=node-exporter"),
        "{exporter}"
    );
}
