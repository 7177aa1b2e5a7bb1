//! What the handler answers Lambda, for each kind of outcome.

use std::time::Duration;

use reflex_core::ledger::MemoryLedger;
use reflex_core::pipeline::{Adapters, Pipeline};
use reflex_core::policy::Policy;
use reflex_core::vocab::verdict::{Mode, Verdict};
use reflex_kube::{KubeCluster, Settings};
use reflex_remediate::{Deps, HandlerError, handle_bytes};

use crate::{dry_run, event, now, voting_app};

#[tokio::test]
async fn an_alertmanager_alert_through_sns_is_planned_and_succeeds() {
    let (policy, cluster, ledger) = (Policy::default_policy(), voting_app(), MemoryLedger::new());
    let payload = event("sns-alertmanager/pod-crashloop-worker.json");
    let summary = handle_bytes(&payload, "req-1", &dry_run(&policy, &cluster, &ledger))
        .await
        .unwrap();
    assert_eq!(summary.records.len(), 1);
    let record = &summary.records[0];
    assert_eq!(
        record.id,
        format!("req-1-{}-0001", now().timestamp_millis())
    );
    assert_eq!(record.verdict, Verdict::Planned);
    assert_eq!(record.alert.as_deref(), Some("KubePodCrashLooping"));
    assert!(
        record.action.as_deref().unwrap().starts_with("restart_pod"),
        "{record:?}"
    );
    // The record is in the ledger, as the audit table would hold it.
    let stored = ledger.records();
    assert_eq!(stored.len(), 1);
    assert_eq!(
        stored[0].id,
        format!("req-1-{}-0001", now().timestamp_millis())
    );
}

#[tokio::test]
async fn every_input_shape_a_lambda_receives_is_handled() {
    let (policy, cluster) = (Policy::default_policy(), voting_app());
    for file in [
        "sns-cloudwatch/pod-restarts-worker.json",
        "alarm-action/pod-restarts-worker.json",
        "eventbridge/pod-restarts-worker.json",
        "sns-cloudwatch/alb-target-5xx-unrelated.json",
        "sns-cloudwatch/pod-restarts-vote-ok.json",
    ] {
        let ledger = MemoryLedger::new();
        let summary = handle_bytes(&event(file), "req", &dry_run(&policy, &cluster, &ledger))
            .await
            .unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_eq!(summary.records.len(), 1, "{file}");
        assert_ne!(summary.records[0].verdict, Verdict::Rejected, "{file}");
    }
}

#[tokio::test]
async fn the_same_sns_message_delivered_twice_plans_one_action() {
    let (policy, cluster, ledger) = (Policy::default_policy(), voting_app(), MemoryLedger::new());
    let deps = dry_run(&policy, &cluster, &ledger);
    let payload = event("sns-alertmanager/pod-not-ready-result.json");
    let first = handle_bytes(&payload, "req-1", &deps).await.unwrap();
    let second = handle_bytes(&payload, "req-2", &deps).await.unwrap();
    assert_eq!(first.records[0].verdict, Verdict::Planned);
    assert_eq!(second.records[0].verdict, Verdict::Suppressed);
    let stored = ledger.records();
    assert!(
        stored[1].reason.starts_with("duplicate delivery"),
        "{}",
        stored[1].reason
    );
}

#[tokio::test]
async fn a_plain_text_sns_message_is_stored_as_rejected_and_sent_to_the_dead_letter_queue() {
    let (policy, cluster, ledger) = (Policy::default_policy(), voting_app(), MemoryLedger::new());
    let payload = event("invalid/sns-alertmanager-plain-text-template.json");
    let err = handle_bytes(&payload, "req-9", &dry_run(&policy, &cluster, &ledger))
        .await
        .unwrap_err();
    let HandlerError::Rejected { rejections } = &err else {
        panic!("{err:?}");
    };
    assert_eq!(rejections.len(), 1);
    assert!(
        rejections[0].starts_with(&format!("req-9-{}-0001: ", now().timestamp_millis())),
        "{}",
        rejections[0]
    );
    assert!(!err.retryable());
    // The record was stored before the error.
    let stored = ledger.records();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].verdict, Verdict::Rejected);
}

