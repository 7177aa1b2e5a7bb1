//! The CloudWatch alarm re-check against moto.

use aws_sdk_cloudwatch::Client;
use aws_sdk_cloudwatch::types::{ComparisonOperator, StateValue, Statistic};
use reflex_aws::CloudWatchAlarms;
use reflex_core::ledger::AlarmCheck;
use reflex_core::{Alert, AlertStatus, Labels, Source};

use reflex_test_support::unique;

fn alert(source: Source, name: &str) -> Alert {
    Alert {
        source,
        name: name.to_owned(),
        status: AlertStatus::Firing,
        fingerprint: format!("arn:aws:cloudwatch:us-east-1:123456789012:alarm:{name}"),
        starts_at: chrono::Utc::now(),
        labels: Labels::new(),
        annotations: Labels::new(),
        delivery: Default::default(),
    }
}

async fn set_state(client: &Client, name: &str, state: StateValue) {
    client
        .set_alarm_state()
        .alarm_name(name)
        .state_value(state)
        .state_reason("test")
        .send()
        .await
        .expect("set alarm state");
}

#[tokio::test]
async fn alarm_in_alarm_is_still_firing_and_ok_is_not() {
    let aws = crate::moto_aws().await;
    let client = Client::new(aws.sdk_config());
    let name = unique("pod-restarts-production-worker");
    client
        .put_metric_alarm()
        .alarm_name(&name)
        .namespace("ContainerInsights")
        .metric_name("pod_number_of_container_restarts")
        .statistic(Statistic::Maximum)
        .period(300)
        .evaluation_periods(1)
        .threshold(3.0)
        .comparison_operator(ComparisonOperator::GreaterThanOrEqualToThreshold)
        .send()
        .await
        .expect("put alarm");
    let alarms = CloudWatchAlarms::new(&aws);
    let firing = alert(Source::Cloudwatch, &name);

    set_state(&client, &name, StateValue::Alarm).await;
    assert_eq!(alarms.still_firing(&firing).await, Ok(Some(true)));

    set_state(&client, &name, StateValue::Ok).await;
    assert_eq!(alarms.still_firing(&firing).await, Ok(Some(false)));
}

#[tokio::test]
async fn missing_alarm_and_other_sources_cannot_be_told() {
    let aws = crate::moto_aws().await;
    let alarms = CloudWatchAlarms::new(&aws);
    let gone = alert(Source::Cloudwatch, &unique("deleted-alarm"));
    assert_eq!(alarms.still_firing(&gone).await, Ok(None));
    let prometheus = alert(Source::Alertmanager, "KubePodCrashLooping");
    assert_eq!(alarms.still_firing(&prometheus).await, Ok(None));
}
