//! Accepted groups: what reaches the alerts topic.

use serde_json::Value;

use crate::{Topic, group, post};

const SNS_LIMIT: usize = 256 * 1024;

#[tokio::test]
async fn a_small_group_is_published_as_one_message_equal_to_the_webhook() {
    let topic = Topic::new(1 << 20).await;
    let body = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../events/alertmanager/group-crashloop-production-mixed.json"
    ))
    .unwrap();
    let (status, answer) = topic.call(post(body.clone())).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["messages"], 1);
    let published = topic.published().await;
    assert_eq!(published.len(), 1);
    let sent: Value = serde_json::from_str(&body).unwrap();
    let got: Value = serde_json::from_str(&published[0]).unwrap();
    assert_eq!(sent, got);
    assert_eq!(answer["alerts"], sent["alerts"].as_array().unwrap().len());
}

#[tokio::test]
async fn a_group_of_3000_alerts_is_cut_into_webhooks_that_concatenate_to_it() {
    let topic = Topic::new(6 * 1024 * 1024).await;
    let body = group(3000, 200);
    assert!(body.len() > 4 * SNS_LIMIT, "{}", body.len());
    let (status, answer) = topic.call(post(body.clone())).await;
    assert_eq!(status, 200, "{answer}");
    let published = topic.published().await;
    assert_eq!(answer["messages"], published.len());
    assert!(published.len() >= 5, "{}", published.len());

    let sent: Value = serde_json::from_str(&body).unwrap();
    let mut alerts = Vec::new();
    let mut parts: Vec<Value> = published
        .iter()
        .map(|m| {
            assert!(m.len() <= SNS_LIMIT, "{} bytes", m.len());
            serde_json::from_str(m).unwrap()
        })
        .collect();
    // SQS does not promise order; the first alert's fingerprint orders the parts.
    parts.sort_by_key(|p| p["alerts"][0]["fingerprint"].as_str().unwrap().to_owned());
    for mut part in parts {
        // Each part is a complete webhook that reflex's own decoder accepts.
        assert!(
            reflex_core::decode::decode(part.to_string().as_bytes())
                .iter()
                .all(Result::is_ok)
        );
        alerts.append(part["alerts"].as_array_mut().unwrap());
        let mut envelope = sent.clone();
        envelope["alerts"] = Value::Array(Vec::new());
        part["alerts"] = Value::Array(Vec::new());
        assert_eq!(part, envelope, "the envelope fields travel unchanged");
    }
    assert_eq!(&alerts, sent["alerts"].as_array().unwrap());
}

#[tokio::test]
async fn a_failed_publish_is_502_so_alertmanager_retries() {
    let mut topic = Topic::new(1 << 20).await;
    let gone = format!("{}-deleted", topic.config.topic_arn);
    topic.publisher = reflex_alertmanager_intake::SnsPublisher::new(
        aws_sdk_sns::Client::new(&reflex_test_support::moto::sdk_config()),
        gone,
    );
    let (status, answer) = topic.call(post(group(2, 0))).await;
    assert_eq!(status, 502, "{answer}");
    assert_eq!(answer["published"], 0);
    assert!(
        answer["error"]
            .as_str()
            .unwrap()
            .starts_with("publishing part 1 of 1 failed"),
        "{answer}"
    );
}
