//! Notifications with evidence, through the handler: the live kube adapter on the fake API
//! server (pod logs and Events), SNS on moto, the message read back from a subscribed SQS
//! queue. The message carries the previous instance's logs, the Events and the last
//! termination, stays under the cap with a huge log, and never a credential-looking line.

use reflex_aws::SnsNotifier;
use reflex_aws::notify::MESSAGE_MAX;
use reflex_core::duration::Span;
use reflex_core::ledger::MemoryLedger;
use reflex_core::pipeline::{Adapters, Pipeline};
use reflex_core::policy::Policy;
use reflex_core::vocab::verdict::{Mode, Verdict};
use reflex_fake_kube::{FakeKube, Route};
use std::time::Duration;

use reflex_remediate::{Deps, EvidenceNotifier, GATHER_TIMEOUT, handle};
use reflex_test_support::aws::moto_aws;
use reflex_test_support::queue::{Delivery, SubscribedQueue};
use reflex_test_support::unique;
use serde_json::json;

use crate::{event, kube_on, kube_waiting, lambda_event, now, voting_app};

const POD: &str = "worker-69d4c8b7f-h7s2d";

/// The fake cluster with the worker's Events.
async fn cluster() -> FakeKube {
    let fake = FakeKube::start(&event("cluster/voting-app.json"))
        .await
        .unwrap();
    for (i, (reason, message)) in [
        ("Pulled", "Container image already present on machine"),
        ("BackOff", "Back-off restarting failed container worker"),
    ]
    .iter()
    .enumerate()
    {
        fake.put_object(json!({
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"name": format!("{POD}.{i}"), "namespace": "production"},
            "involvedObject": {
                "kind": "Pod", "namespace": "production", "name": POD,
                "uid": "dbc5cbef-ef0f-4664-b4f0-0c034e4c4468"
            },
            "reason": reason,
            "message": message,
            "type": if i == 0 { "Normal" } else { "Warning" },
            "count": 14,
            "lastTimestamp": format!("2026-11-20T09:2{i}:00Z"),
        }))
        .unwrap();
    }
    // Another pod's Event, which must not show.
    fake.put_object(json!({
        "apiVersion": "v1", "kind": "Event",
        "metadata": {"name": "vote.1", "namespace": "production"},
        "involvedObject": {"kind": "Pod", "namespace": "production", "name": "vote-x", "uid": "other"},
        "reason": "Unrelated", "message": "someone else's", "type": "Normal"
    }))
    .unwrap();
    fake
}

/// Restarts the crash-looping worker in enforce mode and returns the text message that
/// reached the topic.
async fn restart_and_read(fake: &FakeKube) -> String {
    act_and_read(fake, "sns-alertmanager/pod-crashloop-worker.json").await
}

/// Handles catalog event `file` in enforce mode and returns the text message that reached
/// the topic.
async fn act_and_read(fake: &FakeKube, file: &str) -> String {
    act_on_and_read(&kube_on(fake), file).await
}

/// [`act_and_read`] through the live adapter `kube`.
async fn act_on_and_read(kube: &reflex_kube::KubeCluster, file: &str) -> String {
    let aws = moto_aws().await;
    let sns_client = aws_sdk_sns::Client::new(aws.sdk_config());
    let topic = sns_client
        .create_topic()
        .name(unique("notify"))
        .send()
        .await
        .unwrap()
        .topic_arn
        .unwrap();
    let queue = SubscribedQueue::subscribe(aws.sdk_config(), &topic, "notify", Delivery::Raw).await;
    let sns = SnsNotifier::with_client(sns_client, &topic, "reflex-audit");
    let notifier = EvidenceNotifier::new(kube, &sns);
    let mut policy = Policy::default_policy();
    policy.guardrails.timeouts.verify = Span::from_secs(2);
    let (ledger, fleet) = (MemoryLedger::new(), voting_app());
    let deps = Deps {
        pipeline: Pipeline {
            policy: &policy,
            mode: Mode::Enforce,
        },
        adapters: Adapters {
            cluster: Some(kube),
            live: Some((kube, &fleet)),
            ledger: &ledger,
            notifier: &notifier,
            alarms: &(),
            traffic: &(),
        },
        admission: &(),
        now: Some(now()),
        emf_metrics: false,
        links: None,
    };
    let payload = event(file);
    let summary = handle(lambda_event(&payload, &unique("req")), &deps)
        .await
        .unwrap();
    assert_eq!(summary.records[0].verdict, Verdict::Executed);
    let messages = queue.drain().await;
    assert_eq!(messages.len(), 1, "{messages:?}");
    messages.into_iter().next().unwrap()
}

#[tokio::test]
async fn a_restart_notification_carries_termination_logs_and_events_without_credentials() {
    let fake = cluster().await;
    let mut log: Vec<String> = (0..70).map(|i| format!("worker step {i}")).collect();
    log.push("connecting to redis with password=hunter2".into());
    log.push("aws key AKIAIOSFODNN7EXAMPLE loaded".into());
    log.push("panic: redis: connection refused".into());
    fake.set_log("production", POD, "worker", true, &log.join("\n"));
    fake.set_log("production", POD, "worker", false, "the current instance");

    let text = restart_and_read(&fake).await;
    for needle in [
        "Evidence:",
        &format!("Pod production/{POD}"),
        "container worker: 14 restart(s); last terminated: Error (exit code 1) at 2026-11-20T09:23:53",
        "Last 50 log line(s) of the previous instance:",
        "panic: redis: connection refused",
        "worker step 69",
        "[line redacted: it looks like a credential]",
        &format!("Events of Pod production/{POD}"),
        "Warning BackOff (x14): Back-off restarting failed container worker",
        "Normal Pulled",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in:\n{text}");
    }
    for absent in [
        "hunter2",
        "AKIAIOSFODNN7EXAMPLE",
        "worker step 22",
        "someone else's",
        "the current instance",
    ] {
        assert!(!text.contains(absent), "{absent:?} in:\n{text}");
    }
    // The reads were the bounded ones.
    let log_reads: Vec<_> = fake
        .requests()
        .into_iter()
        .filter(|r| r.path.ends_with("/log"))
        .collect();
    assert_eq!(log_reads.len(), 1);
    let query = log_reads[0].query.clone().unwrap_or_default();
    for param in [
        "container=worker",
        "previous=true",
        "tailLines=50",
        "limitBytes=",
    ] {
        assert!(query.contains(param), "{query}");
    }
    fake.shutdown().await;
}

