//! The AWS adapters against real HTTP: moto's server (started by the tests themselves, see
//! `moto.rs`), a closed port and a throttling endpoint.
//!
//! - `eks`: DescribeCluster errors and the session-signed token.
//! - `fleet`: node replacement in a cluster-owned Auto Scaling group; refusals; dry run.
//! - `alarms`: the CloudWatch re-check, ALARM vs OK vs missing.
//! - `notify`: a notification lands on an SQS queue subscribed to the topic.
//! - `store`: records by time and by target, claims, leases.
//! - `concurrency`: 20 concurrent pipeline runs of one alert; two alerts for one target;
//!   20 alerts on 20 targets with one action of the budget left; two node alerts at once.
//! - `faults`: refused and throttled endpoints give bounded retries and `failed` records.
//! - `startup`: no credentials is a clear error at start.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic in a test is a failed test

mod alarms;
mod concurrency;
mod eks;
mod faults;
mod fleet;
mod moto;
mod notify;
mod startup;
mod store;

use std::time::Duration;

use aws_credential_types::Credentials;
use reflex_aws::{Aws, AwsConfig, Retries};

/// The region every test uses.
pub const REGION: &str = "us-east-1";

/// A configuration pointing at `endpoint` with unique resource names.
pub fn config(endpoint: &str) -> AwsConfig {
    AwsConfig {
        region: REGION.into(),
        cluster_name: moto::unique("voting"),
        audit_table: moto::unique("audit"),
        notify_topic_arn: format!(
            "arn:aws:sns:{REGION}:123456789012:{}",
            moto::unique("notify")
        ),
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

/// A started session with static test credentials.
pub async fn connect(config: AwsConfig) -> Aws {
    let sdk = config
        .loader()
        .credentials_provider(Credentials::new("testing", "testing", None, None, "tests"))
        .load()
        .await;
    Aws::from_sdk_config(config, sdk).await.expect("connect")
}

/// A session against the shared moto server.
pub async fn moto_aws() -> Aws {
    connect(config(&moto::moto().endpoint)).await
}
