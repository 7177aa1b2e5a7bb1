//! reflex's AWS session (reflex-aws) for the tests: a configuration with resource names
//! unique to the run and short, bounded retries, connected with the test credentials, on
//! moto or on any endpoint a test stands up (a closed port, a throttling server).

use std::time::Duration;

use reflex_aws::{Aws, AwsConfig, Retries};

use crate::moto::{self, ACCOUNT, REGION};
use crate::unique;

/// A configuration pointing at `endpoint` with unique resource names.
pub fn config(endpoint: &str) -> AwsConfig {
    AwsConfig {
        region: REGION.into(),
        cluster_name: unique("voting"),
        audit_table: unique("audit"),
        notify_topic_arn: format!("arn:aws:sns:{REGION}:{ACCOUNT}:{}", unique("notify")),
        endpoint_url: Some(endpoint.to_owned()),
        retries: Retries {
            max_attempts: 3,
            initial_backoff: Duration::from_millis(20),
            max_backoff: Duration::from_millis(100),
            connect_timeout: Duration::from_secs(1),
            attempt_timeout: Duration::from_secs(10),
            operation_timeout: Duration::from_secs(20),
        },
    }
}

/// A started session with the static test credentials.
pub async fn connect(config: AwsConfig) -> Aws {
    let sdk = config
        .loader()
        .credentials_provider(moto::credentials())
        .load()
        .await;
    Aws::from_sdk_config(config, sdk).await.expect("connect")
}

/// A session against the shared moto server.
pub async fn moto_aws() -> Aws {
    connect(config(&moto::moto().endpoint)).await
}
