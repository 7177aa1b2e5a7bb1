//! Decoding: bytes in, normalized alerts out (ARCHITECTURE section 2).
//!
//! Start at [`decode`]. The shape is detected from the bytes alone: a first pass reads only
//! the top-level keys (as raw, unparsed JSON slices), which is enough to tell the six shapes
//! apart; the second pass deserializes just the part that shape needs into typed structs.
//! Nothing here panics on any input: an unknown or broken payload becomes a [`Rejection`]
//! that says which shape it looked like and which field failed.
//!
//! Files, one per job: `detect.rs` (the first pass), `sns.rs` (the SNS envelope, whose
//! `Message` is decoded again as a document of its own), `cloudwatch.rs` (alarm
//! notifications, alarm actions, EventBridge events), `alertmanager.rs` (Alertmanager and
//! Grafana webhooks), `time.rs` (the senders' timestamp spellings), `json.rs` (borrowed
//! strings and field-path errors).
//!
//! The wire types are our own and lenient where real senders are sloppy (a `null`
//! description, `Unit: "None"`, dimension keys in either order); everything a type does not
//! name is skipped without being allocated. Failures are isolated as finely as the payload
//! allows: one bad SNS record or one bad Alertmanager alert rejects that item only.

mod alertmanager;
mod cloudwatch;
mod detect;
mod json;
mod sns;
mod time;

use std::fmt;

use serde::Serialize;

use crate::alert::{Alert, Delivery, Shape, Source};
use detect::{Kind, Scan, Top};

/// Why a payload, or one item of it, could not be decoded. Becomes a `rejected` audit record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rejection {
    /// The shape the payload looked like (the outer one for an SNS message), if any.
    pub shape: Option<Shape>,
    /// A sentence naming the shape it looked like and the field that failed.
    pub reason: String,
    /// What is known of the delivery (SNS ids, position in the payload).
    pub delivery: Delivery,
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.reason)
    }
}

impl std::error::Error for Rejection {}

/// One decoded item: an alert, or the reason it could not be read.
pub type Decoded = Result<Alert, Rejection>;

/// Decodes a payload of any supported shape.
///
/// Never panics. Returns at least one item: one per alert, in payload order, with
/// `delivery.index` equal to the item's position in the returned list. A payload that cannot
/// be read at all yields a single [`Rejection`].
pub fn decode(bytes: &[u8]) -> Vec<Decoded> {
    let mut out = Vec::new();
    document(bytes, &Ctx::default(), Nesting::Outer, &mut out);
    if out.is_empty() {
        // Every path pushes at least one item; this keeps the promise if one ever does not.
        out.push(Ctx::default().reject("nothing to decode"));
    }
    for (index, item) in out.iter_mut().enumerate() {
        match item {
            Ok(alert) => alert.delivery.index = index,
            Err(rejection) => rejection.delivery.index = index,
        }
    }
    out
}

/// Whether a document is the payload itself or an SNS `Message` (which may not be SNS again).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Nesting {
    Outer,
    InSns,
}

