//! SNS: the Lambda event (`Records[].Sns`) and the HTTP(S) subscriber body (the same fields
//! without the wrapper).
//!
//! The envelope only carries the message: its `Message` string is decoded again as a
//! document of its own (a CloudWatch alarm notification, an Alertmanager or Grafana webhook,
//! or an EventBridge event that a rule sent to SNS), with `MessageId` and `TopicArn` copied
//! into every item's delivery, and `Timestamp` as its send time. Records are decoded one by one, so a bad record rejects that
//! record only. Which spelling the signing fields use (`SigningCertUrl` in Lambda events,
//! `SigningCertURL` in HTTP bodies) does not matter: they are never read.

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::value::RawValue;

use super::ctx::{Ctx, Decoded};
use super::detect::Top;
use super::json::{self, Str, excerpt};
use super::time::optional_time;

/// Decodes the document an SNS message holds (the decoder of the whole payload, which this
/// file does not name so that it need not know the other shapes).
pub(super) type Inner<'f> = &'f dyn Fn(&[u8], &Ctx, &mut Vec<Decoded>);

/// The SNS notification fields the decoder needs.
#[derive(Debug, Deserialize)]
#[serde(bound(deserialize = "'de: 'a"))]
#[serde(rename_all = "PascalCase")]
pub(super) struct Envelope<'a> {
    #[serde(rename = "Type")]
    kind: Option<Str<'a>>,
    message_id: Option<Str<'a>>,
    topic_arn: Option<Str<'a>>,
    /// When SNS accepted the message (RFC 3339).
    timestamp: Option<Str<'a>>,
    /// A JSON string holding the message; read raw so that it is unescaped only once.
    message: Option<&'a RawValue>,
}

/// One record of a Lambda event.
#[derive(Debug, Deserialize)]
#[serde(bound(deserialize = "'de: 'a"))]
struct Record<'a> {
    #[serde(rename = "EventSource")]
    event_source: Option<Str<'a>>,
    #[serde(rename = "Sns")]
    sns: Option<Envelope<'a>>,
}

/// The Lambda event, read only to explain a payload whose first pass failed.
#[derive(Debug, Deserialize)]
#[serde(bound(deserialize = "'de: 'a"))]
#[allow(dead_code)] // read by serde to locate the failing field, never used after
pub(super) struct LambdaDoc<'a> {
    #[serde(rename = "Records")]
    records: Vec<Record<'a>>,
}

/// Decodes every record of a Lambda SNS event into `out`.
pub(super) fn lambda_event(top: &Top<'_>, ctx: &Ctx, inner: Inner<'_>, out: &mut Vec<Decoded>) {
    let Some(raw) = top.records else {
        out.push(ctx.reject("Records: missing"));
        return;
    };
    let records = match serde_json::from_str::<Vec<&RawValue>>(raw.get()) {
        Ok(records) => records,
        Err(e) => {
            let reason = json::explain::<Vec<Record<'_>>>(raw.get().as_bytes(), "Records", &e);
            out.push(ctx.reject(reason));
            return;
        }
    };
    if records.is_empty() {
        out.push(ctx.reject("Records: empty, the event holds no record"));
    }
    for (i, raw) in records.into_iter().enumerate() {
        let path = format!("Records[{i}]");
        match json::typed::<Record<'_>>(raw.get(), &path) {
            Err(reason) => out.push(ctx.reject(reason)),
            Ok(Record {
                sns: Some(envelope),
                ..
            }) => {
                notification(envelope, &format!("{path}.Sns"), ctx, inner, out);
            }
            Ok(Record {
                sns: None,
                event_source,
            }) => {
                let source = match event_source {
                    Some(s) => format!(" (EventSource {})", excerpt(s.as_str(), 40)),
                    None => String::new(),
                };
                out.push(ctx.reject(format!("{path}.Sns: missing, not an SNS record{source}")));
            }
        }
    }
}

/// Decodes an SNS HTTP(S) subscriber body into `out`.
pub(super) fn http_body(top: &Top<'_>, ctx: &Ctx, inner: Inner<'_>, out: &mut Vec<Decoded>) {
    let field = json::optional_str;
    let envelope = field(top.sns_type, "Type").and_then(|kind| {
        Ok(Envelope {
            kind,
            message_id: field(top.message_id, "MessageId")?,
            topic_arn: field(top.topic_arn, "TopicArn")?,
            timestamp: field(top.timestamp, "Timestamp")?,
            message: top.message,
        })
    });
    match envelope {
        Ok(envelope) => notification(envelope, "", ctx, inner, out),
        Err(reason) => out.push(ctx.reject(reason)),
    }
}

