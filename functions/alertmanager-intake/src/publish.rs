//! Where alert groups go: the alerts SNS topic.

use std::future::Future;

use aws_sdk_sns::error::DisplayErrorContext;
use aws_sdk_sns::types::MessageAttributeValue;

use reflex_core::approval::ApprovalMessage;

use crate::split::Message;

/// Message attribute naming the sender of every message (for subscription filter policies).
pub const SOURCE_ATTRIBUTE: &str = "reflex.source";
/// Message attribute `part/parts` of a group cut into several messages.
pub const PART_ATTRIBUTE: &str = "reflex.part";

/// Bytes reserved in each message for its attributes: SNS counts names, types and values
/// against the 256 KiB limit. Checked by a test against the largest attributes we send.
pub const ATTRIBUTES_RESERVE: usize = 128;

/// A publish that did not succeed.
#[derive(Debug, thiserror::Error)]
#[error("publishing part {part} of {parts} failed: {detail}")]
pub struct PublishError {
    /// Which message.
    pub part: usize,
    /// Of how many.
    pub parts: usize,
    /// What the service said.
    pub detail: String,
}

/// The `reflex.source` attribute of an approval given through a link.
pub const APPROVAL_SOURCE: &str = "approval-link";

/// Publishes one message; returns the message id.
pub trait Publisher: Sync {
    /// Publishes `message`.
    fn publish(
        &self,
        message: &Message,
    ) -> impl Future<Output = Result<String, PublishError>> + Send;

    /// Publishes an approval given through a signed link, as one message.
    fn publish_approval(
        &self,
        approval: &ApprovalMessage,
    ) -> impl Future<Output = Result<String, PublishError>> + Send;
}

/// The attributes sent with `message`: name, SNS data type, value.
pub fn attributes(message: &Message) -> [(&'static str, &'static str, String); 2] {
    [
        (SOURCE_ATTRIBUTE, "String", "alertmanager".to_owned()),
        (
            PART_ATTRIBUTE,
            "String",
            format!("{}/{}", message.part, message.parts),
        ),
    ]
}

/// Publishes to an SNS topic.
#[derive(Debug, Clone)]
pub struct SnsPublisher {
    client: aws_sdk_sns::Client,
    topic_arn: String,
}

impl SnsPublisher {
    /// A publisher to `topic_arn` through `client`.
    pub fn new(client: aws_sdk_sns::Client, topic_arn: impl Into<String>) -> Self {
        SnsPublisher {
            client,
            topic_arn: topic_arn.into(),
        }
    }
}

impl SnsPublisher {
    /// Publishes `body` with `attributes` as message `part` of `parts`.
    async fn send(
        &self,
        body: &str,
        attributes: &[(&'static str, &'static str, String)],
        part: usize,
        parts: usize,
    ) -> Result<String, PublishError> {
        let fail = |detail: String| PublishError {
            part,
            parts,
            detail,
        };
        let mut request = self
            .client
            .publish()
            .topic_arn(&self.topic_arn)
            .message(body);
        for (name, data_type, value) in attributes {
            let value = MessageAttributeValue::builder()
                .data_type(*data_type)
                .string_value(value.as_str())
                .build()
                .map_err(|e| fail(e.to_string()))?;
            request = request.message_attributes(*name, value);
        }
        let output = request
            .send()
            .await
            .map_err(|e| fail(DisplayErrorContext(&e).to_string()))?;
        Ok(output.message_id.unwrap_or_default())
    }
}

impl Publisher for SnsPublisher {
    async fn publish(&self, message: &Message) -> Result<String, PublishError> {
        self.send(
            &message.body,
            &attributes(message),
            message.part,
            message.parts,
        )
        .await
    }

    async fn publish_approval(&self, approval: &ApprovalMessage) -> Result<String, PublishError> {
        let body = serde_json::to_string(approval).map_err(|e| PublishError {
            part: 1,
            parts: 1,
            detail: e.to_string(),
        })?;
        let attributes = [
            (SOURCE_ATTRIBUTE, "String", APPROVAL_SOURCE.to_owned()),
            (PART_ATTRIBUTE, "String", "1/1".to_owned()),
        ];
        self.send(&body, &attributes, 1, 1).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_largest_attributes_fit_in_their_reserve() {
        let message = Message {
            body: String::new(),
            part: 99_999,
            parts: 99_999,
            alerts: 1,
        };
        let size: usize = attributes(&message)
            .iter()
            .map(|(name, data_type, value)| name.len() + data_type.len() + value.len())
            .sum();
        assert!(size <= ATTRIBUTES_RESERVE, "{size}");
    }
}
