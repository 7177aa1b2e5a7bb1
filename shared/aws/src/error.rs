//! Errors: what can stop the adapters from starting, and how an AWS API failure maps onto
//! the core's retryable / non-retryable split.
//!
//! Every SDK call goes through [`classify`], so one place decides what is worth a retry of
//! the whole event (throttling past the SDK's own bounded retries, network failures,
//! timeouts, 5xx) and what is not (access denied, validation, a missing resource).

use std::error::Error as StdError;

use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use reflex_core::cluster::ClusterError;
use reflex_core::ledger::LedgerError;

/// A failure to configure or start the AWS adapters (cold start; never mid-incident).
#[derive(Debug, thiserror::Error)]
pub enum AwsError {
    /// A required environment variable is missing or empty.
    #[error("{name} is not set: {hint}")]
    MissingVar {
        /// The variable.
        name: &'static str,
        /// What it should hold.
        hint: &'static str,
    },
    /// An environment variable holds a value that cannot be right.
    #[error("{name}={value:?} is invalid: {why}")]
    InvalidVar {
        /// The variable.
        name: &'static str,
        /// Its value.
        value: String,
        /// What is wrong with it.
        why: String,
    },
    /// The SDK's credential chain found no credentials.
    #[error(
        "no AWS credentials: the SDK's default chain (environment variables AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, shared config and credentials files, web identity, ECS/EKS container credentials, EC2 instance metadata) found none; in Lambda the function role provides them. Details: {detail}"
    )]
    NoCredentials {
        /// The chain's own explanation.
        detail: String,
    },
    /// EKS: the cluster could not be described or its answer was unusable.
    #[error("EKS cluster {cluster}: {detail}")]
    Eks {
        /// Cluster name.
        cluster: String,
        /// What went wrong.
        detail: String,
        /// Whether trying again later may work (throttled, unreachable).
        transient: bool,
    },
    /// The approval links' key could not be loaded (the message names the SSM parameter,
    /// never its value).
    #[error("approval link key {parameter}: {detail}")]
    LinkKey {
        /// The SSM parameter name.
        parameter: String,
        /// What went wrong.
        detail: String,
    },
    /// EKS: signing the bearer token failed.
    #[error("could not sign the EKS token: {0}")]
    Token(String),
    /// EKS: kube-rs refused the configuration built from the cluster's endpoint and CA.
    #[error("could not build the Kubernetes client")]
    Kube(#[source] reflex_kube::KubeError),
}

impl AwsError {
    /// Whether retrying later may succeed (the Lambda boundary asks for a retry then);
    /// configuration and credential errors are not, they need a redeploy.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            AwsError::Eks {
                transient: true,
                ..
            }
        )
    }
}

/// An AWS API failure, classified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Fault {
    /// Retrying the event later may succeed.
    pub transient: bool,
    /// The service's error code, when it sent one (`ConditionalCheckFailedException`, ...).
    pub code: Option<String>,
    /// What failed, with the SDK's full error chain.
    pub message: String,
}

/// Error codes that mean "slow down" rather than "no".
const THROTTLING: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottledException",
    "TooManyRequestsException",
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
    "RequestThrottled",
    "SlowDown",
    "TransactionInProgressException",
    "PriorRequestNotComplete",
    "ServiceUnavailable",
    "InternalFailure",
    "InternalError",
    "InternalServerError",
];

/// Classifies an SDK error from operation `what` (after the SDK's own retries).
pub(crate) fn classify<E>(what: &str, err: SdkError<E, HttpResponse>) -> Fault
where
    E: ProvideErrorMetadata + StdError + Send + Sync + 'static,
{
    let code = err.code().map(str::to_owned);
    let transient = match &err {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            true
        }
        SdkError::ServiceError(ctx) => {
            ctx.raw().status().is_server_error()
                || code.as_deref().is_some_and(|c| THROTTLING.contains(&c))
        }
        // Building the request failed: our bug or our input, not the network.
        _ => false,
    };
    let message = format!("{what}: {}", DisplayErrorContext(&err));
    Fault {
        transient,
        code,
        message,
    }
}

impl Fault {
    /// Whether the service answered with this error code.
    pub fn is(&self, code: &str) -> bool {
        self.code.as_deref() == Some(code)
    }
}

impl From<Fault> for LedgerError {
    fn from(f: Fault) -> Self {
        if f.transient {
            LedgerError::Unavailable(f.message)
        } else {
            LedgerError::Refused(f.message)
        }
    }
}

impl From<Fault> for ClusterError {
    fn from(f: Fault) -> Self {
        if f.transient {
            ClusterError::Unavailable(f.message)
        } else {
            ClusterError::Refused(f.message)
        }
    }
}
