//! Payloads in the shapes other projects' fixtures and integrations send, through the real
//! `reflex replay`: a composite alarm whose actions CloudWatch suppresses, an alert without
//! its own status, a Grafana alert without `alertname`, Go's zero time as a start, a
//! metric-math alarm, one state change delivered three ways, and an alarm notification
//! without its SNS envelope.

// Test helpers outside #[test] functions: a panic there is a failed test too.
#![allow(clippy::unwrap_used)]
mod common;

use common::{decision, event, replay_json, repo, snapshot, temp_file};
use serde_json::Value;

fn d(verdict: &str, action: &str, target: &str) -> (String, String, String) {
    (verdict.into(), action.into(), target.into())
}

fn reason(record: &Value) -> &str {
    record["reason"].as_str().unwrap()
}

fn notes(record: &Value) -> Vec<&str> {
    record["notes"]
        .as_array()
        .map(|n| n.iter().map(|v| v.as_str().unwrap()).collect())
        .unwrap_or_default()
}

fn read(rel: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(event(rel)).unwrap()).unwrap()
}

/// `reflex replay --format json ARGS --cluster SAMPLE FILES`.
fn replay(args: &[&str], files: &[&str]) -> (i32, Vec<Value>) {
    let snapshot = snapshot();
    let mut all = args.to_vec();
    all.extend(["--cluster", snapshot.as_str()]);
    all.extend_from_slice(files);
    replay_json(&all)
}

/// A fresh audit log path.
fn audit_log(name: &str) -> String {
    std::env::temp_dir()
        .join(format!("{}.jsonl", reflex_test_support::unique(name)))
        .display()
        .to_string()
}

// --- 1. Composite alarms whose actions CloudWatch suppresses ------------------------------

const SUPPRESSED: &str = "eventbridge/composite-production-health-actions-suppressed.json";

/// A policy that would roll `production/vote` back on the composite health alarm (a file
/// of its own per call: tests run side by side).
fn health_policy() -> String {
    temp_file(
        &format!("{}.yaml", reflex_test_support::unique("health-policy")),
        "rules:
  - name: production-health-rolls-back
    match:
      source: cloudwatch
      alertname: [voting-prod-production-health, CompositeDemo.Main]
    class: deployment_degraded
    action: rollback
    target: { kind: Deployment, namespace: production, name: vote }
",
    )
}

/// The suppressed composite event with its new state's suppression set to `by` (removed
/// for `None`) and no reason text.
fn suppressed_by(by: Option<&str>, file: &str) -> String {
    let mut ev = read(SUPPRESSED);
    let state = ev["detail"]["state"].as_object_mut().unwrap();
    state.remove("actionsSuppressedReason");
    match by {
        Some(by) => state.insert("actionsSuppressedBy".into(), by.into()),
        None => state.remove("actionsSuppressedBy"),
    };
    temp_file(file, &ev.to_string())
}

#[test]
fn a_composite_alarm_whose_actions_are_suppressed_is_never_acted_on() {
    let policy = health_policy();
    let (code, records) = replay(&["--policy", &policy], &[&event(SUPPRESSED)]);
    assert_eq!(code, 0);
    let r = &records[0];
    assert_eq!(decision(r), d("suppressed", "-", "-"));
    assert_eq!(
        r["rule"], "production-health-rolls-back",
        "classified, then held back"
    );
    assert_eq!(r["steps"], Value::Array(Vec::new()));
    assert_eq!(
        reason(r),
        r#"CloudWatch suppresses the actions of alarm "voting-prod-production-health" in this state change (actionsSuppressedBy Alarm, suppressor alarm "voting-prod-maintenance-window"): "Alarm voting-prod-maintenance-window is in ALARM state"; reflex does not act while the alarm's own actions are held back"#
    );
    for by in ["WaitPeriod", "ExtensionPeriod"] {
        let file = suppressed_by(Some(by), &format!("health-{by}.json"));
        let (_, records) = replay(&["--policy", &policy], &[&file]);
        assert_eq!(records[0]["verdict"], "suppressed", "{by}");
        assert!(
            reason(&records[0]).contains(&format!(
                "(actionsSuppressedBy {by}, suppressor alarm \"voting-prod-maintenance-window\"); reflex"
            )),
            "{}",
            reason(&records[0])
        );
    }
    // The same state change with its actions free is acted on.
    for (by, file) in [
        (None, "health-free.json"),
        (Some("None"), "health-none.json"),
    ] {
        let file = suppressed_by(by, file);
        let (_, records) = replay(&["--policy", &policy], &[&file]);
        assert_eq!(
            decision(&records[0]),
            d("planned", "rollback", "Deployment production/vote"),
            "{by:?}: {}",
            reason(&records[0])
        );
    }
}

