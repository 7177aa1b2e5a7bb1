//! GitOps-managed Deployments and the escalation ladder (ARCHITECTURE section 13), through
//! the real binary against snapshots: Argo CD and Flux refusals with and without a
//! fallback, `guardrails.gitops: allow`, the ladder over several alerts in one run and
//! across runs sharing an audit log, and the policy errors a ladder can have.

// Test helpers outside #[test] functions: a panic there is a failed test too.
#![allow(clippy::unwrap_used)]
mod common;

use common::{decision, event, reflex, replay_json, repo, temp_file};
use serde_json::Value;

fn gitops_snapshot() -> String {
    event("cluster/voting-app-gitops.json")
}

fn default_policy() -> String {
    std::fs::read_to_string(repo().join("shared/core/policy/default.yaml")).unwrap()
}

/// The single record of replaying `rel` against the GitOps snapshot, with `policy` if given.
fn gitops_record(rel: &str, policy: Option<&str>) -> Value {
    let snapshot = gitops_snapshot();
    let path = event(rel);
    let mut args = vec!["--cluster", snapshot.as_str()];
    if let Some(policy) = policy {
        args.extend(["--policy", policy]);
    }
    args.push(&path);
    let (code, records) = replay_json(&args);
    assert_eq!(code, 0, "{records:?}");
    assert_eq!(records.len(), 1, "{records:?}");
    records.into_iter().next().unwrap()
}

fn notes(record: &Value) -> Vec<&str> {
    record["notes"]
        .as_array()
        .map(|n| n.iter().map(|v| v.as_str().unwrap()).collect())
        .unwrap_or_default()
}

fn reason(record: &Value) -> &str {
    record["reason"].as_str().unwrap()
}

fn decided(verdict: &str, action: &str, target: &str) -> (String, String, String) {
    (verdict.to_owned(), action.to_owned(), target.to_owned())
}

const ARGO: &str = "alertmanager/pod-crashloop-vote-argocd.json";
const FLUX: &str = "alertmanager/pod-crashloop-staging-vote-flux.json";

#[test]
fn an_argo_cd_deployment_is_not_rolled_back_the_fallback_is_taken_and_the_application_named() {
    let r = gitops_record(ARGO, None);

    assert_eq!(
        decision(&r),
        decided(
            "planned",
            "restart_pod",
            "Pod production/vote-6f7c9b8d5-x2k4q"
        )
    );
    assert!(
        reason(&r).contains("managed by Argo CD application vote-prod")
            && reason(&r).ends_with("so restart_pod instead"),
        "{r}"
    );
    assert!(
        notes(&r).iter().any(|n| n
            .contains("Deployment production/vote is managed by Argo CD application vote-prod")
            && n.contains("roll it back in Git")),
        "{r}"
    );
    assert!(!r.to_string().contains("PATCH /apis/apps/v1"), "{r}");
}

#[test]
fn a_flux_deployment_is_not_rolled_back_and_the_kustomization_is_named() {
    let r = gitops_record(FLUX, None);

    assert_eq!(
        decision(&r),
        decided("planned", "restart_pod", "Pod staging/vote-56c9f7d8b-jx8ck")
    );
    assert!(
        notes(&r)
            .iter()
            .any(|n| n.contains("Flux Kustomization flux-system/voting-staging")),
        "{r}"
    );
}

#[test]
fn without_a_fallback_a_gitops_deployment_gets_notify() {
    let policy = temp_file(
        "gitops-no-fallback.yaml",
        &default_policy().replacen("    fallback: restart_pod\n", "", 1),
    );

    let r = gitops_record(ARGO, Some(&policy));

    assert_eq!(
        decision(&r),
        decided("planned", "notify", "Deployment production/vote")
    );
    assert!(
        reason(&r).contains("whose sync would revert a rollback")
            && reason(&r).contains("so notify instead"),
        "{r}"
    );
    assert!(notes(&r).iter().any(|n| n.contains("Argo CD")), "{r}");
}

