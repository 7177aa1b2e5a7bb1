//! The traffic layer's reads: Services and the AWS Load Balancer Controller's
//! TargetGroupBindings from the fake, and an ALB 5XX alarm followed from its target group to
//! the Deployment behind it, which is rolled back, notified about, or left alone.

use reflex_core::cluster::ClusterView;
use reflex_core::vocab::action::ActionKind;
use reflex_core::vocab::target::{TargetKind, TargetRef};
use reflex_core::vocab::verdict::{Mode, StepResult, Verdict};
use serde_json::json;

use crate::common::{cluster, policy, run, start_voting_app, steps, writes};

const VOTE_5XX: &str = "sns-cloudwatch/alb-target-5xx-vote-recent-rollout.json";
const RESULT_5XX: &str = "sns-cloudwatch/alb-target-5xx-result.json";
const UNBOUND_5XX: &str = "sns-cloudwatch/alb-target-5xx-unrelated.json";

#[tokio::test]
async fn services_and_target_group_bindings_are_read_one_request_each() {
    let fake = start_voting_app().await;
    let kube = cluster(&fake);

    let bindings = kube.target_group_bindings().await.unwrap();
    let vote = kube.service("production", "vote").await.unwrap().unwrap();
    let deployments = kube.deployments("production").await.unwrap();
    let gone = kube.service("production", "worker").await.unwrap();

    assert_eq!(bindings.len(), 2);
    assert!(bindings.iter().any(|b| {
        b.binds("targetgroup/k8s-producti-vote-4c2e8a1f7b/9e3b5d7f1a2c4e6b")
            && b.spec.service_ref.name == "vote"
    }));
    assert_eq!(
        vote.spec.selector.get("app").map(String::as_str),
        Some("vote")
    );
    let mut names: Vec<_> = deployments
        .iter()
        .map(|d| d.metadata.name.as_str())
        .collect();
    names.sort_unstable();
    assert_eq!(names, ["redis", "result", "vote", "worker"]);
    assert_eq!(gone, None);
    let lines: Vec<String> = fake.requests().iter().map(|r| r.line()).collect();
    assert_eq!(
        lines,
        [
            "GET /apis/elbv2.k8s.aws/v1beta1/targetgroupbindings",
            "GET /api/v1/namespaces/production/services/vote",
            "GET /apis/apps/v1/namespaces/production/deployments",
            "GET /api/v1/namespaces/production/services/worker",
        ]
    );
}

#[tokio::test]
async fn alb_5xx_after_a_fresh_rollout_rolls_the_deployment_behind_the_target_group_back() {
    let fake = start_voting_app().await;
    let kube = cluster(&fake);

    let r = run(&kube, &policy(2, 3), Mode::Enforce, VOTE_5XX).await;

    assert_eq!(r.verdict, Verdict::Executed, "{r:?}");
    let vote = TargetRef::namespaced(TargetKind::Deployment, "production", "vote");
    assert_eq!(
        r.action.as_ref().map(|a| (a.kind, &a.target)),
        Some((ActionKind::Rollback, &vote))
    );
    assert_eq!(
        steps(&r),
        [
            ("rollback".into(), StepResult::Ok),
            ("verify_rollout".into(), StepResult::Ok)
        ]
    );
    let deployment = fake
        .object("Deployment", Some("production"), "vote")
        .unwrap();
    let revision_2 = fake
        .object("ReplicaSet", Some("production"), "vote-7c8d6f9b5")
        .unwrap();
    assert_eq!(
        deployment["spec"]["template"]["spec"]["containers"][0]["image"],
        revision_2["spec"]["template"]["spec"]["containers"][0]["image"]
    );
}

#[tokio::test]
async fn alb_5xx_long_after_the_last_rollout_notifies_and_changes_nothing() {
    let fake = start_voting_app().await;
    let kube = cluster(&fake);

    let r = run(&kube, &policy(2, 3), Mode::Enforce, RESULT_5XX).await;

    assert_eq!(r.verdict, Verdict::Executed, "{r:?}");
    let action = r.action.as_ref().unwrap();
    assert_eq!(action.kind, ActionKind::Notify);
    assert_eq!(
        action.target,
        TargetRef::namespaced(TargetKind::Deployment, "production", "result")
    );
    assert!(r.reason.contains("so notify instead"), "{}", r.reason);
    assert!(writes(&fake).is_empty());
}

#[tokio::test]
async fn alb_5xx_on_a_target_group_no_binding_binds_is_ignored() {
    let fake = start_voting_app().await;
    let kube = cluster(&fake);

    let r = run(&kube, &policy(2, 3), Mode::Enforce, UNBOUND_5XX).await;

    assert_eq!(r.verdict, Verdict::Ignored, "{r:?}");
    assert!(
        r.reason.contains(
            "no TargetGroupBinding binds target group targetgroup/k8s-producti-result-6b1d2e9f0a/5c7e9a1b3d5f7a9c"
        ),
        "{}",
        r.reason
    );
    assert!(writes(&fake).is_empty());
}

#[tokio::test]
async fn a_service_whose_selector_matches_two_deployments_is_not_acted_on() {
    let fake = start_voting_app().await;
    for name in ["vote", "result"] {
        let mut deployment = fake.object("Deployment", Some("production"), name).unwrap();
        deployment["spec"]["template"]["metadata"]["labels"]["tier"] = json!("frontend");
        fake.put_object(deployment).unwrap();
    }
    let mut service = fake.object("Service", Some("production"), "vote").unwrap();
    service["spec"]["selector"] = json!({ "tier": "frontend" });
    fake.put_object(service).unwrap();
    fake.clear_requests();
    let kube = cluster(&fake);

    let r = run(&kube, &policy(2, 3), Mode::Enforce, VOTE_5XX).await;

    assert_eq!(r.verdict, Verdict::Ignored, "{r:?}");
    assert!(
        r.reason.contains(
            "matches the pod templates of several Deployments (production/result, production/vote)"
        ),
        "{}",
        r.reason
    );
    assert!(writes(&fake).is_empty());
}
