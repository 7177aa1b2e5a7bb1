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
//! What "watches what the message says" means: the alarm's dimensions (of its metric, or
//! of every metric of a metric-math alarm, the first metric naming a dimension winning, as
//! the decoder reads them) equal the message's, and so do the metric name and namespace
//! where both sides name them. A composite alarm watches no metric; existing and being in
//! ALARM is all it can confirm.

use std::collections::BTreeMap;

use aws_sdk_cloudwatch::Client;
use aws_sdk_cloudwatch::types::{AlarmType, Dimension, MetricAlarm, StateValue};
use reflex_core::ledger::{AlarmCheck, AlarmState, LedgerError};
use reflex_core::{Alert, Source};

use crate::config::Aws;
use crate::error::classify;

/// The labels the decoder adds beside an alarm's dimensions.
const METRIC_NAME: &str = "metric_name";
const METRIC_NAMESPACE: &str = "metric_namespace";

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

/// What a metric alarm watches, in the decoder's label names: its own metric, or the
/// metrics of its metric-math queries (the first naming a dimension or name wins).
fn watches(alarm: &MetricAlarm) -> BTreeMap<String, String> {
    let mut labels = BTreeMap::new();
    let mut add = |name: Option<&str>, namespace: Option<&str>, dims: &[Dimension]| {
        for d in dims {
            if let (Some(k), Some(v)) = (d.name(), d.value()) {
                labels.entry(k.to_owned()).or_insert_with(|| v.to_owned());
            }
        }
        for (key, value) in [(METRIC_NAME, name), (METRIC_NAMESPACE, namespace)] {
            if let Some(v) = value.filter(|v| !v.is_empty()) {
                labels.entry(key.to_owned()).or_insert_with(|| v.to_owned());
            }
        }
    };
    add(alarm.metric_name(), alarm.namespace(), alarm.dimensions());
    for query in alarm.metrics() {
        if let Some(metric) = query.metric_stat().and_then(|s| s.metric()) {
            add(
                metric.metric_name(),
                metric.namespace(),
                metric.dimensions(),
            );
        }
    }
    labels
}
