//! The real-payload corpus (`tests/data/corpus/`, provenance in its `SOURCES.md`) decodes,
//! one test per file, each checking what a classifier and the audit trail rely on: name,
//! status, fingerprint, start time, the labels a policy matches on, and the delivery.
#![allow(clippy::unwrap_used)] // a test that cannot read its own fixture should fail loudly

use chrono::{DateTime, Utc};
use reflex_core::alert::{Alert, AlertStatus, Shape, Source, label_fingerprint};
use reflex_core::decode::decode;

macro_rules! corpus {
    ($file:literal) => {
        include_bytes!(concat!("data/corpus/", $file)).as_slice()
    };
}

/// Decodes a payload that must yield exactly `n` alerts and no rejection.
fn alerts(bytes: &[u8], n: usize) -> Vec<Alert> {
    let items = decode(bytes);
    assert_eq!(items.len(), n, "{items:#?}");
    items
        .into_iter()
        .map(|item| item.unwrap_or_else(|r| panic!("rejected: {}", r.reason)))
        .collect()
}

fn one(bytes: &[u8]) -> Alert {
    alerts(bytes, 1).remove(0)
}

/// A start time as the decoder gives it.
fn utc(text: &str) -> Option<DateTime<Utc>> {
    Some(text.parse().unwrap())
}

fn label<'a>(alert: &'a Alert, name: &str) -> Option<&'a str> {
    alert.labels.get(name).map(String::as_str)
}

fn annotation<'a>(alert: &'a Alert, name: &str) -> Option<&'a str> {
    alert.annotations.get(name).map(String::as_str)
}

#[test]
fn ec2_status_check_from_2018_has_no_arn_so_the_fingerprint_uses_the_name() {
    let a = one(corpus!("sns-lambda-ec2-status-check.captured.json"));
    assert_eq!(a.source, Source::Cloudwatch);
    assert_eq!(a.name, "pa-status-failed");
    assert_eq!(a.status, AlertStatus::Firing);
    assert_eq!(
        a.fingerprint,
        "pa-status-failed@2018-05-16T02:03:17.629+0000"
    );
    assert_eq!(a.starts_at, utc("2018-05-16T02:03:17.629Z"));
    assert_eq!(label(&a, "InstanceId"), Some("i-0988f10c91115339a"));
    assert_eq!(label(&a, "metric_name"), Some("StatusCheckFailed"));
    assert_eq!(label(&a, "metric_namespace"), Some("AWS/EC2"));
    assert_eq!(a.labels.len(), 3);
    // No ARN, and `Region` is a display name: neither annotation may be invented.
    assert_eq!(annotation(&a, "alarm_arn"), None);
    assert_eq!(annotation(&a, "region"), None);
    assert_eq!(
        annotation(&a, "description"),
        None,
        "AlarmDescription is null"
    );
    assert!(
        annotation(&a, "reason")
            .unwrap()
            .starts_with("Threshold Crossed")
    );
    assert_eq!(a.delivery.shape, Some(Shape::SnsLambda));
    assert_eq!(
        a.delivery.sns_message_id.as_deref(),
        Some("7a008643-3ee2-533a-930a-d536ad4789e6")
    );
    assert_eq!(
        a.delivery.topic_arn.as_deref(),
        Some("arn:aws:sns:us-east-1:448472785679:PA-Failure")
    );
    assert_eq!(a.delivery.index, 0);
}

#[test]
fn metric_alarm_with_null_description_and_unit_none() {
    let a = one(corpus!("sns-lambda-cloudwatch-metric-alarm.captured.json"));
    let arn = "arn:aws:cloudwatch:us-east-1:427809481713:alarm:if-sim-app_427809481713_us-east-1-metric_emitting_node_failure";
    assert_eq!(
        a.name,
        "if-sim-app_427809481713_us-east-1-metric_emitting_node_failure"
    );
    assert_eq!(a.status, AlertStatus::Firing);
    assert_eq!(a.fingerprint, format!("{arn}@2021-11-10T02:45:55.640+0000"));
    assert_eq!(a.starts_at, utc("2021-11-10T02:45:55.640Z"));
    assert_eq!(
        label(&a, "MetricGroupId"),
        Some("routing_table.receive.hook")
    );
    assert_eq!(label(&a, "RouteID"), Some("metric_emitting_node"));
    assert_eq!(label(&a, "metric_name"), Some("IExecutionFailureHook"));
    assert_eq!(
        label(&a, "metric_namespace"),
        Some("sim-app_427809481713_us-east-1")
    );
    assert_eq!(annotation(&a, "alarm_arn"), Some(arn));
    assert_eq!(annotation(&a, "region"), Some("us-east-1"));
    assert_eq!(annotation(&a, "description"), None);
}

