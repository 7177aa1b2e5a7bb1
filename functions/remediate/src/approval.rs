//! Approvals in the function (ARCHITECTURE section 11): approval messages arriving on the
//! alerts topic, and the signed link put in an `awaiting_approval` notification.
//!
//! The approval page publishes `{"reflex_approval": {...}}` to the alerts topic;
//! [`messages`] tells such an SNS event from an alert event, and the handler performs each
//! approval through [`reflex_core::pipeline::Pipeline::approve_link`], the same path as
//! `reflex approve`. [`Linking`] adds the signed link to the notification of an
//! `awaiting_approval` record when the policy says `approval.links: true` and a signer is
//! configured; the link is put in the notification only, never in the stored record.

use std::future::Future;

use reflex_core::approval::{ApprovalLinks, ApprovalMessage, LinkApproval};
use reflex_core::audit::AuditRecord;
use reflex_core::ledger::{LedgerError, Notifier};
use reflex_core::vocab::op::Op;
use serde::Deserialize;
use serde::de::IgnoredAny;

/// One approval message of an SNS event: the topic it came by, and the approval (or why
/// its body is not one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivered {
    /// `Records[].Sns.TopicArn`.
    pub topic_arn: Option<String>,
    /// The approval, or why the message is not a usable one.
    pub approval: Result<LinkApproval, String>,
}

#[derive(Deserialize)]
struct Event {
    #[serde(rename = "Records")]
    records: Vec<Record>,
}

#[derive(Deserialize)]
struct Record {
    #[serde(rename = "Sns")]
    sns: Sns,
}

#[derive(Deserialize)]
struct Sns {
    #[serde(rename = "Message")]
    message: String,
    #[serde(rename = "TopicArn", default)]
    topic_arn: Option<String>,
}

/// Whether a message body is an object with a `reflex_approval` key (whatever its value);
/// the rest is skipped.
#[derive(Deserialize)]
struct Probe {
    #[serde(default, deserialize_with = "present")]
    reflex_approval: bool,
}

/// `true` for any value, read without being built.
fn present<'de, D: serde::Deserializer<'de>>(value: D) -> Result<bool, D::Error> {
    IgnoredAny::deserialize(value).map(|_| true)
}

/// The approval messages of `payload` when it is a Lambda SNS event whose every message is
/// an approval (`{"reflex_approval": ...}`); `None` for anything else, which is left to the
/// pipeline's decoder.
pub fn messages(payload: &[u8]) -> Option<Vec<Delivered>> {
    let event: Event = serde_json::from_slice(payload).ok()?;
    // Every alert delivery passes here: the probe scans each message once without building
    // it (a 1,000-alert webhook is not turned into a JSON tree only to be dropped).
    let is_approval =
        |sns: &Sns| serde_json::from_str::<Probe>(&sns.message).is_ok_and(|p| p.reflex_approval);
    if event.records.is_empty() || !event.records.iter().all(|r| is_approval(&r.sns)) {
        return None;
    }
    Some(
        event
            .records
            .into_iter()
            .map(|r| Delivered {
                approval: serde_json::from_str::<ApprovalMessage>(&r.sns.message)
                    .map(|m| m.reflex_approval)
                    .map_err(|e| format!("the approval message is not one reflex can use: {e}")),
                topic_arn: r.sns.topic_arn,
            })
            .collect(),
    )
}

/// A notifier that puts the signed approval link in the notification of an
/// `awaiting_approval` record, when links are on and a signer is configured.
#[derive(Debug)]
pub struct Linking<'a, N> {
    inner: &'a N,
    links: Option<&'a dyn ApprovalLinks>,
}

impl<'a, N> Linking<'a, N> {
    /// Notifications through `inner`, with links signed by `links` when `on`.
    pub fn new(inner: &'a N, links: Option<&'a dyn ApprovalLinks>, on: bool) -> Self {
        Linking {
            inner,
            links: links.filter(|_| on),
        }
    }
}

impl<N: Notifier> Notifier for Linking<'_, N> {
    async fn notify(&self, record: &AuditRecord) -> Result<(), LedgerError> {
        match (self.links, &record.approval) {
            (Some(links), Some(pending)) => {
                let mut told = record.clone();
                let link = links.link(&record.id, pending.expires);
                if let Some(pending) = told.approval.as_mut() {
                    pending.link = Some(link);
                }
                self.inner.notify(&told).await
            }
            _ => self.inner.notify(record).await,
        }
    }

    fn before_action(&self, record: &AuditRecord, ops: &[Op]) -> impl Future<Output = ()> + Send {
        self.inner.before_action(record, ops)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sns(message: &str) -> Vec<u8> {
        serde_json::json!({ "Records": [{ "EventSource": "aws:sns", "Sns": {
            "TopicArn": "arn:aws:sns:us-east-1:123456789012:reflex-alerts",
            "Message": message,
        }}]})
        .to_string()
        .into_bytes()
    }

    #[test]
    fn an_sns_event_of_approval_messages_is_told_from_an_alert_event() {
        let body = r#"{"reflex_approval":{"approves":"r-1","approver":"approval link from 203.0.113.7","expires":"2026-11-20T10:00:00Z","sig":"00ff"}}"#;
        let found = messages(&sns(body)).expect("an approval");
        assert_eq!(found.len(), 1);
        assert_eq!(
            found[0].topic_arn.as_deref(),
            Some("arn:aws:sns:us-east-1:123456789012:reflex-alerts")
        );
        assert_eq!(found[0].approval.as_ref().unwrap().approves, "r-1");
        assert_eq!(messages(&sns(r#"{"receiver":"reflex","alerts":[]}"#)), None);
        assert_eq!(messages(b"not json"), None);
        let odd = messages(&sns(r#"{"reflex_approval":{"approves":"r-1"}}"#)).unwrap();
        assert!(
            odd[0]
                .approval
                .as_ref()
                .unwrap_err()
                .contains("not one reflex can use"),
            "{odd:?}"
        );
    }
}
