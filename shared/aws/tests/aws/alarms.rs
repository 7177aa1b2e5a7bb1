//! The CloudWatch alarm re-check against moto: an alarm in ALARM that watches what the
//! message says is confirmed; one in OK is not in ALARM; a missing alarm and one that
//! watches other dimensions are refused.

use aws_sdk_cloudwatch::types::StateValue;
use reflex_aws::CloudWatchAlarms;
use reflex_core::ledger::{AlarmCheck, AlarmState};
use reflex_core::{Alert, AlertStatus, Labels, Source};

use reflex_test_support::moto::pod_restarts_alarm;
use reflex_test_support::unique;

fn alert(source: Source, name: &str) -> Alert {
    Alert {
        source,
        name: name.to_owned(),
        status: AlertStatus::Firing,
        fingerprint: format!("arn:aws:cloudwatch:us-east-1:123456789012:alarm:{name}"),
        starts_at: Some(chrono::Utc::now()),
        labels: Labels::new(),
        annotations: Labels::new(),
        delivery: Default::default(),
        actions_suppressed: None,
        notes: Vec::new(),
    }
}

/// A CloudWatch alert about pod `pod` of the pod-restarts metric, as the decoder labels it.
fn restarts_alert(name: &str, pod: &str) -> Alert {
    let mut alert = alert(Source::Cloudwatch, name);
    for (k, v) in [
        ("ClusterName", "voting-prod"),
        ("Namespace", "production"),
        ("PodName", pod),
        ("metric_name", "pod_number_of_container_restarts"),
        ("metric_namespace", "ContainerInsights"),
    ] {
        alert.labels.insert(k.into(), v.into());
    }
    alert
}

#[tokio::test]
async fn an_alarm_in_alarm_that_watches_the_message_pod_is_confirmed_and_ok_is_not() {
    let aws = crate::moto_aws().await;
    let name = unique("pod-restarts-production-worker");
    pod_restarts_alarm(&name, "worker", StateValue::Alarm).await;
    let alarms = CloudWatchAlarms::new(&aws);
    let firing = restarts_alert(&name, "worker");

    assert_eq!(alarms.recheck(&firing).await, Ok(AlarmState::Confirmed));

    pod_restarts_alarm(&name, "worker", StateValue::Ok).await;
    assert_eq!(
        alarms.recheck(&firing).await,
        Ok(AlarmState::NotInAlarm { state: "OK".into() })
    );
}

#[tokio::test]
async fn a_message_naming_an_alarm_that_does_not_exist_is_refused() {
    let aws = crate::moto_aws().await;
    let alarms = CloudWatchAlarms::new(&aws);
    let gone = restarts_alert(&unique("deleted-alarm"), "worker");

    assert_eq!(alarms.recheck(&gone).await, Ok(AlarmState::Missing));
}

#[tokio::test]
async fn a_message_giving_an_alarm_other_dimensions_is_refused() {
    let aws = crate::moto_aws().await;
    let name = unique("pod-restarts-production-worker");
    pod_restarts_alarm(&name, "worker", StateValue::Alarm).await;
    let alarms = CloudWatchAlarms::new(&aws);
    // The real alarm watches `worker`; the message says it fired for `db`.
    let forged = restarts_alert(&name, "db");

    let state = alarms.recheck(&forged).await.expect("recheck");

    let AlarmState::Differs { alarm, message } = state else {
        panic!("expected Differs, got {state:?}");
    };
    assert!(alarm.contains("PodName=worker"), "{alarm}");
    assert!(message.contains("PodName=db"), "{message}");
    // A message with a dimension the alarm does not have is refused too.
    let mut extra = restarts_alert(&name, "worker");
    extra
        .labels
        .insert("InstanceId".into(), "i-0b7d3a9f1e6c24c58".into());
    assert!(
        matches!(alarms.recheck(&extra).await, Ok(AlarmState::Differs { .. })),
        "an extra dimension"
    );
}

#[tokio::test]
async fn other_sources_are_not_rechecked() {
    let aws = crate::moto_aws().await;
    let alarms = CloudWatchAlarms::new(&aws);
    let prometheus = alert(Source::Alertmanager, "KubePodCrashLooping");
    assert_eq!(
        alarms.recheck(&prometheus).await,
        Ok(AlarmState::NotChecked)
    );
}
