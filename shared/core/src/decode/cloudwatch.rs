//! CloudWatch alarms, in the three forms they reach us.
//!
//! - The classic notification published to SNS (PascalCase: `AlarmName`, `NewStateValue`,
//!   `Trigger`): a single-metric alarm names its metric in `Trigger`, a metric-math or
//!   anomaly-band alarm lists `Trigger.Metrics`, a composite alarm has `AlarmRule` and no
//!   `Trigger` at all.
//! - The alarm action that invokes Lambda directly (`alarmData`) and the EventBridge
//!   "CloudWatch Alarm State Change" event (`detail`): both camelCase, one shared type,
//!   dimensions as a map and the metric name under `name`.
//!
//! All three reduce to [`Facts`], and one function turns facts into an [`Alert`], so the
//! three agree on status, fingerprint, labels and annotations by construction.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::value::RawValue;

use super::ctx::{Ctx, Decoded};
use super::detect::Top;
use super::json::{self, Str, excerpt};
use super::time::{optional_time, parse_timestamp};
use crate::alert::{Alert, AlertStatus, Labels, Source};

// ---- Classic SNS notification ------------------------------------------------------------

/// The alarm notification CloudWatch publishes to SNS. Fields the decoder does not use
/// (`Region` display name, `OldStateValue`, `Threshold`, `Unit`, actions, ...) are skipped
/// whatever their type, which is what makes `Unit: null` and a missing `Threshold` harmless.
#[derive(Debug, Deserialize)]
#[serde(bound(deserialize = "'de: 'a"))]
#[serde(rename_all = "PascalCase")]
pub(super) struct AlarmMessage<'a> {
    alarm_name: Option<Str<'a>>,
    /// `null`, `""` or text.
    alarm_description: Option<Str<'a>>,
    new_state_value: Option<Str<'a>>,
    new_state_reason: Option<Str<'a>>,
    state_change_time: Option<Str<'a>>,
    /// Absent before 2019.
    alarm_arn: Option<Str<'a>>,
    /// Composite alarms only.
    alarm_rule: Option<Str<'a>>,
    /// Metric alarms only.
    trigger: Option<Trigger<'a>>,
}

#[derive(Debug, Deserialize)]
#[serde(bound(deserialize = "'de: 'a"))]
#[serde(rename_all = "PascalCase")]
struct Trigger<'a> {
    /// Single-metric alarms.
    metric_name: Option<Str<'a>>,
    namespace: Option<Str<'a>>,
    dimensions: Option<Vec<Dimension<'a>>>,
    /// Metric-math and anomaly-band alarms.
    metrics: Option<Vec<MetricQuery<'a>>>,
}

/// A dimension: real messages spell the keys `name`/`value`, in either order.
#[derive(Debug, Deserialize)]
#[serde(bound(deserialize = "'de: 'a"))]
struct Dimension<'a> {
    #[serde(alias = "Name")]
    name: Str<'a>,
    #[serde(alias = "Value")]
    value: Str<'a>,
}

/// One entry of `Trigger.Metrics`: a metric (`MetricStat`) or an expression (skipped).
#[derive(Debug, Deserialize)]
#[serde(bound(deserialize = "'de: 'a"))]
#[serde(rename_all = "PascalCase")]
struct MetricQuery<'a> {
    metric_stat: Option<MetricStat<'a>>,
}

#[derive(Debug, Deserialize)]
#[serde(bound(deserialize = "'de: 'a"))]
#[serde(rename_all = "PascalCase")]
struct MetricStat<'a> {
    metric: Option<Metric<'a>>,
}

#[derive(Debug, Deserialize)]
#[serde(bound(deserialize = "'de: 'a"))]
#[serde(rename_all = "PascalCase")]
struct Metric<'a> {
    metric_name: Option<Str<'a>>,
    namespace: Option<Str<'a>>,
    dimensions: Option<Vec<Dimension<'a>>>,
}

