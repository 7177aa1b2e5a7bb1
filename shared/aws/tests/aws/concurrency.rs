//! Exactly once, one action per target, the budget and one node replacement at a time,
//! with the pipeline on the DynamoDB ledger and the voting-app snapshot as the cluster (its
//! in-memory simulation performs the actions).

use std::sync::Arc;

use chrono::Utc;
use reflex_core::pipeline::{Adapters, Clock, Handled, Ids, Pipeline, Transient};
use reflex_core::policy::Policy;
use reflex_core::{Mode, Verdict};
use reflex_snapshot::Snapshot;

use reflex_test_support::event;

fn snapshot() -> Snapshot {
    Snapshot::from_json(&reflex_test_support::kube::voting_app()).expect("snapshot")
}

/// One invocation: its own view of the cluster (as a separate Lambda would have), the
/// shared table.
async fn invoke(
    policy: &Policy,
    ledger: &reflex_aws::DynamoLedger,
    cluster: &Snapshot,
    event: &[u8],
    run: &str,
    now: chrono::DateTime<Utc>,
) -> Handled {
    let pipeline = Pipeline {
        policy,
        mode: Mode::Enforce,
    };
    let adapters = Adapters {
        cluster: Some(cluster),
        live: Some((cluster, cluster)),
        ledger,
        notifier: &(),
        alarms: &(),
        traffic: &(),
    };
    let mut handled = pipeline
        .process(event, &adapters, Clock::Fixed(now), &mut Ids::new(run))
        .await;
    assert_eq!(handled.len(), 1);
    handled.remove(0)
}

/// Runs one invocation per `(run id, event)` at the same time, as concurrent Lambdas would,
/// all on one table and one cluster, and returns what each handled.
async fn invoke_concurrently(
    ledger: &Arc<reflex_aws::DynamoLedger>,
    cluster: &Arc<Snapshot>,
    events: Vec<(String, Vec<u8>)>,
    now: chrono::DateTime<Utc>,
) -> Vec<Handled> {
    let views = events
        .into_iter()
        .map(|(run, event)| (run, event, cluster.clone()))
        .collect();
    invoke_with_views(ledger, views, now).await
}

