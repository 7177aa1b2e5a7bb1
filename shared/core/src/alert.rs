//! The normalized alert: what every input shape decodes into (ARCHITECTURE section 3).
//!
//! Classification and guarding only ever see this type, never a vendor payload, so a rule
//! written for an Alertmanager alert and one written for a CloudWatch alarm read alike.

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Labels and annotations: sorted, so that records and fingerprints are stable.
pub type Labels = BTreeMap<String, String>;

/// Which monitoring system raised the alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// A CloudWatch alarm (metric, metric-math, anomaly-band or composite).
    Cloudwatch,
    /// A Prometheus Alertmanager webhook alert.
    Alertmanager,
    /// A Grafana unified-alerting webhook alert.
    Grafana,
}

impl Source {
    /// The name used in policies and audit records.
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Cloudwatch => "cloudwatch",
            Source::Alertmanager => "alertmanager",
            Source::Grafana => "grafana",
        }
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where the alert stands. CloudWatch `ALARM` is firing, `OK` is resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertStatus {
    /// The condition holds: the only status reflex acts on.
    Firing,
    /// The condition cleared.
    Resolved,
    /// CloudWatch `INSUFFICIENT_DATA`: nothing is known, so nothing is done.
    InsufficientData,
}

impl AlertStatus {
    /// The name used in audit records.
    pub fn as_str(self) -> &'static str {
        match self {
            AlertStatus::Firing => "firing",
            AlertStatus::Resolved => "resolved",
            AlertStatus::InsufficientData => "insufficient_data",
        }
    }
}

impl fmt::Display for AlertStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The input shape a payload arrived in (ARCHITECTURE section 2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Shape {
    /// Lambda SNS event (`Records[].Sns`).
    SnsLambda,
    /// SNS HTTP(S) subscriber body (the `Sns` fields without `Records`).
    SnsHttp,
    /// CloudWatch alarm action invoking Lambda directly (`source: aws.cloudwatch`, `alarmData`).
    AlarmAction,
    /// EventBridge `CloudWatch Alarm State Change` event.
    EventBridge,
    /// Alertmanager webhook body, version "4".
    AlertmanagerWebhook,
    /// Grafana unified-alerting webhook body, version "1".
    GrafanaWebhook,
}

impl Shape {
    /// A name for people: used in rejection reasons ("looked like an EventBridge event").
    pub fn describe(self) -> &'static str {
        match self {
            Shape::SnsLambda => "a Lambda SNS event",
            Shape::SnsHttp => "an SNS HTTP subscriber body",
            Shape::AlarmAction => "a CloudWatch alarm action event",
            Shape::EventBridge => "an EventBridge CloudWatch Alarm State Change event",
            Shape::AlertmanagerWebhook => "an Alertmanager webhook",
            Shape::GrafanaWebhook => "a Grafana webhook",
        }
    }
}

/// How the alert was delivered: what exactly-once and the audit trail need to know.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delivery {
    /// Outer shape of the payload (for an SNS message: the envelope, not the inner message).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shape: Option<Shape>,
    /// SNS `MessageId`, when the alert came through SNS.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sns_message_id: Option<String>,
    /// SNS topic ARN, when the alert came through SNS.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub topic_arn: Option<String>,
    /// When the payload was sent, as its sender says: the SNS `Timestamp`, or an EventBridge
    /// or alarm-action event's `time`. A delivery evaluated too long after this is stale.
    #[serde(
        skip_serializing_if = "Option::is_none",
        default,
        with = "crate::time_format::option"
    )]
    pub sent_at: Option<DateTime<Utc>>,
    /// Position of the alert within its payload (0-based): an Alertmanager group holds many.
    pub index: usize,
}

/// CloudWatch holds the alarm's own actions back: a composite alarm with an actions
/// suppressor, in the state change the payload reports (`state.actionsSuppressedBy` of an
/// EventBridge event or alarm action; `ActionsSuppressedBy` in an alarm notification).
/// reflex never acts on such a state change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionsSuppressed {
    /// What holds them back: `Alarm` (the suppressor alarm is in ALARM), `WaitPeriod`
    /// (waiting for the suppressor to go into ALARM) or `ExtensionPeriod` (waiting after it
    /// left ALARM), as CloudWatch spells it.
    pub by: String,
    /// `actionsSuppressedReason`, when given.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub reason: Option<String>,
    /// The suppressor alarm (`actionsSuppressor`), when the payload names it.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub suppressor: Option<String>,
}

