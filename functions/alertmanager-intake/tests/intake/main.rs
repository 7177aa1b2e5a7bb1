//! The intake handler against moto's SNS: built `lambda_http` requests in, HTTP answers out,
//! and what reached the alerts topic read back from an SQS queue subscribed to it (raw
//! delivery, so each queue message is exactly one published SNS message).
//!
//! - `refusals`: 405, 401, 413 (declared and actual size, one alert too large), 400 (garbage,
//!   wrong shape, one bad alert), each with nothing published.
//! - `publishing`: one message for a small group; a 3,000-alert group cut into messages under
//!   SNS's limit whose alerts concatenate to the original; 502 when the topic is gone.
//! - `approvals`: the signed approval link's page (content, headers), the one approval a POST
//!   publishes (performed by remediate's handler), and reused, tampered, unsigned, expired,
//!   cross-site, forged, unknown and not-awaiting links refused with nothing changed.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic in a test is a failed test

mod approvals;
mod publishing;
mod refusals;

use lambda_http::http::Request;
use lambda_http::{Body, Response};
use reflex_alertmanager_intake::auth::TokenDigest;
use reflex_alertmanager_intake::{Config, SnsPublisher, handle};
use reflex_test_support::queue::{Delivery, SubscribedQueue};
use reflex_test_support::{moto, unique};

/// The bearer token the tests' Alertmanager sends.
pub const TOKEN: &str = "alertmanager-test-token";

/// A topic with a queue subscribed to it, and the intake configured for that topic.
#[derive(Debug)]
pub struct Topic {
    pub config: Config,
    pub publisher: SnsPublisher,
    queue: SubscribedQueue,
}

impl Topic {
    /// A fresh topic and queue; the intake accepts bodies up to `max_body_bytes`.
    pub async fn new(max_body_bytes: usize) -> Topic {
        let sdk = moto::sdk_config();
        let sns = aws_sdk_sns::Client::new(&sdk);
        let topic_arn = sns
            .create_topic()
            .name(unique("alerts"))
            .send()
            .await
            .unwrap()
            .topic_arn
            .unwrap();
        let queue = SubscribedQueue::subscribe(&sdk, &topic_arn, "alerts-q", Delivery::Raw).await;
        Topic {
            config: Config {
                topic_arn: topic_arn.clone(),
                token: TokenDigest::of(TOKEN.as_bytes()),
                max_body_bytes,
                approvals: None,
            },
            publisher: SnsPublisher::new(sns, topic_arn),
            queue,
        }
    }

    /// Sends `request` through the handler.
    pub async fn call(&self, request: Request<Body>) -> (u16, serde_json::Value) {
        let response: Response<Body> = handle(&request, &self.config, &self.publisher).await;
        let status = response.status().as_u16();
        let body = match response.body() {
            Body::Text(text) => serde_json::from_str(text).unwrap(),
            other => panic!("unexpected body {other:?}"),
        };
        (status, body)
    }

    /// Every message published so far, in publishing order (drains the queue).
    pub async fn published(&self) -> Vec<String> {
        self.queue.drain().await
    }
}

/// A POST with the right token and `body`.
pub fn post(body: impl Into<String>) -> Request<Body> {
    Request::builder()
        .method("POST")
        .uri("https://intake.lambda-url.us-east-1.on.aws/")
        .header("authorization", format!("Bearer {TOKEN}"))
        .header("content-type", "application/json")
        .body(Body::Text(body.into()))
        .unwrap()
}

/// An Alertmanager webhook body with `alerts` alerts, each padded by `padding` bytes.
pub fn group(alerts: usize, padding: usize) -> String {
    let alerts: Vec<String> = (0..alerts).map(|i| alert(i, padding)).collect();
    format!(
        r#"{{"receiver":"reflex","status":"firing","alerts":[{}],"groupLabels":{{"alertname":"KubePodNotReady"}},"commonLabels":{{"alertname":"KubePodNotReady","namespace":"production"}},"commonAnnotations":{{}},"externalURL":"http://alertmanager:9093","version":"4","groupKey":"{{}}:{{alertname=\"KubePodNotReady\"}}","truncatedAlerts":0}}"#,
        alerts.join(",")
    )
}

/// One alert of [`group`].
pub fn alert(i: usize, padding: usize) -> String {
    format!(
        r#"{{"status":"firing","labels":{{"alertname":"KubePodNotReady","namespace":"production","pod":"vote-7d9f8b6c5-{i:05}"}},"annotations":{{"summary":"Pod has been in a non-ready state for more than 15 minutes.","description":"{}"}},"startsAt":"2026-11-20T09:30:00.117Z","endsAt":"0001-01-01T00:00:00Z","generatorURL":"http://prometheus:9090/graph","fingerprint":"{i:016x}"}}"#,
        "x".repeat(padding)
    )
}
