//! The invocation's deadline inside a long action: a step that may not finish in the time
//! left is not started, so the action stops cleanly between steps, with a record of what
//! was done, and is never cut off half-way by Lambda.

use std::time::Duration;

use reflex_core::vocab::annotations::CORDON_ANNOTATION;
use reflex_core::vocab::verdict::{Mode, StepResult, Verdict};
use reflex_fake_kube::Route;
use reflex_kube::Settings;

use crate::common::{
    RecordingFleet, SICK_NODE, event, fast, policy, replay, start_voting_app, steps,
};

/// Replaces the sick node in enforce mode with `limit` to act in; calls get 3 s each, the
/// drain's evictions 3 s.
async fn replace_sick_node_within(
    fake: &reflex_fake_kube::FakeKube,
    fleet: &RecordingFleet,
    limit: Duration,
) -> reflex_core::audit::AuditRecord {
    let settings = Settings {
        request_timeout: Duration::from_secs(3),
        ..fast()
    };
    let kube = crate::common::cluster(fake)
        .with_settings(settings)
        .with_time_limit(Some(limit));
    let alert = event("alertmanager/node-not-ready-sick-node.json");
    replay(&kube, fleet, &policy(3, 3), Mode::Enforce, &alert).await
}

#[tokio::test]
async fn a_deadline_that_arrives_between_cordon_and_termination_stops_before_terminating() {
    let fake = start_voting_app().await;
    // The evictions take 2.5 s: after them, less than a call's 3 s is left of the 5 s.
    fake.faults().delay(
        Route::prefix("/api/v1/namespaces/production/pods/").method("POST"),
        Duration::from_millis(2500),
    );
    let fleet = RecordingFleet::default();
    let r = replace_sick_node_within(&fake, &fleet, Duration::from_secs(5)).await;

    assert_eq!(r.verdict, Verdict::Failed, "{r:?}");
    assert_eq!(
        steps(&r),
        [
            ("cordon".into(), StepResult::Ok),
            ("evict".into(), StepResult::Ok),
            ("evict".into(), StepResult::Ok),
            ("wait_pods_gone".into(), StepResult::Ok),
            ("terminate_instance".into(), StepResult::Skipped),
        ],
        "{r:?}"
    );
    let skipped = &r.steps[4].detail;
    assert!(
        skipped.starts_with("terminate_instance not started with")
            && skipped.contains("as it may take 3s; done so far: cordon, evict, evict, wait_pods_gone; the node stays cordoned"),
        "{skipped}"
    );
    assert!(
        r.reason.contains("stopped before the deadline"),
        "{}",
        r.reason
    );
    assert!(fleet.terminated().is_empty(), "{:?}", fleet.calls());
    let node = fake.object("Node", None, SICK_NODE).unwrap();
    assert_eq!(node["spec"]["unschedulable"], true);
    assert!(node["metadata"]["annotations"][CORDON_ANNOTATION].is_string());
}

#[tokio::test]
async fn an_action_that_cannot_fit_is_not_started_at_all() {
    let fake = start_voting_app().await;
    let fleet = RecordingFleet::default();
    let r = replace_sick_node_within(&fake, &fleet, Duration::from_secs(1)).await;

    assert_eq!(r.verdict, Verdict::Failed, "{r:?}");
    assert!(
        r.steps.iter().all(|s| s.result == StepResult::Skipped),
        "{r:?}"
    );
    assert!(r.steps[0].detail.contains("nothing was changed"), "{r:?}");
    assert!(
        crate::common::writes(&fake).is_empty(),
        "{:?}",
        crate::common::writes(&fake)
    );
    let node = fake.object("Node", None, SICK_NODE).unwrap();
    assert_ne!(node["spec"]["unschedulable"], true);
}
