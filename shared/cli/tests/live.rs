//! `reflex replay --kubeconfig`: the real binary against the fake API server over HTTP,
//! seeded with events/cluster/voting-app.json, fed the sample events; node replacements
//! also against moto's Auto Scaling, as the `remediate` function does them.

#![allow(clippy::unwrap_used)] // Tests: a failed unwrap is a failed test with its message.

mod common;

use common::{
    event, fleet_env, pairs, reflex, replay_json, replay_json_env, short_policy, snapshot,
};
use reflex_test_support::asg;
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
fn without_aws_settings_an_executed_node_replacement_is_refused_before_the_cordon() {
    let live = live("replace-node");

    let (code, records) = live.execute(SICK_NODE);

    assert_eq!(code, 1, "{records:?}");
    let r = &records[0];
    assert_eq!(r["verdict"], "failed", "{r}");
    let terminate = step(r, "terminate_instance");
    assert_eq!(terminate["result"], "skipped", "{terminate}");
    let detail = terminate["detail"].as_str().unwrap();
    assert!(
        detail.contains("needs AWS settings: set REFLEX_CLUSTER_NAME")
            && detail.contains("nothing was changed"),
        "{terminate}"
    );
    assert_eq!(step(r, "cordon")["result"], "skipped", "{r}");
    assert_untouched(&live);
}

/// The sick node's pod is still there, the node schedulable, and nothing but reads (and
/// dry runs) reached the API server.
fn assert_untouched(live: &Live) {
    let node = live
        .server
        .fake
        .object("Node", None, SICK_NODE_NAME)
        .unwrap();
    assert_ne!(node["spec"]["unschedulable"], true, "{node}");
    assert!(
        live.server
            .fake
            .object("Pod", Some("production"), SICK_NODE_POD)
            .is_some()
    );
    assert!(
        live.server
            .fake
            .requests()
            .iter()
            .all(|q| q.method == "GET" || q.is_dry_run())
    );
}

const SICK_NODE_NAME: &str = "ip-10-0-2-41.ec2.internal";
const SICK_NODE_POD: &str = "worker-69d4c8b7f-h7s2d";
/// The instance behind the sick node in the sample snapshot.
const SICK_INSTANCE: &str = "i-0b7d3a9f1e6c24c58";

/// The sample cluster with the sick node backed by a moto instance of a new group tagged
/// `tag`, and the environment that points the binary at moto as cluster `voting-prod`.
struct WithAws {
    live: Live,
    group: String,
    instance: String,
    env: Vec<(&'static str, String)>,
}

fn with_aws(name: &str, tag_cluster: &str) -> WithAws {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let tag = (format!("kubernetes.io/cluster/{tag_cluster}"), "owned");
    let (group, ids) = runtime.block_on(asg::group(Some(tag)));
    let instance = ids[0].clone();
    let seed = std::fs::read_to_string(snapshot())
        .unwrap()
        .replace(SICK_INSTANCE, &instance);
    let server = Background::start(seed.as_bytes(), name);
    let kubeconfig = server.kubeconfig.display().to_string();
    let env = fleet_env();
    WithAws {
        live: Live { server, kubeconfig },
        group,
        instance,
        env,
    }
}

impl WithAws {
    fn replay(&self, extra: &[&str]) -> (i32, Vec<Value>) {
        let policy = short_policy();
        let mut args = vec!["--kubeconfig", &self.live.kubeconfig, "--policy", &policy];
        args.extend_from_slice(extra);
        let event = event(SICK_NODE);
        args.push(&event);
        replay_json_env(&args, &pairs(&self.env))
    }

    fn group_state(&self) -> (Vec<String>, i32) {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        runtime.block_on(asg::state(&self.group))
    }
}

#[test]
fn with_aws_settings_the_node_is_drained_and_its_instance_terminated_in_its_group() {
    let aws = with_aws("replace-node-aws", "voting-prod");

    let (code, records) = aws.replay(&["--execute"]);

    assert_eq!(code, 0, "{records:?}");
    let r = &records[0];
    assert_eq!(r["verdict"], "executed", "{r}");
    let ops: Vec<&str> = r["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["op"].as_str().unwrap())
        .collect();
    let at = |op: &str| ops.iter().position(|o| *o == op).unwrap();
    assert!(
        at("cordon") < at("evict") && at("wait_pods_gone") < at("terminate_instance"),
        "{ops:?}"
    );
    let terminate = step(r, "terminate_instance");
    assert_eq!(terminate["result"], "ok", "{terminate}");
    let detail = terminate["detail"].as_str().unwrap();
    assert!(
        detail.contains(&format!(
            "terminated instance {} in Auto Scaling group {}",
            aws.instance, aws.group
        )),
        "{detail}"
    );
    let (in_service, desired) = aws.group_state();
    assert!(!in_service.contains(&aws.instance), "{in_service:?}");
    assert_eq!(desired, 2, "desired capacity kept");
    let fake = &aws.live.server.fake;
    let node = fake.object("Node", None, SICK_NODE_NAME).unwrap();
    assert_eq!(node["spec"]["unschedulable"], true);
    assert!(
        fake.object("Pod", Some("production"), SICK_NODE_POD)
            .is_none()
    );
}

#[test]
fn an_instance_outside_the_clusters_groups_is_refused_before_the_cordon() {
    let aws = with_aws("replace-node-foreign", "someone-else");

    let (code, records) = aws.replay(&["--execute"]);

    assert_eq!(code, 1, "{records:?}");
    let r = &records[0];
    assert_eq!(r["verdict"], "failed", "{r}");
    let detail = step(r, "terminate_instance")["detail"].as_str().unwrap();
    assert!(
        detail.contains("is not tagged kubernetes.io/cluster/voting-prod=owned")
            && detail.contains("nothing was changed"),
        "{detail}"
    );
    assert_untouched(&aws.live);
    assert!(aws.group_state().0.contains(&aws.instance));
}

#[test]
fn a_dry_run_with_aws_settings_names_the_group_and_terminates_nothing() {
    let aws = with_aws("replace-node-aws-dry-run", "voting-prod");

    let (code, records) = aws.replay(&[]);

    assert_eq!(code, 0, "{records:?}");
    let detail = step(&records[0], "terminate_instance")["detail"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        detail.contains(&format!(
            "would terminate instance {} in Auto Scaling group {}",
            aws.instance, aws.group
        )),
        "{detail}"
    );
    assert_untouched(&aws.live);
    assert!(aws.group_state().0.contains(&aws.instance));
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
