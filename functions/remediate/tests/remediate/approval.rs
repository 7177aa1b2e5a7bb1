//! Approvals through the handler: a rule that says `approval: required` gives an
//! `awaiting_approval` record whose notification carries the approve command and the signed
//! link (never stored); the approval message the link's page publishes on the alerts topic
//! is performed once when its signature (the real `HmacLinks`) and expiry hold, and refused
//! (`rejected`, the event to the dead-letter queue) when it was tampered with, has expired,
//! was already used, or no signer is configured; on the DynamoDB table (moto), two
//! messages at once give one action.

use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};
use reflex_core::approval::{ApprovalLinks, ApprovalMessage, HmacLinks, LinkApproval};
use reflex_core::audit::AuditRecord;
use reflex_core::ledger::MemoryLedger;
use reflex_core::policy::Policy;
use reflex_core::vocab::verdict::{Mode, Verdict};
use reflex_remediate::{Deps, HandlerError, Summary, handle_bytes};
use reflex_snapshot::Snapshot;
use reflex_test_support::approval::{Told, policy_with_links};

use crate::{deps, event, now, voting_app};

const KEY: &[u8] = b"an approval link key, 32 bytes or more";
const TOPIC: &str = "arn:aws:sns:us-east-1:123456789012:reflex-alerts";

fn links() -> HmacLinks {
    HmacLinks::new(KEY, "https://intake.example").unwrap()
}

/// Enforcing on `cluster` (simulated), told through `told`, links signed by `signer`.
fn enforcing<'a>(
    policy: &'a Policy,
    cluster: &'a Snapshot,
    ledger: &'a MemoryLedger,
    told: &'a Told,
    signer: Option<Arc<dyn ApprovalLinks>>,
) -> Deps<'a, Snapshot, Snapshot, Snapshot, MemoryLedger, Told> {
    let base = deps(
        policy,
        Mode::Enforce,
        cluster,
        Some((cluster, cluster)),
        ledger,
    );
    Deps {
        pipeline: base.pipeline,
        adapters: reflex_core::pipeline::Adapters {
            cluster: base.adapters.cluster,
            live: base.adapters.live,
            ledger,
            notifier: told,
            alarms: &(),
            traffic: &(),
        },
        admission: base.admission,
        now: base.now,
        emf_metrics: false,
        links: signer,
    }
}

/// The approval message of `approves` until `expires`, signed by [`links`], as the page
/// publishes it on the alerts topic (a Lambda SNS event).
fn message(approves: &str, expires: DateTime<Utc>, sig: Option<String>) -> Vec<u8> {
    let body = ApprovalMessage {
        reflex_approval: LinkApproval {
            approves: approves.to_owned(),
            approver: "approval link from 203.0.113.7".to_owned(),
            expires,
            sig: sig.unwrap_or_else(|| links().sign(approves, expires)),
        },
    };
    serde_json::json!({ "Records": [{ "EventSource": "aws:sns", "Sns": {
        "Type": "Notification",
        "MessageId": "5f2c8a9e-approval",
        "TopicArn": TOPIC,
        "Message": serde_json::to_string(&body).unwrap(),
        "Timestamp": "2026-11-20T09:31:00.000Z",
    }}]})
    .to_string()
    .into_bytes()
}

/// The `awaiting_approval` record of the pod-not-ready alert, handled through `deps`.
async fn awaiting(
    deps: &Deps<'_, Snapshot, Snapshot, Snapshot, MemoryLedger, Told>,
) -> AuditRecord {
    let summary = handle_bytes(
        &event("alertmanager/pod-not-ready-result.json"),
        "req-1",
        deps,
    )
    .await
    .unwrap();
    assert_eq!(summary.records[0].verdict, Verdict::AwaitingApproval);
    let ledger = deps.adapters.ledger;
    ledger.records().into_iter().next().unwrap()
}

/// The record an approval made.
fn last(ledger: &MemoryLedger) -> AuditRecord {
    ledger.records().pop().unwrap()
}