/// [`invoke_concurrently`], each invocation with its own cluster.
async fn invoke_with_views(
    ledger: &Arc<reflex_aws::DynamoLedger>,
    events: Vec<(String, Vec<u8>, Arc<Snapshot>)>,
    now: chrono::DateTime<Utc>,
) -> Vec<Handled> {
    let policy = Arc::new(Policy::default_policy());
    let tasks: Vec<_> = events
        .into_iter()
        .map(|(run, event, cluster)| {
            let (ledger, policy) = (ledger.clone(), policy.clone());
            tokio::spawn(async move { invoke(&policy, &ledger, &cluster, &event, &run, now).await })
        })
        .collect();
    let mut handled = Vec::new();
    for task in tasks {
        handled.push(task.await.expect("task"));
    }
    handled
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_concurrent_deliveries_of_one_alert_act_once() {
    let aws = crate::moto_aws().await;
    let ledger = Arc::new(crate::store::create_table(&aws).await);
    let cluster = Arc::new(snapshot());
    let event = event("alertmanager/pod-crashloop-worker.json");
    let now = Utc::now();

    let deliveries = (0..20)
        .map(|i| (format!("delivery-{i:02}"), event.clone()))
        .collect();
    let handled = invoke_concurrently(&ledger, &cluster, deliveries, now).await;

    let executed: Vec<_> = handled
        .iter()
        .filter(|h| h.record.verdict == Verdict::Executed)
        .collect();
    assert_eq!(
        executed.len(),
        1,
        "{:#?}",
        handled
            .iter()
            .map(|h| (&h.record.verdict, &h.record.reason))
            .collect::<Vec<_>>()
    );
    // A delivery that meets the claim while its holder is still at work is deferred:
    // nothing stored, retried by Lambda; one after the holder's record is a duplicate.
    let mut deferred = 0;
    for h in &handled {
        if let Some(transient) = &h.transient {
            assert!(
                matches!(transient, Transient::InProgress(why) if why.contains("may still be at work")),
                "{transient:?}"
            );
            deferred += 1;
        } else if h.record.verdict != Verdict::Executed {
            assert_eq!(h.record.verdict, Verdict::Suppressed, "{}", h.record.reason);
            assert!(
                h.record.reason.contains("duplicate delivery")
                    || h.record.reason.contains("lease is held"),
                "{}",
                h.record.reason
            );
        }
    }
    assert_eq!(
        cluster.pod_now("production", "worker-69d4c8b7f-h7s2d"),
        None,
        "the pod was restarted"
    );
    // Lambda's retry of each deferred delivery finds the holder's record: a duplicate.
    let retries = (0..deferred)
        .map(|i| (format!("retry-{i:02}"), event.clone()))
        .collect();
    for h in invoke_concurrently(&ledger, &cluster, retries, now).await {
        assert!(h.transient.is_none(), "{:?}", h.transient);
        assert!(
            h.record.reason.contains("duplicate delivery"),
            "{}",
            h.record.reason
        );
    }
    let stored = ledger
        .records_since(now - chrono::Duration::minutes(1))
        .await
        .expect("records");
    assert_eq!(stored.len(), 20, "every delivery left its record");
    assert_eq!(
        stored
            .iter()
            .filter(|r| r.verdict == Verdict::Executed)
            .count(),
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_concurrent_different_alerts_for_one_target_act_once() {
    let aws = crate::moto_aws().await;
    let ledger = Arc::new(crate::store::create_table(&aws).await);
    let cluster = Arc::new(snapshot());
    let crash = String::from_utf8(event("alertmanager/pod-crashloop-worker.json")).expect("utf-8");
    let now = Utc::now();

    // Twenty alert instances (distinct fingerprints) about the same pod, all at once: the
    // claims all succeed, so only the per-target lease stands between them and the pod.
    let alerts = (0..20)
        .map(|i| {
            (
                format!("alert-{i:02}"),
                crash
                    .replace("07405cceddc05c9e", &format!("{i:016x}"))
                    .into_bytes(),
            )
        })
        .collect();
    let mut verdicts = Vec::new();
    for h in invoke_concurrently(&ledger, &cluster, alerts, now).await {
        assert!(h.transient.is_none(), "{:?}", h.transient);
        verdicts.push((h.record.verdict, h.record.reason));
    }
    let executed = verdicts
        .iter()
        .filter(|(v, _)| *v == Verdict::Executed)
        .count();
    assert_eq!(executed, 1, "{verdicts:#?}");
    // The others were refused by the lease or the cooldown, or (those that read the cluster
    // after the restart) found the crash-looping pod already gone.
    for (verdict, reason) in verdicts.iter().filter(|(v, _)| *v != Verdict::Executed) {
        let refused = *verdict == Verdict::Suppressed
            && (reason.contains("lease is held") || reason.starts_with("cooldown"));
        let gone = *verdict == Verdict::Ignored && reason.starts_with("target gone");
        assert!(refused || gone, "{verdict:?}: {reason}");
    }
}

#[tokio::test]
async fn two_different_alerts_for_one_target_within_the_cooldown_act_once() {
    let aws = crate::moto_aws().await;
    let ledger = crate::store::create_table(&aws).await;
    let policy = Policy::default_policy();
    let crash = event("alertmanager/pod-crashloop-worker.json");
    // Another alert about the same pod: a different rule, a different alert instance.
    let not_ready = String::from_utf8(crash.clone())
        .expect("utf-8")
        .replace("KubePodCrashLooping", "KubePodNotReady")
        .replace("07405cceddc05c9e", "5be1c0ffee5be1c0");
    let now = Utc::now();

    let first = invoke(&policy, &ledger, &snapshot(), &crash, "first", now).await;
    let second = invoke(
        &policy,
        &ledger,
        &snapshot(),
        not_ready.as_bytes(),
        "second",
        now + chrono::Duration::minutes(2),
    )
    .await;

    assert_eq!(
        first.record.verdict,
        Verdict::Executed,
        "{}",
        first.record.reason
    );
    assert_eq!(second.record.alert.name.as_deref(), Some("KubePodNotReady"));
    assert_eq!(second.record.action, first.record.action, "same target");
    assert_eq!(
        second.record.verdict,
        Verdict::Suppressed,
        "{}",
        second.record.reason
    );
    assert!(
        second.record.reason.contains("cooldown"),
        "{}",
        second.record.reason
    );
}

/// The voting app with `n` more crash-looping replicas of the worker, `worker-69d4c8b7f-cNN`
/// (each its own target).
fn with_workers(n: usize) -> Snapshot {
    let mut list: serde_json::Value =
        serde_json::from_slice(&event("cluster/voting-app.json")).expect("json");
    let items = list["items"].as_array_mut().expect("items");
    let worker = items
        .iter()
        .find(|i| i["kind"] == "Pod" && i["metadata"]["name"] == "worker-69d4c8b7f-h7s2d")
        .expect("worker pod")
        .clone();
    for i in 0..n {
        let mut pod = worker.clone();
        pod["metadata"]["name"] = format!("worker-69d4c8b7f-c{i:02}").into();
        pod["metadata"]["uid"] = format!("00000000-0000-4000-8000-{i:012}").into();
        items.push(pod);
    }
    Snapshot::from_json(list.to_string().as_bytes()).expect("snapshot")
}

/// The worker crash-loop alert, about replica `cNN` (its own alert instance).
fn crash_of(i: usize) -> Vec<u8> {
    String::from_utf8(event("alertmanager/pod-crashloop-worker.json"))
        .expect("utf-8")
        .replace(
            "worker-69d4c8b7f-h7s2d",
            &format!("worker-69d4c8b7f-c{i:02}"),
        )
        .replace(
            "dbc5cbef-ef0f-4664-b4f0-0c034e4c4468",
            &format!("00000000-0000-4000-8000-{i:012}"),
        )
        .replace("07405cceddc05c9e", &format!("{i:016x}"))
        .into_bytes()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_concurrent_alerts_on_twenty_targets_with_nine_of_ten_used_act_once() {
    let aws = crate::moto_aws().await;
    let ledger = Arc::new(crate::store::create_table(&aws).await);
    let cluster = Arc::new(with_workers(29));
    let policy = Policy::default_policy();
    let now = Utc::now();

    // Nine actions of the hour's ten, one after another.
    for i in 0..9 {
        let h = invoke(
            &policy,
            &ledger,
            &cluster,
            &crash_of(i),
            &format!("earlier-{i}"),
            now,
        )
        .await;
        assert_eq!(h.record.verdict, Verdict::Executed, "{}", h.record.reason);
    }
    // Twenty alerts about twenty other pods, all at once: each may read nine in history.
    let alerts = (9..29)
        .map(|i| (format!("alert-{i:02}"), crash_of(i)))
        .collect();
    let handled = invoke_concurrently(&ledger, &cluster, alerts, now).await;

    let verdicts: Vec<_> = handled
        .iter()
        .map(|h| (h.record.verdict, h.record.reason.clone()))
        .collect();
    let executed = verdicts
        .iter()
        .filter(|(v, _)| *v == Verdict::Executed)
        .count();
    assert_eq!(executed, 1, "{verdicts:#?}");
    for h in &handled {
        assert!(h.transient.is_none(), "{:?}", h.transient);
    }
    // The others were refused by the budget: its counter (exact) or the history (when the
    // tenth action was already recorded), each saying which limit and its figures.
    for (verdict, reason) in verdicts.iter().filter(|(v, _)| *v != Verdict::Executed) {
        assert_eq!(*verdict, Verdict::Suppressed, "{reason}");
        assert!(
            reason.starts_with("budget: 10 of 10 actions used in the hour from ")
                || reason.starts_with("budget: 10 of 10 actions used in the last 1h"),
            "{reason}"
        );
    }
    let restarted = (9..29)
        .filter(|i| {
            cluster
                .pod_now("production", &format!("worker-69d4c8b7f-c{i:02}"))
                .is_none()
        })
        .count();
    assert_eq!(restarted, 1, "exactly one more pod was restarted");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_node_alerts_at_once_drain_one_node() {
    let aws = crate::moto_aws().await;
    let ledger = Arc::new(crate::store::create_table(&aws).await);
    let sick = event("alertmanager/node-not-ready-sick-node.json");
    // Another node, with no PodDisruptionBudget in its way: its own alert instance.
    let other = String::from_utf8(sick.clone())
        .expect("utf-8")
        .replace("ip-10-0-2-41.ec2.internal", "ip-10-0-3-199.ec2.internal")
        .replace("674cce2e1939c90f", "0123456789abcdef")
        .into_bytes();
    // Two invocations that each read the cluster before either acts: neither sees the
    // other's cordon, and history holds no replacement yet.
    let views = [Arc::new(snapshot()), Arc::new(snapshot())];
    let invocations = vec![
        ("sick".to_owned(), sick, views[0].clone()),
        ("other".to_owned(), other, views[1].clone()),
    ];
    let handled = invoke_with_views(&ledger, invocations, Utc::now()).await;

    let verdicts: Vec<_> = handled
        .iter()
        .map(|h| (h.record.verdict, h.record.reason.clone()))
        .collect();
    let executed: Vec<_> = handled
        .iter()
        .filter(|h| h.record.verdict == Verdict::Executed)
        .collect();
    assert_eq!(executed.len(), 1, "{verdicts:#?}");
    let refused = handled
        .iter()
        .find(|h| h.record.verdict != Verdict::Executed)
        .expect("the other one");
    assert_eq!(refused.record.verdict, Verdict::Suppressed, "{verdicts:#?}");
    let winner = &executed[0].record;
    let node = &winner.action.as_ref().expect("action").target.name;
    assert!(
        refused.record.reason.starts_with(&format!(
            "a node replacement is already in flight (node {node}, lease held by record {}",
            winner.id
        )),
        "{}",
        refused.record.reason
    );
    assert!(refused.record.steps.is_empty(), "nothing was sent");
    let terminated: usize = views.iter().map(|v| v.terminated().len()).sum();
    assert_eq!(terminated, 1, "one instance terminated");
}
