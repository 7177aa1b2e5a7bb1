//! Cutting an alert group into SNS-sized messages.
//!
//! Each message is itself a valid Alertmanager webhook body: the group's envelope fields
//! (`version`, `groupKey`, `status`, `receiver`, the common labels, ...) written out
//! unchanged, and a run of consecutive alerts. Alerts and envelope values are copied as the
//! raw JSON text they arrived as, so nothing is re-encoded, and message sizes are exact
//! byte counts of what is published: concatenating the messages' `alerts` gives back the
//! original array, in order, each alert exactly once.

use std::collections::BTreeMap;

use serde_json::value::RawValue;

/// SNS's limit on one published message, message attributes included (256 KiB).
pub const SNS_MESSAGE_LIMIT: usize = 256 * 1024;

/// An alert group, parsed just enough to cut it.
#[derive(Debug)]
pub struct Group<'a> {
    /// `"key":value` for every top-level field but `alerts`, joined with commas.
    envelope: String,
    /// Each alert's raw JSON text.
    alerts: Vec<&'a RawValue>,
}

/// One alert is larger than a message may be.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("alerts[{index}] alone makes a {size}-byte message, above the {limit}-byte SNS limit")]
pub struct TooLarge {
    /// Position of the alert in the group.
    pub index: usize,
    /// Size of the smallest message that would carry it.
    pub size: usize,
    /// The budget it exceeds.
    pub limit: usize,
}

impl<'a> Group<'a> {
    /// Reads a webhook body's top level and its `alerts` array.
    pub fn parse(body: &'a str) -> Result<Group<'a>, String> {
        let top: BTreeMap<String, &'a RawValue> =
            serde_json::from_str(body).map_err(|e| format!("not a JSON object: {e}"))?;
        let mut envelope = String::new();
        let mut alerts = None;
        for (key, value) in top {
            if key == "alerts" {
                alerts = Some(
                    serde_json::from_str::<Vec<&'a RawValue>>(value.get())
                        .map_err(|e| format!("alerts: not an array: {e}"))?,
                );
                continue;
            }
            // A string key always serializes.
            let key = serde_json::to_string(&key).map_err(|e| e.to_string())?;
            envelope.push_str(&key);
            envelope.push(':');
            envelope.push_str(value.get());
            envelope.push(',');
        }
        let alerts = alerts.ok_or("alerts: missing")?;
        Ok(Group { envelope, alerts })
    }

    /// The number of alerts in the group.
    pub fn len(&self) -> usize {
        self.alerts.len()
    }

    /// Whether the group holds no alert.
    pub fn is_empty(&self) -> bool {
        self.alerts.is_empty()
    }

    /// Size of a message carrying no alert: `{` envelope `"alerts":[` `]}`.
    fn overhead(&self) -> usize {
        1 + self.envelope.len() + r#""alerts":["#.len() + 2
    }

    /// Cuts the group into messages of at most `limit` bytes each, packing consecutive
    /// alerts greedily.
    pub fn split(&self, limit: usize) -> Result<Vec<Message>, TooLarge> {
        let overhead = self.overhead();
        let mut runs: Vec<(usize, usize, usize)> = Vec::new(); // (first, end, size)
        let mut first = 0;
        let mut size = overhead;
        for (index, alert) in self.alerts.iter().enumerate() {
            let alone = overhead + alert.get().len();
            if alone > limit {
                return Err(TooLarge {
                    index,
                    size: alone,
                    limit,
                });
            }
            let comma = usize::from(index > first);
            if size + comma + alert.get().len() > limit {
                runs.push((first, index, size));
                first = index;
                size = alone;
            } else {
                size += comma + alert.get().len();
            }
        }
        if first < self.alerts.len() || self.alerts.is_empty() {
            runs.push((first, self.alerts.len(), size));
        }
        let parts = runs.len();
        Ok(runs
            .into_iter()
            .enumerate()
            .map(|(i, (first, end, size))| {
                let mut body = String::with_capacity(size);
                body.push('{');
                body.push_str(&self.envelope);
                body.push_str(r#""alerts":["#);
                for (j, alert) in self.alerts[first..end].iter().enumerate() {
                    if j > 0 {
                        body.push(',');
                    }
                    body.push_str(alert.get());
                }
                body.push_str("]}");
                debug_assert_eq!(body.len(), size);
                Message {
                    body,
                    part: i + 1,
                    parts,
                    alerts: end - first,
                }
            })
            .collect())
    }
}

/// One message to publish.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// A webhook body holding a run of the group's alerts.
    pub body: String,
    /// 1-based position among the group's messages.
    pub part: usize,
    /// How many messages the group was cut into.
    pub parts: usize,
    /// Alerts in this message.
    pub alerts: usize,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn group_body(alerts: usize, padding: usize) -> String {
        let alerts: Vec<String> = (0..alerts)
            .map(|i| {
                format!(
                    r#"{{"status":"firing","labels":{{"alertname":"KubePodNotReady","namespace":"production","pod":"vote-{i}"}},"annotations":{{"description":"{}"}},"startsAt":"2026-11-20T09:30:00Z","fingerprint":"{i:016x}"}}"#,
                    "x".repeat(padding)
                )
            })
            .collect();
        format!(
            r#"{{"receiver":"reflex","status":"firing","alerts":[{}],"groupLabels":{{"alertname":"KubePodNotReady"}},"commonLabels":{{}},"commonAnnotations":{{}},"externalURL":"http://am","version":"4","groupKey":"{{}}:{{alertname=\"KubePodNotReady\"}}","truncatedAlerts":0}}"#,
            alerts.join(",")
        )
    }

    #[test]
    fn a_small_group_is_one_message_equal_to_the_body_as_json() {
        let body = group_body(3, 10);
        let messages = Group::parse(&body)
            .unwrap()
            .split(SNS_MESSAGE_LIMIT)
            .unwrap();
        assert_eq!(messages.len(), 1);
        assert_eq!(
            (messages[0].part, messages[0].parts, messages[0].alerts),
            (1, 1, 3)
        );
        let original: Value = serde_json::from_str(&body).unwrap();
        let message: Value = serde_json::from_str(&messages[0].body).unwrap();
        assert_eq!(original, message);
    }

    #[test]
    fn each_message_is_filled_greedily_and_stays_under_the_limit() {
        let body = group_body(40, 100);
        let group = Group::parse(&body).unwrap();
        let limit = group.overhead() + 700;
        let messages = group.split(limit).unwrap();
        assert!(messages.len() > 1, "{}", messages.len());
        let mut next = 0;
        for message in &messages {
            assert!(message.body.len() <= limit);
            next += message.alerts;
            // The next alert would not have fitted: the cut is where it must be.
            if let Some(alert) = group.alerts.get(next) {
                assert!(message.body.len() + 1 + alert.get().len() > limit);
            }
        }
        assert_eq!(next, 40);
    }

    #[test]
    fn an_alert_too_large_for_any_message_names_its_index() {
        let body = group_body(2, 300_000);
        let err = Group::parse(&body)
            .unwrap()
            .split(SNS_MESSAGE_LIMIT)
            .unwrap_err();
        assert_eq!(err.index, 0);
        assert!(err.size > SNS_MESSAGE_LIMIT);
    }
}