#[test]
fn a_suppression_of_the_previous_state_does_not_hold_back_the_new_one() {
    // The CloudWatch documentation's composite alarm action: `previousState` was
    // suppressed by its wait period, the state it reports is not.
    let corpus = repo()
        .join("shared/core/tests/data/corpus/cloudwatch-alarm-lambda-action-composite.docs.json")
        .display()
        .to_string();
    let (code, records) = replay(&["--policy", &health_policy()], &[&corpus]);
    assert_eq!(code, 0);
    assert_eq!(
        decision(&records[0]),
        d("planned", "rollback", "Deployment production/vote"),
        "{}",
        reason(&records[0])
    );
}

#[test]
fn a_suppressed_state_change_is_not_claimed_so_the_actions_cloudwatch_performs_later_act() {
    // A wait period that runs out without the suppressor firing: CloudWatch reports the
    // state again with its actions free and performs them. Even at the same state-change
    // time (the strictest case), the suppressed delivery has claimed nothing.
    let log = audit_log("suppressed-then-free");
    let policy = health_policy();
    let wait = suppressed_by(Some("WaitPeriod"), "health-wait.json");
    let free = suppressed_by(None, "health-after-wait.json");
    let (_, first) = replay(&["--audit-log", &log, "--policy", &policy], &[&wait]);
    assert_eq!(first[0]["verdict"], "suppressed");
    assert!(first[0].get("instance").is_none(), "{}", first[0]);
    let (_, then) = replay(&["--audit-log", &log, "--policy", &policy], &[&free]);
    assert_eq!(then[0]["verdict"], "planned", "{}", reason(&then[0]));
}

// --- 2. Alerts that leave out what their group says --------------------------------------

