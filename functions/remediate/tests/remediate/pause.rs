//! The pause and stale deliveries at the handler. A pause put in the DynamoDB table (moto)
//! by an operator is seen by every invocation at its next alert: each alert is recorded as
//! `suppressed` with a reason starting `paused`, nothing is changed, and on-call is told
//! once per pause, however many invocations run at once. A delivery handled long after it
//! was sent (a backlog released after a throttle) does nothing.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use chrono::{DateTime, Duration, Utc};
use reflex_aws::DynamoLedger;
use reflex_core::duration::Span;
use reflex_core::ledger::{Ledger, MemoryLedger, Pause};
use reflex_core::pipeline::{Adapters, Pipeline};
use reflex_core::policy::Policy;
use reflex_core::vocab::verdict::{Mode, Verdict};
use reflex_remediate::{Deps, handle};
use reflex_snapshot::Snapshot;
use reflex_test_support::aws::{create_table, moto_aws};

use crate::{Pager, deps, event, lambda_event, now, voting_app};

/// Enforce-mode dependencies on the table, acting on `cluster` (its simulation), paging
/// through `pager`, at `now`.
fn on_table<'a>(
    policy: &'a Policy,
    cluster: &'a Snapshot,
    ledger: &'a DynamoLedger,
    pager: &'a Pager,
    now: DateTime<Utc>,
) -> Deps<'a, Snapshot, Snapshot, Snapshot, DynamoLedger, Pager> {
    Deps {
        pipeline: Pipeline {
            policy,
            mode: Mode::Enforce,
        },
        adapters: Adapters {
            cluster: Some(cluster),
            live: Some((cluster, cluster)),
            ledger,
            notifier: pager,
            alarms: &(),
        },
        admission: &(),
        now: Some(now),
        emf_metrics: false,
        links: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_concurrent_invocations_while_paused_are_suppressed_and_on_call_is_told_once() {
    let aws = moto_aws().await;
    let ledger = Arc::new(create_table(&aws).await);
    let policy = Arc::new(Policy::default_policy());
    let cluster = Arc::new(voting_app());
    let pager = Arc::new(Pager::default());
    let at = Utc::now();
    let pause = Pause::new(
        "arn:aws:iam::123456789012:user/alice",
        "db migration",
        at,
        None,
    );
    ledger.pause(&pause).await.unwrap();

    // Twenty alerts about twenty pods at once, each its own invocation.
    let events = [
        "alertmanager/pod-crashloop-worker.json",
        "alertmanager/pod-not-ready-result.json",
        "sns-alertmanager/pod-crashloop-worker.json",
        "alertmanager/pod-crashloop-vote-recent-rollout.json",
    ];
    let mut tasks = Vec::new();
    for i in 0..20 {
        let (ledger, policy, cluster, pager) = (
            ledger.clone(),
            policy.clone(),
            cluster.clone(),
            pager.clone(),
        );
        let payload = event(events[i % events.len()]);
        tasks.push(tokio::spawn(async move {
            let deps = on_table(&policy, &cluster, &ledger, &pager, at);
            handle(lambda_event(&payload, &format!("req-{i:02}")), &deps).await
        }));
    }
    for task in tasks {
        let summary = task.await.unwrap().expect("a paused alert is handled");
        for record in &summary.records {
            assert_eq!(record.verdict, Verdict::Suppressed, "{record:?}");
        }
    }
    let stored = ledger
        .records_since(at - Duration::minutes(1))
        .await
        .unwrap();
    assert_eq!(stored.len(), 20, "every invocation left its record");
    for record in &stored {
        assert!(
            record
                .reason
                .starts_with("paused by arn:aws:iam::123456789012:user/alice"),
            "{}",
            record.reason
        );
        assert!(
            record.reason.contains("\"db migration\""),
            "{}",
            record.reason
        );
        assert!(record.steps.is_empty(), "nothing was sent: {record:?}");
    }
    assert!(
        cluster
            .pod_now("production", "worker-69d4c8b7f-h7s2d")
            .is_some(),
        "nothing was changed"
    );
    assert_eq!(
        pager.sent.load(Ordering::SeqCst),
        1,
        "on-call is told once per pause"
    );
}

#[tokio::test]
async fn after_resume_the_next_alert_is_acted_on_and_a_new_pause_is_told_again() {
    let aws = moto_aws().await;
    let ledger = create_table(&aws).await;
    let (policy, cluster, pager) = (Policy::default_policy(), voting_app(), Pager::default());
    let at = Utc::now();
    let deps = on_table(&policy, &cluster, &ledger, &pager, at);
    let payload = event("alertmanager/pod-crashloop-worker.json");

    ledger
        .pause(&Pause::new("alice", "first", at, Some(Span::from_mins(30))))
        .await
        .unwrap();
    let paused = handle(lambda_event(&payload, "req-1"), &deps)
        .await
        .unwrap();
    assert_eq!(paused.records[0].verdict, Verdict::Suppressed);

    let later = |secs| at + Duration::seconds(secs);
    let ended = ledger
        .resume("bob", later(1))
        .await
        .unwrap()
        .expect("a pause ended");
    assert_eq!(ended.reason, "first");
    assert_eq!(
        ledger.resume("bob", later(1)).await.unwrap(),
        None,
        "nothing left to end"
    );
    let acted = handle(lambda_event(&payload, "req-2"), &deps)
        .await
        .unwrap();
    assert_eq!(acted.records[0].verdict, Verdict::Executed, "{acted:?}");

    ledger
        .pause(&Pause::new("carol", "second", later(2), None))
        .await
        .unwrap();
    let other = event("alertmanager/pod-not-ready-result.json");
    handle(lambda_event(&other, "req-3"), &deps).await.unwrap();
    let reasons = pager.reasons.lock().unwrap().clone();
    assert_eq!(
        reasons.len(),
        3,
        "paused once, executed, paused again: {reasons:?}"
    );
    assert!(reasons[0].starts_with("paused by alice"), "{reasons:?}");
    assert!(reasons[2].starts_with("paused by carol"), "{reasons:?}");

    let log = ledger.controls(10).await.unwrap();
    let seen: Vec<(&str, &str)> = log
        .iter()
        .map(|e| (e.control.as_str(), e.by.as_str()))
        .collect();
    assert_eq!(
        seen,
        [("pause", "carol"), ("resume", "bob"), ("pause", "alice")],
        "pauses and resumes are recorded, newest first"
    );
}

#[tokio::test]
async fn a_pause_for_a_while_ends_by_itself() {
    let (policy, cluster, ledger) = (Policy::default_policy(), voting_app(), MemoryLedger::new());
    let start = now() - Duration::minutes(20);
    ledger
        .pause(&Pause::new(
            "alice",
            "deploy freeze",
            start,
            Some(Span::from_mins(15)),
        ))
        .await
        .unwrap();
    let deps = deps(
        &policy,
        Mode::Enforce,
        &cluster,
        Some((&cluster, &cluster)),
        &ledger,
    );
    let summary = handle(
        lambda_event(&event("alertmanager/pod-crashloop-worker.json"), "req-1"),
        &deps,
    )
    .await
    .unwrap();
    assert_eq!(summary.records[0].verdict, Verdict::Executed, "{summary:?}");
}

#[tokio::test]
async fn an_sns_event_sent_an_hour_before_it_is_handled_does_nothing() {
    // A throttled subscription releases its backlog: the SNS envelope says 09:30:07, the
    // handler runs at 10:30:07. The pod is not restarted on an hour-old picture.
    let (policy, cluster, ledger) = (Policy::default_policy(), voting_app(), MemoryLedger::new());
    let mut deps = deps(
        &policy,
        Mode::Enforce,
        &cluster,
        Some((&cluster, &cluster)),
        &ledger,
    );
    deps.now = Some("2026-11-20T10:30:07.961Z".parse().unwrap());
    let payload = event("sns-alertmanager/pod-crashloop-worker.json");
    handle(lambda_event(&payload, "req-1"), &deps)
        .await
        .unwrap();
    let record = ledger.records().remove(0);
    assert_eq!(record.verdict, Verdict::Ignored, "{record:?}");
    assert!(
        record
            .reason
            .starts_with("stale delivery: sent at 2026-11-20T09:30:07.961Z, evaluated 1h later"),
        "{}",
        record.reason
    );
    assert!(
        cluster
            .pod_now("production", "worker-69d4c8b7f-h7s2d")
            .is_some()
    );

    // Fourteen minutes late is not stale (the default limit is 15m): it acts.
    deps.now = Some("2026-11-20T09:44:07.961Z".parse().unwrap());
    let summary = handle(lambda_event(&payload, "req-2"), &deps)
        .await
        .unwrap();
    assert_eq!(summary.records[0].verdict, Verdict::Executed, "{summary:?}");
}
