//! Where in the payload a decoder is, and what it produces: [`Decoded`] items, each an
//! alert or a [`Rejection`] whose reason names the shapes and fields entered on the way.
//! Every shape's decoder takes a [`Ctx`] and pushes items through it.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::detect::{Kind, Top};
use crate::alert::{Alert, Delivery, Shape, Source};

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

/// Whether a document is the payload itself or an SNS `Message` (which may not be SNS again).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Nesting {
    /// The payload itself.
    Outer,
    /// The `Message` of an SNS envelope.
    InSns,
}

/// Which source a webhook comes from: Grafana's superset, or Alertmanager.
pub(super) fn webhook_source(top: &Top<'_>) -> Source {
    if top.is_grafana() {
        Source::Grafana
    } else {
        Source::Alertmanager
    }
}

/// Where in the payload a decoder is: what a rejection or an alert's delivery must carry.
#[derive(Debug, Clone, Default)]
pub(super) struct Ctx {
    /// The outer shape, once known.
    shape: Option<Shape>,
    /// Delivery facts known so far (the index is set last, by [`decode`]).
    delivery: Delivery,
    /// Reason prefix: the shapes and fields entered so far, each followed by `": "`.
    prefix: String,
}

impl Ctx {
    /// The context inside a document of `kind`; `None` when SNS would nest in SNS.
    pub(super) fn entering(&self, top: &Top<'_>, kind: Kind, nesting: Nesting) -> Option<Ctx> {
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
    pub(super) fn at(&self, path: &str) -> Ctx {
        let mut inner = self.clone();
        inner.prefix = format!("{}{path}: ", self.prefix);
        inner
    }

    /// The context of an SNS message: its ids and send time go into every item's delivery.
    pub(super) fn with_sns(
        &self,
        message_id: Option<String>,
        topic_arn: Option<String>,
        sent_at: Option<DateTime<Utc>>,
    ) -> Ctx {
        let mut inner = self.clone();
        inner.delivery.sns_message_id = message_id;
        inner.delivery.topic_arn = topic_arn;
        inner.delivery.sent_at = sent_at;
        inner
    }

    /// The context of an event that says when it was sent (EventBridge, an alarm action).
    /// The envelope around it, if any, was sent later and keeps its own time.
    pub(super) fn sent(&self, at: Option<DateTime<Utc>>) -> Ctx {
        let mut inner = self.clone();
        inner.delivery.sent_at = inner.delivery.sent_at.or(at);
        inner
    }

    pub(super) fn delivery(&self) -> Delivery {
        self.delivery.clone()
    }

    pub(super) fn reject(&self, reason: impl fmt::Display) -> Decoded {
        Err(Rejection {
            shape: self.shape,
            reason: format!("{}{reason}", self.prefix),
            delivery: self.delivery.clone(),
        })
    }
}
