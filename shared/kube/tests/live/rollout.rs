//! `rollout_restart`: the CloudWatch pod-restarts alarm on a long-stable Deployment patches
//! its pod template's `restartedAt` and waits for the rollout.

use std::time::{Duration, Instant};

use reflex_core::vocab::annotations::RESTARTED_AT_ANNOTATION;
use reflex_core::vocab::verdict::{Mode, StepResult, Verdict};

use crate::common::{cluster, detail, policy, run, start_voting_app, steps, writes};

const EVENT: &str = "alarm-action/pod-restarts-worker.json";
const PATCH: &str = "PATCH /apis/apps/v1/namespaces/production/deployments/worker";

#[tokio::test]
async fn dry_run_sends_the_patch_with_dry_run_and_changes_nothing() {
    let fake = start_voting_app().await;
    let kube = cluster(&fake);
    let before = fake
        .object("Deployment", Some("production"), "worker")
        .unwrap();

    let r = run(&kube, &policy(2, 2), Mode::DryRun, EVENT).await;

    assert_eq!(r.verdict, Verdict::Planned, "{r:?}");
    assert_eq!(
        steps(&r),
        [
            ("rollout_restart".into(), StepResult::DryRun),
            ("verify_rollout".into(), StepResult::Planned)
        ]
    );
    let writes = writes(&fake);
    assert_eq!(writes.len(), 1);
    assert_eq!(writes[0].line(), PATCH);
    assert!(writes[0].is_dry_run());
    assert_eq!(
        writes[0].content_type.as_deref(),
        Some("application/merge-patch+json")
    );
    let after = fake
        .object("Deployment", Some("production"), "worker")
        .unwrap();
    assert_eq!(after, before);
}

#[tokio::test]
async fn execute_restarts_the_template_and_waits_for_the_rollout() {
    let fake = start_voting_app().await;
    let kube = cluster(&fake);

    let r = run(&kube, &policy(2, 5), Mode::Enforce, EVENT).await;

    assert_eq!(r.verdict, Verdict::Executed, "{r:?}");
    let worker = fake
        .object("Deployment", Some("production"), "worker")
        .unwrap();
    assert_eq!(
        worker["spec"]["template"]["metadata"]["annotations"][RESTARTED_AT_ANNOTATION],
        "2026-11-20T09:30:00.512Z"
    );
    assert!(
        detail(&r, "verify_rollout").contains("1 of 1 replicas updated and available"),
        "{r:?}"
    );
}

#[tokio::test]
async fn a_rollout_that_never_completes_fails_at_the_verify_timeout() {
    let fake = start_voting_app().await;
    fake.controllers().set_advance_rollouts(false);
    let kube = cluster(&fake);

    let started = Instant::now();
    let r = run(&kube, &policy(2, 1), Mode::Enforce, EVENT).await;
    let took = started.elapsed();

    assert_eq!(r.verdict, Verdict::Failed, "{r:?}");
    assert!(
        detail(&r, "verify_rollout").starts_with(
            "timed out: rollout of Deployment production/worker not complete within 1.0 s: the controller has not observed generation"
        ),
        "{r:?}"
    );
    assert!(took < Duration::from_millis(2000), "took {took:?}");
}
