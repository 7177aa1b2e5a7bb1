//! `reflex replay` end to end through the real binary: every default-policy row, every
//! guardrail refusal, every verdict and every exit code.

// Test helpers outside #[test] functions: a panic there is a failed test too.
#![allow(clippy::unwrap_used)]
mod common;

use common::{decision, edited_snapshot, event, one, reflex, replay_json, snapshot, temp_file};
use serde_json::Value;

fn d(verdict: &str, action: &str, target: &str) -> (String, String, String) {
    (verdict.into(), action.into(), target.into())
}

fn steps(record: &Value) -> Vec<(String, String)> {
    record["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["op"].as_str().unwrap().to_owned(),
                s["call"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn reason(record: &Value) -> &str {
    record["reason"].as_str().unwrap()
}

// --- Default policy, row by row -------------------------------------------------------

#[test]
fn crashloop_after_fresh_rollout_rolls_back_to_the_previous_revision() {
    let r = one("alertmanager/pod-crashloop-vote-recent-rollout.json");
    assert_eq!(
        decision(&r),
        d("planned", "rollback", "Deployment production/vote")
    );
    assert_eq!(r["class"], "pod_crash_loop");
    assert_eq!(r["rule"], "kube-pod-crash-looping");
    let calls = steps(&r);
    assert_eq!(calls[0].0, "rollback");
    assert!(
        calls[0].1.contains("test /metadata/resourceVersion=") && calls[0].1.contains("revision 2"),
        "{calls:?}"
    );
    assert_eq!(calls[1].0, "verify_rollout");
}

#[test]
fn crashloop_of_a_long_stable_deployment_restarts_the_pod() {
    let r = one("alertmanager/pod-crashloop-worker.json");
    assert_eq!(
        decision(&r),
        d(
            "planned",
            "restart_pod",
            "Pod production/worker-69d4c8b7f-h7s2d"
        )
    );
    assert!(reason(&r).contains("more than 1h"), "{}", reason(&r));
    assert_eq!(
        steps(&r)[0].1,
        "DELETE /api/v1/namespaces/production/pods/worker-69d4c8b7f-h7s2d"
    );
}

#[test]
fn pod_not_ready_restarts_the_pod() {
    let r = one("alertmanager/pod-not-ready-result.json");
    assert_eq!(r["class"], "pod_not_ready");
    assert_eq!(decision(&r).0, "planned");
    assert_eq!(decision(&r).1, "restart_pod");
}

#[test]
fn degraded_deployment_after_fresh_rollout_rolls_back() {
    let r = one("alertmanager/deployment-replicas-mismatch-vote-recent-rollout.json");
    assert_eq!(
        decision(&r),
        d("planned", "rollback", "Deployment production/vote")
    );
    assert_eq!(r["class"], "deployment_degraded");
}

#[test]
fn degraded_deployment_without_a_recent_revision_notifies_on_call() {
    let r = one("alertmanager/deployment-replicas-mismatch-result.json");
    assert_eq!(
        decision(&r),
        d("planned", "notify", "Deployment production/result")
    );
    assert_eq!(steps(&r)[0].0, "notify");
}

#[test]
fn node_not_ready_plans_cordon_each_eviction_and_termination() {
    let r = one("alertmanager/node-not-ready-sick-node.json");
    assert_eq!(
        decision(&r),
        d("planned", "replace_node", "Node ip-10-0-2-41.ec2.internal")
    );
    let ops: Vec<String> = steps(&r).into_iter().map(|(op, _)| op).collect();
    assert_eq!(
        ops,
        [
            "cordon",
            "evict",
            "evict",
            "wait_pods_gone",
            "terminate_instance"
        ]
    );
    let calls = steps(&r);
    assert!(
        calls[1].1.ends_with("/pods/vote-6f7c9b8d5-x2k4q/eviction"),
        "{calls:?}"
    );
    assert!(
        calls
            .iter()
            .all(|(_, c)| !c.contains("aws-node") && !c.contains("kube-proxy")),
        "DaemonSet pods are never evicted: {calls:?}"
    );
    assert!(
        calls[4].1.contains("InstanceId=i-0b7d3a9f1e6c24c58")
            && calls[4].1.contains("ShouldDecrementDesiredCapacity=false")
    );
}

#[test]
fn cloudwatch_pod_restarts_after_fresh_rollout_roll_back_in_every_cloudwatch_shape() {
    for file in [
        "sns-cloudwatch/pod-restarts-vote-recent-rollout.json",
        "sns-http/cloudwatch-pod-restarts-vote-recent-rollout.json",
        "alarm-action/pod-restarts-vote-recent-rollout.json",
        "eventbridge/pod-restarts-vote-recent-rollout.json",
    ] {
        let r = one(file);
        assert_eq!(
            decision(&r),
            d("planned", "rollback", "Deployment production/vote"),
            "{file}"
        );
        assert_eq!(r["source"], "cloudwatch", "{file}");
        assert_eq!(r["rule"], "container-insights-pod-restarts", "{file}");
    }
}

#[test]
fn cloudwatch_pod_restarts_of_a_stable_deployment_restart_its_rollout() {
    let r = one("sns-cloudwatch/pod-restarts-worker.json");
    assert_eq!(
        decision(&r),
        d("planned", "rollout_restart", "Deployment production/worker")
    );
    assert!(steps(&r)[0].1.contains("kubectl.kubernetes.io/restartedAt"));
}

#[test]
fn cloudwatch_node_status_and_ec2_status_checks_replace_the_node() {
    for file in [
        "sns-cloudwatch/node-status-ready-sick-node.json",
        "eventbridge/ec2-status-check-system-sick-node.json",
        "alarm-action/ec2-status-check-system-sick-node.json",
    ] {
        let r = one(file);
        assert_eq!(
            decision(&r),
            d("planned", "replace_node", "Node ip-10-0-2-41.ec2.internal"),
            "{file}"
        );
    }
}

#[test]
fn alerts_no_rule_matches_are_recorded_as_no_match() {
    for file in [
        "grafana/vote-high-latency.json",
        "alarm-action/composite-production-health.json",
    ] {
        let r = one(file);
        assert_eq!(decision(&r), d("no_match", "-", "-"), "{file}");
        assert!(r["class"].is_null() && r["rule"].is_null());
    }
}

// --- Guardrails: every refusal path ----------------------------------------------------

#[test]
fn resolved_alerts_and_insufficient_data_are_ignored() {
    for file in [
        "alertmanager/pod-crashloop-worker-resolved.json",
        "sns-cloudwatch/pod-restarts-vote-ok.json",
        "sns-cloudwatch/pod-restarts-redis-insufficient-data.json",
    ] {
        let r = one(file);
        assert_eq!(r["verdict"], "ignored", "{file}");
        assert!(r["steps"].as_array().unwrap().is_empty());
    }
}

#[test]
fn denied_namespaces_are_never_touched() {
    let r = one("alertmanager/pod-not-ready-coredns-kube-system.json");
    assert_eq!(r["verdict"], "suppressed");
    assert!(
        reason(&r).contains("kube-system is denied"),
        "{}",
        reason(&r)
    );
}

#[test]
fn skip_annotation_on_the_controller_suppresses() {
    let r = one("alertmanager/pod-crashloop-db-skip-annotation.json");
    assert_eq!(
        decision(&r),
        d("suppressed", "restart_pod", "Pod production/db-0")
    );
    assert!(
        reason(&r).contains("StatefulSet production/db is annotated reflex/skip-remediation"),
        "{}",
        reason(&r)
    );
}

fn annotate(item: &mut Value) {
    item["metadata"]["annotations"]["reflex/skip-remediation"] = "true".into();
}

#[test]
fn skip_annotation_on_the_namespace_the_pod_or_the_node_suppresses() {
    let cases = [
        (
            "ns.json",
            "Namespace",
            "production",
            "alertmanager/pod-crashloop-worker.json",
            "Namespace production",
        ),
        (
            "pod.json",
            "Pod",
            "worker-69d4c8b7f-h7s2d",
            "alertmanager/pod-crashloop-worker.json",
            "Pod production/worker-69d4c8b7f-h7s2d",
        ),
        (
            "deploy.json",
            "Deployment",
            "vote",
            "alertmanager/pod-crashloop-vote-recent-rollout.json",
            "Deployment production/vote",
        ),
        (
            "node.json",
            "Node",
            "ip-10-0-2-41.ec2.internal",
            "alertmanager/node-not-ready-sick-node.json",
            "Node ip-10-0-2-41.ec2.internal",
        ),
    ];
    for (file, kind, name, alert, who) in cases {
        let snap = edited_snapshot(file, kind, name, annotate);
        let (code, records) = replay_json(&["--cluster", &snap, &event(alert)]);
        assert_eq!(code, 0);
        assert_eq!(records[0]["verdict"], "suppressed", "{kind} {name}");
        assert!(
            reason(&records[0]).starts_with(who),
            "{}",
            reason(&records[0])
        );
    }
}

#[test]
fn bare_pods_are_never_restarted_and_their_node_is_not_drained() {
    let r = one("alertmanager/pod-not-ready-debug-shell-bare-pod.json");
    assert_eq!(
        decision(&r),
        d("suppressed", "restart_pod", "Pod staging/debug-shell")
    );
    assert!(reason(&r).contains("no controller"), "{}", reason(&r));
    let r = one("alertmanager/node-unreachable-node-b-bare-pod.json");
    assert_eq!(
        decision(&r),
        d(
            "suppressed",
            "replace_node",
            "Node ip-10-0-1-87.ec2.internal"
        )
    );
    assert!(
        reason(&r).contains("bare pod staging/debug-shell"),
        "{}",
        reason(&r)
    );
}

#[test]
fn a_paused_deployment_is_not_rolled_back() {
    let r = one("alertmanager/deployment-rollout-stuck-staging-vote-paused.json");
    assert_eq!(
        decision(&r),
        d("suppressed", "rollback", "Deployment staging/vote")
    );
    assert!(reason(&r).contains("paused"), "{}", reason(&r));
}

#[test]
fn a_rollback_without_an_older_revision_is_refused() {
    let event_file = event("sns-cloudwatch/alb-target-5xx-unrelated.json");
    let body: Value = serde_json::from_str(&std::fs::read_to_string(&event_file).unwrap()).unwrap();
    let alarm: Value =
        serde_json::from_str(body["Records"][0]["Sns"]["Message"].as_str().unwrap()).unwrap();
    let policy = temp_file(
        "alb-policy.yaml",
        &format!(
            "rules:
  - name: result-5xx-rolls-back
    match:
      source: cloudwatch
      alertname: [{}]
    class: deployment_degraded
    action: rollback
    target: {{ kind: Deployment, namespace: production, name: result }}
",
            alarm["AlarmName"].as_str().unwrap()
        ),
    );
    let (code, records) = replay_json(&[
        "--policy",
        &policy,
        "--cluster",
        &snapshot(),
        &event("sns-cloudwatch/alb-target-5xx-unrelated.json"),
    ]);
    assert_eq!(code, 0);
    assert_eq!(
        decision(&records[0]),
        d("suppressed", "rollback", "Deployment production/result")
    );
    assert!(
        reason(&records[0]).contains("no older revision"),
        "{}",
        reason(&records[0])
    );
}

#[test]
fn targets_that_no_longer_exist_are_ignored() {
    for file in [
        "alertmanager/pod-not-ready-pod-gone.json",
        "alertmanager/node-not-ready-node-gone.json",
        "sns-cloudwatch/ec2-status-check-unknown-instance.json",
    ] {
        let r = one(file);
        assert_eq!(r["verdict"], "ignored", "{file}");
        assert!(
            reason(&r).starts_with("target gone"),
            "{file}: {}",
            reason(&r)
        );
    }
}

#[test]
fn cooldown_allows_one_action_per_target() {
    let (_, records) = replay_json(&[
        "--cluster",
        &snapshot(),
        &event("scenarios/cooldown-vote-rollback-twice.json"),
    ]);
    assert_eq!(records[0]["verdict"], "planned");
    assert_eq!(
        decision(&records[1]),
        d("suppressed", "rollback", "Deployment production/vote")
    );
    assert!(
        reason(&records[1]).starts_with("cooldown"),
        "{}",
        reason(&records[1])
    );
}

#[test]
fn the_hourly_budget_stops_the_eleventh_action() {
    let (_, records) = replay_json(&[
        "--cluster",
        &snapshot(),
        &event("scenarios/budget-eleven-pods-not-ready.json"),
    ]);
    assert_eq!(records.len(), 11);
    assert!(records[..10].iter().all(|r| r["verdict"] == "planned"));
    assert_eq!(records[10]["verdict"], "suppressed");
    assert!(
        reason(&records[10]).starts_with("budget: 10 of 10 actions used in the last 1h"),
        "{}",
        reason(&records[10])
    );
}

#[test]
fn a_redelivered_sns_message_acts_once() {
    let (_, records) = replay_json(&[
        "--cluster",
        &snapshot(),
        &event("scenarios/duplicate-sns-delivery.json"),
    ]);
    assert_eq!(records[0]["verdict"], "planned");
    assert_eq!(records[1]["verdict"], "suppressed");
    assert!(
        reason(&records[1]).contains("duplicate delivery")
            && reason(&records[1]).contains(records[0]["id"].as_str().unwrap())
    );
}

#[test]
fn only_one_node_replacement_is_in_flight() {
    let (_, records) = replay_json(&[
        "--cluster",
        &snapshot(),
        &event("scenarios/two-nodes-one-in-flight.json"),
    ]);
    assert_eq!(records[0]["verdict"], "planned");
    assert_eq!(records[1]["verdict"], "suppressed");
    assert!(
        reason(&records[1]).contains("already in flight"),
        "{}",
        reason(&records[1])
    );
}

#[test]
fn many_nodes_not_ready_is_a_systemic_fault_and_no_node_is_replaced() {
    let degraded = event("cluster/voting-app-degraded.json");
    let (_, records) = replay_json(&[
        "--cluster",
        &degraded,
        &event("alertmanager/node-not-ready-degraded-cluster.json"),
    ]);
    assert!(!records.is_empty());
    for r in &records {
        assert_eq!(r["verdict"], "suppressed");
        assert!(reason(r).contains("systemic fault"), "{}", reason(r));
    }
}

fn webhook(labels: &str) -> String {
    format!(
        r#"{{"version":"4","status":"firing","receiver":"reflex","groupKey":"{{}}","alerts":[{{"status":"firing","labels":{labels},"annotations":{{}},"startsAt":"2026-11-20T09:30:00Z","endsAt":"0001-01-01T00:00:00Z","fingerprint":"0123456789abcdef"}}]}}"#
    )
}

#[test]
fn target_names_that_are_not_kubernetes_names_are_rejected_and_never_acted_on() {
    for (i, pod) in ["../../nodes/x", "Vote", "vote?dryRun=false", ""]
        .into_iter()
        .enumerate()
    {
        let labels = format!(
            r#"{{"alertname":"KubePodNotReady","namespace":"production","pod":{}}}"#,
            Value::from(pod)
        );
        let file = temp_file(&format!("bad-name-{i}.json"), &webhook(&labels));
        let (code, records) = replay_json(&["--cluster", &snapshot(), &file]);
        let r = &records[0];
        if pod.is_empty() {
            assert_eq!(r["verdict"], "ignored", "an empty label names nothing: {r}");
        } else {
            assert_eq!(code, 2, "{pod:?}");
            assert_eq!(r["verdict"], "rejected", "{pod:?}: {r}");
            assert!(reason(r).contains("invalid target name"), "{}", reason(r));
        }
        assert!(r["steps"].as_array().unwrap().is_empty());
    }
}

// --- Verdicts of execution, and exit codes ----------------------------------------------

#[test]
fn execute_on_a_snapshot_performs_and_verifies_the_plan_in_simulation() {
    let (code, records) = replay_json(&[
        "--execute",
        "--cluster",
        &snapshot(),
        &event("alertmanager/pod-crashloop-worker.json"),
        &event("alertmanager/pod-crashloop-vote-recent-rollout.json"),
    ]);
    assert_eq!(code, 0);
    for r in &records {
        assert_eq!(r["verdict"], "executed", "{r}");
        assert_eq!(r["mode"], "enforce");
        assert!(
            r["steps"]
                .as_array()
                .unwrap()
                .iter()
                .all(|s| s["result"] == "ok"),
            "{r}"
        );
    }
}

#[test]
fn a_drain_blocked_by_a_disruption_budget_fails_leaves_the_node_cordoned_and_exits_1() {
    let (code, records) = replay_json(&[
        "--execute",
        "--cluster",
        &snapshot(),
        &event("alertmanager/node-not-ready-db-node-pdb-blocks-drain.json"),
    ]);
    assert_eq!(code, 1);
    let r = &records[0];
    assert_eq!(r["verdict"], "failed");
    assert!(
        reason(r).contains("PodDisruptionBudget production/db"),
        "{}",
        reason(r)
    );
    let results: Vec<(&str, &str)> = r["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["op"].as_str().unwrap(), s["result"].as_str().unwrap()))
        .collect();
    assert_eq!(results[0], ("cordon", "ok"), "the node stays cordoned");
    assert!(results.contains(&("evict", "failed")));
    assert_eq!(
        results.last(),
        Some(&("terminate_instance", "skipped")),
        "no termination after a failed drain"
    );
}

#[test]
fn exit_code_is_0_when_everything_was_processed() {
    let (code, records) = replay_json(&[
        "--cluster",
        &snapshot(),
        &event("alertmanager/pod-crashloop-worker.json"),
        &event("grafana/vote-high-latency.json"),
    ]);
    assert_eq!(code, 0);
    assert_eq!(records.len(), 2);
}

#[test]
fn exit_code_is_2_when_an_input_is_rejected_and_its_record_is_still_printed() {
    for file in [
        "invalid/not-json.json",
        "invalid/truncated-alertmanager-webhook.json",
        "invalid/sns-alertmanager-plain-text-template.json",
        "invalid/unknown-shape-kubernetes-event.json",
    ] {
        let (code, records) = replay_json(&[
            "--cluster",
            &snapshot(),
            &event("alertmanager/pod-crashloop-worker.json"),
            &event(file),
        ]);
        assert_eq!(code, 2, "{file}");
        assert_eq!(records.len(), 2, "{file}");
        assert_eq!(records[0]["verdict"], "planned");
        assert_eq!(records[1]["verdict"], "rejected", "{file}");
        assert!(!reason(&records[1]).is_empty());
    }
}

#[test]
fn an_unreadable_event_file_is_a_rejected_record() {
    let (code, records) = replay_json(&["does/not/exist.json"]);
    assert_eq!(code, 2);
    assert_eq!(records[0]["verdict"], "rejected");
    assert!(reason(&records[0]).contains("cannot read event file"));
}

#[test]
fn a_failed_execution_wins_over_a_rejected_input_for_the_exit_code() {
    let (code, _) = replay_json(&[
        "--execute",
        "--cluster",
        &snapshot(),
        &event("invalid/not-json.json"),
        &event("alertmanager/node-not-ready-db-node-pdb-blocks-drain.json"),
    ]);
    assert_eq!(code, 1);
}

// --- Output formats, clock, configuration errors ---------------------------------------

#[test]
fn json_output_is_one_contract_record_per_line_and_nothing_else() {
    let out = reflex(&[
        "replay",
        "--format",
        "json",
        "--cluster",
        &snapshot(),
        &event("alertmanager/group-crashloop-production-mixed.json"),
    ]);
    let stdout = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 3);
    for line in lines {
        let r: Value = serde_json::from_str(line).unwrap();
        for key in [
            "id", "time", "source", "alert", "class", "rule", "action", "mode", "verdict",
            "reason", "steps",
        ] {
            assert!(r.get(key).is_some(), "missing {key}: {line}");
        }
        for key in ["name", "status", "fingerprint", "labels"] {
            assert!(r["alert"].get(key).is_some(), "missing alert.{key}");
        }
        assert_eq!(r["mode"], "dry-run");
    }
}

#[test]
fn text_output_tells_what_came_in_what_was_decided_and_why() {
    let out = reflex(&[
        "replay",
        "--cluster",
        &snapshot(),
        &event("alertmanager/pod-crashloop-vote-recent-rollout.json"),
    ]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    for expected in [
        "alert    KubePodCrashLooping (alertmanager, firing)",
        "rule     kube-pod-crash-looping -> pod_crash_loop",
        "decision PLANNED rollback Deployment production/vote",
        "why      newest revision 3",
        "steps    1. PATCH /apis/apps/v1/namespaces/production/deployments/vote",
        "1 alert(s): 1 planned. dry run: nothing was changed",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
    }
}

#[test]
fn now_fixes_the_evaluation_clock() {
    let file = event("alertmanager/pod-crashloop-worker.json");
    let (_, own_time) = replay_json(&["--cluster", &snapshot(), &file]);
    assert_eq!(
        own_time[0]["time"], "2026-11-20T09:30:00.117Z",
        "each event at its own time by default"
    );
    let (_, fixed) = replay_json(&[
        "--now",
        "2026-11-21T08:00:00Z",
        "--cluster",
        &snapshot(),
        &file,
    ]);
    assert_eq!(fixed[0]["time"], "2026-11-21T08:00:00.000Z");
    let out = reflex(&["replay", "--now", "yesterday", &file]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("RFC 3339"));
}

#[test]
fn without_a_cluster_reflex_plans_what_it_can_and_says_what_it_did_not_check() {
    let (code, records) = replay_json(&[
        &event("alertmanager/pod-crashloop-vote-recent-rollout.json"),
        &event("alertmanager/node-not-ready-sick-node.json"),
    ]);
    assert_eq!(code, 0);
    for r in &records {
        assert_eq!(r["verdict"], "planned");
        assert!(
            r["notes"][0]
                .as_str()
                .unwrap()
                .starts_with("no cluster view"),
            "{r}"
        );
    }
    assert_eq!(records[1]["steps"][0]["op"], "cordon");
}

#[test]
fn a_malformed_snapshot_item_fails_the_decision_that_reads_it_and_names_the_item() {
    let bad = edited_snapshot(
        "bad-worker-pod.json",
        "Pod",
        "worker-69d4c8b7f-h7s2d",
        |pod| pod["status"]["phase"] = 3.into(),
    );
    let (code, records) = replay_json(&[
        "--cluster",
        &bad,
        &event("alertmanager/pod-crashloop-worker.json"),
        &event("alertmanager/pod-crashloop-vote-recent-rollout.json"),
    ]);
    assert_eq!(code, 1, "{records:?}");
    assert_eq!(records[0]["verdict"], "failed");
    assert!(
        reason(&records[0]).contains("cluster snapshot item")
            && reason(&records[0]).contains("(Pod worker-69d4c8b7f-h7s2d): status.phase"),
        "{}",
        reason(&records[0])
    );
    // The other alert reads none of it and is decided as against the intact file.
    assert_eq!(
        decision(&records[1]),
        d("planned", "rollback", "Deployment production/vote")
    );
}

#[test]
fn configuration_errors_exit_2_with_a_message() {
    let out = reflex(&[
        "replay",
        "--execute",
        &event("alertmanager/pod-crashloop-worker.json"),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--execute needs a cluster"));
    let bad = temp_file("bad-snapshot.json", r#"{"kind":"Pod"}"#);
    let out = reflex(&[
        "replay",
        "--cluster",
        &bad,
        &event("alertmanager/pod-crashloop-worker.json"),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("cluster snapshot"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bad = temp_file(
        "bad-policy.yaml",
        "rules:\n  - name: x\n    match: { alertname: [A] }\n    class: pod_not_ready\n    action: explode\n    target: { kind: Pod, namespace: a, name: b }\n",
    );
    let out = reflex(&[
        "replay",
        "--policy",
        &bad,
        &event("alertmanager/pod-crashloop-worker.json"),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("explode"));
}

#[test]
fn policy_check_lists_the_rules_of_a_valid_policy_and_refuses_a_bad_one() {
    let file = common::repo().join("shared/core/policy/default.yaml");
    let out = reflex(&["policy", "check", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("OK, 8 rules")
            && text.contains("kube-pod-crash-looping")
            && text.contains("ec2-status-check-failed")
            && text.contains("target: Deployment target_group={TargetGroup}"),
        "{text}"
    );
    let bad = temp_file(
        "dup-policy.yaml",
        "rules:\n  - name: x\n    match: { alertname: [A] }\n    class: pod_not_ready\n    action: replace_node\n    target: { kind: Pod, namespace: a, name: b }\n",
    );
    let out = reflex(&["policy", "check", &bad]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("rule \"x\": field target.kind"), "{err}");
}

#[test]
fn the_embedded_default_policy_is_the_shipped_file() {
    let out = reflex(&["policy", "default"]);
    let shipped =
        std::fs::read_to_string(common::repo().join("shared/core/policy/default.yaml")).unwrap();
    assert_eq!(String::from_utf8(out.stdout).unwrap(), shipped);
}

#[test]
fn an_audit_log_carries_exactly_once_and_cooldown_across_runs() {
    let log = std::env::temp_dir().join(format!("reflex-audit-{}.jsonl", std::process::id()));
    let _ = std::fs::remove_file(&log);
    let log = log.display().to_string();
    let crashloop = event("alertmanager/pod-crashloop-worker.json");
    let (code, first) = replay_json(&["--audit-log", &log, "--cluster", &snapshot(), &crashloop]);
    assert_eq!((code, first[0]["verdict"].as_str()), (0, Some("planned")));
    let (_, again) = replay_json(&["--audit-log", &log, "--cluster", &snapshot(), &crashloop]);
    assert_eq!(again[0]["verdict"], "suppressed");
    assert!(
        reason(&again[0]).contains(first[0]["id"].as_str().unwrap()),
        "{}",
        reason(&again[0])
    );
    // A different alert about the same pod meets the cooldown.
    let not_ready = temp_file(
        "worker-not-ready.json",
        &webhook(
            r#"{"alertname":"KubePodNotReady","namespace":"production","pod":"worker-69d4c8b7f-h7s2d"}"#,
        ),
    );
    let (_, other) = replay_json(&["--audit-log", &log, "--cluster", &snapshot(), &not_ready]);
    assert_eq!(
        decision(&other[0]),
        d(
            "suppressed",
            "restart_pod",
            "Pod production/worker-69d4c8b7f-h7s2d"
        )
    );
    assert!(
        reason(&other[0]).starts_with("cooldown"),
        "{}",
        reason(&other[0])
    );
    let lines = std::fs::read_to_string(&log).unwrap().lines().count();
    assert_eq!(
        lines,
        2 + other.len(),
        "every record of every run is appended"
    );
}
