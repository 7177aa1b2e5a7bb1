//! `reflex replay` of ALB target-group alarms: the real binary follows the alarm's
//! `TargetGroup` through the TargetGroupBinding and the Service's selector to one Deployment,
//! against the sample snapshot and against the fake API server over HTTP.

#![allow(clippy::unwrap_used)] // Tests: a failed unwrap is a failed test with its message.

mod common;

use common::{
    d, decision, event, notes, one, reason, reflex, replay_json, short_policy, snapshot, temp_file,
};
use reflex_test_support::kube::Background;
use serde_json::{Value, json};

const VOTE_5XX: &str = "sns-cloudwatch/alb-target-5xx-vote-recent-rollout.json";
const RESULT_5XX: &str = "sns-cloudwatch/alb-target-5xx-result.json";
const UNBOUND_5XX: &str = "sns-cloudwatch/alb-target-5xx-unrelated.json";

/// The sample snapshot with `tier: frontend` on the pod templates of `production/vote` and
/// `production/result`, and the Service `production/vote` selecting that label: a selector
/// that matches two Deployments.
fn two_deployments_behind_one_service() -> String {
    let mut list: Value =
        serde_json::from_str(&std::fs::read_to_string(snapshot()).unwrap()).unwrap();
    for item in list["items"].as_array_mut().unwrap() {
        let (kind, ns, name) = (
            item["kind"].as_str().unwrap().to_owned(),
            item["metadata"]["namespace"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            item["metadata"]["name"].as_str().unwrap().to_owned(),
        );
        match (kind.as_str(), ns.as_str(), name.as_str()) {
            ("Deployment", "production", "vote" | "result") => {
                item["spec"]["template"]["metadata"]["labels"]["tier"] = json!("frontend");
            }
            ("Service", "production", "vote") => {
                item["spec"]["selector"] = json!({ "tier": "frontend" });
            }
            _ => {}
        }
    }
    temp_file("two-deployments-one-service.json", &list.to_string())
}

#[test]
fn alb_5xx_right_after_a_rollout_plans_the_rollback_of_the_deployment_behind_the_target_group() {
    let r = one(VOTE_5XX);

    assert_eq!(
        decision(&r),
        d("planned", "rollback", "Deployment production/vote")
    );
    assert_eq!(r["class"], "service_errors");
    assert_eq!(r["rule"], "alb-target-5xx");
    assert!(
        reason(&r).contains("26 min before the alert"),
        "{}",
        reason(&r)
    );
    assert!(
        notes(&r).contains(
            &"target group targetgroup/k8s-producti-vote-4c2e8a1f7b/9e3b5d7f1a2c4e6b is bound by TargetGroupBinding production/k8s-producti-vote-4c2e8a1f7b to Service production/vote, whose selector app=vote selects Deployment production/vote"
        ),
        "{r}"
    );
}

#[test]
fn alb_5xx_long_after_the_last_rollout_notifies() {
    let r = one(RESULT_5XX);

    assert_eq!(
        decision(&r),
        d("planned", "notify", "Deployment production/result")
    );
    assert!(reason(&r).contains("so notify instead"), "{}", reason(&r));
}

#[test]
fn alb_5xx_on_a_target_group_no_binding_binds_is_ignored() {
    let r = one(UNBOUND_5XX);

    assert_eq!(decision(&r), d("ignored", "-", "-"));
    assert_eq!(r["rule"], "alb-target-5xx");
    assert!(
        reason(&r).contains("no TargetGroupBinding binds target group targetgroup/k8s-producti-result-6b1d2e9f0a/5c7e9a1b3d5f7a9c"),
        "{}",
        reason(&r)
    );
}

#[test]
fn a_service_whose_selector_matches_two_deployments_is_refused_naming_both() {
    let (code, records) = replay_json(&[
        "--cluster",
        &two_deployments_behind_one_service(),
        &event(VOTE_5XX),
    ]);

    assert_eq!(code, 0);
    let r = &records[0];
    assert_eq!(decision(r), d("ignored", "-", "-"));
    assert!(
        reason(r).contains(
            "selector tier=frontend matches the pod templates of several Deployments (production/result, production/vote)"
        ),
        "{}",
        reason(r)
    );
}

#[test]
fn without_a_cluster_view_the_target_group_is_left_unresolved() {
    let (code, records) = replay_json(&[&event(VOTE_5XX)]);

    assert_eq!(code, 0);
    let r = &records[0];
    assert_eq!(r["verdict"], "planned");
    assert_eq!(r["steps"][0]["op"], "unresolved", "{r}");
    assert!(
        notes(r).iter().any(|n| n.contains(
            "the Deployment behind target group targetgroup/k8s-producti-vote-4c2e8a1f7b/9e3b5d7f1a2c4e6b"
        )),
        "{r}"
    );
}

#[test]
fn the_text_output_shows_how_the_alarm_reached_the_deployment() {
    let out = reflex(&["replay", "--cluster", &snapshot(), &event(VOTE_5XX)]);

    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("rule     alb-target-5xx -> service_errors")
            && text.contains("decision PLANNED rollback Deployment production/vote")
            && text.contains("to Service production/vote, whose selector app=vote"),
        "{text}"
    );
}

#[test]
fn against_the_live_cluster_the_fresh_rollout_is_rolled_back_and_the_old_one_notified() {
    let seed = std::fs::read(snapshot()).unwrap();
    let server = Background::start(&seed, "alb-5xx");
    let kubeconfig = server.kubeconfig.display().to_string();
    let execute = |rel: &str| {
        replay_json(&[
            "--kubeconfig",
            &kubeconfig,
            "--policy",
            &short_policy(),
            "--execute",
            &event(rel),
        ])
    };

    let (code, vote) = execute(VOTE_5XX);
    let (result_code, result) = execute(RESULT_5XX);
    let (unbound_code, unbound) = execute(UNBOUND_5XX);

    assert_eq!((code, result_code, unbound_code), (0, 0, 0));
    assert_eq!(
        decision(&vote[0]),
        d("executed", "rollback", "Deployment production/vote")
    );
    let deployment = server
        .fake
        .object("Deployment", Some("production"), "vote")
        .unwrap();
    let revision_2 = server
        .fake
        .object("ReplicaSet", Some("production"), "vote-7c8d6f9b5")
        .unwrap();
    assert_eq!(
        deployment["spec"]["template"]["spec"]["containers"][0]["image"],
        revision_2["spec"]["template"]["spec"]["containers"][0]["image"]
    );
    assert_eq!(
        decision(&result[0]),
        d("executed", "notify", "Deployment production/result")
    );
    assert_eq!(decision(&unbound[0]), d("ignored", "-", "-"));
    let patched: Vec<String> = server
        .fake
        .requests()
        .into_iter()
        .filter(|q| q.method != "GET")
        .map(|q| q.line())
        .collect();
    assert_eq!(
        patched,
        ["PATCH /apis/apps/v1/namespaces/production/deployments/vote"]
    );
}