#[tokio::test]
async fn a_payload_with_one_rejected_item_is_an_error_after_every_record_is_stored() {
    let (policy, cluster, ledger) = (Policy::default_policy(), voting_app(), MemoryLedger::new());
    // Two SNS records: a good Alertmanager message and a plain-text one.
    let good: serde_json::Value =
        serde_json::from_slice(&event("sns-alertmanager/pod-not-ready-result.json")).unwrap();
    let bad: serde_json::Value =
        serde_json::from_slice(&event("invalid/sns-alertmanager-plain-text-template.json"))
            .unwrap();
    let both = serde_json::json!({"Records": [good["Records"][0], bad["Records"][0]]});
    let err = handle_bytes(
        both.to_string().as_bytes(),
        "req",
        &dry_run(&policy, &cluster, &ledger),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, HandlerError::Rejected { .. }), "{err:?}");
    let verdicts: Vec<Verdict> = ledger.records().iter().map(|r| r.verdict).collect();
    assert_eq!(verdicts, [Verdict::Planned, Verdict::Rejected]);
}

#[tokio::test]
async fn a_rejected_event_retried_by_lambda_leaves_one_record_and_fails_every_attempt() {
    // Lambda retries a failed asynchronous invocation twice, with the same event, before
    // the dead-letter queue takes it: three attempts, one record, on the shared table.
    let aws = reflex_test_support::aws::moto_aws().await;
    let ledger = reflex_test_support::aws::create_table(&aws).await;
    let (policy, cluster) = (Policy::default_policy(), voting_app());
    let bad = event("invalid/sns-alertmanager-plain-text-template.json");
    let deps = Deps {
        pipeline: Pipeline {
            policy: &policy,
            mode: Mode::DryRun,
        },
        adapters: Adapters {
            cluster: Some(&cluster),
            live: None::<(&reflex_snapshot::Snapshot, &reflex_snapshot::Snapshot)>,
            ledger: &ledger,
            notifier: &(),
            alarms: &(),
        },
        admission: &(),
        now: Some(now()),
        emf_metrics: false,
        links: None,
    };

    for attempt in 0..3 {
        let err = handle_bytes(&bad, "req-retried", &deps).await.unwrap_err();
        assert!(
            matches!(err, HandlerError::Rejected { .. }),
            "attempt {attempt}: {err:?}"
        );
    }

    let stored = ledger
        .records_since(now() - chrono::Duration::minutes(1))
        .await
        .unwrap();
    let rejected: Vec<_> = stored
        .iter()
        .filter(|r| r.verdict == Verdict::Rejected)
        .collect();
    assert_eq!(
        rejected.len(),
        1,
        "one record for three attempts: {stored:?}"
    );
    assert!(rejected[0].notes.is_empty(), "{:?}", rejected[0]);
}

/// The live kube adapter aimed at a loopback port nobody listens on, with short timings.
fn unreachable_cluster() -> KubeCluster {
    let url = format!("http://127.0.0.1:{}", reflex_test_support::free_port());
    reflex_test_support::kube::cluster_at(
        &url,
        Settings {
            request_timeout: Duration::from_secs(2),
            backoff_min: Duration::from_millis(10),
            backoff_max: Duration::from_millis(50),
            ..Settings::default()
        },
    )
}

#[tokio::test]
async fn an_unreachable_cluster_is_a_retryable_error_and_the_retry_acts() {
    let (policy, ledger) = (Policy::default_policy(), MemoryLedger::new());
    let payload = event("sns-alertmanager/pod-not-ready-result.json");
    let down = unreachable_cluster();
    let deps: Deps<'_, KubeCluster, KubeCluster, reflex_snapshot::Snapshot, MemoryLedger> = Deps {
        pipeline: Pipeline {
            policy: &policy,
            mode: Mode::DryRun,
        },
        adapters: Adapters {
            cluster: Some(&down),
            live: None,
            ledger: &ledger,
            notifier: &(),
            alarms: &(),
        },
        admission: &(),
        now: Some(now()),
        emf_metrics: false,
        links: None,
    };
    let err = handle_bytes(&payload, "req-1", &deps).await.unwrap_err();
    assert!(matches!(err, HandlerError::Transient { .. }), "{err:?}");
    assert!(err.retryable());
    let stored = ledger.records();
    assert_eq!(stored.len(), 1, "the failure is audited too");
    assert_eq!(stored[0].verdict, Verdict::Failed);

    // Lambda's retry, with the cluster back: the withdrawn claim lets it act.
    let cluster = voting_app();
    let summary = handle_bytes(&payload, "req-1", &dry_run(&policy, &cluster, &ledger))
        .await
        .unwrap();
    assert_eq!(summary.records[0].verdict, Verdict::Planned);
}
