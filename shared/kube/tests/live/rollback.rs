//! `rollback`: a crash loop right after a rollout restores the previous revision's template
//! with a JSON patch whose `test` of the resourceVersion makes a concurrent change a
//! conflict instead of an overwrite.

use std::collections::BTreeMap;

use reflex_core::cluster::ClusterView;
use reflex_core::duration::Span;
use reflex_core::execute::{self};
use reflex_core::vocab::op::Op;
use reflex_core::vocab::target::{TargetKind, TargetRef};
use reflex_core::vocab::verdict::{Mode, StepResult, Verdict};
use serde_json::{Value, json};

use crate::common::{
    RecordingFleet, cluster, detail, policy, run, start_voting_app, steps, writes,
};

const EVENT: &str = "alertmanager/pod-crashloop-vote-recent-rollout.json";

/// Revision 2's template, as a rollback writes it (without `pod-template-hash`).
fn revision_2_template(fake: &reflex_fake_kube::FakeKube) -> Value {
    let rs = fake
        .object("ReplicaSet", Some("production"), "vote-7c8d6f9b5")
        .unwrap();
    let mut template = rs["spec"]["template"].clone();
    template["metadata"]["labels"]
        .as_object_mut()
        .unwrap()
        .remove("pod-template-hash");
    template
}

#[tokio::test]
async fn dry_run_sends_the_guarded_patch_with_dry_run_and_changes_nothing() {
    let fake = start_voting_app().await;
    let kube = cluster(&fake);
    let before = fake
        .object("Deployment", Some("production"), "vote")
        .unwrap();

    let r = run(&kube, &policy(2, 2), Mode::DryRun, EVENT).await;

    assert_eq!(r.verdict, Verdict::Planned, "{r:?}");
    assert_eq!(
        steps(&r),
        [
            ("rollback".into(), StepResult::DryRun),
            ("verify_rollout".into(), StepResult::Planned)
        ]
    );
    let writes = writes(&fake);
    assert_eq!(writes.len(), 1);
    let patch = &writes[0];
    assert_eq!(
        patch.line(),
        "PATCH /apis/apps/v1/namespaces/production/deployments/vote"
    );
    assert!(patch.is_dry_run());
    assert_eq!(
        patch.content_type.as_deref(),
        Some("application/json-patch+json")
    );
    let body = patch.body_json().unwrap();
    assert_eq!(
        body[0],
        json!({"op": "test", "path": "/metadata/resourceVersion", "value": before["metadata"]["resourceVersion"]})
    );
    assert_eq!(body[1]["path"], "/spec/template");
    assert_eq!(
        fake.object("Deployment", Some("production"), "vote")
            .unwrap(),
        before
    );
}

#[tokio::test]
async fn execute_restores_the_previous_template_and_waits_for_the_rollout() {
    let fake = start_voting_app().await;
    let kube = cluster(&fake);
    let wanted = revision_2_template(&fake);

    let r = run(&kube, &policy(2, 5), Mode::Enforce, EVENT).await;

    assert_eq!(r.verdict, Verdict::Executed, "{r:?}");
    let vote = fake
        .object("Deployment", Some("production"), "vote")
        .unwrap();
    assert_eq!(vote["spec"]["template"], wanted);
    assert!(
        detail(&r, "rollback")
            .starts_with("template and annotations replaced with revision 2's, leaving revision 3"),
        "{r:?}"
    );
    assert!(
        detail(&r, "verify_rollout").contains("2 of 2 replicas updated and available"),
        "{r:?}"
    );
}

#[tokio::test]
async fn a_deployment_changed_since_the_plan_fails_with_a_conflict_and_is_not_overwritten() {
    let fake = start_voting_app().await;
    let kube = cluster(&fake);
    let target = TargetRef::namespaced(TargetKind::Deployment, "production", "vote");
    // The plan's read...
    let planned = kube
        .workload(TargetKind::Deployment, "production", "vote")
        .await
        .unwrap()
        .unwrap();
    let stale = planned.metadata.resource_version.clone().unwrap();
    // ...then someone else changes the Deployment (a new image).
    let mut changed = fake
        .object("Deployment", Some("production"), "vote")
        .unwrap();
    changed["spec"]["template"]["spec"]["containers"][0]["image"] = json!("vote:hotfix");
    fake.put_object(changed).unwrap();
    let ops = [
        Op::Rollback {
            target: target.clone(),
            resource_version: stale.clone(),
            from_revision: 3,
            to_revision: 2,
            template: revision_2_template(&fake),
            annotations: BTreeMap::new(),
        },
        Op::VerifyRollout {
            target,
            timeout: Span::from_secs(2),
        },
    ];

    let outcome = execute::run(
        &ops,
        Mode::Enforce,
        &kube,
        &RecordingFleet::default(),
        &(),
        &(),
    )
    .await;

    assert_eq!(outcome.verdict, Verdict::Failed);
    let conflict = outcome.error.unwrap().to_string();
    assert!(
        conflict.starts_with(&format!(
            "conflict: Deployment production/vote changed since the plan was made (resourceVersion {stale} then,"
        )),
        "{conflict}"
    );
    assert_eq!(outcome.steps[1].result, StepResult::Skipped);
    let vote = fake
        .object("Deployment", Some("production"), "vote")
        .unwrap();
    assert_eq!(
        vote["spec"]["template"]["spec"]["containers"][0]["image"],
        "vote:hotfix"
    );
}
