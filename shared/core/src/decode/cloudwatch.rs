//! CloudWatch alarms, in the three forms they reach us.
//!
//! - The classic notification published to SNS (PascalCase: `AlarmName`, `NewStateValue`,
//!   `Trigger`): a single-metric alarm names its metric in `Trigger`, a metric-math or
//!   anomaly-band alarm lists `Trigger.Metrics`, a composite alarm has `AlarmRule` and no
//!   `Trigger` at all. It is read only as the `Message` of an SNS notification: CloudWatch
//!   sends it no other way, and one given bare is rejected (`mod.rs`).
//! - The alarm action that invokes Lambda directly (`alarmData`) and the EventBridge
//!   "CloudWatch Alarm State Change" event (`detail`): both camelCase, one shared type,
//!   dimensions as a map and the metric name under `name`.
//!
//! All three reduce to [`Facts`], and one function turns facts into an [`Alert`], so the
//! three agree on status, fingerprint, labels and annotations by construction: the labels
//! of what the alarm watches come from [`crate::alarm_metrics`] (which the alarm re-check
//! shares), the account (`AWSAccountId`, `accountId`, `account`, else the ARN's) goes into
//! the `account` annotation for the instance key, and a composite alarm's actions
//! suppression in the new state (`state.actionsSuppressedBy`, `actionsSuppressedReason`,
//! `configuration.actionsSuppressor`) into [`Alert::actions_suppressed`].

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::value::RawValue;

use super::ctx::{Ctx, Decoded};
use super::detect::Top;
use super::json::{self, Str, excerpt};
use super::time::{optional_time, parse_timestamp};
use crate::alarm_metrics::{self, Query, Watched};
use crate::alert::{ActionsSuppressed, Alert, AlertStatus, Labels, Source};

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
    #[serde(rename = "AWSAccountId")]
    aws_account_id: Option<Str<'a>>,
    new_state_value: Option<Str<'a>>,
    new_state_reason: Option<Str<'a>>,
    state_change_time: Option<Str<'a>>,
    /// Absent before 2019.
    alarm_arn: Option<Str<'a>>,
    /// Composite alarms only.
    alarm_rule: Option<Str<'a>>,
    /// A composite alarm's actions suppression, spelled as DescribeAlarms spells it. The
    /// notification is itself an action, so CloudWatch sends none while actions are
    /// suppressed; one that says so anyway is honoured.
    actions_suppressed_by: Option<Str<'a>>,
    actions_suppressed_reason: Option<Str<'a>>,
    actions_suppressor: Option<Str<'a>>,
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
    /// Anomaly-band alarms: the query that is the band.
    threshold_metric_id: Option<Str<'a>>,
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

/// One entry of `Trigger.Metrics`: a metric (`MetricStat`) or an expression.
#[derive(Debug, Deserialize)]
#[serde(bound(deserialize = "'de: 'a"))]
#[serde(rename_all = "PascalCase")]
struct MetricQuery<'a> {
    id: Option<Str<'a>>,
    expression: Option<Str<'a>>,
    return_data: Option<bool>,
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

/// A metric as [`alarm_metrics`] reads it.
fn metric<'a>(
    name: Option<Str<'a>>,
    namespace: Option<Str<'a>>,
    dimensions: impl Iterator<Item = (Str<'a>, Str<'a>)>,
) -> alarm_metrics::Metric {
    alarm_metrics::Metric {
        namespace: namespace.map(Str::into_string),
        name: name.map(Str::into_string),
        dimensions: dimensions
            .map(|(k, v)| (k.into_string(), v.into_string()))
            .collect(),
    }
}

/// A query of an alarm's metrics list as [`alarm_metrics`] reads it.
fn query(
    id: Option<Str<'_>>,
    expression: Option<Str<'_>>,
    return_data: Option<bool>,
    metric: Option<alarm_metrics::Metric>,
) -> Query {
    Query {
        id: id.map(Str::into_string),
        expression: expression.map(Str::into_string),
        return_data,
        metric,
    }
}

/// A notification's dimensions as name/value pairs.
fn pairs<'a>(dims: Option<Vec<Dimension<'a>>>) -> impl Iterator<Item = (Str<'a>, Str<'a>)> {
    dims.into_iter().flatten().map(|d| (d.name, d.value))
}

