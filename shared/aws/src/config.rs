//! Configuration of the AWS adapters, read and checked once at cold start.
//!
//! [`AwsConfig::from_env`] reads what the `remediate` function is deployed with (the
//! template's environment variables) and names the variable when one is missing;
//! [`Aws::connect`] loads the SDK configuration with reflex's bounded retry and timeout
//! budget and asks the credential chain for credentials right away, so that a function
//! without credentials fails at start with a clear message instead of on its first alert.

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, ConfigLoader, Region, SdkConfig};
use aws_credential_types::provider::ProvideCredentials;

use crate::error::AwsError;

/// Region, when neither `AWS_REGION` nor `AWS_DEFAULT_REGION` is set (Lambda sets the first).
const REGION_VARS: [&str; 2] = ["AWS_REGION", "AWS_DEFAULT_REGION"];

/// How hard one AWS call tries before its failure reaches the pipeline.
///
/// Every call is bounded: at most `max_attempts` tries (throttling and network errors are
/// retried with exponential backoff and jitter), each try at most `attempt_timeout`, the
/// whole call at most `operation_timeout`. The defaults keep a call well under the
/// function's timeout, so a throttled or unreachable service becomes a `failed` record and
/// a retried event, never a hung invocation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retries {
    /// Tries per call, the first included.
    pub max_attempts: u32,
    /// Backoff before the first retry (doubled each time, with jitter).
    pub initial_backoff: Duration,
    /// Longest backoff between two tries.
    pub max_backoff: Duration,
    /// Time to open a connection.
    pub connect_timeout: Duration,
    /// Time for one try.
    pub attempt_timeout: Duration,
    /// Time for the whole call, retries included.
    pub operation_timeout: Duration,
}

impl Default for Retries {
    fn default() -> Self {
        Retries {
            max_attempts: 3,
            initial_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(2),
            connect_timeout: Duration::from_secs(2),
            attempt_timeout: Duration::from_secs(5),
            operation_timeout: Duration::from_secs(15),
        }
    }
}

/// The value of `name` through `var`, trimmed; `None` when unset or blank.
fn set(var: &impl Fn(&str) -> Option<String>, name: &str) -> Option<String> {
    var(name)
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

/// The region from `AWS_REGION` or `AWS_DEFAULT_REGION`; `hint` says what it is for.
fn region(var: &impl Fn(&str) -> Option<String>, hint: &'static str) -> Result<String, AwsError> {
    REGION_VARS
        .iter()
        .find_map(|name| set(var, name))
        .ok_or(AwsError::MissingVar {
            name: "AWS_REGION",
            hint,
        })
}

/// What the AWS adapters need to know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsConfig {
    /// AWS region of the cluster and every resource (`AWS_REGION`).
    pub region: String,
    /// EKS cluster name (`REFLEX_CLUSTER_NAME`); also the Auto Scaling ownership tag.
    pub cluster_name: String,
    /// DynamoDB audit and state table (`REFLEX_AUDIT_TABLE`).
    pub audit_table: String,
    /// SNS topic for on-call notifications (`REFLEX_NOTIFY_TOPIC_ARN`).
    pub notify_topic_arn: String,
    /// Endpoint override for every service (`AWS_ENDPOINT_URL`; tests and local stacks).
    pub endpoint_url: Option<String>,
    /// Retry and timeout budget of each call.
    pub retries: Retries,
}

