//! `reflex replay --kubeconfig`: the real binary against the fake API server over HTTP,
//! seeded with events/cluster/voting-app.json, fed the sample events.

#![allow(clippy::unwrap_used)] // Tests: a failed unwrap is a failed test with its message.

mod common;

use common::{event, reflex, replay_json, short_policy, snapshot};
use reflex_test_support::kube::Background;
use serde_json::Value;

/// A fake API server serving the sample cluster while the test waits on the binary, and a
/// kubeconfig file pointing at it.
struct Live {
    server: Background,
    kubeconfig: String,
}

fn live(name: &str) -> Live {
    let seed = std::fs::read(snapshot()).unwrap();
    let server = Background::start(&seed, name);
    let kubeconfig = server.kubeconfig.display().to_string();
    Live { server, kubeconfig }
}

impl Live {
    /// `reflex replay --format json --kubeconfig .. --policy (short timeouts) --execute EVENT`.
    fn execute(&self, rel: &str) -> (i32, Vec<Value>) {
        replay_json(&[
            "--kubeconfig",
            &self.kubeconfig,
            "--policy",
            &short_policy(),
            "--execute",
            &event(rel),
        ])
    }
}

fn step<'r>(record: &'r Value, op: &str) -> &'r Value {
    record["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["op"] == op)
        .unwrap_or_else(|| panic!("no {op} step: {record}"))
}

const ROLLBACK: &str = "alertmanager/pod-crashloop-vote-recent-rollout.json";
const SICK_NODE: &str = "alertmanager/node-not-ready-sick-node.json";

#[test]
fn a_dry_run_sends_its_calls_with_dry_run_and_changes_nothing() {
    let live = live("dry-run");
    let before = live.server.fake.snapshot();

    let (code, records) = replay_json(&[
        "--kubeconfig",
        &live.kubeconfig,
        "--context",
        "fake-kube",
        &event(ROLLBACK),
    ]);

    assert_eq!(code, 0, "{records:?}");
    let r = &records[0];
    assert_eq!(r["verdict"], "planned", "{r}");
    assert_eq!(step(r, "rollback")["result"], "dry_run");
    assert_eq!(step(r, "verify_rollout")["result"], "planned");
    let patches: Vec<_> = live
        .server
        .fake
        .requests()
        .into_iter()
        .filter(|q| q.method == "PATCH")
        .collect();
    assert_eq!(patches.len(), 1);
    assert!(patches[0].is_dry_run());
    assert_eq!(live.server.fake.snapshot(), before);
}

#[test]
fn execute_rolls_the_live_deployment_back_and_verifies_it() {
    let live = live("execute-rollback");

    let (code, records) = live.execute(ROLLBACK);

    assert_eq!(code, 0, "{records:?}");
    let r = &records[0];
    assert_eq!(r["verdict"], "executed", "{r}");
    assert_eq!(step(r, "verify_rollout")["result"], "ok");
    let vote = live
        .server
        .fake
        .object("Deployment", Some("production"), "vote")
        .unwrap();
    let image = vote["spec"]["template"]["spec"]["containers"][0]["image"]
        .as_str()
        .unwrap();
    let revision_2 = live
        .server
        .fake
        .object("ReplicaSet", Some("production"), "vote-7c8d6f9b5")
        .unwrap();
    assert_eq!(
        image,
        revision_2["spec"]["template"]["spec"]["containers"][0]["image"]
    );
}

#[test]
fn a_node_replacement_drains_then_stops_at_the_instance_without_aws() {
    let live = live("replace-node");

    let (code, records) = live.execute(SICK_NODE);

    assert_eq!(code, 1, "{records:?}");
    let r = &records[0];
    assert_eq!(r["verdict"], "failed", "{r}");
    assert_eq!(step(r, "wait_pods_gone")["result"], "ok");
    let terminate = step(r, "terminate_instance");
    assert_eq!(terminate["result"], "failed");
    assert!(
        terminate["detail"]
            .as_str()
            .unwrap()
            .contains("instance termination needs the AWS adapter"),
        "{terminate}"
    );
    let node = live
        .server
        .fake
        .object("Node", None, "ip-10-0-2-41.ec2.internal")
        .unwrap();
    assert_eq!(node["spec"]["unschedulable"], true);
    assert!(
        live.server
            .fake
            .object("Pod", Some("production"), "worker-69d4c8b7f-h7s2d")
            .is_none()
    );
}

#[test]
fn a_dry_run_node_replacement_says_which_instance_it_would_terminate() {
    let live = live("replace-node-dry-run");

    let out = reflex(&[
        "replay",
        "--kubeconfig",
        &live.kubeconfig,
        &event(SICK_NODE),
    ]);

    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(
        text.contains("live cluster (kubeconfig ")
            && text.contains("every call is sent with dryRun=All"),
        "{text}"
    );
    assert!(
        text.contains("would terminate instance i-0b7d3a9f1e6c24c58"),
        "{text}"
    );
    assert!(
        live.server
            .fake
            .requests()
            .iter()
            .filter(|q| q.method != "GET")
            .all(|q| q.is_dry_run())
    );
}

#[test]
fn snapshot_and_live_cluster_are_mutually_exclusive_and_a_bad_context_is_refused() {
    let live = live("usage");

    let both = reflex(&[
        "replay",
        "--cluster",
        &snapshot(),
        "--kubeconfig",
        &live.kubeconfig,
        &event(ROLLBACK),
    ]);
    assert_eq!(both.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&both.stderr).contains("cannot be used with"));

    let unknown = reflex(&[
        "replay",
        "--kubeconfig",
        &live.kubeconfig,
        "--context",
        "prod",
        &event(ROLLBACK),
    ]);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&unknown.stderr).contains("cannot use context \"prod\""),
        "{}",
        String::from_utf8_lossy(&unknown.stderr)
    );
    assert!(unknown.stdout.is_empty());
    assert!(live.server.fake.requests().is_empty());
}

#[test]
fn an_unreachable_cluster_fails_the_record_not_the_run() {
    // A port nothing listens on: the server is gone once the fake is dropped.
    let live = live("unreachable");
    let kubeconfig = live.kubeconfig.clone();
    drop(live);

    let (code, records) = replay_json(&["--kubeconfig", &kubeconfig, &event(ROLLBACK)]);

    assert_eq!(code, 1, "{records:?}");
    let r = &records[0];
    assert_eq!(r["verdict"], "failed", "{r}");
    assert!(
        r["reason"]
            .as_str()
            .unwrap()
            .starts_with("could not read the cluster: cluster API unavailable"),
        "{r}"
    );
}
