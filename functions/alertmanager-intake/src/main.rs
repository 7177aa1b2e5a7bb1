//! The `alertmanager-intake` Lambda function: settings and the SNS client built once, then
//! every request handed to [`reflex_alertmanager_intake::handle`].

use std::convert::Infallible;

use lambda_http::{Request, service_fn};
use reflex_alertmanager_intake::{Config, SnsPublisher, handle};

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

    lambda_http::run(service_fn(|request: Request| {
        let (config, publisher) = (&config, &publisher);
        async move { Ok::<_, Infallible>(handle(&request, config, publisher).await) }
    }))
    .await
}