#[test]
fn an_alert_without_its_own_status_takes_the_group_status_and_nothing_is_rejected() {
    let (code, records) = replay(
        &[],
        &[&event(
            "alertmanager/group-pod-not-ready-alert-without-status.json",
        )],
    );
    assert_eq!(code, 0, "{records:?}");
    assert_eq!(
        records.iter().map(decision).collect::<Vec<_>>(),
        [
            d(
                "planned",
                "restart_pod",
                "Pod production/redis-7f9b5c8d6-w4lzn"
            ),
            d(
                "planned",
                "restart_pod",
                "Pod production/result-84b6d9c7f-tq5wl"
            ),
        ]
    );
    assert_eq!(records[0]["alert"]["status"], "firing");
    assert_eq!(
        notes(&records[0]),
        ["alerts[0] has no status of its own; it takes the group's status (firing)"]
    );
    assert!(notes(&records[1]).is_empty());
    // A resolved group resolves it.
    let resolved = std::fs::read_to_string(event(
        "alertmanager/group-pod-not-ready-alert-without-status.json",
    ))
    .unwrap()
    .replacen(r#""status": "firing""#, r#""status": "resolved""#, 1);
    let file = temp_file("group-resolved.json", &resolved);
    let (_, records) = replay(&[], &[&file]);
    assert_eq!(records[0]["verdict"], "ignored", "{}", reason(&records[0]));
}

#[test]
fn a_grafana_alert_without_alertname_is_named_after_its_rule_and_its_group_is_kept() {
    let policy = temp_file(
        "grafana-policy.yaml",
        "rules:
  - name: vote-latency-restarts
    match:
      source: grafana
      alertname: [VoteHighLatency]
    class: deployment_degraded
    action: rollout_restart
    target: { kind: Deployment, namespace: \"{namespace}\", name: \"{service}\" }
",
    );
    let mut body = read("grafana/vote-high-latency-no-alertname.json");
    // A second alert of the group, with its name, must come through untouched.
    let mut named = body["alerts"][0].clone();
    named["labels"]["alertname"] = "VoteErrors".into();
    named["fingerprint"] = "7a1c3e5f9b2d4068".into();
    body["alerts"].as_array_mut().unwrap().push(named);
    let file = temp_file("grafana-two.json", &body.to_string());
    let (code, records) = replay(&["--policy", &policy], &[&file]);
    assert_eq!(code, 0, "no alert of the group is rejected: {records:?}");
    let r = &records[0];
    assert_eq!(r["source"], "grafana");
    assert_eq!(r["alert"]["name"], "VoteHighLatency");
    assert_eq!(
        decision(r),
        d("planned", "rollout_restart", "Deployment production/vote")
    );
    assert_eq!(
        notes(r),
        [
            r#"the Grafana alert carries no alertname label; named "VoteHighLatency" after the group's commonLabels.alertname"#
        ]
    );
    assert_eq!(records[1]["alert"]["name"], "VoteErrors");
    assert_eq!(records[1]["verdict"], "no_match");
}

// --- 3. Go's zero time ------------------------------------------------------------------

#[test]
fn a_start_of_go_zero_time_is_unknown_not_year_one() {
    let (code, records) = replay(
        &[],
        &[&event("alertmanager/pod-crashloop-vote-start-unknown.json")],
    );
    assert_eq!(code, 0);
    let r = &records[0];
    // Taken as year 1, the pod would be "created after the alert started": ignored as gone.
    assert_eq!(
        decision(r),
        d(
            "planned",
            "restart_pod",
            "Pod production/vote-6f7c9b8d5-x2k4q"
        ),
        "{}",
        reason(r)
    );
    assert!(
        reason(r).starts_with("the alert does not say when it started"),
        "{}",
        reason(r)
    );
    assert!(r["alert"].get("starts_at").is_none(), "{r}");
    assert!(r["instance"].as_str().unwrap().ends_with(":unknown"), "{r}");
    let notes = notes(r);
    assert!(notes[0].contains("Go's zero time"), "{notes:?}");
    assert!(
        notes[1].contains(
            "could not check that Pod production/vote-6f7c9b8d5-x2k4q is the pod that alerted"
        ),
        "{notes:?}"
    );
    // Evaluated at the time given, not in year 1.
    let (_, at) = replay(
        &["--now", "2026-11-20T09:31:00Z"],
        &[&event("alertmanager/pod-crashloop-vote-start-unknown.json")],
    );
    assert_eq!(at[0]["time"], "2026-11-20T09:31:00.000Z");
}

// --- 4. Metric-math alarms --------------------------------------------------------------

const RATIO: &str = "sns-cloudwatch/pod-restart-ratio-vote-metric-math.json";

#[test]
fn a_metric_math_alarm_is_not_matched_by_a_rule_for_one_of_its_metrics() {
    let (code, records) = replay(&[], &[&event(RATIO)]);
    assert_eq!(code, 0);
    let r = &records[0];
    assert_eq!(decision(r), d("no_match", "-", "-"), "{}", reason(r));
    let labels = &r["alert"]["labels"];
    assert!(labels.get("metric_name").is_none(), "{labels}");
    assert!(labels.get("metric_namespace").is_none(), "{labels}");
    assert_eq!(labels["metric_expression"], "100*m1/m2");
    assert_eq!(labels["query_e1"], "100*m1/m2");
    assert_eq!(
        labels["query_m1"],
        "ContainerInsights pod_number_of_container_restarts ClusterName=voting-prod Namespace=production PodName=vote"
    );
    assert_eq!(
        labels["query_m2"],
        "ContainerInsights pod_number_of_running_containers ClusterName=voting-prod Namespace=production PodName=vote"
    );
    assert_eq!(labels["PodName"], "vote");
    assert!(notes(r)[0].starts_with("metric-math alarm"), "{r}");
}

#[test]
fn a_rule_can_name_a_metric_math_alarm_by_its_expression() {
    let policy = temp_file(
        "ratio-policy.yaml",
        "rules:
  - name: restart-ratio-restarts-rollout
    match:
      source: cloudwatch
      matchers: ['metric_expression=\"100*m1/m2\"', 'query_m1=~\"ContainerInsights pod_number_of_container_restarts .*\"']
    class: pod_crash_loop
    action: rollout_restart
    target: { kind: Deployment, namespace: \"{Namespace}\", name: \"{PodName}\" }
",
    );
    let (_, records) = replay(&["--policy", &policy], &[&event(RATIO)]);
    assert_eq!(
        decision(&records[0]),
        d("planned", "rollout_restart", "Deployment production/vote"),
        "{}",
        reason(&records[0])
    );
}

// --- 5. One state change, three deliveries ----------------------------------------------

/// The SNS notification of the vote pod-restarts state change as a notification from
/// before 2019 spells it: no `AlarmArn` (so no region code either).
fn sns_without_arn() -> String {
    let mut event = read("sns-cloudwatch/pod-restarts-vote-recent-rollout.json");
    let sns = &mut event["Records"][0]["Sns"];
    let mut message: Value = serde_json::from_str(sns["Message"].as_str().unwrap()).unwrap();
    message.as_object_mut().unwrap().remove("AlarmArn");
    sns["Message"] = message.to_string().into();
    temp_file("pod-restarts-no-arn.json", &event.to_string())
}

#[test]
fn one_state_change_delivered_three_ways_has_one_instance_key_and_acts_once() {
    let deliveries = [
        sns_without_arn(),
        event("alarm-action/pod-restarts-vote-recent-rollout.json"),
        event("eventbridge/pod-restarts-vote-recent-rollout.json"),
    ];
    // Run by run, through one audit log.
    let log = audit_log("one-state-change");
    let mut records = Vec::new();
    for file in &deliveries {
        let (code, mut got) = replay(&["--audit-log", &log], &[file]);
        assert_eq!((code, got.len()), (0, 1));
        records.push(got.remove(0));
    }
    let key =
        "cloudwatch:111122223333:voting-prod-production-vote-pod-restarts@2026-11-20T09:30:00.512Z";
    let shapes: Vec<&str> = records
        .iter()
        .map(|r| r["delivery"]["shape"].as_str().unwrap())
        .collect();
    assert_eq!(shapes, ["sns_lambda", "alarm_action", "event_bridge"]);
    for r in &records {
        assert_eq!(r["instance"], key, "{r}");
    }
    assert_eq!(
        decision(&records[0]),
        d("planned", "rollback", "Deployment production/vote")
    );
    let first = records[0]["id"].as_str().unwrap();
    for r in &records[1..] {
        assert_eq!(r["verdict"], "suppressed");
        assert_eq!(
            reason(r),
            format!("duplicate delivery: this alert instance was already handled (record {first})")
        );
    }
    // In one run and another order: still once.
    let (_, together) = replay(
        &["--audit-log", &audit_log("one-state-change-together")],
        &[&deliveries[2], &deliveries[0], &deliveries[1]],
    );
    let verdicts: Vec<&str> = together
        .iter()
        .map(|r| r["verdict"].as_str().unwrap())
        .collect();
    assert_eq!(verdicts, ["planned", "suppressed", "suppressed"]);
}

// --- 6. An alarm notification without its SNS envelope ----------------------------------

#[test]
fn an_alarm_notification_without_its_sns_envelope_is_rejected_clearly() {
    let (code, records) = replay_json(&[&event(
        "invalid/cloudwatch-alarm-notification-without-sns-envelope.json",
    )]);
    assert_eq!(code, 2);
    let r = &records[0];
    assert_eq!(r["verdict"], "rejected");
    assert!(
        reason(r).starts_with(
            "looked like a CloudWatch alarm notification without the SNS notification that carries it"
        ),
        "{}",
        reason(r)
    );
    assert!(reason(r).contains("replay the whole Lambda SNS event or SNS HTTP body"));
    assert!(r["delivery"].get("shape").is_none(), "{r}");
}

#[test]
fn every_decoded_alert_of_the_catalog_names_its_delivery_shape() {
    fn files(dir: &std::path::Path, out: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if path.is_dir() {
                if name != "cluster" {
                    files(&path, out);
                }
            } else if name.ends_with(".json") {
                out.push(path.display().to_string());
            }
        }
    }
    let mut all = Vec::new();
    files(&repo().join("events"), &mut all);
    all.sort();
    let mut args = vec!["--cluster".to_owned(), snapshot()];
    args.extend(all);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (_, records) = replay_json(&args);
    assert!(records.len() > 60, "{}", records.len());
    const SHAPES: &[&str] = &[
        "sns_lambda",
        "sns_http",
        "alarm_action",
        "event_bridge",
        "alertmanager_webhook",
        "grafana_webhook",
    ];
    for r in records.iter().filter(|r| r["verdict"] != "rejected") {
        let shape = r["delivery"]["shape"].as_str().unwrap_or("(none)");
        assert!(SHAPES.contains(&shape), "{shape}: {r}");
    }
}