#[test]
fn composite_alarm_has_no_metric_labels_and_keeps_its_rule() {
    let a = one(corpus!(
        "sns-lambda-cloudwatch-composite-alarm.captured.json"
    ));
    assert_eq!(
        a.name,
        "if-sim-app_427809481713_us-east-1-test_node_monitor"
    );
    assert_eq!(a.status, AlertStatus::Firing);
    assert_eq!(
        a.fingerprint,
        "arn:aws:cloudwatch:us-east-1:427809481713:alarm:if-sim-app_427809481713_us-east-1-test_node_monitor@2021-11-10T02:45:55.640+0000"
    );
    assert!(a.labels.is_empty(), "{:?}", a.labels);
    assert!(
        annotation(&a, "alarm_rule")
            .unwrap()
            .starts_with("ALARM(arn:aws:cloudwatch")
    );
    assert_eq!(
        annotation(&a, "description"),
        None,
        "AlarmDescription is \"\""
    );
    assert!(
        annotation(&a, "reason")
            .unwrap()
            .contains("transitioned to ALARM")
    );
}

#[test]
fn single_metric_fixture_with_placeholder_region_in_the_arn() {
    let a = one(corpus!("sns-lambda-cloudwatch-single-metric.fixture.json"));
    assert_eq!(a.name, "EXAMPLE");
    assert_eq!(a.status, AlertStatus::Firing);
    assert_eq!(
        a.fingerprint,
        "arn:aws:cloudwatch:REGION:ACCOUNT_NUMBER:alarm:EXAMPLE@2015-06-03T17:43:27.123+0000"
    );
    assert_eq!(a.starts_at, utc("2015-06-03T17:43:27.123Z"));
    assert_eq!(label(&a, "InstanceId"), Some("TestInstance"));
    assert_eq!(label(&a, "metric_name"), Some("NetworkOut"));
    assert_eq!(label(&a, "metric_namespace"), Some("AWS/EC2"));
    assert_eq!(
        annotation(&a, "region"),
        None,
        "REGION is not a region code"
    );
    assert_eq!(annotation(&a, "description"), Some("EXAMPLE"));
    assert_eq!(
        a.delivery.sns_message_id.as_deref(),
        Some("95df01b4-ee98-5cb9-9903-4c221d41eb5e")
    );
}

#[test]
fn metric_math_alarm_gives_its_expression_and_queries_and_no_metric_name() {
    let a = one(corpus!("sns-lambda-cloudwatch-metric-math.fixture.json"));
    assert_eq!(a.name, "EXAMPLE");
    assert_eq!(a.status, AlertStatus::Firing);
    assert_eq!(label(&a, "InstanceId"), Some("TestInstance"));
    // It compares `m1*1`, not NetworkOut: a rule on NetworkOut must not match it.
    assert_eq!(label(&a, "metric_name"), None);
    assert_eq!(label(&a, "metric_namespace"), None);
    assert_eq!(label(&a, "metric_expression"), Some("m1*1"));
    assert_eq!(label(&a, "query_e1"), Some("m1*1"));
    assert_eq!(
        label(&a, "query_m1"),
        Some("AWS/EC2 NetworkOut InstanceId=TestInstance")
    );
    assert_eq!(a.labels.len(), 4, "{:?}", a.labels);
    assert!(a.notes[0].starts_with("metric-math alarm"), "{:?}", a.notes);
    assert_eq!(
        a.delivery.sns_message_id.as_deref(),
        Some("95df01b4-ee98-5cb9-9903-4c221d41eb5f")
    );
}

#[test]
fn anomaly_band_alarm_without_threshold_and_with_a_non_ascii_name() {
    let a = one(corpus!(
        "sns-lambda-cloudwatch-anomaly-detection.captured.json"
    ));
    let name = "# Error Api  |  Verificarseg  |  Inicio de Sesión";
    assert_eq!(a.name, name);
    assert_eq!(a.status, AlertStatus::Firing);
    assert_eq!(
        a.fingerprint,
        format!(
            "arn:aws:cloudwatch:us-east-1:471112847654:alarm:{name}@2025-11-14T18:40:26.838+0000"
        )
    );
    assert_eq!(a.starts_at, utc("2025-11-14T18:40:26.838Z"));
    assert_eq!(label(&a, "ApiName"), Some("bmp-msp-verificarseg-pro"));
    assert_eq!(label(&a, "Resource"), Some("/iniciarsesion"));
    assert_eq!(label(&a, "Stage"), Some("pro"));
    assert_eq!(label(&a, "Method"), Some("POST"));
    assert_eq!(label(&a, "metric_name"), Some("Count"));
    assert_eq!(label(&a, "metric_namespace"), Some("AWS/ApiGateway"));
    assert_eq!(a.labels.len(), 6);
    assert_eq!(annotation(&a, "region"), Some("us-east-1"));
    assert!(
        annotation(&a, "description")
            .unwrap()
            .starts_with("Se ha generado")
    );
}