impl AwsConfig {
    /// Reads the configuration from the process environment.
    pub fn from_env() -> Result<AwsConfig, AwsError> {
        AwsConfig::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the configuration through `var` (the environment, or a map in tests).
    pub fn from_lookup(var: impl Fn(&str) -> Option<String>) -> Result<AwsConfig, AwsError> {
        let get = |name: &str| set(&var, name);
        let region = region(&var, "the AWS region of the cluster (Lambda sets it)")?;
        let required = |name: &'static str, hint: &'static str| {
            get(name).ok_or(AwsError::MissingVar { name, hint })
        };
        let cluster_name = required(
            "REFLEX_CLUSTER_NAME",
            "the name of the EKS cluster reflex remediates",
        )?;
        let audit_table = required(
            "REFLEX_AUDIT_TABLE",
            "the DynamoDB audit table (stack output AuditTableName)",
        )?;
        let notify_topic_arn = required(
            "REFLEX_NOTIFY_TOPIC_ARN",
            "the SNS notifications topic ARN (stack output NotificationsTopicArn)",
        )?;
        let config = AwsConfig {
            region,
            cluster_name,
            audit_table,
            notify_topic_arn,
            endpoint_url: get("AWS_ENDPOINT_URL"),
            retries: Retries::default(),
        };
        config.validate()?;
        Ok(config)
    }

    /// What the `reflex` command line needs, from the environment read through `var`: the
    /// region and endpoint, the table it was given (`--table`), and the cluster name only
    /// when `cluster` says it terminates instances (`REFLEX_CLUSTER_NAME`, the Auto Scaling
    /// ownership tag). It publishes nothing, so it has no notifications topic.
    pub fn for_cli(
        var: impl Fn(&str) -> Option<String>,
        table: Option<&str>,
        cluster: bool,
    ) -> Result<AwsConfig, AwsError> {
        let get = |name: &str| set(&var, name);
        let region = region(
            &var,
            "the AWS region of the table and the cluster (or AWS_DEFAULT_REGION)",
        )?;
        let cluster_name = match get("REFLEX_CLUSTER_NAME") {
            Some(name) => name,
            None if cluster => {
                return Err(AwsError::MissingVar {
                    name: "REFLEX_CLUSTER_NAME",
                    hint: "the EKS cluster whose instances may be terminated (its Auto Scaling groups carry kubernetes.io/cluster/<name>)",
                });
            }
            None => String::new(),
        };
        let config = AwsConfig {
            region,
            cluster_name,
            audit_table: table.unwrap_or_default().to_owned(),
            notify_topic_arn: String::new(),
            endpoint_url: get("AWS_ENDPOINT_URL"),
            retries: Retries::default(),
        };
        config.validate()?;
        Ok(config)
    }

    /// Checks the values that can be checked without calling AWS.
    pub fn validate(&self) -> Result<(), AwsError> {
        let invalid = |name: &'static str, value: &str, why: &str| AwsError::InvalidVar {
            name,
            value: value.to_owned(),
            why: why.to_owned(),
        };
        if !self
            .region
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        {
            return Err(invalid(
                "AWS_REGION",
                &self.region,
                "expected a region code such as eu-west-1",
            ));
        }
        // Empty only for the command line, which publishes nothing.
        let arn: Vec<&str> = self.notify_topic_arn.split(':').collect();
        if !self.notify_topic_arn.is_empty()
            && (arn.len() != 6 || arn[0] != "arn" || arn[2] != "sns")
        {
            return Err(invalid(
                "REFLEX_NOTIFY_TOPIC_ARN",
                &self.notify_topic_arn,
                "expected arn:<partition>:sns:<region>:<account>:<topic>",
            ));
        }
        if self.retries.max_attempts == 0 {
            return Err(invalid("max_attempts", "0", "at least one try is needed"));
        }
        Ok(())
    }

    /// The SDK configuration loader with this region, endpoint and retry budget; add
    /// credentials to it when the default chain is not wanted (tests).
    pub fn loader(&self) -> ConfigLoader {
        let r = self.retries;
        let loader = aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new(self.region.clone()))
            .retry_config(
                RetryConfig::standard()
                    .with_max_attempts(r.max_attempts)
                    .with_initial_backoff(r.initial_backoff)
                    .with_max_backoff(r.max_backoff),
            )
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(r.connect_timeout)
                    .operation_attempt_timeout(r.attempt_timeout)
                    .operation_timeout(r.operation_timeout)
                    .build(),
            );
        match &self.endpoint_url {
            Some(url) => loader.endpoint_url(url),
            None => loader,
        }
    }
}

/// A started AWS session: the checked configuration and the SDK configuration every
/// adapter's client is built from. Build it once per process (cold start) and keep it.
#[derive(Debug, Clone)]
pub struct Aws {
    config: AwsConfig,
    sdk: SdkConfig,
}