#[test]
fn gitops_allow_rolls_a_managed_deployment_back() {
    let policy = temp_file(
        "gitops-allow.yaml",
        &default_policy().replacen("guardrails:\n", "guardrails:\n  gitops: allow\n", 1),
    );

    let r = gitops_record(ARGO, Some(&policy));

    assert_eq!(
        decision(&r),
        decided("planned", "rollback", "Deployment production/vote")
    );
    assert!(notes(&r).iter().all(|n| !n.contains("Argo CD")), "{r}");
}

/// A policy whose crash-loop rule restarts the pod, then rolls back, then notifies.
fn ladder_policy() -> String {
    temp_file(
        "ladder-policy.yaml",
        r#"rules:
  - name: crash-ladder
    match:
      alertname: [KubePodCrashLooping]
    class: pod_crash_loop
    action: restart_pod
    escalate: [rollback, notify]
    escalate_within: 1h
    recent_revision: 60m
    target: { kind: Pod, namespace: "{namespace}", name: "{pod}" }
"#,
    )
}

/// The catalog's vote crash-loop alert for `pod`, `minutes` after the original, with its
/// own fingerprint: a new alert instance.
fn crashloop(pod: &str, minutes: u32) -> String {
    let text =
        std::fs::read_to_string(event("alertmanager/pod-crashloop-vote-recent-rollout.json"))
            .unwrap()
            .replace("vote-6f7c9b8d5-x2k4q", pod)
            .replace(
                "2026-11-20T09:30:00.117Z",
                &format!("2026-11-20T09:{:02}:00.117Z", 30 + minutes),
            );
    let mut body: Value = serde_json::from_str(&text).unwrap();
    body["alerts"][0]["fingerprint"] = Value::from(format!("ladder{minutes:010}"));
    temp_file(&format!("ladder-{pod}-{minutes}.json"), &body.to_string())
}

fn escalation(record: &Value) -> String {
    let r = reason(record);
    r.split("; ").next().unwrap_or(r).to_owned()
}

#[test]
fn the_ladder_climbs_one_step_per_alert_on_the_same_workload_whatever_pod_alerts() {
    let policy = ladder_policy();
    let alerts = [
        crashloop("vote-7c8d6f9b5-k2x9w", 0),
        crashloop("vote-6f7c9b8d5-x2k4q", 2),
        crashloop("vote-7c8d6f9b5-p4t7n", 4),
        crashloop("vote-6f7c9b8d5-x2k4q", 6),
    ];
    let snapshot = common::snapshot();
    let mut args = vec!["--cluster", snapshot.as_str(), "--policy", policy.as_str()];
    args.extend(alerts.iter().map(String::as_str));

    let (code, records) = replay_json(&args);

    assert_eq!(code, 0, "{records:?}");
    let got: Vec<_> = records.iter().map(decision).collect();
    assert_eq!(
        got,
        [
            decided(
                "planned",
                "restart_pod",
                "Pod production/vote-7c8d6f9b5-k2x9w"
            ),
            decided("planned", "rollback", "Deployment production/vote"),
            decided("planned", "notify", "Pod production/vote-7c8d6f9b5-p4t7n"),
            decided("planned", "notify", "Pod production/vote-6f7c9b8d5-x2k4q"),
        ]
    );
    for r in &records {
        assert_eq!(
            r["workload"],
            serde_json::json!({"kind": "Deployment", "namespace": "production", "name": "vote"}),
            "{r}"
        );
    }
    assert_eq!(reason(&records[0]), reason(&records[0]).trim());
    assert!(
        !reason(&records[0]).contains("escalation"),
        "{}",
        records[0]
    );
    let first = records[0]["id"].as_str().unwrap();
    let second = escalation(&records[1]);
    assert!(
        second.starts_with("escalation step 2 of 3: rule crash-ladder already acted for Deployment production/vote once within 1h, last restart_pod on Pod production/vote-7c8d6f9b5-k2x9w")
            && second.contains(&format!("(record {first})"))
            && second.ends_with("so rollback now"),
        "{second}"
    );
    assert!(
        reason(&records[1]).contains("roll Deployment production/vote back from revision 3"),
        "{}",
        records[1]
    );
    assert!(
        escalation(&records[2]).starts_with(
            "escalation step 3 of 3: rule crash-ladder already acted for Deployment production/vote 2 times"
        ),
        "{}",
        records[2]
    );
    assert!(
        escalation(&records[3]).starts_with(
            "escalation ladder of rule crash-ladder used up: it already acted for Deployment production/vote 3 times within 1h (restart_pod, then rollback, then notify)"
        ),
        "{}",
        records[3]
    );
}