#[test]
fn sns_http_body_container_insights_anomaly_in_state_ok() {
    let a = one(corpus!("sns-http-container-insights-anomaly.captured.json"));
    assert_eq!(a.name, "ContainerInsight-pod_cpu_utilization");
    assert_eq!(a.status, AlertStatus::Resolved);
    assert_eq!(
        a.fingerprint,
        "arn:aws:cloudwatch:ap-northeast-2:257706363616:alarm:ContainerInsight-pod_cpu_utilization@2021-06-27T13:53:39.351+0000"
    );
    assert_eq!(a.starts_at, utc("2021-06-27T13:53:39.351Z"));
    assert_eq!(
        label(&a, "ClusterName"),
        Some("cloudone-dev-v1-eks-cluster")
    );
    assert_eq!(label(&a, "metric_name"), Some("pod_cpu_utilization"));
    assert_eq!(label(&a, "metric_namespace"), Some("ContainerInsights"));
    assert_eq!(annotation(&a, "region"), Some("ap-northeast-2"));
    assert_eq!(a.delivery.shape, Some(Shape::SnsHttp));
    assert_eq!(
        a.delivery.sns_message_id.as_deref(),
        Some("448b4055-f4e5-5887-a547-190771c6686b")
    );
    assert_eq!(
        a.delivery.topic_arn.as_deref(),
        Some("arn:aws:sns:ap-northeast-2:257706363616:spaceone-notification")
    );
}

#[test]
fn alarm_action_metric_reads_camel_case_and_dimension_maps() {
    let a = one(corpus!("cloudwatch-alarm-lambda-action-metric.docs.json"));
    assert_eq!(a.source, Source::Cloudwatch);
    assert_eq!(a.name, "lambda-demo-metric-alarm");
    assert_eq!(a.status, AlertStatus::Firing);
    assert_eq!(
        a.fingerprint,
        "arn:aws:cloudwatch:us-east-1:444455556666:alarm:lambda-demo-metric-alarm@2023-08-04T12:36:15.490+0000"
    );
    assert_eq!(a.starts_at, utc("2023-08-04T12:36:15.490Z"));
    assert_eq!(label(&a, "InstanceId"), Some("i-12345678"));
    assert_eq!(label(&a, "metric_name"), Some("CallCount"));
    assert_eq!(label(&a, "metric_namespace"), Some("AWS/Logs"));
    assert_eq!(
        annotation(&a, "description"),
        Some("Metric Alarm to test Lambda actions")
    );
    assert_eq!(annotation(&a, "reason"), Some("test"));
    assert_eq!(annotation(&a, "region"), Some("us-east-1"));
    assert_eq!(a.delivery.shape, Some(Shape::AlarmAction));
    assert_eq!(a.delivery.sns_message_id, None);
}

#[test]
fn alarm_action_composite_uses_the_event_arn_and_current_state_time() {
    let a = one(corpus!(
        "cloudwatch-alarm-lambda-action-composite.docs.json"
    ));
    assert_eq!(a.name, "CompositeDemo.Main");
    assert_eq!(a.status, AlertStatus::Firing);
    assert_eq!(
        a.fingerprint,
        "arn:aws:cloudwatch:us-east-1:111122223333:alarm:SuppressionDemo.Main@2023-08-04T12:56:46.138+0000"
    );
    assert_eq!(a.starts_at, utc("2023-08-04T12:56:46.138Z"));
    assert!(a.labels.is_empty());
    assert_eq!(
        annotation(&a, "alarm_rule"),
        Some("ALARM(CompositeDemo.FirstChild) OR ALARM(CompositeDemo.SecondChild)")
    );
    assert_eq!(a.delivery.shape, Some(Shape::AlarmAction));
}

