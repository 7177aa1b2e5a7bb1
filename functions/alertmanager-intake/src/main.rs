//! The `alertmanager-intake` Lambda function: settings, the SNS client and (with approval
//! links on) the links' key and the audit table built once, then every request handed to
//! [`reflex_alertmanager_intake::serve`].

use std::convert::Infallible;

use lambda_http::{Request, service_fn};
use reflex_alertmanager_intake::{Approvals, Config, SnsPublisher, serve};
use reflex_aws::DynamoLedger;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_current_span(false)
        .init();

    // A bad configuration fails the cold start, before any request is accepted.
    let config =
        Config::from_env().inspect_err(|e| tracing::error!(error = %e, "bad configuration"))?;
    let aws = aws_config::load_from_env().await;
    let publisher = SnsPublisher::new(aws_sdk_sns::Client::new(&aws), config.topic_arn.clone());
    // With links on, a key that cannot be read (or is too short) fails the cold start too.
    let approvals = match &config.approvals {
        None => None,
        Some(settings) => Some(Approvals {
            links: settings
                .links
                .load(&aws)
                .await
                .inspect_err(|e| tracing::error!(error = %e, "approval links refused"))?,
            store: DynamoLedger::with_client(
                aws_sdk_dynamodb::Client::new(&aws),
                settings.audit_table.clone(),
            ),
        }),
    };
    tracing::info!(
        approval_links = approvals.is_some(),
        "alertmanager-intake ready"
    );

    lambda_http::run(service_fn(|request: Request| {
        let (config, publisher, approvals) = (&config, &publisher, approvals.as_ref());
        async move { Ok::<_, Infallible>(serve(&request, config, publisher, approvals).await) }
    }))
    .await
}