/// Decodes a classic alarm notification, the `Message` of an SNS notification.
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
    let mut watched = Watched::default();
    if let Some(trigger) = message.trigger {
        if trigger.metric_name.is_some()
            || trigger.namespace.is_some()
            || trigger.dimensions.is_some()
        {
            watched.metric = Some(metric(
                trigger.metric_name,
                trigger.namespace,
                pairs(trigger.dimensions),
            ));
        }
        watched.queries = trigger
            .metrics
            .into_iter()
            .flatten()
            .map(|q| {
                let m = q.metric_stat.and_then(|s| s.metric);
                let m = m.map(|m| metric(m.metric_name, m.namespace, pairs(m.dimensions)));
                query(q.id, q.expression, q.return_data, m)
            })
            .collect();
        watched.threshold_id = trigger.threshold_metric_id.map(Str::into_string);
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
        account: message.aws_account_id,
        description: message.alarm_description,
        reason: message.new_state_reason,
        alarm_rule: message.alarm_rule,
        region,
        suppressed: Suppression {
            by: message.actions_suppressed_by,
            reason: message.actions_suppressed_reason,
            suppressor: message.actions_suppressor,
        },
        watched,
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
    /// The new state; `previousState` is not read (its suppression is over).
    state: Option<AlarmState<'a>>,
    configuration: Option<Configuration<'a>>,
}

#[derive(Debug, Deserialize)]
#[serde(bound(deserialize = "'de: 'a"))]
#[serde(rename_all = "camelCase")]
struct AlarmState<'a> {
    value: Option<Str<'a>>,
    reason: Option<Str<'a>>,
    timestamp: Option<Str<'a>>,
    /// Composite alarms with an actions suppressor: `Alarm`, `WaitPeriod`,
    /// `ExtensionPeriod` while CloudWatch holds the alarm's actions back.
    actions_suppressed_by: Option<Str<'a>>,
    actions_suppressed_reason: Option<Str<'a>>,
}

#[derive(Debug, Deserialize)]
#[serde(bound(deserialize = "'de: 'a"))]
#[serde(rename_all = "camelCase")]
struct Configuration<'a> {
    description: Option<Str<'a>>,
    /// Composite alarms only.
    alarm_rule: Option<Str<'a>>,
    /// The suppressor alarm of a composite alarm.
    actions_suppressor: Option<Str<'a>>,
    metrics: Option<Vec<CamelQuery<'a>>>,
}

#[derive(Debug, Deserialize)]
#[serde(bound(deserialize = "'de: 'a"))]
#[serde(rename_all = "camelCase")]
struct CamelQuery<'a> {
    id: Option<Str<'a>>,
    expression: Option<Str<'a>>,
    return_data: Option<bool>,
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
    account_id: Option<Str<'a>>,
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
    account: Option<Str<'a>>,
    region: Option<Str<'a>>,
    detail: AlarmData<'a>,
}

/// Decodes a CloudWatch alarm action event (`source: aws.cloudwatch`, `alarmData`).
pub(super) fn alarm_action(top: &Top<'_>, ctx: &Ctx) -> Decoded {
    let arn = match json::optional_str(top.alarm_arn, "alarmArn") {
        Ok(arn) => arn,
        Err(reason) => return ctx.reject(reason),
    };
    let account = match json::optional_str(top.account_id, "accountId") {
        Ok(account) => account,
        Err(reason) => return ctx.reject(reason),
    };
    let ctx = match sent(top, ctx) {
        Ok(ctx) => ctx,
        Err(reason) => return ctx.reject(reason),
    };
    let event = Event {
        fields: &ALARM_ACTION,
        arn,
        account,
    };
    event.alarm(top.alarm_data, "alarmData", top, &ctx)
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
    let account = match json::optional_str(top.account, "account") {
        Ok(account) => account,
        Err(reason) => return ctx.reject(reason),
    };
    let ctx = match sent(top, ctx) {
        Ok(ctx) => ctx,
        Err(reason) => return ctx.reject(reason),
    };
    let event = Event {
        fields: &EVENTBRIDGE,
        arn: resources.into_iter().next(),
        account,
    };
    event.alarm(top.detail, "detail", top, &ctx)
}

/// What an alarm action or EventBridge event says around its alarm data.
struct Event<'a> {
    fields: &'static Fields,
    arn: Option<Str<'a>>,
    account: Option<Str<'a>>,
}

