//! Bad days: bursts of 429 and 500 answers are ridden out; an API that keeps failing, a
//! dropped connection or latency past a timeout ends the action as `failed` with the
//! cause, within the action's time limit.

use std::time::{Duration, Instant};

use reflex_core::cluster::{Actuator, ClusterError, Submit};
use reflex_core::duration::Span;
use reflex_core::vocab::op::{Op, PodRef};
use reflex_core::vocab::verdict::{Mode, StepResult, Verdict};
use reflex_fake_kube::Route;
use reflex_kube::Settings;

use crate::common::{cluster, fast, policy, run, start_voting_app, steps, writes};

const SICK: &str = "alertmanager/node-not-ready-sick-node.json";

fn evictions() -> Route {
    Route::regex("/eviction$").unwrap()
}

#[tokio::test]
async fn bursts_of_429_and_500_answers_are_retried_until_admitted() {
    let fake = start_voting_app().await;
    let kube = cluster(&fake);
    fake.faults()
        .fail_next(Route::prefix("/api/v1/nodes/").method("PATCH"), 2, 500);
    fake.faults().fail_next(evictions(), 3, 429);
    fake.faults().fail_next(evictions(), 2, 500);

    let r = run(&kube, &policy(5, 5), Mode::Enforce, SICK).await;

    assert_eq!(r.verdict, Verdict::Executed, "{r:?}");
    let writes = writes(&fake);
    let cordons = writes.iter().filter(|w| w.method == "PATCH").count();
    let evictions = writes
        .iter()
        .filter(|w| w.path.ends_with("/eviction"))
        .count();
    assert_eq!((cordons, evictions), (3, 2 + 5), "{writes:?}");
}

#[tokio::test]
async fn an_eviction_api_that_keeps_failing_ends_the_drain_at_its_timeout() {
    let fake = start_voting_app().await;
    let kube = cluster(&fake);
    fake.faults().fail_always(evictions(), 500);

    let started = Instant::now();
    let r = run(&kube, &policy(1, 2), Mode::Enforce, SICK).await;
    let took = started.elapsed();

    assert_eq!(r.verdict, Verdict::Failed, "{r:?}");
    assert_eq!(r.steps[1].result, StepResult::Failed);
    assert!(
        r.steps[1].detail.contains("not admitted within 1.0 s")
            && r.steps[1].detail.contains("last answer: 500"),
        "{r:?}"
    );
    assert!(took < Duration::from_millis(2000), "took {took:?}");
}

#[tokio::test]
async fn a_dropped_connection_fails_a_rollback_cleanly_without_resending_it() {
    let fake = start_voting_app().await;
    let kube = cluster(&fake);
    let route =
        Route::prefix("/apis/apps/v1/namespaces/production/deployments/vote").method("PATCH");
    fake.faults().drop_next(route, 1);
    let before = fake
        .object("Deployment", Some("production"), "vote")
        .unwrap();

    let r = run(
        &kube,
        &policy(2, 2),
        Mode::Enforce,
        "alertmanager/pod-crashloop-vote-recent-rollout.json",
    )
    .await;

    assert_eq!(r.verdict, Verdict::Failed, "{r:?}");
    assert_eq!(
        steps(&r),
        [
            ("rollback".into(), StepResult::Failed),
            ("verify_rollout".into(), StepResult::Skipped)
        ]
    );
    assert!(
        r.steps[0]
            .detail
            .starts_with("cluster API unavailable: PATCH Deployment production/vote: no answer"),
        "{r:?}"
    );
    assert_eq!(writes(&fake).len(), 1, "sent once");
    assert_eq!(
        fake.object("Deployment", Some("production"), "vote")
            .unwrap(),
        before
    );
}

#[tokio::test]
async fn reads_slower_than_the_verify_timeout_end_the_wait_in_time() {
    let fake = start_voting_app().await;
    let kube = cluster(&fake);
    let pod = PodRef {
        namespace: "production".into(),
        name: "worker-69d4c8b7f-h7s2d".into(),
    };
    kube.apply(
        &Op::DeletePod {
            pod: pod.clone(),
            uid: None,
        },
        Submit::Apply,
    )
    .await
    .unwrap();
    fake.faults().delay(
        Route::regex("^/api/v1/namespaces/production/pods$").unwrap(),
        Duration::from_secs(3),
    );

    let started = Instant::now();
    let late = kube
        .apply(
            &Op::VerifyReplacement {
                pod,
                controller: "ReplicaSet worker-69d4c8b7f".into(),
                timeout: Span::from_secs(1),
            },
            Submit::Apply,
        )
        .await
        .unwrap_err();
    let took = started.elapsed();

    assert!(
        matches!(&late, ClusterError::Timeout(m) if m.contains("last read failed: no answer within")),
        "{late:?}"
    );
    assert!(took < Duration::from_millis(1500), "took {took:?}");
}

#[tokio::test]
async fn a_write_slower_than_the_request_timeout_fails_in_time() {
    let fake = start_voting_app().await;
    let kube = reflex_test_support::kube::cluster(
        &fake,
        Settings {
            request_timeout: Duration::from_millis(400),
            ..fast()
        },
    );
    fake.faults().delay(
        Route::prefix("/api/v1/nodes/").method("PATCH"),
        Duration::from_secs(5),
    );

    let started = Instant::now();
    let late = kube
        .apply(
            &Op::Cordon {
                node: "ip-10-0-1-23.ec2.internal".into(),
                reason: "test".into(),
                drain: reflex_core::vocab::op::DrainRules {
                    evict_local_data: false,
                    timeout: reflex_core::duration::Span::from_secs(5),
                    terminating_grace: reflex_core::duration::Span::from_secs(60),
                },
            },
            Submit::Apply,
        )
        .await
        .unwrap_err();
    let took = started.elapsed();

    assert!(
        matches!(&late, ClusterError::Unavailable(m) if m.contains("no answer within 0.4 s")),
        "{late:?}"
    );
    assert!(took < Duration::from_millis(1000), "took {took:?}");
}
