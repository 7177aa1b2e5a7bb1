//! The CloudWatch alarm re-check: before acting on a CloudWatch alarm, ask CloudWatch
//! whether the alarm the message names exists, is still in ALARM, and watches what the
//! message says it watches.
//!
//! SNS may deliver an alarm notification late or twice, and Lambda retries an event for up
//! to an hour; by then the alarm may be OK again (the pipeline records `ignored`). And a
//! message is only as good as its sender: one that names an alarm CloudWatch does not
//! have, or gives it other dimensions (another pod, another node) than the alarm watches,
//! is not what CloudWatch sent, and the pipeline records `rejected`. One DescribeAlarms by
//! name (metric and composite alarms both) answers all three.
//!
//! What "watches what the message says" means: the labels of what the alarm watches, read
//! from DescribeAlarms by the same rule the decoder reads a message with
//! (`reflex_core::alarm_metrics`: its metric's dimensions, or a metric-math alarm's
//! expression, queries and agreed dimensions), equal the message's, and so do the metric
//! name and namespace where both sides name them. A composite alarm watches no metric;
//! existing and being in ALARM is all it can confirm.

use std::collections::BTreeMap;

use aws_sdk_cloudwatch::Client;
use aws_sdk_cloudwatch::types::{AlarmType, Dimension, MetricAlarm, StateValue};
use reflex_core::alarm_metrics::{self, METRIC_NAME, METRIC_NAMESPACE, Query, Watched};
use reflex_core::ledger::{AlarmCheck, AlarmState, LedgerError};
use reflex_core::{Alert, Source};

use crate::config::Aws;
use crate::error::classify;

/// Re-checks CloudWatch alarms with DescribeAlarms.
#[derive(Debug, Clone)]
pub struct CloudWatchAlarms {
    client: Client,
}

/// An alarm as DescribeAlarms reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DescribedAlarm {
    /// Its state.
    pub state: Option<StateValue>,
    /// What it watches, in the decoder's label names (dimensions, `metric_name`,
    /// `metric_namespace`); empty for a composite alarm.
    pub watches: BTreeMap<String, String>,
    /// A composite alarm (it watches other alarms, no metric).
    pub composite: bool,
}

impl CloudWatchAlarms {
    /// Alarms in the configured region.
    pub fn new(aws: &Aws) -> Self {
        CloudWatchAlarms::with_client(Client::new(aws.sdk_config()))
    }

    /// Alarms through `client`.
    pub fn with_client(client: Client) -> Self {
        CloudWatchAlarms { client }
    }

    /// Alarm `name`, if it exists.
    pub async fn describe(&self, name: &str) -> Result<Option<DescribedAlarm>, LedgerError> {
        let out = self
            .client
            .describe_alarms()
            .alarm_names(name)
            .alarm_types(AlarmType::MetricAlarm)
            .alarm_types(AlarmType::CompositeAlarm)
            .send()
            .await
            .map_err(|e| LedgerError::from(classify("cloudwatch:DescribeAlarms", e)))?;
        let metric = out
            .metric_alarms()
            .iter()
            .find(|a| a.alarm_name() == Some(name))
            .map(|a| DescribedAlarm {
                state: a.state_value().cloned(),
                watches: watches(a),
                composite: false,
            });
        let composite = || {
            out.composite_alarms()
                .iter()
                .find(|a| a.alarm_name() == Some(name))
                .map(|a| DescribedAlarm {
                    state: a.state_value().cloned(),
                    watches: BTreeMap::new(),
                    composite: true,
                })
        };
        Ok(metric.or_else(composite))
    }

    /// The current state of alarm `name`, if it exists.
    pub async fn state(&self, name: &str) -> Result<Option<StateValue>, LedgerError> {
        Ok(self.describe(name).await?.and_then(|a| a.state))
    }
}

impl AlarmCheck for CloudWatchAlarms {
    async fn recheck(&self, alert: &Alert) -> Result<AlarmState, LedgerError> {
        if alert.source != Source::Cloudwatch {
            return Ok(AlarmState::NotChecked);
        }
        let Some(alarm) = self.describe(&alert.name).await? else {
            return Ok(AlarmState::Missing);
        };
        Ok(judge(&alarm, alert))
    }
}

/// The verdict on `alert` given what CloudWatch says about its alarm.
pub fn judge(alarm: &DescribedAlarm, alert: &Alert) -> AlarmState {
    if !alarm.composite {
        let message = &alert.labels;
        let same_dimensions = dimensions(&alarm.watches).eq(dimensions(message));
        let same_metric = [METRIC_NAME, METRIC_NAMESPACE].iter().all(|key| {
            match (alarm.watches.get(*key), message.get(*key)) {
                (Some(a), Some(m)) => a == m,
                _ => true,
            }
        });
        if !(same_dimensions && same_metric) {
            return AlarmState::Differs {
                alarm: spell(&alarm.watches),
                message: spell(message),
            };
        }
    }
    match &alarm.state {
        Some(StateValue::Alarm) => AlarmState::Confirmed,
        Some(other) => AlarmState::NotInAlarm {
            state: other.as_str().to_owned(),
        },
        None => AlarmState::NotInAlarm {
            state: "in no state".to_owned(),
        },
    }
}