/// Decodes the message of one notification; `path` locates the envelope in the payload.
fn notification(
    envelope: Envelope<'_>,
    path: &str,
    ctx: &Ctx,
    decode_message: Inner<'_>,
    out: &mut Vec<Decoded>,
) {
    let at = |field: &str| json::join_path(path, field);
    let sent_at = match optional_time(
        envelope.timestamp.as_ref().map(Str::as_str),
        &at("Timestamp"),
    ) {
        Ok(t) => t,
        Err(reason) => {
            out.push(ctx.reject(reason));
            return;
        }
    };
    let ctx = ctx.with_sns(
        envelope.message_id.map(Str::into_string),
        envelope.topic_arn.map(Str::into_string),
        sent_at,
    );
    if let Some(kind) = envelope.kind.as_ref().map(Str::as_str)
        && kind != "Notification"
    {
        out.push(ctx.reject(format!(
            "{}: {} carries no alert (only Notification messages do)",
            at("Type"),
            excerpt(kind, 40)
        )));
        return;
    }
    let message_path = at("Message");
    let Some(raw) = envelope.message else {
        out.push(ctx.reject(format!("{message_path}: missing")));
        return;
    };
    // The message is a JSON string holding a document; tolerate the document itself too.
    let text: Cow<'_, str> = if raw.get().starts_with('"') {
        match json::typed::<Str<'_>>(raw.get(), &message_path) {
            Ok(s) => s.0,
            Err(reason) => {
                out.push(ctx.reject(reason));
                return;
            }
        }
    } else if raw.get().starts_with('{') {
        Cow::Borrowed(raw.get())
    } else {
        out.push(ctx.reject(format!(
            "{message_path}: expected a string holding JSON, got {}",
            excerpt(raw.get(), 40)
        )));
        return;
    };
    let inner = ctx.at(&message_path);
    let trimmed = text.trim_start();
    if trimmed.is_empty() {
        out.push(inner.reject("empty"));
    } else if !trimmed.starts_with('{')
        && serde_json::from_str::<serde::de::IgnoredAny>(trimmed).is_err()
    {
        // `[FIRING:1] ...` starts like a JSON array but is Alertmanager's text template.
        out.push(inner.reject(format!(
            "plain text, not JSON: {} (Alertmanager's default sns_configs template publishes \
             text; send alerts as JSON through a webhook or a JSON message template)",
            excerpt(trimmed, 60)
        )));
    } else {
        decode_message(text.as_bytes(), &inner, out);
    }
}

#[cfg(test)]
mod tests {
    use crate::alert::{AlertStatus, Shape, Source};
    use crate::decode::{Decoded, decode};