#[test]
fn eventbridge_alarm_state_change_takes_the_arn_from_resources() {
    let a = one(corpus!("eventbridge-alarm-state-change.docs.json"));
    assert_eq!(a.name, "ServerCpuTooHigh");
    assert_eq!(a.status, AlertStatus::Firing);
    assert_eq!(
        a.fingerprint,
        "arn:aws:cloudwatch:us-east-1:123456789012:alarm:ServerCpuTooHigh@2019-10-02T17:04:40.989+0000"
    );
    assert_eq!(a.starts_at, utc("2019-10-02T17:04:40.989Z"));
    assert_eq!(label(&a, "InstanceId"), Some("i-12345678901234567"));
    assert_eq!(label(&a, "metric_name"), Some("CPUUtilization"));
    assert_eq!(label(&a, "metric_namespace"), Some("AWS/EC2"));
    assert_eq!(annotation(&a, "region"), Some("us-east-1"));
    assert!(
        annotation(&a, "reason")
            .unwrap()
            .contains("was greater than the threshold")
    );
    assert_eq!(a.delivery.shape, Some(Shape::EventBridge));
}

#[test]
fn alertmanager_webhook_firing_keeps_its_fingerprint() {
    let a = one(corpus!("alertmanager-webhook-firing.docs.json"));
    assert_eq!(a.source, Source::Alertmanager);
    assert_eq!(a.name, "ProbeFailure");
    assert_eq!(a.status, AlertStatus::Firing);
    assert_eq!(a.fingerprint, "1a30ba71cca2921f");
    assert_eq!(a.starts_at, utc("2023-02-06T13:08:45.828Z"));
    assert_eq!(label(&a, "instance"), Some("https://server.example.org"));
    assert_eq!(label(&a, "severity"), Some("critical"));
    assert_eq!(a.labels.len(), 5);
    assert_eq!(
        annotation(&a, "summary"),
        Some("BlackBox Probe Failure: https://server.example.org")
    );
    assert_eq!(a.delivery.shape, Some(Shape::AlertmanagerWebhook));
}

#[test]
fn old_resolved_alertmanager_webhook_gets_the_label_hash_and_utc_start() {
    let a = one(corpus!("alertmanager-webhook-resolved-old.captured.json"));
    assert_eq!(a.name, "Fire");
    assert_eq!(a.status, AlertStatus::Resolved);
    assert_eq!(a.fingerprint, label_fingerprint(&a.labels));
    // Pinned so that a change of the hash, which would break exactly-once, is noticed.
    assert_eq!(a.fingerprint, "88cbf0084cf27726");
    // 22:43:58.283995108+01:00 is 21:43:58.283995108 UTC, nanoseconds kept.
    assert_eq!(a.starts_at, utc("2018-11-04T21:43:58.283995108Z"));
    assert_eq!(label(&a, "severity"), Some("critical"));
    assert_eq!(annotation(&a, "message"), Some("Something is on fire"));
}

#[test]
fn grafana_webhook_yields_both_alerts_in_order() {
    let alerts = alerts(corpus!("grafana-webhook-firing.docs.json"), 2);
    let expected = [
        (
            "High memory usage",
            "c6eadffa33fcdf37",
            "2021-10-12T07:51:03.157076Z",
            "us-1",
        ),
        (
            "High CPU usage",
            "bc97ff14869b13e3",
            "2021-10-12T07:56:03.157076Z",
            "eu-1",
        ),
    ];
    for (i, (a, (name, fingerprint, start, zone))) in alerts.iter().zip(expected).enumerate() {
        assert_eq!(a.source, Source::Grafana);
        assert_eq!(a.name, name);
        assert_eq!(a.status, AlertStatus::Firing);
        assert_eq!(a.fingerprint, fingerprint);
        assert_eq!(a.starts_at, utc(start));
        assert_eq!(label(a, "zone"), Some(zone));
        assert_eq!(label(a, "team"), Some("blue"));
        assert_eq!(a.delivery.shape, Some(Shape::GrafanaWebhook));
        assert_eq!(a.delivery.index, i);
    }
}

/// Guards the corpus as a whole: a file added later is decoded too, and listed with its
/// provenance.
#[test]
fn every_corpus_file_decodes_without_rejection_and_has_provenance() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/corpus");
    let sources = std::fs::read_to_string(dir.join("SOURCES.md")).unwrap();
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "json") {
            continue;
        }
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        assert!(
            sources.contains(&name),
            "{name} is not listed in SOURCES.md"
        );
        for item in decode(&std::fs::read(&path).unwrap()) {
            if let Err(r) = item {
                panic!("{name}: {}", r.reason);
            }
        }
        seen += 1;
    }
    assert_eq!(seen, 13);
}