fn rejected(result: Result<Summary, HandlerError>) -> String {
    match result {
        Err(HandlerError::Rejected { rejections }) => rejections.join("; "),
        other => panic!("expected a rejection, got {other:?}"),
    }
}

#[tokio::test]
async fn a_signed_approval_message_performs_the_awaited_action_once() {
    let (policy, cluster, ledger, told) = (
        policy_with_links(),
        voting_app(),
        MemoryLedger::new(),
        Told::default(),
    );
    let signer: Arc<dyn ApprovalLinks> = Arc::new(links());
    let deps = enforcing(&policy, &cluster, &ledger, &told, Some(signer));
    let record = awaiting(&deps).await;
    let pending = record.approval.clone().expect("what the approval needs");
    assert_eq!(pending.link, None, "the link is never stored");
    assert_eq!(pending.expires, now() + TimeDelta::minutes(30));

    // On-call was told how to approve, with the signed link.
    let notified = told.0.lock().unwrap()[0].clone();
    let link = notified
        .approval
        .unwrap()
        .link
        .expect("the link is in the notification");
    assert_eq!(link, links().link(&record.id, pending.expires));
    assert!(!record.to_json_line().contains("sig="));

    let summary = handle_bytes(&message(&record.id, pending.expires, None), "req-2", &deps)
        .await
        .unwrap();
    assert_eq!(
        summary.records[0].verdict,
        Verdict::Executed,
        "{:?}",
        last(&ledger)
    );
    let done = last(&ledger);
    assert_eq!(done.approves.as_deref(), Some(record.id.as_str()));
    assert_eq!(
        done.approver.as_deref(),
        Some("approval link from 203.0.113.7")
    );
    assert!(
        done.reason
            .starts_with("approved by approval link from 203.0.113.7"),
        "{}",
        done.reason
    );
    assert!(done.changed_cluster());

    // The same message again (a second click, a redelivery): used, refused.
    let again =
        rejected(handle_bytes(&message(&record.id, pending.expires, None), "req-3", &deps).await);
    assert!(again.contains("already used"), "{again}");
    let executed = ledger
        .records()
        .iter()
        .filter(|r| r.verdict == Verdict::Executed)
        .count();
    assert_eq!(executed, 1);
}

#[tokio::test]
async fn a_tampered_or_expired_approval_message_is_rejected_and_nothing_is_done() {
    let (policy, cluster, ledger, told) = (
        policy_with_links(),
        voting_app(),
        MemoryLedger::new(),
        Told::default(),
    );
    let signer: Arc<dyn ApprovalLinks> = Arc::new(links());
    let deps = enforcing(&policy, &cluster, &ledger, &told, Some(signer));
    let record = awaiting(&deps).await;
    let expires = record.approval.clone().unwrap().expires;

    // Signed for another expiry: the signature does not match.
    let forged = links().sign(&record.id, expires + TimeDelta::hours(5));
    let tampered =
        rejected(handle_bytes(&message(&record.id, expires, Some(forged)), "req-2", &deps).await);
    assert!(tampered.contains("signature does not match"), "{tampered}");
    let refused = last(&ledger);
    assert_eq!(refused.verdict, Verdict::Rejected);
    assert_eq!(refused.approves.as_deref(), Some(record.id.as_str()));

    // A link past its expiry.
    let expired_at = now() - TimeDelta::minutes(1);
    let expired =
        rejected(handle_bytes(&message(&record.id, expired_at, None), "req-3", &deps).await);
    assert!(expired.contains("the link expired at"), "{expired}");

    assert!(
        ledger.records().iter().all(|r| !r.changed_cluster()),
        "nothing was done"
    );
    // The approval itself is still usable with a good link.
    let summary = handle_bytes(&message(&record.id, expires, None), "req-4", &deps)
        .await
        .unwrap();
    assert_eq!(summary.records[0].verdict, Verdict::Executed);
}

