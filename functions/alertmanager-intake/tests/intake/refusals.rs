//! Requests the intake refuses, each with its status code and nothing published.

use lambda_http::Body;
use lambda_http::http::Request;

use crate::{TOKEN, Topic, alert, group, post};

const LIMIT: usize = 64 * 1024;

async fn refused(topic: &Topic, request: Request<Body>, status: u16) -> String {
    let (got, body) = topic.call(request).await;
    assert_eq!(got, status, "{body}");
    assert!(
        topic.published().await.is_empty(),
        "something was published"
    );
    body["error"].as_str().unwrap().to_owned()
}

fn with_auth(authorization: Option<&str>, method: &str, body: &str) -> Request<Body> {
    let mut builder = Request::builder()
        .method(method)
        .uri("https://intake.lambda-url.us-east-1.on.aws/");
    if let Some(value) = authorization {
        builder = builder.header("authorization", value);
    }
    builder.body(Body::Text(body.to_owned())).unwrap()
}

#[tokio::test]
async fn a_get_is_405_and_names_post() {
    let topic = Topic::new(LIMIT).await;
    let request = with_auth(Some(&format!("Bearer {TOKEN}")), "GET", "");
    let response =
        reflex_alertmanager_intake::handle(&request, &topic.config, &topic.publisher).await;
    assert_eq!(response.headers()["allow"], "POST");
    refused(&topic, request, 405).await;
}

#[tokio::test]
async fn a_wrong_or_missing_token_is_401_before_the_body_is_read() {
    let topic = Topic::new(LIMIT).await;
    let body = group(1, 0);
    refused(
        &topic,
        with_auth(Some("Bearer not-the-token"), "POST", &body),
        401,
    )
    .await;
    refused(&topic, with_auth(None, "POST", &body), 401).await;
    refused(
        &topic,
        with_auth(Some(&format!("Basic {TOKEN}")), "POST", &body),
        401,
    )
    .await;
    // Even an oversized body from a stranger gets a 401, not a 413.
    refused(&topic, with_auth(None, "POST", &"x".repeat(LIMIT + 1)), 401).await;
}

#[tokio::test]
async fn a_declared_length_above_the_limit_is_413_whatever_arrived() {
    let topic = Topic::new(LIMIT).await;
    let mut request = post(group(1, 0));
    request
        .headers_mut()
        .insert("content-length", (LIMIT + 1).to_string().parse().unwrap());
    let reason = refused(&topic, request, 413).await;
    assert_eq!(
        reason,
        format!("body of {} bytes exceeds the {LIMIT}-byte limit", LIMIT + 1)
    );
}

#[tokio::test]
async fn a_body_above_the_limit_is_413() {
    let topic = Topic::new(LIMIT).await;
    let body = group(200, 400);
    assert!(body.len() > LIMIT);
    refused(&topic, post(body), 413).await;
}

#[tokio::test]
async fn one_alert_larger_than_an_sns_message_is_413_with_its_index() {
    let topic = Topic::new(1 << 20).await;
    let body = format!(
        r#"{{"receiver":"reflex","status":"firing","alerts":[{},{}],"version":"4","groupKey":"k","groupLabels":{{}},"commonLabels":{{}},"commonAnnotations":{{}},"externalURL":"http://am"}}"#,
        alert(0, 10),
        alert(1, 300_000)
    );
    let reason = refused(&topic, post(body), 413).await;
    assert!(reason.starts_with("alerts[1] alone makes a "), "{reason}");
}

#[tokio::test]
async fn garbage_is_400_with_the_decoders_reason() {
    let topic = Topic::new(LIMIT).await;
    let reason = refused(&topic, post("<html>oops</html>"), 400).await;
    assert!(
        reason.contains("not JSON: expected value at line 1 column 1"),
        "{reason}"
    );
    let reason = refused(&topic, post(""), 400).await;
    assert!(reason.contains("not JSON: empty input"), "{reason}");
}

#[tokio::test]
async fn one_bad_alert_refuses_the_whole_group() {
    let topic = Topic::new(LIMIT).await;
    let bad = r#"{"status":"firing","labels":{"namespace":"production"},"startsAt":"2026-11-20T09:30:00Z"}"#;
    let body = format!(
        r#"{{"receiver":"reflex","status":"firing","alerts":[{},{bad}],"version":"4","groupKey":"k","groupLabels":{{}},"commonLabels":{{}},"commonAnnotations":{{}},"externalURL":"http://am"}}"#,
        alert(0, 0)
    );
    let reason = refused(&topic, post(body), 400).await;
    assert!(
        reason.contains("alerts[1].labels.alertname: missing"),
        "{reason}"
    );
    assert!(
        reason.starts_with("webhook refused (1 of 2 items)"),
        "{reason}"
    );
}

#[tokio::test]
async fn other_shapes_reflex_decodes_are_not_alertmanager_webhooks() {
    let topic = Topic::new(LIMIT).await;
    let dir = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../events"));
    for file in [
        "sns-alertmanager/pod-crashloop-worker.json",
        "grafana/vote-high-latency.json",
        "eventbridge/pod-restarts-worker.json",
    ] {
        let path = dir.join(file);
        let body = std::fs::read_to_string(&path).unwrap();
        let reason = refused(&topic, post(body), 400).await;
        assert!(
            reason.contains("this endpoint takes Alertmanager webhooks only")
                || reason.contains("looked like"),
            "{}: {reason}",
            path.display()
        );
    }
}