/// One alert, normalized.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Alert {
    /// Which system raised it.
    pub source: Source,
    /// `alertname` label, or the CloudWatch `AlarmName`.
    pub name: String,
    /// Firing, resolved, or (CloudWatch only) insufficient data.
    pub status: AlertStatus,
    /// Identifies the alert *instance*: Alertmanager's fingerprint (or the same FNV-1a hash
    /// of the labels when a payload omits it); for CloudWatch the alarm ARN (or name) plus
    /// the state-change time.
    pub fingerprint: String,
    /// When the alert started (CloudWatch: the state-change time); `None` when the sender
    /// does not say (Go's zero time `0001-01-01T00:00:00Z`, which senders write for "unset").
    pub starts_at: Option<DateTime<Utc>>,
    /// Alert labels; CloudWatch dimensions under their own names plus `metric_name` and
    /// `metric_namespace`.
    pub labels: Labels,
    /// Alert annotations; for CloudWatch `description`, `reason`, `alarm_rule`,
    /// `alarm_arn`, `region` and `account` when the payload gives them.
    pub annotations: Labels,
    /// How it was delivered.
    pub delivery: Delivery,
    /// CloudWatch says the alarm's actions are suppressed in this state change.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub actions_suppressed: Option<ActionsSuppressed>,
    /// What the decoder had to make up for or leave out (a name taken from the group, a
    /// start time not given), carried into the audit record's `notes`.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub notes: Vec<String>,
}

impl Alert {
    /// The key that makes a redelivered or repeated notification of the same alert instance
    /// recognisable. Alertmanager and Grafana: source, fingerprint and start time (`unknown`
    /// when the alert does not say). CloudWatch: the account, the alarm name and the
    /// state-change time, which every shape of one state change carries (an SNS
    /// notification, an alarm action, an EventBridge event; the alarm ARN only some of
    /// them, and the region only as a display name in old notifications), so one state
    /// change delivered several ways is acted on once.
    pub fn instance_key(&self) -> String {
        let start = self
            .starts_at
            .map_or_else(|| "unknown".to_owned(), crate::time_format::rfc3339);
        match self.source {
            Source::Cloudwatch => format!(
                "cloudwatch:{}:{}@{start}",
                self.annotations.get("account").map_or("", String::as_str),
                self.name
            ),
            _ => format!("{}:{}:{start}", self.source, self.fingerprint),
        }
    }

    /// When this delivery of the alert was sent: the envelope's or event's send time, else
    /// (a CloudWatch alarm) the alarm's state-change time. `None` for a bare webhook, which
    /// says when the alert started but not when it was sent.
    pub fn sent_at(&self) -> Option<DateTime<Utc>> {
        self.delivery
            .sent_at
            .or(if self.source == Source::Cloudwatch {
                self.starts_at
            } else {
                None
            })
    }

    /// A label's value, if present and non-empty.
    pub fn label(&self, name: &str) -> Option<&str> {
        self.labels
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }
}

/// FNV-1a, 64 bits: the hash Alertmanager fingerprints label sets with. Stable across
/// releases and platforms, which `std`'s hasher does not promise.
#[derive(Debug, Clone, Copy)]
pub struct Fnv64(u64);

impl Default for Fnv64 {
    fn default() -> Self {
        Fnv64(0xcbf2_9ce4_8422_2325)
    }
}

impl Fnv64 {
    /// Feeds bytes.
    pub fn write(&mut self, bytes: &[u8]) -> &mut Self {
        for &b in bytes {
            self.0 ^= u64::from(b);
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
        }
        self
    }

    /// The hash as 16 lowercase hex digits.
    pub fn hex(&self) -> String {
        format!("{:016x}", self.0)
    }
}

/// Alertmanager's label-set fingerprint: FNV-1a 64 over the labels sorted by name, each name
/// and value followed by the byte 0xff. Used when a payload carries no fingerprint, so that
/// the same alert from an old Alertmanager still has one stable identity.
pub fn label_fingerprint(labels: &Labels) -> String {
    let mut hash = Fnv64::default();
    for (name, value) in labels {
        hash.write(name.as_bytes())
            .write(&[0xff])
            .write(value.as_bytes())
            .write(&[0xff]);
    }
    hash.hex()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_label_set_hashes_to_the_fnv_offset() {
        assert_eq!(label_fingerprint(&Labels::new()), "cbf29ce484222325");
    }

    #[test]
    fn fingerprint_depends_on_every_label_and_not_on_insertion_order() {
        let a: Labels = [("b", "2"), ("a", "1")]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        let b: Labels = [("a", "1"), ("b", "2")]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        let mut c = b.clone();
        c.insert("a".into(), "3".into());
        assert_eq!(label_fingerprint(&a), label_fingerprint(&b));
        assert_ne!(label_fingerprint(&b), label_fingerprint(&c));
    }
}
