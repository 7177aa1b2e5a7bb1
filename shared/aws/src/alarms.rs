//! The CloudWatch alarm re-check: before acting on a CloudWatch alarm, ask CloudWatch
//! whether it is still in ALARM.
//!
//! SNS may deliver an alarm notification late or twice, and Lambda retries an event for up
//! to an hour; by then the alarm may be OK again. One DescribeAlarms by name (metric and
//! composite alarms both) answers it: `Some(true)` in ALARM, `Some(false)` in any other
//! state (the pipeline records `ignored`), `None` when the alarm is not found (deleted, or
//! in another account or region), which lets the pipeline go on with what the event said.

use aws_sdk_cloudwatch::Client;
use aws_sdk_cloudwatch::types::{AlarmType, StateValue};
use reflex_core::ledger::{AlarmCheck, LedgerError};
use reflex_core::{Alert, Source};

use crate::config::Aws;
use crate::error::classify;

/// Re-checks CloudWatch alarms with DescribeAlarms.
#[derive(Debug, Clone)]
pub struct CloudWatchAlarms {
    client: Client,
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

    /// The current state of alarm `name`, if it exists.
    pub async fn state(&self, name: &str) -> Result<Option<StateValue>, LedgerError> {
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
            .filter(|a| a.alarm_name() == Some(name))
            .map(|a| a.state_value().cloned());
        let composite = out
            .composite_alarms()
            .iter()
            .filter(|a| a.alarm_name() == Some(name))
            .map(|a| a.state_value().cloned());
        Ok(metric.chain(composite).next().flatten())
    }
}

impl AlarmCheck for CloudWatchAlarms {
    async fn still_firing(&self, alert: &Alert) -> Result<Option<bool>, LedgerError> {
        if alert.source != Source::Cloudwatch {
            return Ok(None);
        }
        Ok(self
            .state(&alert.name)
            .await?
            .map(|state| state == StateValue::Alarm))
    }
}
