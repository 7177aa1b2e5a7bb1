//! reflex acts on the alert's picture of the world, not on a later one: a change made after
//! the alert started is never treated as its cause, and a pod that is not the one that
//! alerted is never deleted. Each test replays a sample event through the real binary
//! against the sample snapshot, edited to tell one story.

// Test helpers outside #[test] functions: a panic there is a failed test too.
#![allow(clippy::unwrap_used)]
mod common;

use common::{decision, edited_snapshot, event, replay_json, temp_file};
use serde_json::Value;

fn d(verdict: &str, action: &str, target: &str) -> (String, String, String) {
    (verdict.into(), action.into(), target.into())
}

fn reason(record: &Value) -> &str {
    record["reason"].as_str().unwrap()
}

/// Replays `event_file` against `cluster` (dry run) and returns its one record.
fn replay(cluster: &str, event_file: &str) -> Value {
    let (code, records) = replay_json(&["--cluster", cluster, event_file]);
    assert_eq!(code, 0, "{records:?}");
    assert_eq!(records.len(), 1, "{records:?}");
    records.into_iter().next().unwrap()
}

/// A `KubePodCrashLooping` webhook for `pod` of production, started at 09:30.
fn crashloop_of(pod: &str) -> String {
    temp_file(
        &format!("crashloop-{pod}.json"),
        &format!(
            r#"{{"version":"4","status":"firing","receiver":"reflex","groupKey":"{{}}","alerts":[{{"status":"firing","labels":{{"alertname":"KubePodCrashLooping","namespace":"production","pod":"{pod}"}},"annotations":{{}},"startsAt":"2026-11-20T09:30:00Z","endsAt":"0001-01-01T00:00:00Z","fingerprint":"0badc0de{pod:.8}"}}]}}"#
        ),
    )
}

#[test]
fn a_deployment_rolled_forward_after_the_alert_started_is_not_rolled_back() {
    // Revision 3 of production/vote appears at 09:40, after the replicas alert started at
    // 09:30:00.117: it is the fix being rolled out, not the cause of the alert.
    let cluster = edited_snapshot(
        "rolled-forward.json",
        "ReplicaSet",
        "vote-6f7c9b8d5",
        |rs| {
            rs["metadata"]["creationTimestamp"] = "2026-11-20T09:40:00Z".into();
        },
    );
    let r = replay(
        &cluster,
        &event("alertmanager/deployment-replicas-mismatch-vote-recent-rollout.json"),
    );
    assert_eq!(
        decision(&r),
        d("planned", "notify", "Deployment production/vote")
    );
    assert!(
        reason(&r).contains("created 9 min after the alert started, so it is not the cause"),
        "{}",
        reason(&r)
    );
    assert!(!reason(&r).contains("roll "), "{}", reason(&r));
}

#[test]
fn a_crashloop_of_a_pod_on_an_older_revision_does_not_roll_back_the_newest() {
    // vote-7c8d6f9b5-k2x9w runs revision 2; the fresh revision 3 is not what crashes it.
    let r = replay(&common::snapshot(), &crashloop_of("vote-7c8d6f9b5-k2x9w"));
    assert_eq!(
        decision(&r),
        d(
            "planned",
            "restart_pod",
            "Pod production/vote-7c8d6f9b5-k2x9w"
        )
    );
    assert!(
        reason(&r).contains(
            "belongs to ReplicaSet vote-7c8d6f9b5 (revision 2), not to the newest revision 3"
        ),
        "{}",
        reason(&r)
    );
}

#[test]
fn a_crashloop_of_a_pod_on_the_newest_revision_still_rolls_back() {
    let r = replay(&common::snapshot(), &crashloop_of("vote-6f7c9b8d5-x2k4q"));
    assert_eq!(
        decision(&r),
        d("planned", "rollback", "Deployment production/vote")
    );
}

#[test]
fn a_pod_recreated_under_the_same_name_since_the_alert_is_not_deleted() {
    // The pod named by the alert was replaced at 09:35 (a StatefulSet recreates its pods
    // under the same name): the pod there now is not the one that alerted.
    let cluster = edited_snapshot("recreated.json", "Pod", "worker-69d4c8b7f-h7s2d", |pod| {
        pod["metadata"]["creationTimestamp"] = "2026-11-20T09:35:00Z".into();
        pod["metadata"]["uid"] = "0f0f0f0f-0000-4000-8000-000000000000".into();
    });
    let r = replay(&cluster, &event("alertmanager/pod-crashloop-worker.json"));
    assert_eq!(r["verdict"], "ignored", "{r}");
    assert!(
        reason(&r).contains("was created at 2026-11-20T09:35:00.000Z, after the alert started"),
        "{}",
        reason(&r)
    );
    assert!(r["steps"].as_array().unwrap().is_empty(), "{r}");
}

#[test]
fn a_paused_deployment_is_not_rollout_restarted() {
    // kubectl refuses `rollout restart` of a paused Deployment; reflex used to patch it and
    // then wait for a rollout that could not happen.
    let cluster = edited_snapshot("worker-paused.json", "Deployment", "worker", |deploy| {
        deploy["spec"]["paused"] = true.into();
    });
    let r = replay(&cluster, &event("sns-cloudwatch/pod-restarts-worker.json"));
    assert_eq!(
        decision(&r),
        d(
            "suppressed",
            "rollout_restart",
            "Deployment production/worker"
        )
    );
    assert!(
        reason(&r).contains("but Deployment production/worker is paused: rollout restart refused"),
        "{}",
        reason(&r)
    );
}
