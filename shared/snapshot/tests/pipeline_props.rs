//! Property tests of the whole pipeline against the sample snapshot: whatever the labels
//! of an alert say, reflex never panics, always writes at least one record, and never
//! plans an action on something that is not a valid Kubernetes name.

// Test helpers outside #[test] functions: a panic there is a failed test too.
#![allow(clippy::unwrap_used)]

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use proptest::prelude::*;
use reflex_core::ledger::MemoryLedger;
use reflex_core::names::{self, NameRule};
use reflex_core::pipeline::{Adapters, Clock, Ids, Pipeline};
use reflex_core::policy::Policy;
use reflex_core::vocab::verdict::Mode;
use reflex_snapshot::Snapshot;
use serde_json::json;

/// The snapshot adapters answer with ready futures, so one poll completes the run.
fn now_or_never<F: Future>(future: F) -> F::Output {
    match pin!(future).poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("the snapshot pipeline never waits"),
    }
}

fn snapshot() -> Snapshot {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../events/cluster/voting-app.json"
    );
    Snapshot::from_json(&std::fs::read(path).unwrap()).unwrap()
}

/// Label values that are sometimes real names, sometimes hostile.
fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("production".to_owned()),
        Just("kube-system".to_owned()),
        Just("worker-69d4c8b7f-h7s2d".to_owned()),
        Just("vote".to_owned()),
        Just("ip-10-0-2-41.ec2.internal".to_owned()),
        Just("i-0b7d3a9f1e6c24c58".to_owned()),
        "[a-z0-9.-]{0,12}",
        "[ -~]{0,20}",
        "\\PC{0,8}",
        Just("../../api/v1/nodes".to_owned()),
        Just("vote?dryRun=false".to_owned()),
        Just("a".repeat(300)),
    ]
}

fn alertname() -> impl Strategy<Value = &'static str> {
    prop_oneof![
        Just("KubePodCrashLooping"),
        Just("KubePodNotReady"),
        Just("KubeDeploymentReplicasMismatch"),
        Just("KubeNodeNotReady"),
        Just("SomethingElse"),
    ]
}

fn webhook(alerts: &[(&str, String, String, String, String)]) -> Vec<u8> {
    let alerts: Vec<_> = alerts
        .iter()
        .enumerate()
        .map(|(i, (name, ns, pod, deployment, node))| {
            json!({
                "status": "firing",
                "labels": {"alertname": name, "namespace": ns, "pod": pod, "deployment": deployment, "node": node},
                "annotations": {},
                "startsAt": "2026-11-20T09:30:00Z",
                "endsAt": "0001-01-01T00:00:00Z",
                "fingerprint": format!("{i:016x}"),
            })
        })
        .collect();
    serde_json::to_vec(&json!({"version": "4", "status": "firing", "receiver": "reflex", "groupKey": "{}", "alerts": alerts})).unwrap()
}

fn cloudwatch(instance: &str, namespace: &str, pod_name: &str) -> Vec<u8> {
    let message = json!({
        "AlarmName": "x", "NewStateValue": "ALARM", "StateChangeTime": "2026-11-20T09:30:00.000+0000",
        "AlarmArn": "arn:aws:cloudwatch:us-east-1:111122223333:alarm:x",
        "Trigger": {"MetricName": "StatusCheckFailed", "Namespace": "AWS/EC2",
                    "Dimensions": [{"name": "InstanceId", "value": instance}, {"name": "Namespace", "value": namespace}, {"name": "PodName", "value": pod_name}]}
    });
    serde_json::to_vec(&json!({"Records": [{"EventSource": "aws:sns", "Sns": {"Type": "Notification", "MessageId": "m", "Message": message.to_string()}}]})).unwrap()
}

fn check(bytes: &[u8], execute: bool) {
    static POLICY: std::sync::OnceLock<Policy> = std::sync::OnceLock::new();
    let policy = POLICY.get_or_init(Policy::default_policy);
    let cluster = snapshot();
    let ledger = MemoryLedger::new();
    let mode = if execute { Mode::Enforce } else { Mode::DryRun };
    let adapters = Adapters {
        cluster: Some(&cluster),
        live: execute.then_some((&cluster, &cluster)),
        ledger: &ledger,
        notifier: &(),
        alarms: &(),
        traffic: &(),
    };
    let pipeline = Pipeline { policy, mode };
    let handled = now_or_never(pipeline.process(
        bytes,
        &adapters,
        Clock::AlertTime {
            fallback: chrono::DateTime::UNIX_EPOCH,
        },
        &mut Ids::new("prop"),
    ));
    assert!(!handled.is_empty(), "at least one record");
    for h in handled {
        let r = &h.record;
        assert!(!r.reason.is_empty(), "every record says why: {r:?}");
        if let Some(action) = &r.action {
            let rule = if action.target.kind == reflex_core::vocab::target::TargetKind::Node
                && action.target.name.starts_with("i-")
            {
                names::validate_instance_id(&action.target.name)
            } else {
                names::validate(&action.target.name, NameRule::Subdomain)
            };
            assert!(rule.is_ok(), "action on an invalid name: {r:?}");
            if let Some(ns) = &action.target.namespace {
                assert!(
                    names::validate(ns, NameRule::Label).is_ok(),
                    "action in an invalid namespace: {r:?}"
                );
            }
        } else {
            assert!(r.steps.is_empty(), "steps without an action: {r:?}");
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn alertmanager_labels_never_lead_to_an_action_on_an_invalid_name(
        alerts in prop::collection::vec((alertname(), value(), value(), value(), value()), 1..6),
        execute in any::<bool>(),
    ) {
        check(&webhook(&alerts), execute);
    }

    #[test]
    fn cloudwatch_dimensions_never_lead_to_an_action_on_an_invalid_name(
        instance in value(), namespace in value(), pod_name in value(), execute in any::<bool>(),
    ) {
        check(&cloudwatch(&instance, &namespace, &pod_name), execute);
    }
}
