//! alertmanager-intake: Alertmanager's webhook receiver, behind a Lambda function URL.
//!
//! Alertmanager can only publish plain text to SNS, so its JSON reaches reflex through this
//! function: it authenticates the request, validates the alert group with the same decoder
//! `remediate` uses, and publishes it to the alerts topic, which `remediate` is subscribed
//! to. Start at [`handle`]; the checks run in the order of its status codes.
//!
//! The one design choice to know: **the answer is 2xx only once every message is
//! published**, and 5xx otherwise, so Alertmanager's own retries cover SNS failures. A group
//! too large for one SNS message is cut into several ([`split`]), each a complete webhook
//! body; a retry after a partial failure may publish some alerts again, which `remediate`'s
//! exactly-once claim absorbs. Nothing is published for a request that fails a check.
//!
//! The same function URL serves the approval links (`/approvals/{id}`, [`approve`]) when
//! they are on; [`serve`] sends each request to the webhook or to them by its path. The
//! webhook is authorized by its bearer token, the approval routes by the link's signature.
//!
//! | file | job |
//! |---|---|
//! | `config.rs` | environment, validated at cold start |
//! | `auth.rs` | bearer token against its SHA-256, in constant time |
//! | `split.rs` | a group cut into SNS-sized webhook bodies |
//! | `publish.rs` | the [`Publisher`] trait and its SNS implementation |
//! | `approve/mod.rs` | the approval page: signed link checked, record shown, POST approves once |
//! | `approve/page.rs` | its HTML, compiled maud templates, and its Content-Security-Policy |
//! | `approve/store.rs` | what it reads and writes in the audit table |

pub mod approve;
pub mod auth;
pub mod config;
pub mod publish;
pub mod split;

use lambda_http::http::header::{ALLOW, CONTENT_LENGTH, CONTENT_TYPE, WWW_AUTHENTICATE};
use lambda_http::http::{HeaderName, HeaderValue, Method, StatusCode};
use lambda_http::{Body, Request, Response};
use reflex_core::Source;
use reflex_core::alert::Shape;
use serde_json::json;

pub use approve::{ApprovalStore, Approvals};
pub use config::{ApprovalSettings, Config, ConfigError};
pub use publish::{Publisher, SnsPublisher};

use split::{Group, SNS_MESSAGE_LIMIT};

/// How many decoding failures a 400 answer lists.
const REASONS_SHOWN: usize = 5;

/// Handles one request to the function URL: an approval route (`…/approvals/{id}`) goes to
/// [`approve::handle`], anything else to the webhook ([`handle`]). Never fails.
pub async fn serve<P: Publisher, S: ApprovalStore>(
    request: &Request,
    config: &Config,
    publisher: &P,
    approvals: Option<&Approvals<S>>,
) -> Response<Body> {
    match approve::route(request.uri().path()) {
        Some(id) => approve::handle(request, id.as_deref(), approvals, publisher).await,
        None => handle(request, config, publisher).await,
    }
}

