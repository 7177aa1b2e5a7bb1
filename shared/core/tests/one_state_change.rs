//! One CloudWatch state change reaches reflex up to three ways (the SNS notification, the
//! Lambda alarm action, the EventBridge event; the stack can enable more than one), and
//! exactly-once needs all of them to name one alert instance. Checked over arbitrary
//! accounts, alarm names and state-change times, with or without the alarm ARN in each.
#![allow(clippy::unwrap_used)] // test code: a payload built here that does not decode should fail loudly

use chrono::{DateTime, TimeZone, Utc};
use proptest::prelude::*;
use reflex_core::alert::Alert;
use reflex_core::decode::decode;
use serde_json::json;

/// The state-change time as CloudWatch writes it in every shape (`+0000`, milliseconds).
fn cloudwatch_time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.3f+0000").to_string()
}

fn arn(account: &str, name: &str) -> String {
    format!("arn:aws:cloudwatch:us-east-1:{account}:alarm:{name}")
}

fn only(bytes: &[u8]) -> Alert {
    let mut items = decode(bytes);
    assert_eq!(items.len(), 1, "{items:?}");
    items.remove(0).unwrap()
}

fn sns(account: &str, name: &str, time: &str, with_arn: bool) -> Alert {
    let mut message = json!({
        "AlarmName": name, "AWSAccountId": account, "NewStateValue": "ALARM",
        "NewStateReason": "Threshold Crossed", "StateChangeTime": time,
        "Region": "US East (N. Virginia)", "OldStateValue": "OK",
        "Trigger": {"MetricName": "pod_number_of_container_restarts", "Namespace": "ContainerInsights",
                    "Dimensions": [{"name": "PodName", "value": "vote"}]},
    });
    if with_arn {
        message["AlarmArn"] = arn(account, name).into();
    }
    let event = json!({"Records": [{"EventSource": "aws:sns", "Sns": {
        "Type": "Notification", "MessageId": "m1",
        "TopicArn": format!("arn:aws:sns:us-east-1:{account}:reflex-alerts"),
        "Message": message.to_string(), "Timestamp": "2026-11-20T09:30:00.571Z"}}]});
    only(event.to_string().as_bytes())
}

fn alarm_data(name: &str, time: &str) -> serde_json::Value {
    json!({
        "alarmName": name,
        "state": {"value": "ALARM", "reason": "Threshold Crossed", "timestamp": time},
        "previousState": {"value": "OK", "timestamp": "2026-11-12T08:14:05.221+0000"},
        "configuration": {"metrics": [{"id": "c4cb26c1", "metricStat": {"metric": {
            "namespace": "ContainerInsights", "name": "pod_number_of_container_restarts",
            "dimensions": {"PodName": "vote"}}, "period": 300, "stat": "Maximum"}, "returnData": true}]},
    })
}

fn alarm_action(account: &str, name: &str, time: &str, with_arn: bool) -> Alert {
    let mut event = json!({
        "source": "aws.cloudwatch", "accountId": account, "time": time, "region": "us-east-1",
        "alarmData": alarm_data(name, time),
    });
    if with_arn {
        event["alarmArn"] = arn(account, name).into();
    }
    only(event.to_string().as_bytes())
}

fn eventbridge(account: &str, name: &str, time: &str, with_arn: bool) -> Alert {
    let resources: Vec<String> = if with_arn {
        vec![arn(account, name)]
    } else {
        Vec::new()
    };
    let event = json!({
        "version": "0", "id": "c6ac9541", "detail-type": "CloudWatch Alarm State Change",
        "source": "aws.cloudwatch", "account": account, "time": "2026-11-20T09:30:00Z",
        "region": "us-east-1", "resources": resources, "detail": alarm_data(name, time),
    });
    only(event.to_string().as_bytes())
}

#[test]
fn the_three_shapes_of_one_state_change_share_one_instance_key_without_the_arn_in_one() {
    let time = "2026-11-20T09:30:00.512+0000";
    let name = "voting-prod-production-vote-pod-restarts";
    let account = "111122223333";
    let a = sns(account, name, time, false);
    let b = alarm_action(account, name, time, true);
    let c = eventbridge(account, name, time, true);
    let key =
        "cloudwatch:111122223333:voting-prod-production-vote-pod-restarts@2026-11-20T09:30:00.512Z";
    assert_eq!(a.instance_key(), key);
    assert_eq!(b.instance_key(), key);
    assert_eq!(c.instance_key(), key);
    // The fingerprint stays what each payload says (ARN or name, and the time).
    assert_eq!(a.fingerprint, format!("{name}@{time}"));
    assert_eq!(b.fingerprint, format!("{}@{time}", arn(account, name)));
}

#[test]
fn another_state_change_or_another_account_is_another_instance() {
    let name = "voting-prod-production-vote-pod-restarts";
    let one = sns("111122223333", name, "2026-11-20T09:30:00.512+0000", true);
    let later = sns("111122223333", name, "2026-11-20T09:45:00.512+0000", true);
    let elsewhere = eventbridge("444455556666", name, "2026-11-20T09:30:00.512+0000", true);
    assert_ne!(one.instance_key(), later.instance_key());
    assert_ne!(one.instance_key(), elsewhere.instance_key());
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn every_shape_of_one_state_change_gives_one_instance_key(
        account in "[0-9]{12}",
        name in "[A-Za-z0-9_.:@ -]{1,40}",
        millis in 0i64..4_102_444_800_000,
        arns in proptest::array::uniform3(any::<bool>()),
    ) {
        prop_assume!(!name.trim().is_empty());
        let time = cloudwatch_time(Utc.timestamp_millis_opt(millis).unwrap());
        let keys = [
            sns(&account, &name, &time, arns[0]).instance_key(),
            alarm_action(&account, &name, &time, arns[1]).instance_key(),
            eventbridge(&account, &name, &time, arns[2]).instance_key(),
        ];
        prop_assert_eq!(&keys[0], &keys[1]);
        prop_assert_eq!(&keys[1], &keys[2]);
    }
}
