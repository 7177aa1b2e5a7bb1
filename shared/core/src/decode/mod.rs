//! Decoding: bytes in, normalized alerts out (ARCHITECTURE section 2).
//!
//! Start at [`decode`]. The shape is detected from the bytes alone: a first pass reads only
//! the top-level keys (as raw, unparsed JSON slices), which is enough to tell the six shapes
//! apart; the second pass deserializes just the part that shape needs into typed structs.
//! A CloudWatch alarm notification is one of them only as an SNS `Message`: given on its
//! own it is none of the six, and is rejected saying so.
//! Nothing here panics on any input: an unknown or broken payload becomes a [`Rejection`]
//! that says which shape it looked like and which field failed.
//!
//! Files, one per job: `detect.rs` (the first pass), `ctx.rs` (where in the payload a
//! decoder is, and the item and rejection types), `sns.rs` (the SNS envelope, whose
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
mod ctx;
mod detect;
mod json;
mod sns;
mod time;

pub use ctx::{Decoded, Rejection};

use crate::alert::Shape;
use ctx::{Ctx, Nesting, webhook_source};
use detect::{Kind, Scan, Top};

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

/// Decodes one JSON document (the payload, or an SNS message inside it) into `out`.
fn document(bytes: &[u8], ctx: &Ctx, nesting: Nesting, out: &mut Vec<Decoded>) {
    // An SNS envelope hands its message back here, as a document of its own.
    let in_sns = |message: &[u8], ctx: &Ctx, out: &mut Vec<Decoded>| {
        document(message, ctx, Nesting::InSns, out)
    };
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
            if kind == Kind::AlarmMessage && nesting == Nesting::Outer {
                out.push(ctx.reject(BARE_ALARM_MESSAGE));
                return;
            }
            let Some(ctx) = ctx.entering(&top, kind, nesting) else {
                out.push(ctx.reject(nested_sns(&top)));
                return;
            };
            match kind {
                Kind::SnsLambda => sns::lambda_event(&top, &ctx, &in_sns, out),
                Kind::SnsHttp => sns::http_body(&top, &ctx, &in_sns, out),
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
            if kind == Kind::AlarmMessage && nesting == Nesting::Outer {
                out.push(ctx.reject(BARE_ALARM_MESSAGE));
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

/// Why a CloudWatch alarm notification given on its own is refused: it is none of the six
/// shapes. CloudWatch sends it only as the `Message` of an SNS notification, whose
/// envelope says how it came (topic, message id, send time); without it nothing does.
const BARE_ALARM_MESSAGE: &str = "looked like a CloudWatch alarm notification without the SNS \
     notification that carries it: CloudWatch sends it only as the Message of an SNS \
     notification, and reflex reads it only there; replay the whole Lambda SNS event or SNS \
     HTTP body it came in";

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