#[tokio::test]
async fn a_huge_log_keeps_the_message_under_the_cap() {
    let fake = cluster().await;
    let line = "x".repeat(4000);
    let log: Vec<&str> = std::iter::repeat_n(line.as_str(), 5000).collect();
    fake.set_log("production", POD, "worker", true, &log.join("\n"));

    let text = restart_and_read(&fake).await;
    assert!(text.len() <= MESSAGE_MAX, "{} bytes", text.len());
    assert!(
        text.contains("last terminated: Error (exit code 1)"),
        "{text}"
    );
    assert!(
        text.contains("Back-off restarting failed container worker"),
        "{text}"
    );
    fake.shutdown().await;
}

#[tokio::test]
async fn missing_logs_are_said_and_the_action_still_goes_ahead() {
    let fake = cluster().await;
    // No log set: the API answers 400, as for a container that never ran before.
    let text = restart_and_read(&fake).await;
    assert!(
        text.contains("logs unavailable: container worker of pod production/"),
        "{text}"
    );
    fake.shutdown().await;
}

#[tokio::test]
async fn evidence_too_slow_to_read_is_said_and_the_action_still_goes_ahead() {
    let fake = cluster().await;
    fake.set_log(
        "production",
        POD,
        "worker",
        true,
        "panic: redis: connection refused",
    );
    // Each read answers within its own bound (EVIDENCE_CALL_TIMEOUT, 3 s); the log and the
    // Events together take longer than the gathering's.
    let slow = Duration::from_millis(2800);
    assert!(slow * 2 > GATHER_TIMEOUT);
    fake.faults().delay(Route::regex("/log$").unwrap(), slow);
    fake.faults().delay(Route::regex("/events$").unwrap(), slow);
    let patient = kube_waiting(&fake, slow * 2);

    let text = act_on_and_read(&patient, "sns-alertmanager/pod-crashloop-worker.json").await;
    assert!(
        text.contains(&format!(
            "evidence unavailable: not read within {}s",
            GATHER_TIMEOUT.as_secs()
        )),
        "{text}"
    );
    assert!(!text.contains("panic: redis"), "{text}");
    // The restart itself was not held back by the slow read.
    let deletes = fake
        .requests()
        .into_iter()
        .filter(|r| r.method == "DELETE" && r.path.ends_with(POD))
        .count();
    assert_eq!(deletes, 1);
    fake.shutdown().await;
}

/// Sets `env` on the first container of the pod template of `kind` `name`.
fn set_env(fake: &FakeKube, kind: &str, name: &str, env: serde_json::Value) {
    let mut object = fake.object(kind, Some("production"), name).unwrap();
    object["spec"]["template"]["spec"]["containers"][0]["env"] = env;
    fake.put_object(object).unwrap();
}

#[tokio::test]
async fn a_rollback_notification_names_images_and_env_names_never_values() {
    let fake = cluster().await;
    let current = json!([
        {"name": "DB_PASSWORD", "value": "hunter2-in-revision-3"},
        {"name": "FEATURE_X", "value": "enabled-in-revision-3"}
    ]);
    set_env(&fake, "Deployment", "vote", current.clone());
    set_env(&fake, "ReplicaSet", "vote-6f7c9b8d5", current);
    set_env(
        &fake,
        "ReplicaSet",
        "vote-7c8d6f9b5",
        json!([{"name": "DB_PASSWORD", "value": "swordfish-in-revision-2"}]),
    );

    let text = act_and_read(
        &fake,
        "sns-alertmanager/pod-crashloop-vote-recent-rollout.json",
    )
    .await;
    for needle in [
        "Rollback from revision 3 to revision 2",
        "container vote: image 111122223333.dkr.ecr.us-east-1.amazonaws.com/voting-app/vote:1.4.0 -> 111122223333.dkr.ecr.us-east-1.amazonaws.com/voting-app/vote:1.3.1",
        "env removed: FEATURE_X",
        "env changed (values not shown): DB_PASSWORD",
        "Events of Deployment production/vote",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in:\n{text}");
    }
    for value in [
        "hunter2-in-revision-3",
        "enabled-in-revision-3",
        "swordfish-in-revision-2",
    ] {
        assert!(!text.contains(value), "{value:?} in:\n{text}");
    }
    fake.shutdown().await;
}

#[tokio::test]
async fn a_node_replacement_notification_shows_its_conditions_and_the_pods_it_held() {
    let fake = cluster().await;
    let text = act_and_read(&fake, "sns-alertmanager/node-not-ready-sick-node.json").await;
    for needle in [
        "Node ip-10-0-2-41.ec2.internal",
        "- Ready=Unknown (NodeStatusUnknown)",
        "- MemoryPressure=Unknown (NodeStatusUnknown)",
        "Pods on the node (4):",
        "vote-6f7c9b8d5-x2k4q",
        "worker-69d4c8b7f-h7s2d",
        "aws-node-x9c2k",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in:\n{text}");
    }
    fake.shutdown().await;
}
