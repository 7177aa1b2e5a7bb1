//! Inline alerts of a test file (`alert:` instead of `event:`), written out as the payload
//! their source sends: an Alertmanager webhook, a Grafana webhook, or the CloudWatch alarm
//! notification in the Lambda SNS event that delivers it. The test then runs those bytes
//! through the pipeline like any event file, so the alert it tests is exactly what the
//! decoder makes of such an alert (fingerprint, labels, annotations, instance key), and
//! nothing of the decoders is repeated here. What no sender could send is refused before
//! that, naming the field.

use chrono::DateTime;
use reflex_core::alert::{AlertStatus, Labels, Source};
use reflex_core::decode;
use serde::Deserialize;
use serde_json::{Value, json};

/// An alert written out in a test file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InlineAlert {
    /// `alertmanager`, `grafana` or `cloudwatch`.
    source: Source,
    /// The alert name (`alertname`), or the CloudWatch alarm name.
    name: String,
    /// `firing`, `resolved`, or (CloudWatch only) `insufficient_data`.
    status: AlertStatus,
    /// When the alert started (CloudWatch: the state-change time), RFC 3339.
    starts_at: String,
    /// Labels; for CloudWatch the alarm's dimensions plus `metric_name` and
    /// `metric_namespace`.
    #[serde(default)]
    labels: Labels,
    /// Annotations; a CloudWatch alarm carries only `description` and `reason`.
    #[serde(default)]
    annotations: Labels,
    /// Alertmanager and Grafana: the fingerprint; default: the hash of the labels, which is
    /// what the decoder gives an alert sent without one.
    fingerprint: Option<String>,
    /// CloudWatch: the alarm ARN. The alarm's fingerprint is its ARN (or, without one, its
    /// name) and the state-change time.
    arn: Option<String>,
}

impl InlineAlert {
    /// The payload the alert's source would send, checked to decode into exactly this one
    /// alert; `Err` says (naming the field) why no sender would send it.
    pub fn payload(&self) -> Result<Vec<u8>, String> {
        if self.name.trim().is_empty() {
            return Err("name: empty".into());
        }
        if let Err(e) = DateTime::parse_from_rfc3339(&self.starts_at) {
            return Err(format!(
                "starts_at: {:?} is not an RFC 3339 time ({e}); e.g. 2026-11-20T09:30:00Z",
                self.starts_at
            ));
        }
        let payload = match self.source {
            Source::Alertmanager | Source::Grafana => self.webhook()?,
            Source::Cloudwatch => self.alarm_notification()?,
        };
        let bytes = payload.to_string().into_bytes();
        // The decoder has the last word: what it refuses, no test can be about.
        let mut items = decode::decode(&bytes).into_iter();
        match (items.next(), items.next()) {
            (Some(Ok(_)), None) => Ok(bytes),
            (Some(Err(rejection)), _) => Err(rejection.reason),
            _ => Err("does not make a single alert".into()),
        }
    }

    /// An Alertmanager webhook (version 4) or a Grafana webhook (version 1) holding the
    /// alert alone.
    fn webhook(&self) -> Result<Value, String> {
        if self.arn.is_some() {
            return Err(format!(
                "arn: only a CloudWatch alarm has one, not an {} alert",
                self.source
            ));
        }
        let status = match self.status {
            AlertStatus::Firing => "firing",
            AlertStatus::Resolved => "resolved",
            AlertStatus::InsufficientData => {
                return Err(format!(
                    "status: insufficient_data is a CloudWatch alarm state; an {} alert is firing or resolved",
                    self.source
                ));
            }
        };
        let mut labels = self.labels.clone();
        match labels.get("alertname") {
            Some(alertname) if *alertname != self.name => {
                return Err(format!(
                    "labels.alertname: {alertname:?} differs from name {:?} (the name is the alertname; give it once)",
                    self.name
                ));
            }
            _ => {
                labels.insert("alertname".into(), self.name.clone());
            }
        }
        let mut alert = json!({
            "status": status,
            "labels": labels,
            "annotations": self.annotations,
            "startsAt": self.starts_at,
            "endsAt": "0001-01-01T00:00:00Z",
        });
        if let Some(fingerprint) = &self.fingerprint {
            alert["fingerprint"] = fingerprint.as_str().into();
        }
        let mut body = json!({
            "receiver": "reflex",
            "status": status,
            "alerts": [alert],
            "groupLabels": {},
            "commonLabels": {},
            "commonAnnotations": {},
            "externalURL": "",
            "version": "4",
        });
        if self.source == Source::Grafana {
            body["version"] = "1".into();
            body["orgId"] = 1.into();
        }
        Ok(body)
    }