/// Decodes a classic alarm notification: the SNS `Message`, or one given bare.
pub(super) fn alarm_message(bytes: &[u8], ctx: &Ctx) -> Decoded {
    // Skipped values are not checked for UTF-8 by the first pass; this one reads them all.
    let text = match std::str::from_utf8(bytes) {
        Ok(text) => text,
        Err(e) => return ctx.reject(format!("not UTF-8: {e}")),
    };
    let message = match json::typed::<AlarmMessage<'_>>(text, "") {
        Ok(m) => m,
        Err(reason) => return ctx.reject(reason),
    };
    let mut metrics = MetricLabels::default();
    if let Some(trigger) = message.trigger {
        metrics.metric(
            trigger.metric_name,
            trigger.namespace,
            trigger
                .dimensions
                .into_iter()
                .flatten()
                .map(|d| (d.name, d.value)),
        );
        for query in trigger.metrics.into_iter().flatten() {
            if let Some(metric) = query.metric_stat.and_then(|s| s.metric) {
                metrics.metric(
                    metric.metric_name,
                    metric.namespace,
                    metric
                        .dimensions
                        .into_iter()
                        .flatten()
                        .map(|d| (d.name, d.value)),
                );
            }
        }
    }
    let region = message
        .alarm_arn
        .as_ref()
        .and_then(|arn| region_from_arn(arn.as_str()))
        .map(str::to_owned);
    Facts {
        fields: &CLASSIC,
        name: message.alarm_name,
        state: message.new_state_value,
        time: message.state_change_time,
        arn: message.alarm_arn,
        description: message.alarm_description,
        reason: message.new_state_reason,
        alarm_rule: message.alarm_rule,
        region,
        labels: metrics.finish(),
    }
    .into_alert(ctx)
}

// ---- Alarm action and EventBridge --------------------------------------------------------

/// `alarmData` of a direct alarm action, `detail` of an EventBridge event.
#[derive(Debug, Deserialize)]
#[serde(bound(deserialize = "'de: 'a"))]
#[serde(rename_all = "camelCase")]
pub(super) struct AlarmData<'a> {
    alarm_name: Option<Str<'a>>,
    state: Option<AlarmState<'a>>,
    configuration: Option<Configuration<'a>>,
}

#[derive(Debug, Deserialize)]
#[serde(bound(deserialize = "'de: 'a"))]
struct AlarmState<'a> {
    value: Option<Str<'a>>,
    reason: Option<Str<'a>>,
    timestamp: Option<Str<'a>>,
}

#[derive(Debug, Deserialize)]
#[serde(bound(deserialize = "'de: 'a"))]
#[serde(rename_all = "camelCase")]
struct Configuration<'a> {
    description: Option<Str<'a>>,
    /// Composite alarms only.
    alarm_rule: Option<Str<'a>>,
    metrics: Option<Vec<CamelQuery<'a>>>,
}

#[derive(Debug, Deserialize)]
#[serde(bound(deserialize = "'de: 'a"))]
#[serde(rename_all = "camelCase")]
struct CamelQuery<'a> {
    metric_stat: Option<CamelStat<'a>>,
}

#[derive(Debug, Deserialize)]
#[serde(bound(deserialize = "'de: 'a"))]
struct CamelStat<'a> {
    metric: Option<CamelMetric<'a>>,
}

#[derive(Debug, Deserialize)]
#[serde(bound(deserialize = "'de: 'a"))]
struct CamelMetric<'a> {
    namespace: Option<Str<'a>>,
    /// The metric name (not `metricName` as in the SDK).
    name: Option<Str<'a>>,
    /// A map here, not a list of name/value pairs.
    dimensions: Option<BTreeMap<Str<'a>, Str<'a>>>,
}

/// The alarm-action event, read only to explain a payload whose first pass failed.
#[derive(Debug, Deserialize)]
#[serde(bound(deserialize = "'de: 'a"))]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)] // read by serde to locate the failing field, never used after
pub(super) struct AlarmActionDoc<'a> {
    alarm_arn: Option<Str<'a>>,
    region: Option<Str<'a>>,
    alarm_data: AlarmData<'a>,
}