/// Decodes one JSON document (the payload, or an SNS message inside it) into `out`.
fn document(bytes: &[u8], ctx: &Ctx, nesting: Nesting, out: &mut Vec<Decoded>) {
    match detect::scan(bytes) {
        Scan::Empty => out.push(ctx.reject("not JSON: empty input")),
        Scan::NotJson(e) => out.push(ctx.reject(format!("not JSON: {e}"))),
        Scan::NotObject(what) => out.push(ctx.reject(format!(
            "unrecognized payload: the JSON is {what}, not an object"
        ))),
        Scan::Object(top) => {
            let kind = top.kind();
            if kind == Kind::Unknown {
                out.push(ctx.reject(unrecognized(&top)));
                return;
            }
            let Some(ctx) = ctx.entering(&top, kind, nesting) else {
                out.push(ctx.reject(nested_sns(&top)));
                return;
            };
            match kind {
                Kind::SnsLambda => sns::lambda_event(&top, &ctx, out),
                Kind::SnsHttp => sns::http_body(&top, &ctx, out),
                Kind::AlarmAction => out.push(cloudwatch::alarm_action(&top, &ctx)),
                Kind::EventBridge => out.push(cloudwatch::eventbridge(&top, &ctx)),
                Kind::Webhook => alertmanager::webhook(&top, webhook_source(&top), &ctx, out),
                Kind::AlarmMessage => out.push(cloudwatch::alarm_message(bytes, &ctx)),
                Kind::Unknown => {}
            }
        }
        Scan::Broken(top, error) => {
            let kind = top.kind();
            if kind == Kind::Unknown {
                out.push(ctx.reject(format!("not JSON: {error}")));
                return;
            }
            let Some(ctx) = ctx.entering(&top, kind, nesting) else {
                out.push(ctx.reject(nested_sns(&top)));
                return;
            };
            let reason = match kind {
                Kind::SnsLambda => json::explain::<sns::LambdaDoc<'_>>(bytes, "", &error),
                Kind::SnsHttp => json::explain::<sns::Envelope<'_>>(bytes, "", &error),
                Kind::AlarmAction => {
                    json::explain::<cloudwatch::AlarmActionDoc<'_>>(bytes, "", &error)
                }
                Kind::EventBridge => {
                    json::explain::<cloudwatch::EventBridgeDoc<'_>>(bytes, "", &error)
                }
                Kind::Webhook => json::explain::<alertmanager::WebhookDoc<'_>>(bytes, "", &error),
                Kind::AlarmMessage => {
                    json::explain::<cloudwatch::AlarmMessage<'_>>(bytes, "", &error)
                }
                Kind::Unknown => error.to_string(),
            };
            out.push(ctx.reject(reason));
        }
    }
}

fn webhook_source(top: &Top<'_>) -> Source {
    if top.is_grafana() {
        Source::Grafana
    } else {
        Source::Alertmanager
    }
}

fn unrecognized(top: &Top<'_>) -> String {
    if top.key_count == 0 {
        "unrecognized payload: an empty JSON object".to_owned()
    } else if top.is_legacy_grafana() {
        "unrecognized payload: a legacy Grafana alerting webhook (ruleName, evalMatches), which \
         carries no labels; use Grafana unified alerting, whose webhook is supported"
            .to_owned()
    } else {
        format!(
            "unrecognized payload: top-level keys {} match no supported shape (SNS event or \
             body, CloudWatch alarm action, EventBridge alarm event, Alertmanager or Grafana \
             webhook)",
            top.listed_keys()
        )
    }
}

fn nested_sns(top: &Top<'_>) -> String {
    let what = match top.kind() {
        Kind::SnsLambda => Shape::SnsLambda.describe(),
        _ => Shape::SnsHttp.describe(),
    };
    format!("looked like {what} inside an SNS message, which no sender produces")
}

/// Where in the payload a decoder is: what a rejection or an alert's delivery must carry.
#[derive(Debug, Clone, Default)]
struct Ctx {
    /// The outer shape, once known.
    shape: Option<Shape>,
    /// Delivery facts known so far (the index is set last, by [`decode`]).
    delivery: Delivery,
    /// Reason prefix: the shapes and fields entered so far, each followed by `": "`.
    prefix: String,
}

impl Ctx {
    /// The context inside a document of `kind`; `None` when SNS would nest in SNS.
    fn entering(&self, top: &Top<'_>, kind: Kind, nesting: Nesting) -> Option<Ctx> {
        let (shape, description) = match kind {
            Kind::SnsLambda => (
                Some(Shape::SnsLambda),
                Shape::SnsLambda.describe().to_owned(),
            ),
            Kind::SnsHttp => (Some(Shape::SnsHttp), Shape::SnsHttp.describe().to_owned()),
            Kind::AlarmAction => (
                Some(Shape::AlarmAction),
                Shape::AlarmAction.describe().to_owned(),
            ),
            Kind::EventBridge => (
                Some(Shape::EventBridge),
                Shape::EventBridge.describe().to_owned(),
            ),
            Kind::Webhook => {
                let shape = match webhook_source(top) {
                    Source::Grafana => Shape::GrafanaWebhook,
                    _ => Shape::AlertmanagerWebhook,
                };
                let description = match top.version_text() {
                    Some(v) => format!("{} (version {:?})", shape.describe(), v),
                    None => shape.describe().to_owned(),
                };
                (Some(shape), description)
            }
            Kind::AlarmMessage | Kind::Unknown => {
                (None, "a CloudWatch alarm notification".to_owned())
            }
        };
        let is_sns = matches!(kind, Kind::SnsLambda | Kind::SnsHttp);
        if is_sns && nesting == Nesting::InSns {
            return None;
        }
        let mut inner = self.clone();
        if nesting == Nesting::Outer {
            inner.shape = shape;
            inner.delivery.shape = shape;
        }
        inner.prefix = format!("{}looked like {description}: ", self.prefix);
        Some(inner)
    }