    /// The classic CloudWatch alarm notification, in the Lambda SNS event that delivers it:
    /// the labels become the `Trigger`'s metric name, namespace and dimensions (no
    /// `Trigger` when there are none, as for a composite alarm), the annotations its
    /// description and state reason.
    fn alarm_notification(&self) -> Result<Value, String> {
        if self.fingerprint.is_some() {
            return Err(
                "fingerprint: a CloudWatch alarm's fingerprint is its ARN (or name) and state-change time; give arn instead"
                    .into(),
            );
        }
        if let Some(key) = self
            .annotations
            .keys()
            .find(|k| !matches!(k.as_str(), "description" | "reason"))
        {
            return Err(format!(
                "annotations.{key}: a CloudWatch alarm carries only description and reason"
            ));
        }
        let state = match self.status {
            AlertStatus::Firing => "ALARM",
            AlertStatus::Resolved => "OK",
            AlertStatus::InsufficientData => "INSUFFICIENT_DATA",
        };
        let mut message = json!({
            "AlarmName": self.name,
            "AlarmDescription": self.annotations.get("description"),
            "NewStateValue": state,
            "NewStateReason": self.annotations.get("reason"),
            "StateChangeTime": self.starts_at,
        });
        if let Some(arn) = &self.arn {
            message["AlarmArn"] = arn.as_str().into();
        }
        let dimensions: Vec<Value> = self
            .labels
            .iter()
            .filter(|(k, _)| !matches!(k.as_str(), "metric_name" | "metric_namespace"))
            .map(|(name, value)| json!({ "name": name, "value": value }))
            .collect();
        let metric = self.labels.get("metric_name");
        let namespace = self.labels.get("metric_namespace");
        if metric.is_some() || namespace.is_some() || !dimensions.is_empty() {
            message["Trigger"] = json!({
                "MetricName": metric,
                "Namespace": namespace,
                "Dimensions": dimensions,
            });
        }
        Ok(json!({ "Records": [{
            "EventSource": "aws:sns",
            "Sns": { "Type": "Notification", "MessageId": "policy-test", "Message": message.to_string() },
        }] }))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // a panic in a test is a failed test

    use super::*;
    use reflex_core::alert::{Alert, label_fingerprint};

    fn inline(yaml: &str) -> InlineAlert {
        serde_yaml_ng::from_str(yaml).unwrap()
    }

    fn decoded(yaml: &str) -> Alert {
        let bytes = inline(yaml).payload().unwrap();
        decode::decode(&bytes).into_iter().next().unwrap().unwrap()
    }

    #[test]
    fn an_alertmanager_alert_without_a_fingerprint_gets_the_label_hash() {
        let a = decoded(
            "{source: alertmanager, name: KubePodCrashLooping, status: firing, starts_at: '2026-11-20T09:30:00Z', labels: {namespace: production, pod: vote-1}}",
        );
        assert_eq!(a.source, Source::Alertmanager);
        assert_eq!(a.name, "KubePodCrashLooping");
        assert_eq!(a.labels["alertname"], "KubePodCrashLooping");
        assert_eq!(a.fingerprint, label_fingerprint(&a.labels));
        assert_eq!(
            a.instance_key(),
            format!(
                "alertmanager:{}:2026-11-20T09:30:00.000Z",
                label_fingerprint(&a.labels)
            )
        );
    }

    #[test]
    fn a_grafana_alert_keeps_its_source_and_fingerprint() {
        let a = decoded(
            "{source: grafana, name: VoteHighLatency, status: resolved, starts_at: '2026-11-20T09:30:00Z', fingerprint: c6}",
        );
        assert_eq!(a.source, Source::Grafana);
        assert_eq!(a.status, AlertStatus::Resolved);
        assert_eq!(a.fingerprint, "c6");
    }

    #[test]
    fn a_cloudwatch_alarm_gets_its_metric_labels_and_arn_fingerprint() {
        let a = decoded(
            "{source: cloudwatch, name: sick, status: insufficient_data, starts_at: '2026-11-20T09:30:00Z',
              arn: 'arn:aws:cloudwatch:us-east-1:111122223333:alarm:sick',
              labels: {metric_namespace: AWS/EC2, metric_name: StatusCheckFailed, InstanceId: i-0b7d3a9f1e6c24c58},
              annotations: {reason: 'Threshold Crossed'}}",
        );
        assert_eq!(a.source, Source::Cloudwatch);
        assert_eq!(a.status, AlertStatus::InsufficientData);
        assert_eq!(a.labels["metric_namespace"], "AWS/EC2");
        assert_eq!(a.labels["metric_name"], "StatusCheckFailed");
        assert_eq!(a.labels["InstanceId"], "i-0b7d3a9f1e6c24c58");
        assert_eq!(a.labels.len(), 3);
        assert_eq!(
            a.fingerprint,
            "arn:aws:cloudwatch:us-east-1:111122223333:alarm:sick@2026-11-20T09:30:00Z"
        );
        assert_eq!(a.annotations["reason"], "Threshold Crossed");
        assert_eq!(a.annotations["region"], "us-east-1");
    }

    #[test]
    fn alerts_no_sender_would_send_are_refused_naming_the_field() {
        let refused = |yaml: &str| inline(yaml).payload().unwrap_err();
        assert!(
            refused("{source: alertmanager, name: A, status: firing, starts_at: yesterday}")
                .starts_with("starts_at:")
        );
        assert!(refused("{source: alertmanager, name: '', status: firing, starts_at: '2026-11-20T09:30:00Z'}").starts_with("name:"));
        assert!(refused("{source: alertmanager, name: A, status: insufficient_data, starts_at: '2026-11-20T09:30:00Z'}").starts_with("status:"));
        assert!(refused("{source: alertmanager, name: A, status: firing, starts_at: '2026-11-20T09:30:00Z', labels: {alertname: B}}").starts_with("labels.alertname:"));
        assert!(refused("{source: alertmanager, name: A, status: firing, starts_at: '2026-11-20T09:30:00Z', arn: x}").starts_with("arn:"));
        assert!(refused("{source: cloudwatch, name: A, status: firing, starts_at: '2026-11-20T09:30:00Z', fingerprint: x}").starts_with("fingerprint:"));
        assert!(refused("{source: cloudwatch, name: A, status: firing, starts_at: '2026-11-20T09:30:00Z', annotations: {summary: x}}").starts_with("annotations.summary:"));
    }
}