/// How long the credential chain may take to answer at start.
const CREDENTIALS_TIMEOUT: Duration = Duration::from_secs(10);

impl Aws {
    /// Loads the SDK configuration (the default credential chain) and checks that it yields
    /// credentials.
    pub async fn connect(config: AwsConfig) -> Result<Aws, AwsError> {
        let sdk = config.loader().load().await;
        Aws::from_sdk_config(config, sdk).await
    }

    /// Uses an SDK configuration built by the caller (from [`AwsConfig::loader`]), after
    /// checking that it yields credentials.
    pub async fn from_sdk_config(config: AwsConfig, sdk: SdkConfig) -> Result<Aws, AwsError> {
        config.validate()?;
        let provider = sdk
            .credentials_provider()
            .ok_or_else(|| AwsError::NoCredentials {
                detail: "no credentials provider is configured".into(),
            })?;
        match tokio::time::timeout(CREDENTIALS_TIMEOUT, provider.provide_credentials()).await {
            Ok(Ok(_)) => Ok(Aws { config, sdk }),
            Ok(Err(e)) => Err(AwsError::NoCredentials {
                detail: aws_sdk_dynamodb::error::DisplayErrorContext(&e).to_string(),
            }),
            Err(_) => Err(AwsError::NoCredentials {
                detail: format!(
                    "the credential chain did not answer within {}s",
                    CREDENTIALS_TIMEOUT.as_secs()
                ),
            }),
        }
    }

    /// The checked configuration.
    pub fn config(&self) -> &AwsConfig {
        &self.config
    }

    /// The SDK configuration (for clients of other services).
    pub fn sdk_config(&self) -> &SdkConfig {
        &self.sdk
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use std::collections::HashMap;

    use super::*;

    /// An environment of `pairs`, for the `from_lookup` constructors.
    pub(crate) fn lookup(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |name| map.get(name).cloned()
    }

    const FULL: &[(&str, &str)] = &[
        ("AWS_REGION", "eu-west-1"),
        ("REFLEX_CLUSTER_NAME", "voting"),
        ("REFLEX_AUDIT_TABLE", "reflex-audit"),
        (
            "REFLEX_NOTIFY_TOPIC_ARN",
            "arn:aws:sns:eu-west-1:123456789012:reflex-notify",
        ),
    ];

    #[test]
    fn full_environment_is_read() {
        let config = AwsConfig::from_lookup(lookup(FULL)).expect("config");
        assert_eq!(config.region, "eu-west-1");
        assert_eq!(config.cluster_name, "voting");
        assert_eq!(config.endpoint_url, None);
    }

    #[test]
    fn missing_table_names_the_variable() {
        let pairs: Vec<_> = FULL
            .iter()
            .copied()
            .filter(|(k, _)| *k != "REFLEX_AUDIT_TABLE")
            .collect();
        let err = AwsConfig::from_lookup(lookup(&pairs)).expect_err("must fail");
        assert!(err.to_string().starts_with("REFLEX_AUDIT_TABLE is not set"));
    }

    #[test]
    fn default_region_is_a_fallback() {
        let mut pairs: Vec<_> = FULL
            .iter()
            .copied()
            .filter(|(k, _)| *k != "AWS_REGION")
            .collect();
        pairs.push(("AWS_DEFAULT_REGION", "us-east-2"));
        let config = AwsConfig::from_lookup(lookup(&pairs)).expect("config");
        assert_eq!(config.region, "us-east-2");
    }

    #[test]
    fn topic_that_is_not_an_sns_arn_is_refused() {
        let mut pairs: Vec<_> = FULL
            .iter()
            .copied()
            .filter(|(k, _)| *k != "REFLEX_NOTIFY_TOPIC_ARN")
            .collect();
        pairs.push(("REFLEX_NOTIFY_TOPIC_ARN", "reflex-notify"));
        let err = AwsConfig::from_lookup(lookup(&pairs)).expect_err("must fail");
        assert!(err.to_string().contains("REFLEX_NOTIFY_TOPIC_ARN"), "{err}");
    }
}
