//! Who may make reflex act: the deployed function acts only on its alerts topic, and on
//! CloudWatch alarm actions and EventBridge alarm events of its own account. Anything else
//! invoked directly is `rejected` (its record stored, the event off to the dead-letter
//! queue) with the source it came from named.

use reflex_core::Verdict;
use reflex_core::ledger::MemoryLedger;
use reflex_core::policy::Policy;
use reflex_remediate::{Deps, HandlerError, Origins, handle_bytes};
use reflex_snapshot::Snapshot;

use crate::{dry_run, event, voting_app};

/// The catalog's alerts topic and account.
const ALERTS_TOPIC: &str = "arn:aws:sns:us-east-1:111122223333:reflex-alerts";
const ACCOUNT: &str = "111122223333";

fn origins(prefix: &str) -> Origins {
    Origins::new(ALERTS_TOPIC, prefix).unwrap()
}

fn guarded<'a>(
    policy: &'a Policy,
    cluster: &'a Snapshot,
    ledger: &'a MemoryLedger,
    origins: &'a Origins,
) -> Deps<'a, Snapshot, Snapshot, Snapshot, MemoryLedger> {
    Deps {
        admission: origins,
        ..dry_run(policy, cluster, ledger)
    }
}

/// Runs `payload` through the guarded handler: the error, and the one stored record's
/// verdict and reason.
async fn refused(payload: &[u8], origins: &Origins) -> (HandlerError, Verdict, String) {
    let (policy, cluster, ledger) = (Policy::default_policy(), voting_app(), MemoryLedger::new());
    let err = handle_bytes(
        payload,
        "req",
        &guarded(&policy, &cluster, &ledger, origins),
    )
    .await
    .unwrap_err();
    let records = ledger.records();
    assert_eq!(records.len(), 1, "one record is stored: {records:?}");
    (err, records[0].verdict, records[0].reason.clone())
}

/// Runs `payload` through the guarded handler and returns the verdict it got.
async fn admitted(payload: &[u8], origins: &Origins) -> Verdict {
    let (policy, cluster, ledger) = (Policy::default_policy(), voting_app(), MemoryLedger::new());
    let summary = handle_bytes(
        payload,
        "req",
        &guarded(&policy, &cluster, &ledger, origins),
    )
    .await
    .unwrap();
    summary.records[0].verdict
}

fn with(file: &str, from: &str, to: &str) -> Vec<u8> {
    let text = String::from_utf8(event(file)).unwrap();
    assert!(text.contains(from), "{file} holds {from}");
    text.replace(from, to).into_bytes()
}

#[tokio::test]
async fn an_event_from_the_alerts_topic_is_acted_on() {
    let payload = event("sns-alertmanager/pod-crashloop-worker.json");
    assert_eq!(admitted(&payload, &origins("")).await, Verdict::Planned);
}

#[tokio::test]
async fn an_sns_envelope_from_another_topic_is_rejected_naming_that_topic() {
    let foreign = "arn:aws:sns:us-east-1:111122223333:anyone-can-publish";
    let payload = with(
        "sns-alertmanager/pod-crashloop-worker.json",
        ALERTS_TOPIC,
        foreign,
    );

    let (err, verdict, reason) = refused(&payload, &origins("")).await;

    assert!(matches!(err, HandlerError::Rejected { .. }), "{err:?}");
    assert!(!err.retryable(), "to the dead-letter queue, not retried");
    assert_eq!(verdict, Verdict::Rejected);
    assert!(
        reason.starts_with(&format!(
            "delivered by SNS topic {foreign}, not by the alerts topic {ALERTS_TOPIC}"
        )),
        "{reason}"
    );
}

#[tokio::test]
async fn a_raw_alertmanager_body_invoked_directly_is_rejected() {
    let payload = event("alertmanager/pod-crashloop-worker.json");

    let (err, verdict, reason) = refused(&payload, &origins("")).await;

    assert!(matches!(err, HandlerError::Rejected { .. }), "{err:?}");
    assert_eq!(verdict, Verdict::Rejected);
    assert!(
        reason.starts_with(
            "an Alertmanager webhook invoked directly, not delivered by the alerts topic"
        ),
        "{reason}"
    );
}

#[tokio::test]
async fn an_alarm_action_of_the_account_is_acted_on_and_one_of_another_account_is_rejected() {
    let ours = event("alarm-action/pod-restarts-worker.json");
    assert_ne!(admitted(&ours, &origins("")).await, Verdict::Rejected);

    let theirs = with(
        "alarm-action/pod-restarts-worker.json",
        ACCOUNT,
        "444455556666",
    );
    let (err, verdict, reason) = refused(&theirs, &origins("")).await;

    assert!(matches!(err, HandlerError::Rejected { .. }), "{err:?}");
    assert_eq!(verdict, Verdict::Rejected);
    assert!(
        reason.starts_with("a CloudWatch alarm action event for an alarm of account 444455556666, not of this account (111122223333)"),
        "{reason}"
    );
}

#[tokio::test]
async fn an_eventbridge_alarm_event_of_another_account_is_rejected() {
    let ours = event("eventbridge/pod-restarts-worker.json");
    assert_ne!(admitted(&ours, &origins("")).await, Verdict::Rejected);

    let theirs = with(
        "eventbridge/pod-restarts-worker.json",
        ACCOUNT,
        "444455556666",
    );
    let (_, verdict, reason) = refused(&theirs, &origins("")).await;

    assert_eq!(verdict, Verdict::Rejected);
    assert!(reason.contains("of account 444455556666"), "{reason}");
}

#[tokio::test]
async fn an_alarm_outside_the_configured_name_prefix_is_rejected() {
    let payload = event("alarm-action/pod-restarts-worker.json");
    assert_ne!(
        admitted(&payload, &origins("voting-prod-")).await,
        Verdict::Rejected
    );

    let (_, verdict, reason) = refused(&payload, &origins("payments-")).await;

    assert_eq!(verdict, Verdict::Rejected);
    assert!(
        reason.contains("does not start with the configured alarm-name prefix \"payments-\""),
        "{reason}"
    );
}