/// Handles one webhook request; never fails (every outcome is an HTTP answer).
pub async fn handle<P: Publisher>(
    request: &Request,
    config: &Config,
    publisher: &P,
) -> Response<Body> {
    // Method, then credentials: nothing about the body is looked at for a stranger.
    if request.method() != Method::POST {
        return refuse(StatusCode::METHOD_NOT_ALLOWED, "only POST is accepted")
            .with_header(ALLOW, "POST");
    }
    if !auth::authorized(request.headers(), &config.token) {
        return refuse(StatusCode::UNAUTHORIZED, "missing or wrong bearer token")
            .with_header(WWW_AUTHENTICATE, "Bearer");
    }

    // Size: the declared length first, then what actually arrived.
    let limit = config.max_body_bytes;
    if let Some(declared) = request.headers().get(CONTENT_LENGTH) {
        match declared
            .to_str()
            .ok()
            .and_then(|v| v.trim().parse::<u64>().ok())
        {
            Some(n) if n > limit as u64 => return too_large(n, limit),
            Some(_) => {}
            None => return refuse(StatusCode::BAD_REQUEST, "Content-Length is not a number"),
        }
    }
    let body: &[u8] = match request.body() {
        Body::Empty => b"",
        Body::Text(text) => text.as_bytes(),
        Body::Binary(bytes) => bytes,
        // Any other body kind a future runtime adds is not a webhook.
        _ => return refuse(StatusCode::BAD_REQUEST, "unsupported request body"),
    };
    if body.len() > limit {
        return too_large(body.len() as u64, limit);
    }

    // Validate the whole group before publishing anything.
    let alerts = match validate(body) {
        Ok(count) => count,
        Err(reason) => return refuse(StatusCode::BAD_REQUEST, &reason),
    };
    let group = match std::str::from_utf8(body)
        .map_err(|e| e.to_string())
        .and_then(Group::parse)
    {
        Ok(group) if group.len() == alerts => group,
        Ok(group) => {
            let reason = format!(
                "the alerts array holds {} entries but {alerts} alerts were decoded",
                group.len()
            );
            return refuse(StatusCode::BAD_REQUEST, &reason);
        }
        Err(reason) => return refuse(StatusCode::BAD_REQUEST, &reason),
    };
    let messages = match group.split(SNS_MESSAGE_LIMIT - publish::ATTRIBUTES_RESERVE) {
        Ok(messages) => messages,
        Err(e) => return refuse(StatusCode::PAYLOAD_TOO_LARGE, &e.to_string()),
    };

    // Publish, in order; the first failure ends the request with a 5xx.
    let mut ids = Vec::with_capacity(messages.len());
    for message in &messages {
        match publisher.publish(message).await {
            Ok(id) => ids.push(id),
            Err(e) => {
                tracing::error!(
                    published = ids.len(),
                    messages = messages.len(),
                    error = %e,
                    "alert group not fully published; Alertmanager will retry"
                );
                return answer(
                    StatusCode::BAD_GATEWAY,
                    json!({"error": e.to_string(), "published": ids.len(), "messages": messages.len()}),
                );
            }
        }
    }
    tracing::info!(alerts, messages = messages.len(), "alert group published");
    answer(
        StatusCode::OK,
        json!({"alerts": alerts, "messages": messages.len(), "message_ids": ids}),
    )
}

/// Decodes `body` with reflex's decoder and requires a raw Alertmanager webhook whose every
/// alert decodes; returns the number of alerts.
pub fn validate(body: &[u8]) -> Result<usize, String> {
    let items = reflex_core::decode::decode(body);
    let mut reasons = Vec::new();
    for item in &items {
        match item {
            Ok(alert)
                if alert.source == Source::Alertmanager
                    && alert.delivery.shape == Some(Shape::AlertmanagerWebhook) => {}
            Ok(alert) => reasons.push(format!(
                "alert {:?} arrived as {}, but this endpoint takes Alertmanager webhooks only",
                alert.name,
                alert
                    .delivery
                    .shape
                    .map_or("an unknown shape", Shape::describe)
            )),
            Err(rejection) => reasons.push(rejection.reason.clone()),
        }
    }
    if reasons.is_empty() {
        return Ok(items.len());
    }
    let shown = reasons.len().min(REASONS_SHOWN);
    let mut reason = format!(
        "webhook refused ({} of {} items): {}",
        reasons.len(),
        items.len(),
        reasons[..shown].join("; ")
    );
    if reasons.len() > shown {
        reason.push_str("; ...");
    }
    Err(reason)
}

fn too_large(size: u64, limit: usize) -> Response<Body> {
    let reason = format!("body of {size} bytes exceeds the {limit}-byte limit");
    refuse(StatusCode::PAYLOAD_TOO_LARGE, &reason)
}

/// A 4xx answer; logged without the body or any header.
fn refuse(status: StatusCode, reason: &str) -> Response<Body> {
    tracing::warn!(
        status = status.as_u16(),
        reason,
        "request refused, nothing published"
    );
    answer(status, json!({"error": reason}))
}

fn answer(status: StatusCode, body: serde_json::Value) -> Response<Body> {
    let mut response = Response::new(Body::Text(body.to_string()));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

trait WithHeader {
    fn with_header(self, name: HeaderName, value: &'static str) -> Self;
}

impl WithHeader for Response<Body> {
    fn with_header(mut self, name: HeaderName, value: &'static str) -> Self {
        self.headers_mut()
            .insert(name, HeaderValue::from_static(value));
        self
    }
}
