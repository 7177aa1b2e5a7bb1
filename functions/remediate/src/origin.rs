//! Which deliveries remediate acts on: only what came the way the stack sends it.
//!
//! The function can be invoked by anyone allowed `lambda:InvokeFunction`, with any bytes:
//! a hand-made SNS envelope, a raw Alertmanager body, an alarm event of another account.
//! So each decoded alert is admitted only when it arrived
//!
//! - in a Lambda SNS event from the configured alerts topic (`Records[].Sns.TopicArn`),
//! - as a CloudWatch alarm action (Lambda invoked by an alarm) whose alarm ARN is of this
//!   account, or
//! - as an EventBridge "CloudWatch Alarm State Change" event whose alarm ARN (`resources`)
//!   is of this account (the stack's rule matches the default bus of the account, which
//!   carries only the account's own alarm events);
//!
//! and, for a CloudWatch alarm, when its name starts with the configured alarm-name prefix
//! (the same prefix the topic policy and the invoke permission are scoped to). Anything
//! else gets a `rejected` record naming what was seen, and the event goes to the
//! dead-letter queue like any rejected input. The account is the alerts topic's.

use reflex_core::alert::{Alert, Shape, Source};
use reflex_core::pipeline::Admission;

/// Why the alerts topic setting was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not an SNS topic ARN (arn:PARTITION:sns:REGION:ACCOUNT:NAME)")]
pub struct NotATopicArn(pub String);

/// The deliveries the deployed function acts on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origins {
    alerts_topic_arn: String,
    account: String,
    alarm_name_prefix: String,
}

impl Origins {
    /// Events from `alerts_topic_arn`, and alarm events of its account whose alarm names
    /// start with `alarm_name_prefix` (empty: every alarm of the account).
    pub fn new(alerts_topic_arn: &str, alarm_name_prefix: &str) -> Result<Self, NotATopicArn> {
        let refused = || NotATopicArn(alerts_topic_arn.to_owned());
        let parts: Vec<&str> = alerts_topic_arn.split(':').collect();
        let [arn, _partition, service, region, account, name] = parts.as_slice() else {
            return Err(refused());
        };
        let account_ok = account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit());
        if *arn != "arn" || *service != "sns" || region.is_empty() || name.is_empty() || !account_ok
        {
            return Err(refused());
        }
        Ok(Origins {
            alerts_topic_arn: alerts_topic_arn.to_owned(),
            account: (*account).to_owned(),
            alarm_name_prefix: alarm_name_prefix.to_owned(),
        })
    }

    /// The account whose alarms are admitted.
    pub fn account(&self) -> &str {
        &self.account
    }

    /// The alarm's account, from the alarm ARN the event carried.
    fn alarm_account(alert: &Alert, seen: &str) -> Result<String, String> {
        let arn = alert.annotations.get("alarm_arn").ok_or_else(|| {
            format!("{seen} carries no alarm ARN, so its account cannot be told; not acted on")
        })?;
        match arn.split(':').nth(4) {
            Some(account) if !account.is_empty() => Ok(account.to_owned()),
            _ => Err(format!(
                "{seen} carries the alarm ARN {arn:?}, which names no account; not acted on"
            )),
        }
    }

    fn admit_alarm_event(&self, alert: &Alert, seen: &str) -> Result<(), String> {
        let account = Self::alarm_account(alert, seen)?;
        if account != self.account {
            return Err(format!(
                "{seen} for an alarm of account {account}, not of this account ({}); remediate acts only on its own account's alarms",
                self.account
            ));
        }
        Ok(())
    }
}

impl Admission for Origins {
    fn admit_topic(&self, topic_arn: Option<&str>) -> Result<(), String> {
        match topic_arn {
            Some(topic) if topic == self.alerts_topic_arn => Ok(()),
            Some(topic) => Err(format!(
                "delivered by SNS topic {topic}, not by the alerts topic {}; remediate acts only on its alerts topic, and on CloudWatch alarm actions and EventBridge alarm events of its account",
                self.alerts_topic_arn
            )),
            None => Err(format!(
                "a Lambda SNS event without a TopicArn, not from the alerts topic {}; not acted on",
                self.alerts_topic_arn
            )),
        }
    }

    fn admit(&self, alert: &Alert) -> Result<(), String> {
        let delivery = &alert.delivery;
        match delivery.shape {
            Some(Shape::SnsLambda) => self.admit_topic(delivery.topic_arn.as_deref())?,
            Some(shape @ (Shape::AlarmAction | Shape::EventBridge)) => {
                self.admit_alarm_event(alert, shape.describe())?;
            }
            Some(shape @ (Shape::SnsHttp | Shape::AlertmanagerWebhook | Shape::GrafanaWebhook)) => {
                return Err(format!(
                    "{} invoked directly, not delivered by the alerts topic {}; remediate acts only on its alerts topic, and on CloudWatch alarm actions and EventBridge alarm events of its account",
                    shape.describe(),
                    self.alerts_topic_arn
                ));
            }
            None => {
                return Err("a payload of no known delivery shape; not acted on".to_owned());
            }
        }
        if alert.source == Source::Cloudwatch {
            // An alarm through the topic carries its ARN too (since 2019); when it does,
            // it must be of this account as well.
            if alert.annotations.contains_key("alarm_arn") {
                self.admit_alarm_event(alert, "a CloudWatch alarm notification")?;
            }
            if !alert.name.starts_with(&self.alarm_name_prefix) {
                return Err(format!(
                    "alarm {:?} does not start with the configured alarm-name prefix {:?}; not acted on",
                    alert.name, self.alarm_name_prefix
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_alerts_topic_setting_must_be_an_sns_topic_arn() {
        let origins = Origins::new("arn:aws:sns:us-east-1:111122223333:reflex-alerts", "").unwrap();
        assert_eq!(origins.account(), "111122223333");
        for bad in [
            "",
            "reflex-alerts",
            "arn:aws:sqs:us-east-1:111122223333:reflex-alerts",
            "arn:aws:sns:us-east-1:1111:reflex-alerts",
            "arn:aws:sns:us-east-1:111122223333:",
        ] {
            assert_eq!(
                Origins::new(bad, ""),
                Err(NotATopicArn(bad.to_owned())),
                "{bad}"
            );
        }
    }
}