    /// The context at a field of the current document (`Records[0].Sns.Message`).
    fn at(&self, path: &str) -> Ctx {
        let mut inner = self.clone();
        inner.prefix = format!("{}{path}: ", self.prefix);
        inner
    }

    /// The context of an SNS message: its ids go into every item's delivery.
    fn with_sns(&self, message_id: Option<String>, topic_arn: Option<String>) -> Ctx {
        let mut inner = self.clone();
        inner.delivery.sns_message_id = message_id;
        inner.delivery.topic_arn = topic_arn;
        inner
    }

    fn delivery(&self) -> Delivery {
        self.delivery.clone()
    }

    fn reject(&self, reason: impl fmt::Display) -> Decoded {
        Err(Rejection {
            shape: self.shape,
            reason: format!("{}{reason}", self.prefix),
            delivery: self.delivery.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn only_rejection(bytes: &[u8]) -> Rejection {
        let mut items = decode(bytes);
        assert_eq!(items.len(), 1, "{items:?}");
        items.remove(0).unwrap_err()
    }

    #[test]
    fn empty_input_is_rejected_as_not_json() {
        let r = only_rejection(b"");
        assert_eq!(r.reason, "not JSON: empty input");
        assert_eq!(r.shape, None);
        assert_eq!(r.delivery.index, 0);
    }

    #[test]
    fn garbage_is_rejected_as_not_json_with_its_position() {
        let r = only_rejection(b"<html>oops</html>");
        assert_eq!(r.reason, "not JSON: expected value at line 1 column 1");
    }

    #[test]
    fn a_json_array_is_not_a_payload() {
        let r = only_rejection(b"[1, 2, 3]");
        assert_eq!(
            r.reason,
            "unrecognized payload: the JSON is an array, not an object"
        );
    }

    #[test]
    fn an_unknown_object_lists_its_top_level_keys() {
        let r = only_rejection(br#"{"hello": 1, "world": [2]}"#);
        assert!(
            r.reason
                .starts_with("unrecognized payload: top-level keys [hello, world] match no"),
            "{}",
            r.reason
        );
        assert_eq!(
            only_rejection(b"{}").reason,
            "unrecognized payload: an empty JSON object"
        );
    }

    #[test]
    fn a_legacy_grafana_webhook_is_named_as_such() {
        let r = only_rejection(
            br#"{"dashboardId":1,"evalMatches":[],"ruleName":"x","state":"alerting"}"#,
        );
        assert!(
            r.reason
                .starts_with("unrecognized payload: a legacy Grafana alerting webhook"),
            "{}",
            r.reason
        );
    }

    #[test]
    fn broken_json_of_no_known_shape_is_not_json() {
        let r = only_rejection(br#"{"hello": [1, 2"#);
        assert!(
            r.reason.starts_with("not JSON: EOF while parsing"),
            "{}",
            r.reason
        );
        let r = only_rejection(br#"{} trailing"#);
        assert!(
            r.reason.starts_with("not JSON: trailing characters"),
            "{}",
            r.reason
        );
    }

    #[test]
    fn trailing_garbage_after_a_known_shape_is_rejected_with_the_shape() {
        let r = only_rejection(br#"{"version":"4","alerts":[]} x"#);
        assert_eq!(r.shape, Some(Shape::AlertmanagerWebhook));
        assert_eq!(
            r.reason,
            r#"looked like an Alertmanager webhook (version "4"): (top level): trailing characters"#
        );
    }

    #[test]
    fn rejection_displays_as_its_reason() {
        let r = only_rejection(b"nope");
        assert_eq!(r.to_string(), r.reason);
    }
}