/// The dimension labels (everything but the metric's name and namespace).
fn dimensions(labels: &BTreeMap<String, String>) -> impl Iterator<Item = (&String, &String)> {
    labels
        .iter()
        .filter(|(k, _)| k.as_str() != METRIC_NAME && k.as_str() != METRIC_NAMESPACE)
}

/// `name=value, ...`, or `no dimensions`.
fn spell(labels: &BTreeMap<String, String>) -> String {
    if labels.is_empty() {
        return "no dimensions".to_owned();
    }
    labels
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// What a metric alarm watches, in the decoder's label names: the labels the decoder
/// gives a message of this alarm.
fn watches(alarm: &MetricAlarm) -> BTreeMap<String, String> {
    let metric =
        |name: Option<&str>, namespace: Option<&str>, dims: &[Dimension]| alarm_metrics::Metric {
            namespace: namespace.map(str::to_owned),
            name: name.map(str::to_owned),
            dimensions: dims
                .iter()
                .filter_map(|d| Some((d.name()?.to_owned(), d.value()?.to_owned())))
                .collect(),
        };
    let single = alarm.metric_name().is_some()
        || alarm.namespace().is_some()
        || !alarm.dimensions().is_empty();
    Watched {
        metric: single.then(|| metric(alarm.metric_name(), alarm.namespace(), alarm.dimensions())),
        queries: alarm
            .metrics()
            .iter()
            .map(|q| Query {
                id: q.id().map(str::to_owned),
                expression: q.expression().map(str::to_owned),
                return_data: q.return_data(),
                metric: q
                    .metric_stat()
                    .and_then(|s| s.metric())
                    .map(|m| metric(m.metric_name(), m.namespace(), m.dimensions())),
            })
            .collect(),
        threshold_id: alarm.threshold_metric_id().map(str::to_owned),
    }
    .labels()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // a panic in a test is a failed test

    use super::*;
    use aws_sdk_cloudwatch::types::{Metric, MetricDataQuery, MetricStat};
    use reflex_core::decode::decode;

    fn dimension(name: &str, value: &str) -> Dimension {
        Dimension::builder().name(name).value(value).build()
    }

    fn restarts_query(id: &str, metric: &str, pod: &str) -> MetricDataQuery {
        let metric = Metric::builder()
            .namespace("ContainerInsights")
            .metric_name(metric)
            .dimensions(dimension("Namespace", "production"))
            .dimensions(dimension("PodName", pod))
            .build();
        MetricDataQuery::builder()
            .id(id)
            .metric_stat(
                MetricStat::builder()
                    .metric(metric)
                    .period(300)
                    .stat("Maximum")
                    .build(),
            )
            .return_data(false)
            .build()
    }

    /// The restart-ratio alarm as DescribeAlarms describes it, over pod `pod`.
    fn ratio_alarm(pod: &str) -> DescribedAlarm {
        let alarm = MetricAlarm::builder()
            .alarm_name("ratio")
            .metrics(
                MetricDataQuery::builder()
                    .id("e1")
                    .expression("100*m1/m2")
                    .return_data(true)
                    .build(),
            )
            .metrics(restarts_query(
                "m1",
                "pod_number_of_container_restarts",
                pod,
            ))
            .metrics(restarts_query(
                "m2",
                "pod_number_of_running_containers",
                pod,
            ))
            .build();
        DescribedAlarm {
            state: Some(StateValue::Alarm),
            watches: watches(&alarm),
            composite: false,
        }
    }

    /// The same alarm's notification, as the decoder reads it.
    fn ratio_message() -> Alert {
        let metric = |id: &str, name: &str| {
            format!(
                r#"{{"Id":"{id}","MetricStat":{{"Metric":{{"Dimensions":[{{"value":"production","name":"Namespace"}},{{"value":"vote","name":"PodName"}}],"MetricName":"{name}","Namespace":"ContainerInsights"}},"Period":300,"Stat":"Maximum"}},"ReturnData":false}}"#
            )
        };
        let message = format!(
            r#"{{"AlarmName":"ratio","NewStateValue":"ALARM","StateChangeTime":"2026-11-20T09:30:00.512+0000","Trigger":{{"Metrics":[{{"Expression":"100*m1/m2","Id":"e1","ReturnData":true}},{},{}]}}}}"#,
            metric("m1", "pod_number_of_container_restarts"),
            metric("m2", "pod_number_of_running_containers"),
        );
        let body =
            serde_json::json!({"Type": "Notification", "MessageId": "m", "Message": message});
        decode(body.to_string().as_bytes()).remove(0).unwrap()
    }

    #[test]
    fn a_metric_math_alarm_is_read_as_the_decoder_reads_its_message() {
        let message = ratio_message();
        assert!(!message.labels.contains_key(METRIC_NAME));
        assert_eq!(judge(&ratio_alarm("vote"), &message), AlarmState::Confirmed);
        match judge(&ratio_alarm("result"), &message) {
            AlarmState::Differs { alarm, message } => {
                assert!(alarm.contains("PodName=result"), "{alarm}");
                assert!(message.contains("PodName=vote"), "{message}");
            }
            other => panic!("expected Differs, got {other:?}"),
        }
    }
}