/// The EventBridge event, read only to explain a payload whose first pass failed.
#[derive(Debug, Deserialize)]
#[serde(bound(deserialize = "'de: 'a"))]
#[allow(dead_code)] // read by serde to locate the failing field, never used after
pub(super) struct EventBridgeDoc<'a> {
    #[serde(rename = "detail-type")]
    detail_type: Option<Str<'a>>,
    resources: Option<Vec<Str<'a>>>,
    region: Option<Str<'a>>,
    detail: AlarmData<'a>,
}

/// Decodes a CloudWatch alarm action event (`source: aws.cloudwatch`, `alarmData`).
pub(super) fn alarm_action(top: &Top<'_>, ctx: &Ctx) -> Decoded {
    let arn = match json::optional_str(top.alarm_arn, "alarmArn") {
        Ok(arn) => arn,
        Err(reason) => return ctx.reject(reason),
    };
    let ctx = match sent(top, ctx) {
        Ok(ctx) => ctx,
        Err(reason) => return ctx.reject(reason),
    };
    camel_alarm(top.alarm_data, "alarmData", arn, &ALARM_ACTION, top, &ctx)
}

/// The context with the event's own send time (`time`), which a stale check compares.
fn sent(top: &Top<'_>, ctx: &Ctx) -> Result<Ctx, String> {
    let time = json::optional_str(top.time, "time")?;
    let at = optional_time(time.as_ref().map(Str::as_str), "time")?;
    Ok(ctx.sent(at))
}

/// Decodes an EventBridge "CloudWatch Alarm State Change" event.
pub(super) fn eventbridge(top: &Top<'_>, ctx: &Ctx) -> Decoded {
    match json::optional_str(top.detail_type, "detail-type") {
        Ok(Some(t)) if t.as_str() != "CloudWatch Alarm State Change" => {
            return ctx.reject(format!(
                "detail-type: {} is not a CloudWatch Alarm State Change",
                excerpt(t.as_str(), 60)
            ));
        }
        Ok(_) => {}
        Err(reason) => return ctx.reject(reason),
    }
    let resources = match top.resources {
        Some(raw) => match json::typed::<Option<Vec<Str<'_>>>>(raw.get(), "resources") {
            Ok(r) => r.unwrap_or_default(),
            Err(reason) => return ctx.reject(reason),
        },
        None => Vec::new(),
    };
    let arn = resources.into_iter().next();
    let ctx = match sent(top, ctx) {
        Ok(ctx) => ctx,
        Err(reason) => return ctx.reject(reason),
    };
    camel_alarm(top.detail, "detail", arn, &EVENTBRIDGE, top, &ctx)
}

fn camel_alarm(
    raw: Option<&RawValue>,
    field: &str,
    arn: Option<Str<'_>>,
    fields: &'static Fields,
    top: &Top<'_>,
    ctx: &Ctx,
) -> Decoded {
    let Some(raw) = raw else {
        return ctx.reject(format!("{field}: missing"));
    };
    let data = match json::typed::<AlarmData<'_>>(raw.get(), field) {
        Ok(d) => d,
        Err(reason) => return ctx.reject(reason),
    };
    // The event's own `region` is a code (unlike the classic message's display name).
    let region_field = match json::optional_str(top.region, "region") {
        Ok(r) => r,
        Err(reason) => return ctx.reject(reason),
    };
    let region = arn
        .as_ref()
        .and_then(|a| region_from_arn(a.as_str()))
        .or_else(|| {
            region_field
                .as_ref()
                .map(Str::as_str)
                .filter(|r| is_region_code(r))
        })
        .map(str::to_owned);
    let (state, reason, time) = match data.state {
        Some(s) => (s.value, s.reason, s.timestamp),
        None => (None, None, None),
    };
    let (description, alarm_rule, queries) = match data.configuration {
        Some(c) => (c.description, c.alarm_rule, c.metrics),
        None => (None, None, None),
    };
    let mut metrics = MetricLabels::default();
    for query in queries.into_iter().flatten() {
        if let Some(metric) = query.metric_stat.and_then(|s| s.metric) {
            metrics.metric(
                metric.name,
                metric.namespace,
                metric.dimensions.into_iter().flatten(),
            );
        }
    }
    Facts {
        fields,
        name: data.alarm_name,
        state,
        time,
        arn,
        description,
        reason,
        alarm_rule,
        region,
        labels: metrics.finish(),
    }
    .into_alert(ctx)
}