#[tokio::test]
async fn without_a_signer_an_approval_message_is_rejected_as_links_not_configured() {
    let (policy, cluster, ledger, told) = (
        policy_with_links(),
        voting_app(),
        MemoryLedger::new(),
        Told::default(),
    );
    let deps = enforcing(&policy, &cluster, &ledger, &told, None);
    let record = awaiting(&deps).await;
    let notified = told.0.lock().unwrap()[0].clone();
    assert_eq!(notified.approval.unwrap().link, None, "no signer, no link");
    let expires = record.approval.unwrap().expires;
    let refused = rejected(handle_bytes(&message(&record.id, expires, None), "req-2", &deps).await);
    assert!(
        refused.contains("approval links are not configured"),
        "{refused}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_signed_approval_messages_at_once_on_the_table_give_one_action() {
    let aws = reflex_test_support::aws::moto_aws().await;
    let ledger = reflex_test_support::aws::create_table(&aws).await;
    let (policy, cluster, told) = (policy_with_links(), voting_app(), Told::default());
    let signer: Arc<dyn ApprovalLinks> = Arc::new(links());
    let deps = Deps {
        pipeline: reflex_core::pipeline::Pipeline {
            policy: &policy,
            mode: Mode::Enforce,
        },
        adapters: reflex_core::pipeline::Adapters {
            cluster: Some(&cluster),
            live: Some((&cluster, &cluster)),
            ledger: &ledger,
            notifier: &told,
            alarms: &(),
            traffic: &(),
        },
        admission: &(),
        now: Some(now()),
        emf_metrics: false,
        links: Some(signer),
    };
    let summary = handle_bytes(
        &event("alertmanager/pod-not-ready-result.json"),
        "req-1",
        &deps,
    )
    .await
    .unwrap();
    assert_eq!(summary.records[0].verdict, Verdict::AwaitingApproval);
    let id = summary.records[0].id.clone();
    let record = ledger.record(&id).await.unwrap().expect("stored");
    let pending = record.approval.expect("what the approval needs");
    assert_eq!(
        pending.command,
        format!("reflex approve {id} --table {}", aws.config().audit_table)
    );

    let message = message(&id, pending.expires, None);
    let (a, b) = tokio::join!(
        handle_bytes(&message, "req-a", &deps),
        handle_bytes(&message, "req-b", &deps)
    );
    let (done, refused) = match (a, b) {
        (Ok(done), Err(refused)) | (Err(refused), Ok(done)) => (done, refused),
        other => panic!("expected one approval performed and one refused, got {other:?}"),
    };
    assert_eq!(done.records[0].verdict, Verdict::Executed);
    let refused = rejected(Err(refused));
    assert!(refused.contains("already used"), "{refused}");
    let kept = ledger
        .record(&done.records[0].id)
        .await
        .unwrap()
        .expect("stored");
    assert_eq!(kept.approves.as_deref(), Some(id.as_str()));
    assert!(kept.changed_cluster());
}

#[tokio::test]
async fn an_approval_message_from_another_topic_is_rejected_and_nothing_is_done() {
    let (policy, cluster, ledger, told) = (
        policy_with_links(),
        voting_app(),
        MemoryLedger::new(),
        Told::default(),
    );
    let signer: Arc<dyn ApprovalLinks> = Arc::new(links());
    let record = awaiting(&enforcing(
        &policy,
        &cluster,
        &ledger,
        &told,
        Some(signer.clone()),
    ))
    .await;
    let origins = reflex_remediate::Origins::new(
        "arn:aws:sns:us-east-1:123456789012:another-alerts-topic",
        "",
    )
    .unwrap();
    let deps = Deps {
        admission: &origins,
        ..enforcing(&policy, &cluster, &ledger, &told, Some(signer))
    };
    let expires = record.approval.unwrap().expires;
    let refused = rejected(handle_bytes(&message(&record.id, expires, None), "req-2", &deps).await);
    assert!(refused.contains("not by the alerts topic"), "{refused}");
    assert!(ledger.records().iter().all(|r| !r.changed_cluster()));
}