    fn lambda(records: &[String]) -> String {
        format!(r#"{{"Records":[{}]}}"#, records.join(","))
    }

    fn record(id: &str, message: &str) -> String {
        format!(
            r#"{{"EventSource":"aws:sns","Sns":{{"Type":"Notification","MessageId":"{id}",
               "TopicArn":"arn:aws:sns:eu-west-1:1:alerts","Message":{},"SigningCertUrl":"x"}}}}"#,
            serde_json::to_string(message).unwrap()
        )
    }

    const ALARM: &str = r#"{"AlarmName":"a","NewStateValue":"ALARM","StateChangeTime":"2024-05-01T10:00:00.000+0000","Trigger":{"MetricName":"m","Namespace":"n","Dimensions":[]}}"#;

    fn reason(item: &Decoded) -> &str {
        &item.as_ref().unwrap_err().reason
    }

    #[test]
    fn each_record_carries_its_own_message_id_and_topic() {
        let items = decode(lambda(&[record("m1", ALARM), record("m2", ALARM)]).as_bytes());
        assert_eq!(items.len(), 2);
        for (i, id) in ["m1", "m2"].into_iter().enumerate() {
            let a = items[i].as_ref().unwrap();
            assert_eq!(a.delivery.sns_message_id.as_deref(), Some(id));
            assert_eq!(
                a.delivery.topic_arn.as_deref(),
                Some("arn:aws:sns:eu-west-1:1:alerts")
            );
            assert_eq!(a.delivery.shape, Some(Shape::SnsLambda));
            assert_eq!(a.delivery.index, i);
            assert_eq!(a.status, AlertStatus::Firing);
        }
    }

    #[test]
    fn a_bad_record_rejects_that_record_only() {
        let items = decode(
            lambda(&[
                record("m1", ALARM),
                r#"{"EventSource":"aws:sns","Sns":{"MessageId":5}}"#.to_owned(),
                record("m3", ALARM),
            ])
            .as_bytes(),
        );
        assert_eq!(items.len(), 3);
        assert!(items[0].is_ok() && items[2].is_ok());
        assert_eq!(
            reason(&items[1]),
            "looked like a Lambda SNS event: Records[1].Sns.MessageId: invalid type: integer `5`, expected a string"
        );
    }

    #[test]
    fn a_plain_text_message_is_rejected_saying_so() {
        let text = "[FIRING:1] KubePodCrashLooping (production vote-5d8f)\nAlerts Firing: ...";
        let items = decode(lambda(&[record("m1", text)]).as_bytes());
        let r = items[0].as_ref().unwrap_err();
        assert_eq!(r.shape, Some(Shape::SnsLambda));
        assert_eq!(r.delivery.sns_message_id.as_deref(), Some("m1"));
        assert!(
            r.reason.starts_with(
                "looked like a Lambda SNS event: Records[0].Sns.Message: plain text, not JSON: \"[FIRING:1] KubePodCrashLooping"
            ),
            "{}",
            r.reason
        );
        assert!(r.reason.contains("sns_configs"), "{}", r.reason);
    }

    #[test]
    fn an_alertmanager_webhook_inside_sns_yields_every_alert() {
        let webhook = r#"{"version":"4","alerts":[
            {"status":"firing","labels":{"alertname":"KubePodNotReady"},"startsAt":"2024-05-01T10:00:00Z"},
            {"status":"firing","labels":{"alertname":"KubeNodeNotReady"},"startsAt":"2024-05-01T10:00:00Z"}]}"#;
        let items = decode(lambda(&[record("m1", webhook), record("m2", ALARM)]).as_bytes());
        assert_eq!(items.len(), 3);
        let names: Vec<_> = items
            .iter()
            .map(|i| i.as_ref().unwrap().name.as_str())
            .collect();
        assert_eq!(names, ["KubePodNotReady", "KubeNodeNotReady", "a"]);
        let first = items[0].as_ref().unwrap();
        assert_eq!(first.source, Source::Alertmanager);
        assert_eq!(first.delivery.shape, Some(Shape::SnsLambda));
        assert_eq!(items[2].as_ref().unwrap().delivery.index, 2);
    }

    #[test]
    fn an_error_inside_the_message_names_both_shapes_and_the_path() {
        let webhook = r#"{"version":"4","alerts":[{"status":"firing","labels":{"job":"x"},"startsAt":"2024-05-01T10:00:00Z"}]}"#;
        let items = decode(lambda(&[record("m1", webhook)]).as_bytes());
        assert_eq!(
            reason(&items[0]),
            r#"looked like a Lambda SNS event: Records[0].Sns.Message: looked like an Alertmanager webhook (version "4"): alerts[0].labels.alertname: missing"#
        );
    }

    #[test]
    fn a_truncated_event_names_the_field_it_broke_in() {
        let body = lambda(&[record("m1", ALARM)]);
        let cut = body.find("StateChangeTime").unwrap();
        let items = decode(&body.as_bytes()[..cut]);
        assert_eq!(items.len(), 1);
        assert_eq!(
            reason(&items[0]),
            "looked like a Lambda SNS event: Records[0].Sns.Message: premature end of input"
        );
    }

    #[test]
    fn a_record_of_another_service_is_rejected_naming_its_source() {
        let items = decode(br#"{"Records":[{"EventSource":"aws:s3","s3":{}}]}"#);
        assert_eq!(
            reason(&items[0]),
            r#"looked like a Lambda SNS event: Records[0].Sns: missing, not an SNS record (EventSource "aws:s3")"#
        );
    }

    #[test]
    fn an_empty_event_is_one_rejection() {
        let items = decode(br#"{"Records":[]}"#);
        assert_eq!(
            reason(&items[0]),
            "looked like a Lambda SNS event: Records: empty, the event holds no record"
        );
    }

    #[test]
    fn a_subscription_confirmation_carries_no_alert() {
        let items = decode(
            br#"{"Type":"SubscriptionConfirmation","MessageId":"x","TopicArn":"t","Message":"You have chosen to subscribe"}"#,
        );
        let r = items[0].as_ref().unwrap_err();
        assert_eq!(r.shape, Some(Shape::SnsHttp));
        assert_eq!(
            r.reason,
            r#"looked like an SNS HTTP subscriber body: Type: "SubscriptionConfirmation" carries no alert (only Notification messages do)"#
        );
    }

    #[test]
    fn an_http_body_message_may_be_an_eventbridge_event() {
        let event = r#"{"detail-type":"CloudWatch Alarm State Change","resources":["arn:aws:cloudwatch:eu-west-1:1:alarm:x"],
            "detail":{"alarmName":"x","state":{"value":"OK","timestamp":"2024-05-01T10:00:00.000+0000"}}}"#;
        let body = format!(
            r#"{{"Type":"Notification","MessageId":"id","TopicArn":"t","Message":{}}}"#,
            serde_json::to_string(event).unwrap()
        );
        let a = decode(body.as_bytes()).remove(0).unwrap();
        assert_eq!(a.status, AlertStatus::Resolved);
        assert_eq!(a.delivery.shape, Some(Shape::SnsHttp));
        assert_eq!(a.annotations["region"], "eu-west-1");
    }

    #[test]
    fn sns_inside_sns_is_refused() {
        let inner = r#"{"Records":[]}"#;
        let items = decode(lambda(&[record("m1", inner)]).as_bytes());
        assert_eq!(
            reason(&items[0]),
            "looked like a Lambda SNS event: Records[0].Sns.Message: looked like a Lambda SNS event inside an SNS message, which no sender produces"
        );
    }

    #[test]
    fn a_message_that_is_not_a_string_or_object_is_rejected() {
        let items = decode(br#"{"Type":"Notification","MessageId":"x","Message":42}"#);
        assert_eq!(
            reason(&items[0]),
            "looked like an SNS HTTP subscriber body: Message: expected a string holding JSON, got \"42\""
        );
    }
}