// ---- Shared normalization ----------------------------------------------------------------

/// Where each fact sits in a shape, for rejection reasons.
#[derive(Debug)]
struct Fields {
    name: &'static str,
    state: &'static str,
    time: &'static str,
}

const CLASSIC: Fields = Fields {
    name: "AlarmName",
    state: "NewStateValue",
    time: "StateChangeTime",
};
const ALARM_ACTION: Fields = Fields {
    name: "alarmData.alarmName",
    state: "alarmData.state.value",
    time: "alarmData.state.timestamp",
};
const EVENTBRIDGE: Fields = Fields {
    name: "detail.alarmName",
    state: "detail.state.value",
    time: "detail.state.timestamp",
};

/// What every CloudWatch form says about an alarm, before normalization.
#[derive(Debug)]
struct Facts<'a> {
    fields: &'static Fields,
    name: Option<Str<'a>>,
    state: Option<Str<'a>>,
    time: Option<Str<'a>>,
    arn: Option<Str<'a>>,
    description: Option<Str<'a>>,
    reason: Option<Str<'a>>,
    alarm_rule: Option<Str<'a>>,
    region: Option<String>,
    labels: Labels,
}

impl Facts<'_> {
    fn into_alert(self, ctx: &Ctx) -> Decoded {
        let f = self.fields;
        let name = match self.name {
            Some(n) if !n.as_str().is_empty() => n.into_string(),
            Some(_) => return ctx.reject(format!("{}: empty", f.name)),
            None => return ctx.reject(format!("{}: missing", f.name)),
        };
        let status = match self.state.as_ref().map(Str::as_str) {
            Some("ALARM") => AlertStatus::Firing,
            Some("OK") => AlertStatus::Resolved,
            Some("INSUFFICIENT_DATA") => AlertStatus::InsufficientData,
            Some(other) => {
                return ctx.reject(format!(
                    "{}: {} is not ALARM, OK or INSUFFICIENT_DATA",
                    f.state,
                    excerpt(other, 40)
                ));
            }
            None => return ctx.reject(format!("{}: missing", f.state)),
        };
        let Some(time) = self.time else {
            return ctx.reject(format!("{}: missing", f.time));
        };
        let starts_at = match parse_timestamp(time.as_str()) {
            Ok(t) => t,
            Err(why) => return ctx.reject(format!("{}: {why}", f.time)),
        };
        let arn = self.arn.map(Str::into_string).filter(|a| !a.is_empty());
        let fingerprint = format!("{}@{}", arn.as_deref().unwrap_or(&name), time.as_str());

        let mut annotations = Labels::new();
        let mut note = |key: &str, value: Option<String>| {
            if let Some(v) = value.filter(|v| !v.is_empty()) {
                annotations.insert(key.to_owned(), v);
            }
        };
        note("description", self.description.map(Str::into_string));
        note("reason", self.reason.map(Str::into_string));
        note("alarm_rule", self.alarm_rule.map(Str::into_string));
        note("alarm_arn", arn);
        note("region", self.region);

        Ok(Alert {
            source: Source::Cloudwatch,
            name,
            status,
            fingerprint,
            starts_at,
            labels: self.labels,
            annotations,
            delivery: ctx.delivery(),
        })
    }
}

/// Labels from an alarm's metrics: every dimension under its own name (the first metric
/// that names a dimension wins), plus `metric_name` and `metric_namespace` of the first
/// metric that has them.
#[derive(Debug, Default)]
struct MetricLabels {
    labels: Labels,
    metric_name: Option<String>,
    metric_namespace: Option<String>,
}

impl MetricLabels {
    fn metric<'a>(
        &mut self,
        name: Option<Str<'a>>,
        namespace: Option<Str<'a>>,
        dimensions: impl Iterator<Item = (Str<'a>, Str<'a>)>,
    ) {
        for (key, value) in dimensions {
            self.labels
                .entry(key.into_string())
                .or_insert_with(|| value.into_string());
        }
        if self.metric_name.is_none() {
            self.metric_name = name.map(Str::into_string).filter(|n| !n.is_empty());
        }
        if self.metric_namespace.is_none() {
            self.metric_namespace = namespace.map(Str::into_string).filter(|n| !n.is_empty());
        }
    }

    fn finish(mut self) -> Labels {
        if let Some(name) = self.metric_name {
            self.labels.insert("metric_name".to_owned(), name);
        }
        if let Some(namespace) = self.metric_namespace {
            self.labels.insert("metric_namespace".to_owned(), namespace);
        }
        self.labels
    }
}