impl Event<'_> {
    /// Decodes the alarm data at `field` (raw) with what the event said around it.
    fn alarm(self, raw: Option<&RawValue>, field: &str, top: &Top<'_>, ctx: &Ctx) -> Decoded {
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
        let region = self
            .arn
            .as_ref()
            .and_then(|a| region_from_arn(a.as_str()))
            .or_else(|| {
                region_field
                    .as_ref()
                    .map(Str::as_str)
                    .filter(|r| is_region_code(r))
            })
            .map(str::to_owned);
        let (state, reason, time, by, why) = match data.state {
            Some(s) => (
                s.value,
                s.reason,
                s.timestamp,
                s.actions_suppressed_by,
                s.actions_suppressed_reason,
            ),
            None => (None, None, None, None, None),
        };
        let (description, alarm_rule, suppressor, queries) = match data.configuration {
            Some(c) => (c.description, c.alarm_rule, c.actions_suppressor, c.metrics),
            None => (None, None, None, None),
        };
        let watched = Watched {
            metric: None,
            queries: queries
                .into_iter()
                .flatten()
                .map(|q| {
                    let m = q.metric_stat.and_then(|s| s.metric);
                    let m =
                        m.map(|m| metric(m.name, m.namespace, m.dimensions.into_iter().flatten()));
                    query(q.id, q.expression, q.return_data, m)
                })
                .collect(),
            threshold_id: None,
        };
        Facts {
            fields: self.fields,
            name: data.alarm_name,
            state,
            time,
            arn: self.arn,
            account: self.account,
            description,
            reason,
            alarm_rule,
            region,
            suppressed: Suppression {
                by,
                reason: why,
                suppressor,
            },
            watched,
        }
        .into_alert(ctx)
    }
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

/// A composite alarm's actions suppression, as the payload spells it.
#[derive(Debug)]
struct Suppression<'a> {
    by: Option<Str<'a>>,
    reason: Option<Str<'a>>,
    suppressor: Option<Str<'a>>,
}

impl Suppression<'_> {
    /// Suppressed unless `by` is absent, empty or `None`; an unknown value counts as
    /// suppressed (the safe reading).
    fn into_actions_suppressed(self) -> Option<ActionsSuppressed> {
        let by = self.by.map(Str::into_string)?;
        let by = by.trim();
        if by.is_empty() || by.eq_ignore_ascii_case("none") {
            return None;
        }
        let text = |s: Option<Str<'_>>| {
            s.map(|s| s.as_str().trim().to_owned())
                .filter(|s| !s.is_empty())
        };
        Some(ActionsSuppressed {
            by: by.to_owned(),
            reason: text(self.reason),
            suppressor: text(self.suppressor),
        })
    }
}

