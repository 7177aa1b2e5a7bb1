//! What reached an SNS topic, read back from an SQS queue subscribed to it (the way on-call
//! or a downstream consumer would receive it).

use aws_config::SdkConfig;
use aws_sdk_sqs::types::QueueAttributeName;

use crate::unique;

/// How the queue receives each message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// The SNS envelope (`Type`, `Subject`, `Message`, ...) as the queue message body.
    Envelope,
    /// Raw message delivery: the queue message is exactly the published message.
    Raw,
}

/// A fresh queue subscribed to a topic.
#[derive(Debug)]
pub struct SubscribedQueue {
    sqs: aws_sdk_sqs::Client,
    url: String,
}

impl SubscribedQueue {
    /// Creates a queue named after `prefix` and subscribes it to `topic_arn`.
    pub async fn subscribe(
        sdk: &SdkConfig,
        topic_arn: &str,
        prefix: &str,
        delivery: Delivery,
    ) -> Self {
        let sns = aws_sdk_sns::Client::new(sdk);
        let sqs = aws_sdk_sqs::Client::new(sdk);
        let url = sqs
            .create_queue()
            .queue_name(unique(prefix))
            .send()
            .await
            .expect("create queue")
            .queue_url
            .expect("queue url");
        let arn = sqs
            .get_queue_attributes()
            .queue_url(&url)
            .attribute_names(QueueAttributeName::QueueArn)
            .send()
            .await
            .expect("queue attributes")
            .attributes
            .and_then(|mut a| a.remove(&QueueAttributeName::QueueArn))
            .expect("queue arn");
        let mut subscribe = sns
            .subscribe()
            .topic_arn(topic_arn)
            .protocol("sqs")
            .endpoint(arn);
        if delivery == Delivery::Raw {
            subscribe = subscribe.attributes("RawMessageDelivery", "true");
        }
        subscribe.send().await.expect("subscribe");
        Self { sqs, url }
    }

    /// Every message received so far, in publishing order (drains the queue).
    pub async fn drain(&self) -> Vec<String> {
        let mut messages = Vec::new();
        loop {
            let batch = self
                .sqs
                .receive_message()
                .queue_url(&self.url)
                .max_number_of_messages(10)
                .wait_time_seconds(0)
                .send()
                .await
                .expect("receive")
                .messages
                .unwrap_or_default();
            if batch.is_empty() {
                return messages;
            }
            for m in batch {
                self.sqs
                    .delete_message()
                    .queue_url(&self.url)
                    .receipt_handle(m.receipt_handle.expect("receipt handle"))
                    .send()
                    .await
                    .expect("delete");
                messages.push(m.body.expect("body"));
            }
        }
    }
}
