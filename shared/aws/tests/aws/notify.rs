//! On-call notifications: published to SNS, read back from a subscribed SQS queue.

use reflex_aws::SnsNotifier;
use reflex_core::audit::ActionSummary;
use reflex_core::ledger::Notifier;
use reflex_core::vocab::action::ActionKind;
use reflex_core::vocab::target::{TargetKind, TargetRef};
use reflex_core::vocab::verdict::{StepRecord, StepResult};
use reflex_core::{AuditRecord, Mode, Verdict};
use serde_json::Value;

use reflex_test_support::queue::{Delivery, SubscribedQueue};
use reflex_test_support::unique;

fn executed_record() -> AuditRecord {
    let mut r = AuditRecord::rejected(
        unique("run"),
        chrono::Utc::now(),
        Mode::Enforce,
        None,
        "fp".into(),
        String::new(),
        Default::default(),
    );
    r.source = "alertmanager".into();
    r.alert.name = Some("KubePodCrashLooping".into());
    r.alert.status = Some("firing".into());
    r.alert
        .labels
        .insert("namespace".into(), "production".into());
    r.alert
        .labels
        .insert("pod".into(), "worker-69d4c8b7f-h7s2d".into());
    r.verdict = Verdict::Executed;
    r.reason = "restart the crash-looping pod".into();
    r.action = Some(ActionSummary {
        kind: ActionKind::RestartPod,
        target: TargetRef::namespaced(TargetKind::Pod, "production", "worker-69d4c8b7f-h7s2d"),
    });
    r.steps.push(StepRecord {
        op: "delete_pod".into(),
        call: "DELETE /api/v1/namespaces/production/pods/worker-69d4c8b7f-h7s2d".into(),
        result: StepResult::Ok,
        detail: "deleted".into(),
    });
    r
}

#[tokio::test]
async fn notification_reaches_a_subscribed_queue() {
    let aws = crate::moto_aws().await;
    let sns = aws_sdk_sns::Client::new(aws.sdk_config());
    let topic = sns
        .create_topic()
        .name(unique("notify"))
        .send()
        .await
        .expect("topic")
        .topic_arn
        .expect("arn");
    let queue =
        SubscribedQueue::subscribe(aws.sdk_config(), &topic, "oncall", Delivery::Envelope).await;
    let record = executed_record();

    SnsNotifier::with_client(sns, &topic, "reflex-audit")
        .notify(&record)
        .await
        .expect("notify");

    let messages = queue.drain().await;
    assert_eq!(messages.len(), 1, "{messages:?}");
    let envelope: Value = serde_json::from_str(&messages[0]).expect("json");
    assert_eq!(
        envelope["Subject"],
        "reflex executed (enforce): restart_pod Pod production/worker-69d4c8b7f-h7s2d"
    );
    let body = envelope["Message"].as_str().expect("message");
    assert!(body.contains(&format!("Audit id: {}", record.id)), "{body}");
    assert!(
        body.contains("Target: Pod production/worker-69d4c8b7f-h7s2d"),
        "{body}"
    );
    assert!(
        body.contains("What happened: restart the crash-looping pod"),
        "{body}"
    );
    assert!(body.contains("pod=worker-69d4c8b7f-h7s2d"), "{body}");
}