#[test]
fn the_ladder_holds_across_runs_that_share_an_audit_log() {
    let policy = ladder_policy();
    let log = temp_file("ladder-audit.jsonl", "");
    let run = |alert: &str| {
        let snapshot = common::snapshot();
        let (code, records) = replay_json(&[
            "--cluster",
            &snapshot,
            "--policy",
            &policy,
            "--audit-log",
            &log,
            alert,
        ]);
        assert_eq!(code, 0, "{records:?}");
        records.into_iter().next().unwrap()
    };

    let first = run(&crashloop("vote-7c8d6f9b5-k2x9w", 0));
    let second = run(&crashloop("vote-6f7c9b8d5-x2k4q", 2));

    assert_eq!(decision(&first).1, "restart_pod");
    assert_eq!(
        decision(&second),
        decided("planned", "rollback", "Deployment production/vote")
    );
    assert!(
        escalation(&second).contains(&format!("(record {})", first["id"].as_str().unwrap())),
        "{second}"
    );
}

#[test]
fn outside_the_window_the_ladder_starts_again() {
    let policy = ladder_policy();
    let snapshot = common::snapshot();
    let (late, first) = (crashloop("vote-6f7c9b8d5-x2k4q", 0), {
        // 09:30 minus more than the hour: the first alert of the day, 08:15.
        let text = std::fs::read_to_string(crashloop("vote-7c8d6f9b5-k2x9w", 1))
            .unwrap()
            .replace("2026-11-20T09:31:00.117Z", "2026-11-20T08:15:00.117Z");
        temp_file("ladder-early.json", &text)
    });

    let (code, records) =
        replay_json(&["--cluster", &snapshot, "--policy", &policy, &first, &late]);

    assert_eq!(code, 0, "{records:?}");
    assert_eq!(decision(&records[0]).1, "restart_pod");
    assert_eq!(
        decision(&records[1]).1,
        "restart_pod",
        "the 08:15 restart is more than 1h before 09:30: {}",
        records[1]
    );
}

#[test]
fn a_ladder_the_rule_cannot_climb_is_refused_when_the_policy_is_loaded() {
    let cases = [
        (
            "escalate: [rollback, notify]\n    recent_revision: 60m",
            "field escalate: needs escalate_within",
        ),
        (
            "escalate_within: 1h",
            "field escalate_within: needs escalate",
        ),
        (
            "escalate: [rollback]\n    escalate_within: 1h",
            "a rollback step needs recent_revision",
        ),
        (
            "escalate: [replace_node]\n    escalate_within: 1h",
            "replace_node cannot act on the rule's Pod target",
        ),
    ];
    for (fields, expected) in cases {
        let policy = temp_file(
            "ladder-bad.yaml",
            &format!(
                "rules:\n  - name: bad-ladder\n    match:\n      alertname: [KubePodCrashLooping]\n    class: pod_crash_loop\n    action: restart_pod\n    {fields}\n    target: {{ kind: Pod, namespace: \"{{namespace}}\", name: \"{{pod}}\" }}\n"
            ),
        );
        let out = reflex(&["policy", "check", &policy]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{fields}: {stderr}");
        assert!(
            stderr.contains("rule \"bad-ladder\"") && stderr.contains(expected),
            "{fields}: {stderr}"
        );
    }
}