/// The region code of an ARN (`arn:aws:cloudwatch:us-east-1:...` → `us-east-1`), if it
/// has one that looks like a code (fixtures write `REGION`).
fn region_from_arn(arn: &str) -> Option<&str> {
    let mut parts = arn.split(':');
    if parts.next() != Some("arn") {
        return None;
    }
    parts.nth(2).filter(|r| is_region_code(r))
}

/// `us-east-1`, `ap-northeast-2`, `us-gov-west-1`: lower-case words and digits with dashes.
fn is_region_code(text: &str) -> bool {
    text.contains('-')
        && text.starts_with(|c: char| c.is_ascii_lowercase())
        && text
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert::Shape;
    use crate::decode::decode;

    /// A classic notification wrapped as a bare message (no SNS envelope).
    fn classic(fields: &str) -> Vec<Decoded> {
        decode(format!("{{{fields}}}").as_bytes())
    }

    const BASE: &str = r#""AlarmName":"pod-restarts","NewStateValue":"ALARM","StateChangeTime":"2024-05-01T10:00:00.000+0000""#;

    #[test]
    fn states_map_to_statuses() {
        for (state, status) in [
            ("ALARM", AlertStatus::Firing),
            ("OK", AlertStatus::Resolved),
            ("INSUFFICIENT_DATA", AlertStatus::InsufficientData),
        ] {
            let fields = BASE.replace("\"ALARM\"", &format!("\"{state}\""));
            assert_eq!(classic(&fields).remove(0).unwrap().status, status);
        }
    }

    #[test]
    fn an_unknown_state_is_rejected_naming_the_field() {
        let r = classic(&BASE.replace("\"ALARM\"", "\"PANIC\""))
            .remove(0)
            .unwrap_err();
        assert_eq!(
            r.reason,
            r#"looked like a CloudWatch alarm notification: NewStateValue: "PANIC" is not ALARM, OK or INSUFFICIENT_DATA"#
        );
    }

    #[test]
    fn a_bare_notification_decodes_without_a_delivery_shape() {
        let a = classic(BASE).remove(0).unwrap();
        assert_eq!(a.delivery.shape, None);
        assert_eq!(a.fingerprint, "pod-restarts@2024-05-01T10:00:00.000+0000");
        assert!(a.labels.is_empty());
    }

    #[test]
    fn description_null_empty_or_text_and_unit_none_are_accepted() {
        for desc in ["null", "\"\""] {
            let a = classic(&format!(
                r#"{BASE},"AlarmDescription":{desc},"Trigger":{{"MetricName":"m","Namespace":"n","Unit":null,"Dimensions":[]}}"#
            ))
            .remove(0)
            .unwrap();
            assert!(!a.annotations.contains_key("description"));
        }
        let a = classic(&format!(
            r#"{BASE},"AlarmDescription":"text","Trigger":{{"MetricName":"m","Unit":"None","Threshold":null}}"#
        ))
        .remove(0)
        .unwrap();
        assert_eq!(a.annotations["description"], "text");
        assert_eq!(a.labels["metric_name"], "m");
    }

    #[test]
    fn dimension_keys_are_read_in_either_order_and_either_case() {
        let a = classic(&format!(
            r#"{BASE},"Trigger":{{"Dimensions":[{{"value":"v1","name":"A"}},{{"name":"B","value":"v2"}},{{"Name":"C","Value":"v3"}}]}}"#
        ))
        .remove(0)
        .unwrap();
        assert_eq!(
            (
                a.labels["A"].as_str(),
                a.labels["B"].as_str(),
                a.labels["C"].as_str()
            ),
            ("v1", "v2", "v3")
        );
    }

    #[test]
    fn metric_math_labels_come_from_metric_stats_first_occurrence_winning() {
        let a = classic(&format!(
            r#"{BASE},"Trigger":{{"Metrics":[
                {{"Id":"e1","Expression":"m1+m2","ReturnData":true}},
                {{"Id":"m1","MetricStat":{{"Metric":{{"MetricName":"pod_number_of_container_restarts","Namespace":"ContainerInsights",
                  "Dimensions":[{{"name":"PodName","value":"vote"}},{{"name":"Namespace","value":"production"}}]}}}}}},
                {{"Id":"m2","MetricStat":{{"Metric":{{"MetricName":"other","Namespace":"Other",
                  "Dimensions":[{{"name":"PodName","value":"result"}},{{"name":"ClusterName","value":"c"}}]}}}}}}]}}"#
        ))
        .remove(0)
        .unwrap();
        assert_eq!(a.labels["PodName"], "vote");
        assert_eq!(a.labels["Namespace"], "production");
        assert_eq!(a.labels["ClusterName"], "c");
        assert_eq!(a.labels["metric_name"], "pod_number_of_container_restarts");
        assert_eq!(a.labels["metric_namespace"], "ContainerInsights");
    }

    #[test]
    fn a_wrong_type_at_a_nested_path_is_named() {
        let r = classic(&format!(
            r#"{BASE},"Trigger":{{"Dimensions":[{{"name":"A","value":"x"}},{{"name":"B","value":7}}]}}"#
        ))
        .remove(0)
        .unwrap_err();
        assert_eq!(
            r.reason,
            "looked like a CloudWatch alarm notification: Trigger.Dimensions[1].value: invalid type: integer `7`, expected a string"
        );
    }

    #[test]
    fn a_bad_state_change_time_is_named() {
        let r = classic(&BASE.replace("2024-05-01T10:00:00.000+0000", "soon"))
            .remove(0)
            .unwrap_err();
        assert!(
            r.reason.starts_with(
                "looked like a CloudWatch alarm notification: StateChangeTime: not a timestamp: \"soon\""
            ),
            "{}",
            r.reason
        );
    }

    #[test]
    fn region_comes_from_the_arn_only_when_it_is_a_code() {
        assert_eq!(
            region_from_arn("arn:aws:cloudwatch:us-east-1:1:alarm:x"),
            Some("us-east-1")
        );
        assert_eq!(region_from_arn("arn:aws:cloudwatch:REGION:1:alarm:x"), None);
        assert_eq!(region_from_arn("arn:aws:sns:EXAMPLE"), None);
        assert_eq!(region_from_arn("US East (N. Virginia)"), None);
    }

    #[test]
    fn eventbridge_events_of_another_type_are_rejected() {
        let r = decode(
            br#"{"detail-type":"EC2 Instance State-change Notification","source":"aws.ec2","detail":{}}"#,
        )
        .remove(0)
        .unwrap_err();
        assert_eq!(r.shape, Some(Shape::EventBridge));
        assert_eq!(
            r.reason,
            r#"looked like an EventBridge CloudWatch Alarm State Change event: detail-type: "EC2 Instance State-change Notification" is not a CloudWatch Alarm State Change"#
        );
    }

    #[test]
    fn an_alarm_action_without_state_names_the_missing_field() {
        let r = decode(br#"{"source":"aws.cloudwatch","alarmData":{"alarmName":"x"}}"#)
            .remove(0)
            .unwrap_err();
        assert_eq!(
            r.reason,
            "looked like a CloudWatch alarm action event: alarmData.state.value: missing"
        );
    }

    #[test]
    fn an_alarm_action_with_a_wrong_type_names_the_path() {
        let r = decode(
            br#"{"source":"aws.cloudwatch","alarmData":{"alarmName":"x","configuration":{"metrics":[{"metricStat":{"metric":{"dimensions":["a"]}}}]}}}"#,
        )
        .remove(0)
        .unwrap_err();
        assert_eq!(
            r.reason,
            "looked like a CloudWatch alarm action event: alarmData.configuration.metrics[0].metricStat.metric.dimensions: invalid type: sequence, expected a map"
        );
    }
}