/// What every CloudWatch form says about an alarm, before normalization.
#[derive(Debug)]
struct Facts<'a> {
    fields: &'static Fields,
    name: Option<Str<'a>>,
    state: Option<Str<'a>>,
    time: Option<Str<'a>>,
    arn: Option<Str<'a>>,
    account: Option<Str<'a>>,
    description: Option<Str<'a>>,
    reason: Option<Str<'a>>,
    alarm_rule: Option<Str<'a>>,
    region: Option<String>,
    suppressed: Suppression<'a>,
    watched: Watched,
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
        // The account every shape names (`AWSAccountId`, `accountId`, `account`), else the
        // ARN's: part of the instance key that one state change shares across shapes.
        let account = self
            .account
            .map(Str::into_string)
            .filter(|a| !a.is_empty())
            .or_else(|| {
                arn.as_deref()
                    .and_then(|a| a.split(':').nth(4))
                    .filter(|a| !a.is_empty())
                    .map(str::to_owned)
            });

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
        note("account", account);

        Ok(Alert {
            source: Source::Cloudwatch,
            name,
            status,
            fingerprint,
            starts_at: Some(starts_at),
            labels: self.watched.labels(),
            annotations,
            delivery: ctx.delivery(),
            actions_suppressed: self.suppressed.into_actions_suppressed(),
            notes: self.watched.note().into_iter().collect(),
        })
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

    /// A classic notification with `fields`, in the HTTP body SNS delivers it in.
    fn classic(fields: &str) -> Vec<Decoded> {
        let message = serde_json::to_string(&format!("{{{fields}}}")).unwrap();
        decode(
            format!(r#"{{"Type":"Notification","MessageId":"m1","Message":{message}}}"#).as_bytes(),
        )
    }

    /// The prefix of a rejection reason inside [`classic`]'s envelope.
    const IN_SNS: &str = "looked like an SNS HTTP subscriber body: Message: ";

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
            format!(
                r#"{IN_SNS}looked like a CloudWatch alarm notification: NewStateValue: "PANIC" is not ALARM, OK or INSUFFICIENT_DATA"#
            )
        );
    }

    #[test]
    fn a_notification_without_arn_is_fingerprinted_by_name() {
        let a = classic(BASE).remove(0).unwrap();
        assert_eq!(a.delivery.shape, Some(Shape::SnsHttp));
        assert_eq!(a.fingerprint, "pod-restarts@2024-05-01T10:00:00.000+0000");
        assert!(a.labels.is_empty());
        assert_eq!(a.actions_suppressed, None);
    }

    #[test]
    fn a_bare_notification_without_its_sns_envelope_is_rejected() {
        let r = decode(format!("{{{BASE}}}").as_bytes())
            .remove(0)
            .unwrap_err();
        assert_eq!(r.shape, None);
        assert!(
            r.reason.starts_with(
                "looked like a CloudWatch alarm notification without the SNS notification that carries it"
            ),
            "{}",
            r.reason
        );
        // Broken or not, a bare one is refused for what it is.
        let r = decode(format!("{{{BASE},").as_bytes())
            .remove(0)
            .unwrap_err();
        assert!(
            r.reason.contains("without the SNS notification"),
            "{}",
            r.reason
        );
    }

    /// An alarm action of a composite alarm in `state` (the fields inside `state`) with
    /// `configuration` fields.
    fn composite_action(state: &str, configuration: &str) -> Decoded {
        decode(
            format!(
                r#"{{"source":"aws.cloudwatch","alarmArn":"arn:aws:cloudwatch:us-east-1:111122223333:alarm:health",
                "accountId":"111122223333","time":"2026-11-20T09:30:01.104+0000","region":"us-east-1",
                "alarmData":{{"alarmName":"health","state":{{"value":"ALARM","timestamp":"2026-11-20T09:30:01.104+0000"{state}}},
                "previousState":{{"value":"OK","timestamp":"2026-11-12T08:14:06.013+0000","actionsSuppressedBy":"Alarm"}},
                "configuration":{{"alarmRule":"ALARM(a) OR ALARM(b)"{configuration}}}}}}}"#
            )
            .as_bytes(),
        )
        .remove(0)
    }

    #[test]
    fn actions_suppressed_in_the_new_state_are_read_with_reason_and_suppressor() {
        for by in ["WaitPeriod", "Alarm", "ExtensionPeriod"] {
            let a = composite_action(
                &format!(
                    r#","actionsSuppressedBy":"{by}","actionsSuppressedReason":"Actions suppressed by {by}""#
                ),
                r#","actionsSuppressor":"maintenance","actionsSuppressorWaitPeriod":120"#,
            )
            .unwrap();
            assert_eq!(
                a.actions_suppressed,
                Some(ActionsSuppressed {
                    by: by.into(),
                    reason: Some(format!("Actions suppressed by {by}")),
                    suppressor: Some("maintenance".into()),
                })
            );
        }
    }

    #[test]
    fn actions_not_suppressed_now_are_not_even_when_they_were_before() {
        for state in [
            "",
            r#","actionsSuppressedBy":"None""#,
            r#","actionsSuppressedBy":"""#,
        ] {
            let a = composite_action(state, r#","actionsSuppressor":"maintenance""#).unwrap();
            assert_eq!(a.actions_suppressed, None, "{state}");
        }
    }

    #[test]
    fn a_notification_that_says_its_actions_are_suppressed_is_honoured() {
        let a = classic(&format!(
            r#"{BASE},"ActionsSuppressedBy":"Alarm","ActionsSuppressor":"maintenance""#
        ))
        .remove(0)
        .unwrap();
        let s = a.actions_suppressed.unwrap();
        assert_eq!((s.by.as_str(), s.reason), ("Alarm", None));
        assert_eq!(s.suppressor.as_deref(), Some("maintenance"));
    }

    #[test]
    fn the_account_comes_from_each_shape_or_from_the_arn() {
        let a = composite_action("", "").unwrap();
        assert_eq!(a.annotations["account"], "111122223333");
        let a = classic(&format!(r#"{BASE},"AWSAccountId":"444455556666""#))
            .remove(0)
            .unwrap();
        assert_eq!(a.annotations["account"], "444455556666");
        let a = classic(&format!(
            r#"{BASE},"AlarmArn":"arn:aws:cloudwatch:eu-west-1:777788889999:alarm:pod-restarts""#
        ))
        .remove(0)
        .unwrap();
        assert_eq!(a.annotations["account"], "777788889999");
        assert!(
            !classic(BASE)
                .remove(0)
                .unwrap()
                .annotations
                .contains_key("account")
        );
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
    fn a_metric_math_alarm_gives_its_expression_and_every_query_but_no_metric_name() {
        let a = classic(&format!(
            r#"{BASE},"Trigger":{{"Metrics":[
                {{"Id":"e1","Expression":"m1+m2","ReturnData":true}},
                {{"Id":"m1","MetricStat":{{"Metric":{{"MetricName":"pod_number_of_container_restarts","Namespace":"ContainerInsights",
                  "Dimensions":[{{"name":"PodName","value":"vote"}},{{"name":"Namespace","value":"production"}}]}}}},"ReturnData":false}},
                {{"Id":"m2","MetricStat":{{"Metric":{{"MetricName":"other","Namespace":"Other",
                  "Dimensions":[{{"name":"PodName","value":"result"}},{{"name":"ClusterName","value":"c"}}]}}}},"ReturnData":false}}]}}"#
        ))
        .remove(0)
        .unwrap();
        assert!(
            !a.labels.contains_key("PodName"),
            "the metrics disagree on it"
        );
        assert_eq!(a.labels["Namespace"], "production");
        assert_eq!(a.labels["ClusterName"], "c");
        assert!(!a.labels.contains_key("metric_name"));
        assert!(!a.labels.contains_key("metric_namespace"));
        assert_eq!(a.labels["metric_expression"], "m1+m2");
        assert_eq!(a.labels["query_e1"], "m1+m2");
        assert_eq!(
            a.labels["query_m2"],
            "Other other ClusterName=c PodName=result"
        );
        assert!(a.notes[0].starts_with("metric-math alarm"), "{:?}", a.notes);
    }

    #[test]
    fn an_event_metric_math_alarm_reads_like_the_notification() {
        let a = decode(
            br#"{"version":"0","detail-type":"CloudWatch Alarm State Change","source":"aws.cloudwatch","account":"1",
            "time":"2024-05-01T10:00:00Z","region":"us-east-1","resources":["arn:aws:cloudwatch:us-east-1:1:alarm:x"],
            "detail":{"alarmName":"x","state":{"value":"ALARM","timestamp":"2024-05-01T10:00:00.000+0000"},
            "configuration":{"metrics":[{"id":"e1","expression":"m1/m2","returnData":true},
              {"id":"m1","metricStat":{"metric":{"namespace":"N","name":"a","dimensions":{"PodName":"vote"}}},"returnData":false},
              {"id":"m2","metricStat":{"metric":{"namespace":"N","name":"b","dimensions":{"PodName":"vote"}}},"returnData":false}]}}}"#,
        )
        .remove(0)
        .unwrap();
        assert_eq!(a.labels["metric_expression"], "m1/m2");
        assert_eq!(a.labels["query_m1"], "N a PodName=vote");
        assert_eq!(a.labels["PodName"], "vote");
        assert!(!a.labels.contains_key("metric_name"));
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
            format!(
                "{IN_SNS}looked like a CloudWatch alarm notification: Trigger.Dimensions[1].value: invalid type: integer `7`, expected a string"
            )
        );
    }

    #[test]
    fn a_bad_state_change_time_is_named() {
        let r = classic(&BASE.replace("2024-05-01T10:00:00.000+0000", "soon"))
            .remove(0)
            .unwrap_err();
        assert!(
            r.reason.starts_with(&format!(
                "{IN_SNS}looked like a CloudWatch alarm notification: StateChangeTime: not a timestamp: \"soon\""
            )),
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
