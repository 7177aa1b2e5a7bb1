//! The CloudWatch re-check through the handler, against moto's CloudWatch: an alarm event
//! is acted on only when CloudWatch has the alarm, in ALARM, watching the pod the event
//! names. A missing alarm or other dimensions: `rejected`; an alarm back in OK: `ignored`.

use aws_sdk_cloudwatch::types::StateValue;
use reflex_aws::CloudWatchAlarms;
use reflex_core::Verdict;
use reflex_core::ledger::MemoryLedger;
use reflex_core::policy::Policy;
use reflex_remediate::{Deps, HandlerError, handle_bytes};
use reflex_snapshot::Snapshot;
use reflex_test_support::moto::pod_restarts_alarm;
use reflex_test_support::{aws::moto_aws, unique};

use crate::{dry_run, event, voting_app};

/// The catalog's alarm name in `alarm-action/pod-restarts-worker.json`.
const ALARM: &str = "voting-prod-production-worker-pod-restarts";

/// The catalog's alarm action, for an alarm named `name`.
fn alarm_action(name: &str) -> Vec<u8> {
    String::from_utf8(event("alarm-action/pod-restarts-worker.json"))
        .unwrap()
        .replace(ALARM, name)
        .into_bytes()
}

/// The handler's result and the one stored record's verdict and reason.
async fn run(
    payload: &[u8],
    alarms: &CloudWatchAlarms,
) -> (Result<(), HandlerError>, Verdict, String) {
    let (policy, cluster, ledger) = (Policy::default_policy(), voting_app(), MemoryLedger::new());
    let base = dry_run(&policy, &cluster, &ledger);
    let deps: Deps<'_, Snapshot, Snapshot, Snapshot, MemoryLedger, (), CloudWatchAlarms> = Deps {
        pipeline: base.pipeline,
        adapters: reflex_core::pipeline::Adapters {
            cluster: base.adapters.cluster,
            live: None,
            ledger: &ledger,
            notifier: &(),
            alarms,
        },
        admission: base.admission,
        now: base.now,
        emf_metrics: false,
        links: None,
    };
    let result = handle_bytes(payload, "req", &deps).await.map(|_| ());
    let records = ledger.records();
    assert_eq!(records.len(), 1, "{records:?}");
    (result, records[0].verdict, records[0].reason.clone())
}

/// The catalog's alarm action for a fresh alarm name, through the handler with the real
/// re-check; `alarm` is the alarm moto holds under that name (pod watched, state), if any.
async fn recheck(
    alarm: Option<(&str, StateValue)>,
) -> (String, Result<(), HandlerError>, Verdict, String) {
    let aws = moto_aws().await;
    let name = unique(ALARM);
    if let Some((pod, state)) = alarm {
        pod_restarts_alarm(&name, pod, state).await;
    }
    let (result, verdict, reason) = run(&alarm_action(&name), &CloudWatchAlarms::new(&aws)).await;
    (name, result, verdict, reason)
}

#[tokio::test]
async fn an_alarm_cloudwatch_confirms_is_acted_on() {
    let (_, result, verdict, reason) = recheck(Some(("worker", StateValue::Alarm))).await;

    assert_eq!(result, Ok(()));
    assert_eq!(verdict, Verdict::Planned, "{reason}");
}

#[tokio::test]
async fn an_alarm_cloudwatch_does_not_have_is_rejected() {
    let (name, result, verdict, reason) = recheck(None).await;

    assert!(
        matches!(result, Err(HandlerError::Rejected { .. })),
        "{result:?}"
    );
    assert_eq!(verdict, Verdict::Rejected);
    assert!(
        reason.starts_with(&format!(
            "re-checked: CloudWatch has no alarm named {name:?} in this account and region"
        )),
        "{reason}"
    );
}

#[tokio::test]
async fn an_alarm_event_naming_another_pod_than_the_alarm_watches_is_rejected() {
    // The real alarm watches `db`; the event claims it fired for `worker`.
    let (_, result, verdict, reason) = recheck(Some(("db", StateValue::Alarm))).await;

    assert!(
        matches!(result, Err(HandlerError::Rejected { .. })),
        "{result:?}"
    );
    assert_eq!(verdict, Verdict::Rejected);
    assert!(reason.contains("PodName=db"), "{reason}");
    assert!(reason.contains("but the message says"), "{reason}");
}

#[tokio::test]
async fn an_alarm_back_in_ok_is_ignored() {
    let (_, result, verdict, reason) = recheck(Some(("worker", StateValue::Ok))).await;

    assert_eq!(result, Ok(()));
    assert_eq!(verdict, Verdict::Ignored);
    assert_eq!(
        reason,
        "re-checked: the alarm is OK, no longer in ALARM; nothing to remediate"
    );
}
